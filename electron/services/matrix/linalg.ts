// Dense linear algebra for the taste model (ridge regression on embeddings), sized for d ≈ 512.
//
// The O(n·d²) products (Gram matrices of 10 000 × 512 embeddings) run in onnxruntime's MatMul,
// which is already loaded for CLIP and is ~25× faster than a JavaScript triple loop. The O(d³)
// factorisations run on small WebAssembly SIMD kernels: a Householder tridiagonalisation
// A = Q T Qᵀ, after which (A + λI)x = b costs O(d²) for every further λ (a tridiagonal solve between
// two passes of Q), which is what makes a cross-validated λ grid affordable; and a Cholesky solve
// for a single λ.
import * as ort from 'onnxruntime-node';
import { VALTYPE, name, section, sleb, uleb, vec } from './wasm-encoding.ts';

// ---- onnxruntime products ------------------------------------------------------------------------

/** Protocol-buffer writer for the few ONNX messages a one-node graph needs (no onnx-proto at runtime). */
class Proto {
  private readonly bytes: number[] = [];

  private varint(v: number): void {
    while (v > 0x7f) {
      this.bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.bytes.push(v);
  }

  int(field: number, v: number): this {
    this.varint(field << 3);
    this.varint(v);
    return this;
  }

  bytesField(field: number, data: Uint8Array | number[]): this {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytesField(field, Buffer.from(s, 'utf8'));
  }

  msg(field: number, m: Proto): this {
    return this.bytesField(field, m.bytes);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INTS = 7; // AttributeProto.AttributeType.INTS

function valueInfo(name: string, dims: string[]): Proto {
  const shape = new Proto();
  for (const d of dims) shape.msg(1, new Proto().str(2, d)); // Dimension.dim_param
  const tensor = new Proto().int(1, FLOAT).msg(2, shape);
  return new Proto().str(1, name).msg(2, new Proto().msg(1, tensor));
}

function node(op: string, inputs: string[], outputs: string[], perm?: number[]): Proto {
  const n = new Proto();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, `${op}_${outputs[0]}`).str(4, op);
  if (perm) {
    const a = new Proto().str(1, 'perm').int(20, ATTR_INTS);
    for (const p of perm) a.int(8, p);
    n.msg(5, a);
  }
  return n;
}

type Product = 'gram' | 'outer' | 'matmul';

/** ModelProto (IR 8, opset 17) for: gram = xᵀx, outer = x xᵀ (batched over a leading axis), matmul = a b. */
function productModel(kind: Product): Uint8Array {
  const g = new Proto();
  if (kind === 'matmul') {
    g.msg(1, node('MatMul', ['a', 'b'], ['c']));
    g.str(2, kind).msg(11, valueInfo('a', ['m', 'k'])).msg(11, valueInfo('b', ['k', 'n'])).msg(12, valueInfo('c', ['m', 'n']));
  } else {
    g.msg(1, node('Transpose', ['x'], ['xt'], [0, 2, 1]));
    g.msg(1, node('MatMul', kind === 'gram' ? ['xt', 'x'] : ['x', 'xt'], ['y']));
    const out = kind === 'gram' ? ['b', 'd', 'd'] : ['b', 'n', 'n'];
    g.str(2, kind).msg(11, valueInfo('x', ['b', 'n', 'd'])).msg(12, valueInfo('y', out));
  }
  return new Proto().int(1, 8).msg(8, new Proto().int(2, 17)).msg(7, g).done();
}

const sessions = new Map<Product, Promise<ort.InferenceSession>>();

function session(kind: Product): Promise<ort.InferenceSession> {
  let s = sessions.get(kind);
  if (!s) {
    s = ort.InferenceSession.create(productModel(kind), { graphOptimizationLevel: 'all', executionMode: 'sequential' });
    s.catch(() => sessions.delete(kind));
    sessions.set(kind, s);
  }
  return s;
}

/** Below this many multiply-adds a JavaScript loop beats a session run. */
const ORT_MIN_WORK = 4e6;

/**
 * Batched Gram matrices: for each of `batch` blocks of `rows × dim` floats in `x`, its dim × dim
 * XᵀX. Returned as float64 (batch × dim × dim), exactly symmetric.
 */
export async function gramBatched(x: Float32Array, batch: number, rows: number, dim: number): Promise<Float64Array> {
  if (x.length !== batch * rows * dim) throw new Error(`gramBatched: ${x.length} values for ${batch} × ${rows} × ${dim}.`);
  const out = new Float64Array(batch * dim * dim);
  if (batch * rows * dim * dim < ORT_MIN_WORK) {
    for (let b = 0; b < batch; b++) {
      const g = out.subarray(b * dim * dim, (b + 1) * dim * dim);
      for (let r = 0; r < rows; r++) {
        const o = (b * rows + r) * dim;
        for (let i = 0; i < dim; i++) {
          const xi = x[o + i];
          if (xi === 0) continue;
          const gi = i * dim;
          for (let j = i; j < dim; j++) g[gi + j] += xi * x[o + j];
        }
      }
    }
  } else {
    const s = await session('gram');
    const res = await s.run({ x: new ort.Tensor('float32', x, [batch, rows, dim]) });
    const y = res.y.data as Float32Array;
    for (let i = 0; i < y.length; i++) out[i] = y[i];
    res.y.dispose?.();
  }
  // Symmetrise (the JS path filled the upper triangle; float32 products may differ in the last bit).
  for (let b = 0; b < batch; b++) {
    const o = b * dim * dim;
    for (let i = 0; i < dim; i++) {
      for (let j = i + 1; j < dim; j++) {
        const v = out[o + i * dim + j];
        out[o + i * dim + j] = out[o + j * dim + i] = v;
      }
    }
  }
  return out;
}

/** x xᵀ for `rows × dim` floats: the rows × rows matrix of dot products (float64, symmetric). */
export async function outerGram(x: Float32Array, rows: number, dim: number): Promise<Float64Array> {
  const out = new Float64Array(rows * rows);
  if (rows * rows * dim < 2 * ORT_MIN_WORK) {
    for (let i = 0; i < rows; i++) {
      for (let j = i; j < rows; j++) {
        let s = 0;
        for (let k = 0, a = i * dim, b = j * dim; k < dim; k++) s += x[a + k] * x[b + k];
        out[i * rows + j] = out[j * rows + i] = s;
      }
    }
    return out;
  }
  const s = await session('outer');
  const res = await s.run({ x: new ort.Tensor('float32', x, [1, rows, dim]) });
  const y = res.y.data as Float32Array;
  for (let i = 0; i < rows; i++) {
    out[i * rows + i] = y[i * rows + i];
    for (let j = i + 1; j < rows; j++) out[i * rows + j] = out[j * rows + i] = y[i * rows + j];
  }
  res.y.dispose?.();
  return out;
}

/** a (m × k) times b (k × n), float32 in, float64 out. */
export async function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<Float64Array> {
  const out = new Float64Array(m * n);
  if (m * k * n < ORT_MIN_WORK) {
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < k; l++) {
        const v = a[i * k + l];
        if (v === 0) continue;
        for (let j = 0; j < n; j++) out[i * n + j] += v * b[l * n + j];
      }
    }
    return out;
  }
  const s = await session('matmul');
  const res = await s.run({ a: new ort.Tensor('float32', a, [m, k]), b: new ort.Tensor('float32', b, [k, n]) });
  const c = res.c.data as Float32Array;
  for (let i = 0; i < c.length; i++) out[i] = c[i];
  res.c.dispose?.();
  return out;
}

// ---- WebAssembly SIMD kernels ---------------------------------------------------------------------
//
// The tridiagonalisation's two O(m²)-per-column loops (a matrix-vector product and a rank-2
// update) and Cholesky's dot products, as f64x2 SIMD: about 6× faster than the same loops in V8;
// and a float32 Walsh–Hadamard transform for the near-duplicate sketches (groups.ts).
// The module is assembled here from a few dozen opcodes (no toolchain, no binary in the repo);
// where WebAssembly SIMD is missing, the JavaScript loops below do the same work.

const { i32: I32, f64: F64, v128: V128 } = VALTYPE;

const W = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (l: number) => [0x0c, ...uleb(l)],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  geS: [0x4e],
  gtS: [0x4a],
  f32Load: [0x2a, 2, 0],
  f32Store: [0x38, 2, 0],
  f32Add: [0x92],
  f32Sub: [0x93],
  f64Load: [0x2b, 3, 0],
  f64Store: [0x39, 3, 0],
  fAdd: [0xa0],
  fSub: [0xa1],
  fMul: [0xa2],
  vLoad: [0xfd, 0x00, 3, 0],
  vStore: [0xfd, 0x0b, 3, 0],
  vZero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  splat: [0xfd, 0x14],
  lane: (l: number) => [0xfd, 0x21, l],
  vAdd: [0xfd, 0xf0, 0x01],
  vSub: [0xfd, 0xf1, 0x01],
  vMul: [0xfd, 0xf2, 0x01],
  v4Add: [0xfd, 0xe4, 0x01],
  v4Sub: [0xfd, 0xe5, 0x01],
};

/** base + index·8 (byte address of a float64). */
const at = (base: number, index: number): number[][] => [W.get(base), W.get(index), W.i32(3), W.shl, W.add];

function body(locals: [number, number][], code: number[][]): number[] {
  const b = [...vec(locals.map(([n, t]) => [...uleb(n), t])), ...code.flat(), 0x0b];
  return [...uleb(b.length), ...b];
}

/** dot(x, y, len) → Σ x[j]·y[j]. Params x=0 y=1 len=2; locals j=3 acc=4 s=5. */
function dotFn(): number[] {
  const [x, y, len, j, acc, s] = [0, 1, 2, 3, 4, 5];
  return body([[1, I32], [1, V128], [1, F64]], [
    W.vZero, W.set(acc), W.i32(0), W.set(j),
    W.block, W.loop,
    W.get(j), W.i32(2), W.add, W.get(len), W.gtS, W.brIf(1),
    W.get(acc), ...at(x, j), W.vLoad, ...at(y, j), W.vLoad, W.vMul, W.vAdd, W.set(acc),
    W.get(j), W.i32(2), W.add, W.set(j), W.br(0),
    W.end, W.end,
    W.get(acc), W.lane(0), W.get(acc), W.lane(1), W.fAdd, W.set(s),
    W.block, W.get(j), W.get(len), W.geS, W.brIf(0),
    W.get(s), ...at(x, j), W.f64Load, ...at(y, j), W.f64Load, W.fMul, W.fAdd, W.set(s),
    W.end,
    W.get(s),
  ]);
}

/** symv(a, v, p, m, s0): p[i] = Σ_{j≥s0} a[i·m + j]·v[j] for s0 ≤ i < m. Locals i=5 j=6 row=7 acc=8 s=9. */
function symvFn(): number[] {
  const [a, v, p, m, s0, i, j, row, acc, s] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  return body([[3, I32], [1, V128], [1, F64]], [
    W.get(s0), W.set(i),
    W.block, W.loop,
    W.get(i), W.get(m), W.geS, W.brIf(1),
    W.get(a), W.get(i), W.get(m), W.mul, W.i32(3), W.shl, W.add, W.set(row),
    W.vZero, W.set(acc), W.get(s0), W.set(j),
    W.block, W.loop,
    W.get(j), W.i32(2), W.add, W.get(m), W.gtS, W.brIf(1),
    W.get(acc), ...at(row, j), W.vLoad, ...at(v, j), W.vLoad, W.vMul, W.vAdd, W.set(acc),
    W.get(j), W.i32(2), W.add, W.set(j), W.br(0),
    W.end, W.end,
    W.get(acc), W.lane(0), W.get(acc), W.lane(1), W.fAdd, W.set(s),
    W.block, W.get(j), W.get(m), W.geS, W.brIf(0),
    W.get(s), ...at(row, j), W.f64Load, ...at(v, j), W.f64Load, W.fMul, W.fAdd, W.set(s),
    W.end,
    ...at(p, i), W.get(s), W.f64Store,
    W.get(i), W.i32(1), W.add, W.set(i), W.br(0),
    W.end, W.end,
  ]);
}

/** rank2(a, v, w, m, s0): a[i·m + j] −= v[i]·w[j] + w[i]·v[j] for s0 ≤ i, j < m. Locals i=5 j=6 row=7 addr=8 vi=9 wi=10. */
function rank2Fn(): number[] {
  const [a, v, w, m, s0, i, j, row, addr, vi, wi] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  return body([[4, I32], [2, V128]], [
    W.get(s0), W.set(i),
    W.block, W.loop,
    W.get(i), W.get(m), W.geS, W.brIf(1),
    W.get(a), W.get(i), W.get(m), W.mul, W.i32(3), W.shl, W.add, W.set(row),
    ...at(v, i), W.f64Load, W.splat, W.set(vi),
    ...at(w, i), W.f64Load, W.splat, W.set(wi),
    W.get(s0), W.set(j),
    W.block, W.loop,
    W.get(j), W.i32(2), W.add, W.get(m), W.gtS, W.brIf(1),
    ...at(row, j), W.tee(addr), W.get(addr), W.vLoad,
    W.get(vi), ...at(w, j), W.vLoad, W.vMul,
    W.get(wi), ...at(v, j), W.vLoad, W.vMul,
    W.vAdd, W.vSub, W.vStore,
    W.get(j), W.i32(2), W.add, W.set(j), W.br(0),
    W.end, W.end,
    W.block, W.get(j), W.get(m), W.geS, W.brIf(0),
    ...at(row, j), W.tee(addr), W.get(addr), W.f64Load,
    W.get(vi), W.lane(0), ...at(w, j), W.f64Load, W.fMul,
    W.get(wi), W.lane(0), ...at(v, j), W.f64Load, W.fMul,
    W.fAdd, W.fSub, W.f64Store,
    W.end,
    W.get(i), W.i32(1), W.add, W.set(i), W.br(0),
    W.end, W.end,
  ]);
}

/**
 * fwht(x, n): in-place Walsh–Hadamard transform of n float32 (n a power of two, ≥ 4). The first two
 * stages run as one scalar 4-point transform, the rest as f32x4 butterflies.
 * Params x=0 n=1; locals i=2 j=3 h=4 end=5 pa=6 pb=7 (i32), a=8 b=9 c=10 d=11 (f32), va=12 vb=13 (v128).
 */
function fwhtFn(): number[] {
  const [x, n, i, j, h, end, pa, pb, a, b, c, d, va, vb] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const F32 = 0x7d;
  const at4 = (base: number, index: number): number[][] => [W.get(base), W.get(index), W.i32(2), W.shl, W.add];
  const load = (k: number, into: number): number[][] => [W.get(pa), [0x2a, 2, k * 4], W.set(into)];
  const store = (k: number, expr: number[][]): number[][] => [W.get(pa), ...expr, [0x38, 2, k * 4]];
  return body([[6, I32], [4, F32], [2, V128]], [
    // Stages h = 1, 2.
    W.i32(0), W.set(i),
    W.block, W.loop,
    W.get(i), W.get(n), W.geS, W.brIf(1),
    ...at4(x, i), W.set(pa),
    ...load(0, a), ...load(1, b), ...load(2, c), ...load(3, d),
    ...store(0, [W.get(a), W.get(b), W.f32Add, W.get(c), W.get(d), W.f32Add, W.f32Add]),
    ...store(1, [W.get(a), W.get(b), W.f32Sub, W.get(c), W.get(d), W.f32Sub, W.f32Add]),
    ...store(2, [W.get(a), W.get(b), W.f32Add, W.get(c), W.get(d), W.f32Add, W.f32Sub]),
    ...store(3, [W.get(a), W.get(b), W.f32Sub, W.get(c), W.get(d), W.f32Sub, W.f32Sub]),
    W.get(i), W.i32(4), W.add, W.set(i), W.br(0),
    W.end, W.end,
    // Stages h = 4, 8, …: butterflies of four lanes.
    W.i32(4), W.set(h),
    W.block, W.loop,
    W.get(h), W.get(n), W.geS, W.brIf(1),
    W.i32(0), W.set(i),
    W.block, W.loop,
    W.get(i), W.get(n), W.geS, W.brIf(1),
    W.get(i), W.get(h), W.add, W.set(end),
    W.get(i), W.set(j),
    W.block, W.loop,
    W.get(j), W.get(end), W.geS, W.brIf(1),
    ...at4(x, j), W.tee(pa), W.vLoad, W.set(va),
    W.get(j), W.get(h), W.add, W.set(pb),
    ...at4(x, pb), W.tee(pb), W.vLoad, W.set(vb),
    W.get(pa), W.get(va), W.get(vb), W.v4Add, W.vStore,
    W.get(pb), W.get(va), W.get(vb), W.v4Sub, W.vStore,
    W.get(j), W.i32(4), W.add, W.set(j), W.br(0),
    W.end, W.end,
    W.get(end), W.get(h), W.add, W.set(i), W.br(0),
    W.end, W.end,
    W.get(h), W.i32(1), W.shl, W.set(h), W.br(0),
    W.end, W.end,
  ]);
}

export function kernelModuleBytes(): Uint8Array<ArrayBuffer> {
  const five = [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), ...vec([])];
  const three = [0x60, ...vec([[I32], [I32], [I32]]), ...vec([[F64]])];
  const two = [0x60, ...vec([[I32], [I32]]), ...vec([])];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([five, three, two])),
    ...section(3, vec([[0], [0], [1], [2]])),
    ...section(5, vec([[0x00, ...uleb(1)]])),
    ...section(7, vec([[...name('mem'), 0x02, 0], [...name('symv'), 0x00, 0], [...name('rank2'), 0x00, 1], [...name('dot'), 0x00, 2], [...name('fwht'), 0x00, 3]])),
    ...section(10, vec([symvFn(), rank2Fn(), dotFn(), fwhtFn()])),
  ]);
}

interface Kernels {
  symv(a: number, v: number, p: number, m: number, s0: number): void;
  rank2(a: number, v: number, w: number, m: number, s0: number): void;
  dot(x: number, y: number, len: number): number;
  /** In-place Walsh–Hadamard transform of n float32 at byte address x (n a power of two ≥ 4). */
  fwht(x: number, n: number): void;
  /** The kernels' memory, grown to at least `bytes` (views must be taken again after each call). */
  memory(bytes: number): ArrayBuffer;
  /** A float64 view of at least `values` values (the memory grows as needed). */
  view(values: number): Float64Array;
}

let kernelState: Kernels | null | undefined;

/** The SIMD kernels, or null where WebAssembly SIMD is unavailable (or disabled for tests). */
export function simdKernels(): Kernels | null {
  if (kernelState !== undefined) return kernelState;
  kernelState = null;
  if (process.env.CULL_NO_WASM_SIMD) return null;
  try {
    const bytes = kernelModuleBytes();
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return null;
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    const ex = inst.exports as unknown as {
      mem: WebAssembly.Memory;
      symv: Kernels['symv'];
      rank2: Kernels['rank2'];
      dot: Kernels['dot'];
      fwht: Kernels['fwht'];
    };
    const memory = (bytesNeeded: number): ArrayBuffer => {
      const have = ex.mem.buffer.byteLength;
      if (bytesNeeded > have) ex.mem.grow(Math.ceil((bytesNeeded - have) / 65536));
      return ex.mem.buffer;
    };
    kernelState = {
      symv: ex.symv,
      rank2: ex.rank2,
      dot: ex.dot,
      fwht: ex.fwht,
      memory,
      view: (values: number): Float64Array => new Float64Array(memory(values * 8)),
    };
  } catch {
    kernelState = null;
  }
  return kernelState;
}

/** For tests: force the JavaScript fallback on (true) or back to auto-detection (false). */
export function disableSimdKernels(disabled: boolean): void {
  kernelState = disabled ? null : undefined;
}

// ---- factorisations (float64) ---------------------------------------------------------------------

/** A symmetric matrix as Q T Qᵀ: T tridiagonal (diag, off), Q a product of Householder reflectors. */
export interface Tridiagonal {
  m: number;
  diag: Float64Array;
  /** off[k] couples k and k+1 (length m; the last entry is unused). */
  off: Float64Array;
  /** Reflector k lives in row k of this m × m array, in columns k+1 … m−1. */
  reflectors: Float64Array;
  beta: Float64Array;
}

/**
 * Householder tridiagonalisation of a symmetric m × m matrix (row-major, both triangles filled).
 * `a` is used as scratch space. Both triangles are updated, so every inner loop runs along a
 * contiguous row (1.5× the flops of a one-triangle version, but simple SIMD loops).
 */
export function tridiagonalize(a: Float64Array, m: number): Tridiagonal {
  if (a.length !== m * m) throw new Error(`tridiagonalize: ${a.length} values for ${m} × ${m}.`);
  const k = simdKernels();
  // Work arrays: in WebAssembly memory (matrix, v, p, w back to back) or plain JS arrays.
  const mem = k ? k.view(m * m + 3 * m) : null;
  const A = mem ? mem.subarray(0, m * m) : a;
  const v = mem ? mem.subarray(m * m, m * m + m) : new Float64Array(m);
  const p = mem ? mem.subarray(m * m + m, m * m + 2 * m) : new Float64Array(m);
  const w = mem ? mem.subarray(m * m + 2 * m, m * m + 3 * m) : new Float64Array(m);
  if (mem) A.set(a);
  const [aAt, vAt, pAt, wAt] = [0, m * m * 8, (m * m + m) * 8, (m * m + 2 * m) * 8];
  const V = new Float64Array(m * m);
  const beta = new Float64Array(m);
  const diag = new Float64Array(m);
  const off = new Float64Array(m);
  for (let c = 0; c < m - 2; c++) {
    const s0 = c + 1;
    const co = c * m;
    let norm2 = 0;
    for (let j = s0; j < m; j++) norm2 += A[co + j] * A[co + j];
    const x0 = A[co + s0];
    if (norm2 === 0 || norm2 === x0 * x0) {
      off[c] = x0; // this row is already tridiagonal: no reflection
      continue;
    }
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    for (let j = s0; j < m; j++) v[j] = A[co + j];
    v[s0] = x0 - alpha;
    V.set(v.subarray(s0, m), co + s0);
    const b = 2 / (norm2 - x0 * x0 + (x0 - alpha) * (x0 - alpha));
    beta[c] = b;
    off[c] = alpha;
    // p = b·A₂₂v; w = p − (b/2)(pᵀv)v; A₂₂ ← A₂₂ − v wᵀ − w vᵀ.
    if (k) k.symv(aAt, vAt, pAt, m, s0);
    else symvJs(A, v, p, m, s0);
    let pv = 0;
    for (let i = s0; i < m; i++) {
      p[i] *= b;
      pv += p[i] * v[i];
    }
    const h = 0.5 * b * pv;
    for (let i = s0; i < m; i++) w[i] = p[i] - h * v[i];
    if (k) k.rank2(aAt, vAt, wAt, m, s0);
    else rank2Js(A, v, w, m, s0);
  }
  for (let i = 0; i < m; i++) diag[i] = A[i * m + i];
  if (m >= 2) off[m - 2] = A[(m - 2) * m + m - 1];
  return { m, diag, off, reflectors: V, beta };
}

function symvJs(a: Float64Array, v: Float64Array, p: Float64Array, m: number, s0: number): void {
  for (let i = s0; i < m; i++) {
    const ro = i * m;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0; // prettier-ignore
    let j = s0;
    for (; j + 3 < m; j += 4) {
      a0 += a[ro + j] * v[j];
      a1 += a[ro + j + 1] * v[j + 1];
      a2 += a[ro + j + 2] * v[j + 2];
      a3 += a[ro + j + 3] * v[j + 3];
    }
    for (; j < m; j++) a0 += a[ro + j] * v[j];
    p[i] = a0 + a1 + a2 + a3;
  }
}

function rank2Js(a: Float64Array, v: Float64Array, w: Float64Array, m: number, s0: number): void {
  for (let i = s0; i < m; i++) {
    const ro = i * m;
    const vi = v[i];
    const wi = w[i];
    for (let j = s0; j < m; j++) a[ro + j] -= vi * w[j] + wi * v[j];
  }
}

/** x ← Qᵀx (in place). */
export function applyQt(t: Tridiagonal, x: Float64Array): Float64Array {
  const { m, reflectors: V, beta } = t;
  for (let k = 0; k < m - 2; k++) {
    if (beta[k] === 0) continue;
    const ko = k * m;
    let s = 0;
    for (let j = k + 1; j < m; j++) s += V[ko + j] * x[j];
    s *= beta[k];
    for (let j = k + 1; j < m; j++) x[j] -= s * V[ko + j];
  }
  return x;
}

/** x ← Qx (in place). */
export function applyQ(t: Tridiagonal, x: Float64Array): Float64Array {
  const { m, reflectors: V, beta } = t;
  for (let k = m - 3; k >= 0; k--) {
    if (beta[k] === 0) continue;
    const ko = k * m;
    let s = 0;
    for (let j = k + 1; j < m; j++) s += V[ko + j] * x[j];
    s *= beta[k];
    for (let j = k + 1; j < m; j++) x[j] -= s * V[ko + j];
  }
  return x;
}

/**
 * Solves (T + λI)u = c for the tridiagonal T of `t` (Thomas algorithm). T + λI is positive
 * definite for a positive semi-definite matrix and λ > 0, so no pivoting is needed.
 */
export function solveShiftedTridiagonal(t: Tridiagonal, lambda: number, c: Float64Array, out = new Float64Array(t.m)): Float64Array {
  const { m, diag, off } = t;
  const cp = new Float64Array(m);
  let denom = diag[0] + lambda;
  cp[0] = m > 1 ? off[0] / denom : 0;
  out[0] = c[0] / denom;
  for (let i = 1; i < m; i++) {
    denom = diag[i] + lambda - off[i - 1] * cp[i - 1];
    cp[i] = i < m - 1 ? off[i] / denom : 0;
    out[i] = (c[i] - off[i - 1] * out[i - 1]) / denom;
  }
  for (let i = m - 2; i >= 0; i--) out[i] -= cp[i] * out[i + 1];
  return out;
}

/** Solves (A + λI)x = b for a symmetric positive semi-definite m × m `a` (not modified) by Cholesky. */
export function choleskySolve(a: Float64Array, m: number, lambda: number, b: Float64Array): Float64Array {
  const k = simdKernels();
  // L overwrites the lower triangle of a copy of A + λI, row by row.
  const L = k ? k.view(m * m).subarray(0, m * m) : new Float64Array(m * m);
  L.set(a);
  for (let i = 0; i < m; i++) L[i * m + i] += lambda;
  for (let i = 0; i < m; i++) {
    const io = i * m;
    for (let j = 0; j <= i; j++) {
      const jo = j * m;
      let s = L[io + j];
      if (k) s -= k.dot(io * 8, jo * 8, j);
      else for (let c = 0; c < j; c++) s -= L[io + c] * L[jo + c];
      if (i === j) {
        if (!(s > 0)) throw new Error('Cholesky: the matrix is not positive definite (increase the regularisation).');
        L[io + i] = Math.sqrt(s);
      } else {
        L[io + j] = s / L[jo + j];
      }
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < m; i++) {
    let s = x[i];
    for (let c = 0; c < i; c++) s -= L[i * m + c] * x[c];
    x[i] = s / L[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i];
    for (let c = i + 1; c < m; c++) s -= L[c * m + i] * x[c];
    x[i] = s / L[i * m + i];
  }
  return x;
}

// ---- rank statistics --------------------------------------------------------------------------------

/** Ranks 1…n with ties sharing their average rank. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  // A native numeric sort of the values, then each value's rank from binary searches: the first and
  // last positions of equal values average into the tie rank. Much faster than an index sort with a
  // comparator callback.
  const sorted = Float64Array.from(values).sort();
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      out[i] = NaN;
      continue;
    }
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    const first = lo;
    hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] <= v) lo = mid + 1;
      else hi = mid;
    }
    out[i] = (first + lo - 1) / 2 + 1;
  }
  return out;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error('pearson: arrays of different lengths.');
  let ma = 0, mb = 0; // prettier-ignore
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0; // prettier-ignore
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma;
    const y = b[i] - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Spearman rank correlation (Pearson correlation of tie-averaged ranks); 0 when either side is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/** Area under the ROC curve of `scores` for `positive[i]` (Mann–Whitney U with tie correction). */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const r = ranks(scores);
  let pos = 0;
  let sum = 0;
  for (let i = 0; i < r.length; i++) {
    if (positive[i]) {
      pos++;
      sum += r[i];
    }
  }
  const neg = r.length - pos;
  if (!pos || !neg) return NaN;
  return (sum - (pos * (pos + 1)) / 2) / (pos * neg);
}
