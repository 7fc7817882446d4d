// One-off converter: LAION aesthetic predictor v1 linear head (PyTorch .pth) → small JSON data file.
//
//   npx tsx native-models/tools/convert-laion-head.ts \
//     ../shared/aesthetic-heads/sa_0_4_vit_b_32_linear.pth electron/services/signals/data/laion-aesthetic-vit-b-32.json
//
// No Python or torch needed: a .pth is a zip (entries STORED) holding data.pkl (a pickled
// OrderedDict of tensor descriptors) and one raw little-endian buffer per storage
// (archive/data/<key>). We read the zip's central directory (the local headers carry no sizes: they
// use data descriptors), unpickle just enough of data.pkl to learn each tensor's storage key, dtype and
// shape, and check them against nn.Linear(dim, 1): weight [1, dim] float32, bias [1].
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

interface ZipEntry {
  name: string;
  data: Buffer;
}

/** Entries of a zip file, located through the central directory. */
export function readZip(buf: Buffer): ZipEntry[] {
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('Not a zip file (no end-of-central-directory record).');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let k = 0; k < count; k++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('Corrupt zip central directory.');
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    if (buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`Corrupt local header for ${name}.`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + compressed);
    const data = method === 0 ? Buffer.from(raw) : method === 8 ? zlib.inflateRawSync(raw) : null;
    if (!data) throw new Error(`Unsupported zip compression method ${method} for ${name}.`);
    entries.push({ name, data });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

interface TensorRef {
  storageKey: string;
  storageType: string; // e.g. "FloatStorage"
  offset: number;
  shape: number[];
}

type PickleValue = unknown;

/**
 * Just enough of pickle protocol 2 for a PyTorch state_dict: globals, tuples, dicts, ints, strings,
 * persistent ids and `torch._utils._rebuild_tensor_v2` (turned into a TensorRef).
 */
export function unpickleStateDict(buf: Buffer): Map<string, TensorRef> {
  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  const MARK = Symbol('mark');
  let i = 0;
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) throw new Error('pickle: MARK missing');
    return stack.splice(m);
  };
  const line = () => {
    const end = buf.indexOf(0x0a, i);
    const s = buf.toString('latin1', i, end);
    i = end + 1;
    return s;
  };
  for (;;) {
    const op = buf[i++];
    switch (op) {
      case 0x80: i++; break; // PROTO
      case 0x63: stack.push({ global: `${line()}.${line()}` }); break; // GLOBAL
      case 0x71: memo.set(buf[i++], stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(buf.readUInt32LE(i), stack[stack.length - 1]); i += 4; break; // LONG_BINPUT
      case 0x68: stack.push(memo.get(buf[i++])); break; // BINGET
      case 0x6a: stack.push(memo.get(buf.readUInt32LE(i))); i += 4; break; // LONG_BINGET
      case 0x28: marks.push(stack.length); stack.push(MARK); stack.pop(); break; // MARK
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([stack.pop()]); break; // TUPLE1
      case 0x86: { const b = stack.pop(); stack.push([stack.pop(), b]); break; } // TUPLE2
      case 0x87: { const c = stack.pop(); const b = stack.pop(); stack.push([stack.pop(), b, c]); break; } // TUPLE3
      case 0x58: { const n = buf.readUInt32LE(i); stack.push(buf.toString('utf8', i + 4, i + 4 + n)); i += 4 + n; break; } // BINUNICODE
      case 0x4b: stack.push(buf[i++]); break; // BININT1
      case 0x4d: stack.push(buf.readUInt16LE(i)); i += 2; break; // BININT2
      case 0x4a: stack.push(buf.readInt32LE(i)); i += 4; break; // BININT
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x51: { // BINPERSID: ('storage', StorageType, key, location, numel)
        const pid = stack.pop() as [string, { global: string }, string, string, number];
        stack.push({ storage: pid[1].global.split('.').pop(), key: pid[2], numel: pid[4] });
        break;
      }
      case 0x52: { // REDUCE
        const args = stack.pop() as PickleValue[];
        const fn = stack.pop() as { global: string };
        if (fn.global === 'torch._utils._rebuild_tensor_v2') {
          const storage = args[0] as { storage: string; key: string };
          stack.push({ storageKey: storage.key, storageType: storage.storage, offset: args[1] as number, shape: args[2] as number[] } satisfies TensorRef);
        } else if (fn.global === 'collections.OrderedDict') {
          stack.push(new Map());
        } else {
          stack.push({ reduced: fn.global, args });
        }
        break;
      }
      case 0x73: { const v = stack.pop(); const k = stack.pop(); (stack[stack.length - 1] as Map<unknown, unknown>).set(k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        const dict = stack[stack.length - 1] as Map<unknown, unknown>;
        for (let k = 0; k < items.length; k += 2) dict.set(items[k], items[k + 1]);
        break;
      }
      case 0x62: stack.pop(); break; // BUILD: state (the _metadata dict) is not needed
      case 0x2e: { // STOP
        const result = stack.pop() as Map<string, unknown>;
        const out = new Map<string, TensorRef>();
        for (const [k, v] of result) if (v && typeof v === 'object' && 'storageKey' in v) out.set(k, v as TensorRef);
        return out;
      }
      default:
        throw new Error(`pickle: unsupported opcode 0x${op?.toString(16)} at ${i - 1}`);
    }
  }
}

export interface LinearHead {
  weight: number[];
  bias: number;
}

/** weight [1, dim] and bias [1] of a PyTorch nn.Linear(dim, 1) state_dict file. */
export function readLinearHead(pth: Buffer): LinearHead & { dim: number } {
  const entries = readZip(pth);
  const pkl = entries.find((e) => e.name.endsWith('/data.pkl'));
  if (!pkl) throw new Error('No data.pkl in the archive: not a PyTorch zip checkpoint.');
  const prefix = pkl.name.slice(0, -'data.pkl'.length);
  const tensors = unpickleStateDict(pkl.data);
  const tensor = (name: string): { ref: TensorRef; values: Float32Array } => {
    const ref = tensors.get(name);
    if (!ref) throw new Error(`No "${name}" tensor in the checkpoint.`);
    if (ref.storageType !== 'FloatStorage') throw new Error(`"${name}" is ${ref.storageType}, expected FloatStorage.`);
    const entry = entries.find((e) => e.name === `${prefix}data/${ref.storageKey}`);
    if (!entry) throw new Error(`Storage ${ref.storageKey} of "${name}" is missing.`);
    const numel = ref.shape.reduce((a, b) => a * b, 1);
    const bytes = entry.data.subarray(ref.offset * 4, (ref.offset + numel) * 4);
    if (bytes.length !== numel * 4) throw new Error(`Storage of "${name}" is too short.`);
    const values = new Float32Array(numel);
    for (let k = 0; k < numel; k++) values[k] = bytes.readFloatLE(k * 4);
    return { ref, values };
  };
  const w = tensor('weight');
  const b = tensor('bias');
  if (w.ref.shape.length !== 2 || w.ref.shape[0] !== 1) throw new Error(`weight has shape [${w.ref.shape}], expected [1, dim].`);
  if (b.ref.shape.length !== 1 || b.ref.shape[0] !== 1) throw new Error(`bias has shape [${b.ref.shape}], expected [1].`);
  return { dim: w.ref.shape[1], weight: Array.from(w.values), bias: b.values[0] };
}

/** Shortest decimal that reads back as the same float32: keeps the JSON small and exact. */
export function float32Text(v: number): number {
  for (let p = 6; p <= 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return s;
  }
  return v;
}

function main(): void {
  const [src, out] = process.argv.slice(2);
  if (!src || !out) {
    console.error('usage: tsx native-models/tools/convert-laion-head.ts <head.pth> <out.json>');
    process.exit(2);
  }
  const pth = fs.readFileSync(src);
  const head = readLinearHead(pth);
  const json = {
    name: 'LAION aesthetic predictor v1 (linear head)',
    architecture: 'ViT-B/32',
    source: `https://github.com/LAION-AI/aesthetic-predictor/blob/main/${path.basename(src)}`,
    sha256: crypto.createHash('sha256').update(pth).digest('hex'),
    license: 'MIT, Copyright (c) 2022 LAION AI (see README.md in this folder)',
    input: 'L2-normalised CLIP image embedding',
    dim: head.dim,
    bias: float32Text(head.bias),
    weight: head.weight.map(float32Text),
  };
  fs.writeFileSync(out, JSON.stringify(json, null, 1) + '\n');
  console.log(`wrote ${out}: dim ${head.dim}, bias ${head.bias}, sha256 ${json.sha256}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) main();
