// HEIC test files made at run time with libheif's heif-enc (Debian: libheif-examples), plus the few
// container edits heif-enc cannot make: an irot (rotation) property, like every portrait iPhone photo.
import { execFileSync, spawnSync } from 'node:child_process';

/** Why heif-enc cannot be used here, or null when it can. */
export function heifEncMissing(): string | null {
  const r = spawnSync('heif-enc', ['--list-encoders'], { encoding: 'utf8' });
  if (r.error) return 'heif-enc not found: apt-get install libheif-examples (.ci/run installs it)';
  if (!/x265/.test(`${r.stdout}${r.stderr}`)) return 'heif-enc has no HEVC (x265) encoder: install libheif-examples with libheif-plugin-x265';
  return null;
}

/** Encodes `input` (PNG or JPEG) to `output` with heif-enc; `args` e.g. ['-q', '90'], ['-b', '10'], ['-t', '128']. */
export function heifEnc(input: string, output: string, args: string[] = []): void {
  execFileSync('heif-enc', [...args, input, '-o', output], { stdio: 'pipe' });
}

interface Box {
  type: string;
  start: number;
  size: number;
  header: number; // 8 (or 16 for a 64-bit size)
}

function boxes(buf: Buffer, from: number, to: number): Box[] {
  const out: Box[] = [];
  for (let p = from; p + 8 <= to; ) {
    let size = buf.readUInt32BE(p);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(p + 8));
      header = 16;
    } else if (size === 0) size = to - p;
    out.push({ type: buf.toString('latin1', p + 4, p + 8), start: p, size, header });
    p += size;
  }
  return out;
}

const child = (buf: Buffer, parent: Box, type: string, skip = 0): Box => {
  const b = boxes(buf, parent.start + parent.header + skip, parent.start + parent.size).find((x) => x.type === type);
  if (!b) throw new Error(`no ${type} box in ${parent.type}`);
  return b;
};

/**
 * Adds an `irot` property (rotation by `ccw` degrees anticlockwise: 90, 180, 270) to the primary
 * image of a heif-enc HEIC: the property goes into ipco, an essential association into ipma, and
 * the box sizes and iloc offsets after the insertion are adjusted.
 */
export function addIrot(heic: Buffer, ccw: 90 | 180 | 270): Buffer {
  const top = boxes(heic, 0, heic.length);
  const meta = top.find((b) => b.type === 'meta')!;
  const pitm = child(heic, meta, 'pitm', 4);
  const primary = heic.readUInt8(pitm.start + 8) === 0 ? heic.readUInt16BE(pitm.start + 12) : heic.readUInt32BE(pitm.start + 12);
  const iprp = child(heic, meta, 'iprp', 4);
  const ipco = child(heic, iprp, 'ipco');
  const ipma = child(heic, iprp, 'ipma');
  const propertyIndex = boxes(heic, ipco.start + 8, ipco.start + ipco.size).length + 1;

  // The ipma entry of the primary item gets one more association.
  const version = heic.readUInt8(ipma.start + 8);
  const flags = heic.readUIntBE(ipma.start + 9, 3);
  const wide = (flags & 1) === 1;
  let p = ipma.start + 16;
  const entries = heic.readUInt32BE(ipma.start + 12);
  let at = -1;
  for (let e = 0; e < entries; e++) {
    const id = version < 1 ? heic.readUInt16BE(p) : heic.readUInt32BE(p);
    p += version < 1 ? 2 : 4;
    const count = heic.readUInt8(p);
    if (id === primary) at = p;
    p += 1 + count * (wide ? 2 : 1);
  }
  if (at < 0) throw new Error('primary item has no ipma entry');
  const assoc = Buffer.alloc(wide ? 2 : 1);
  if (wide) assoc.writeUInt16BE(0x8000 | propertyIndex);
  else assoc.writeUInt8(0x80 | propertyIndex);
  const irot = Buffer.from([0, 0, 0, 9, ...Buffer.from('irot', 'latin1'), ccw / 90]);

  const insertAtIpcoEnd = ipco.start + ipco.size;
  const count = heic.readUInt8(at);
  const insertAssoc = at + 1 + count * assoc.length;
  const out = Buffer.concat([
    heic.subarray(0, insertAtIpcoEnd),
    irot,
    heic.subarray(insertAtIpcoEnd, insertAssoc),
    assoc,
    heic.subarray(insertAssoc),
  ]);
  const shift = irot.length + assoc.length;
  // Positions before the insertions keep their offsets; ipma's entry lies after ipco's end.
  out.writeUInt8(count + 1, at + irot.length);
  out.writeUInt32BE(ipco.size + irot.length, ipco.start);
  out.writeUInt32BE(ipma.size + assoc.length, ipma.start + irot.length);
  out.writeUInt32BE(iprp.size + shift, iprp.start);
  out.writeUInt32BE(meta.size + shift, meta.start);

  // iloc: data stored in the file (construction method 0) after the meta box moved by `shift`.
  const newMeta = boxes(out, 0, out.length).find((b) => b.type === 'meta')!;
  const iloc = child(out, newMeta, 'iloc', 4);
  const iv = out.readUInt8(iloc.start + 8);
  let q = iloc.start + 12;
  const sizes = out.readUInt16BE(q);
  q += 2;
  const offsetSize = sizes >> 12;
  const lengthSize = (sizes >> 8) & 15;
  const baseSize = (sizes >> 4) & 15;
  const indexSize = iv >= 1 ? sizes & 15 : 0;
  const items = iv < 2 ? out.readUInt16BE(q) : out.readUInt32BE(q);
  q += iv < 2 ? 2 : 4;
  const bump = (pos: number, n: number) => {
    if (n === 4) out.writeUInt32BE(out.readUInt32BE(pos) + shift, pos);
    else if (n === 8) out.writeBigUInt64BE(out.readBigUInt64BE(pos) + BigInt(shift), pos);
  };
  const metaEnd = meta.start + meta.size; // in the old file
  for (let i = 0; i < items; i++) {
    q += iv < 2 ? 2 : 4; // item id
    const method = iv >= 1 ? out.readUInt16BE(q) & 15 : 0;
    if (iv >= 1) q += 2;
    q += 2; // data reference index
    const base = baseSize === 4 ? out.readUInt32BE(q) : baseSize === 8 ? Number(out.readBigUInt64BE(q)) : 0;
    const moveBase = method === 0 && baseSize > 0 && base >= metaEnd;
    if (moveBase) bump(q, baseSize);
    q += baseSize;
    const extents = out.readUInt16BE(q);
    q += 2;
    for (let e = 0; e < extents; e++) {
      q += indexSize;
      const off = offsetSize === 4 ? out.readUInt32BE(q) : offsetSize === 8 ? Number(out.readBigUInt64BE(q)) : 0;
      if (method === 0 && baseSize === 0 && off >= metaEnd) bump(q, offsetSize);
      q += offsetSize + lengthSize;
    }
  }
  return out;
}

/** Replaces the primary item's type in iinf (e.g. 'hvc1' → 'jpeg'), making a codec our decoder lacks. */
export function withItemType(heic: Buffer, type: string): Buffer {
  const at = heic.indexOf('hvc1', heic.indexOf('infe'), 'latin1');
  if (at < 0) throw new Error('no hvc1 item');
  const out = Buffer.from(heic);
  out.write(type, at, 'latin1');
  return out;
}
