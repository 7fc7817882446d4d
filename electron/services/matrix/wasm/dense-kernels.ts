// The dense-matrix WebAssembly SIMD kernels: the tridiagonalisation's two O(m²)-per-column loops
// (a matrix-vector product and a rank-2 update) and Cholesky's dot products as f64x2 SIMD, about 6×
// faster than the same loops in V8 (solve.ts); and a float32 Walsh–Hadamard transform for the
// near-duplicate sketches (culling/groups.ts). Where WebAssembly SIMD is missing, their callers run
// JavaScript loops that do the same work.
import { VALTYPE, funcType, op, wasmModule, type Code } from './assembler.ts';

const { i32: I32, f32: F32, f64: F64, v128: V128 } = VALTYPE;

// float64 rows are 8-byte aligned: the hint the v128 accesses carry.
const vLoad = op.v128load(0, 3);
const vStore = op.v128store(0, 3);

/** base + index·8 (byte address of a float64). */
const at = (base: number, index: number): Code => [op.get(base), op.get(index), op.i32(3), op.shl, op.add];

/**
 * s = Σ x[j]·y[j] over float64 rows at byte addresses in locals x and y, for j from `from` (code
 * pushing the first index) to len: pairs in f64x2 lanes, then the odd last one. Locals j, acc (v128), s.
 */
function dotCode(x: number, y: number, from: number[], len: number, j: number, acc: number, s: number): Code {
  return [
    op.v128zero, op.set(acc), from, op.set(j),
    op.block, op.loop,
    op.get(j), op.i32(2), op.add, op.get(len), op.gtS, op.brIf(1),
    op.get(acc), ...at(x, j), vLoad, ...at(y, j), vLoad, op.f64x2Mul, op.f64x2Add, op.set(acc),
    op.get(j), op.i32(2), op.add, op.set(j), op.br(0),
    op.end, op.end,
    op.get(acc), op.f64x2Lane(0), op.get(acc), op.f64x2Lane(1), op.f64add, op.set(s),
    op.block, op.get(j), op.get(len), op.geS, op.brIf(0),
    op.get(s), ...at(x, j), op.f64load, ...at(y, j), op.f64load, op.f64mul, op.f64add, op.set(s),
    op.end,
  ];
}

/** dot(x, y, len) → Σ x[j]·y[j]. Params x=0 y=1 len=2; locals j=3 acc=4 s=5. */
function dotFn(): Code {
  const [x, y, len, j, acc, s] = [0, 1, 2, 3, 4, 5];
  return [...dotCode(x, y, op.i32(0), len, j, acc, s), op.get(s)];
}

/**
 * For i from s0 to m: row = byte address of row i of the m × m float64 matrix at a, then `body`.
 * Locals i and row.
 */
function forRows(a: number, m: number, s0: number, i: number, row: number, body: Code): Code {
  return [
    op.get(s0), op.set(i),
    op.block, op.loop,
    op.get(i), op.get(m), op.geS, op.brIf(1),
    op.get(a), op.get(i), op.get(m), op.mul, op.i32(3), op.shl, op.add, op.set(row),
    ...body,
    op.get(i), op.i32(1), op.add, op.set(i), op.br(0),
    op.end, op.end,
  ];
}

/** symv(a, v, p, m, s0): p[i] = Σ_{j≥s0} a[i·m + j]·v[j] for s0 ≤ i < m. Locals i=5 j=6 row=7 acc=8 s=9. */
function symvFn(): Code {
  const [a, v, p, m, s0, i, j, row, acc, s] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  return forRows(a, m, s0, i, row, [...dotCode(row, v, op.get(s0), m, j, acc, s), ...at(p, i), op.get(s), op.f64store]);
}

/** rank2(a, v, w, m, s0): a[i·m + j] −= v[i]·w[j] + w[i]·v[j] for s0 ≤ i, j < m. Locals i=5 j=6 row=7 addr=8 vi=9 wi=10. */
function rank2Fn(): Code {
  const [a, v, w, m, s0, i, j, row, addr, vi, wi] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  return forRows(a, m, s0, i, row, [
    ...at(v, i), op.f64load, op.f64x2Splat, op.set(vi),
    ...at(w, i), op.f64load, op.f64x2Splat, op.set(wi),
    op.get(s0), op.set(j),
    op.block, op.loop,
    op.get(j), op.i32(2), op.add, op.get(m), op.gtS, op.brIf(1),
    ...at(row, j), op.tee(addr), op.get(addr), vLoad,
    op.get(vi), ...at(w, j), vLoad, op.f64x2Mul,
    op.get(wi), ...at(v, j), vLoad, op.f64x2Mul,
    op.f64x2Add, op.f64x2Sub, vStore,
    op.get(j), op.i32(2), op.add, op.set(j), op.br(0),
    op.end, op.end,
    op.block, op.get(j), op.get(m), op.geS, op.brIf(0),
    ...at(row, j), op.tee(addr), op.get(addr), op.f64load,
    op.get(vi), op.f64x2Lane(0), ...at(w, j), op.f64load, op.f64mul,
    op.get(wi), op.f64x2Lane(0), ...at(v, j), op.f64load, op.f64mul,
    op.f64add, op.f64sub, op.f64store,
    op.end,
  ]);
}

/**
 * fwht(x, n): in-place Walsh–Hadamard transform of n float32 (n a power of two, ≥ 4). The first two
 * stages run as one scalar 4-point transform, the rest as f32x4 butterflies.
 * Params x=0 n=1; locals i=2 j=3 h=4 end=5 pa=6 pb=7 (i32), a=8 b=9 c=10 d=11 (f32), va=12 vb=13 (v128).
 */
function fwhtFn(): Code {
  const [x, n, i, j, h, end, pa, pb, a, b, c, d, va, vb] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const at4 = (base: number, index: number): Code => [op.get(base), op.get(index), op.i32(2), op.shl, op.add];
  const load = (k: number, into: number): Code => [op.get(pa), op.f32load(k * 4), op.set(into)];
  const store = (k: number, expr: Code): Code => [op.get(pa), ...expr, op.f32store(k * 4)];
  return [
    // Stages h = 1, 2.
    op.i32(0), op.set(i),
    op.block, op.loop,
    op.get(i), op.get(n), op.geS, op.brIf(1),
    ...at4(x, i), op.set(pa),
    ...load(0, a), ...load(1, b), ...load(2, c), ...load(3, d),
    ...store(0, [op.get(a), op.get(b), op.f32add, op.get(c), op.get(d), op.f32add, op.f32add]),
    ...store(1, [op.get(a), op.get(b), op.f32sub, op.get(c), op.get(d), op.f32sub, op.f32add]),
    ...store(2, [op.get(a), op.get(b), op.f32add, op.get(c), op.get(d), op.f32add, op.f32sub]),
    ...store(3, [op.get(a), op.get(b), op.f32sub, op.get(c), op.get(d), op.f32sub, op.f32sub]),
    op.get(i), op.i32(4), op.add, op.set(i), op.br(0),
    op.end, op.end,
    // Stages h = 4, 8, …: butterflies of four lanes.
    op.i32(4), op.set(h),
    op.block, op.loop,
    op.get(h), op.get(n), op.geS, op.brIf(1),
    op.i32(0), op.set(i),
    op.block, op.loop,
    op.get(i), op.get(n), op.geS, op.brIf(1),
    op.get(i), op.get(h), op.add, op.set(end),
    op.get(i), op.set(j),
    op.block, op.loop,
    op.get(j), op.get(end), op.geS, op.brIf(1),
    ...at4(x, j), op.tee(pa), vLoad, op.set(va),
    op.get(j), op.get(h), op.add, op.set(pb),
    ...at4(x, pb), op.tee(pb), vLoad, op.set(vb),
    op.get(pa), op.get(va), op.get(vb), op.f32x4Add, vStore,
    op.get(pb), op.get(va), op.get(vb), op.f32x4Sub, vStore,
    op.get(j), op.i32(4), op.add, op.set(j), op.br(0),
    op.end, op.end,
    op.get(end), op.get(h), op.add, op.set(i), op.br(0),
    op.end, op.end,
    op.get(h), op.i32(1), op.shl, op.set(h), op.br(0),
    op.end, op.end,
  ];
}

export function kernelModuleBytes(): Uint8Array<ArrayBuffer> {
  const types = [funcType([I32, I32, I32, I32, I32]), funcType([I32, I32, I32], [F64]), funcType([I32, I32])];
  return wasmModule(types, { own: true, pages: 1 }, [
    { name: 'symv', type: 0, locals: [[3, I32], [1, V128], [1, F64]], code: symvFn() },
    { name: 'rank2', type: 0, locals: [[4, I32], [2, V128]], code: rank2Fn() },
    { name: 'dot', type: 1, locals: [[1, I32], [1, V128], [1, F64]], code: dotFn() },
    { name: 'fwht', type: 2, locals: [[6, I32], [4, F32], [2, V128]], code: fwhtFn() },
  ]);
}

export interface Kernels {
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
