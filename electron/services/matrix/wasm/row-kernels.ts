// The row store's WebAssembly SIMD kernels: dot products of every row with one direction (float32
// rows, or int8 codes times an int16 direction in exact integer arithmetic) and the float16 ingest
// that normalises (and quantises) a row as the database streams it in. The memory is imported: each
// RowStore (row-store.ts) instantiates the module over its own.
import { VALTYPE as T, funcType, op, wasmModule, type Code } from './assembler.ts';

const F32_TWO_POW_112 = 0x77800000; // bits of 2^112: rebiases a float16 exponent (15) to float32's (127)
const F32_127 = 0x42fe0000;
const F32_ONE = 0x3f800000;

const splat = (n: number) => [...op.i32(n), ...op.i32x4Splat];

/** |half| of 4 lanes `w` (u32 holding a half each) as float32: (w & 0x7fff) << 13 read as a float32, times 2^112 (normals and subnormals alike; exponent 31 comes out ≥ 65536). */
function halfMagnitude(W: number): number[] {
  return [...op.get(W), ...splat(0x7fff), ...op.v128and, ...op.i32(13), ...op.i32x4Shl, ...op.f32const(F32_TWO_POW_112), ...op.f32x4Splat, ...op.f32x4Mul];
}

/**
 * One float16 → float32 step over 4 lanes `w` (u32 holding a half each): the half's magnitude, the
 * sign bit moved up 16 places. Lanes with exponent 31 (inf/NaN) are flagged in SPECIAL (when given).
 * Leaves the float32x4 on the stack.
 */
function halfToFloat(W: number, SPECIAL: number | null): number[] {
  return [
    ...(SPECIAL === null ? [] : [...op.get(SPECIAL), ...op.get(W), ...splat(0x7c00), ...op.v128and, ...splat(0x7c00), ...op.i32x4Eq, ...op.v128or, ...op.set(SPECIAL)]),
    ...halfMagnitude(W),
    ...op.get(W), ...splat(0x8000), ...op.v128and, ...op.i32(16), ...op.i32x4Shl,
    ...op.v128or,
  ]; // prettier-ignore
}

/** S = lane 0 + lane 1 + lane 2 + lane 3 of SUM (float32): the sum of squares' lanes added in one fixed order. */
const laneSum = (SUM: number, S: number) => [
  ...op.get(SUM), ...op.f32x4Lane(0), ...op.get(SUM), ...op.f32x4Lane(1), ...op.f32add,
  ...op.get(SUM), ...op.f32x4Lane(2), ...op.f32add, ...op.get(SUM), ...op.f32x4Lane(3), ...op.f32add,
  ...op.set(S),
]; // prettier-ignore

/**
 * ingest(src, dim, dst, codes, scalePtr) → i32: float16 row at `src` (dim a multiple of 16).
 * codes = 0: to a float32 row at `dst`, re-normalised to unit length (two passes: decode with the
 * sum of squares, then scale). codes ≠ 0: to int8 codes at `codes` with the scale of the
 * unit-length row at `scalePtr` (x ≈ scale · code), `dst` unused: the codes round(x · 127/max) of
 * the row as decoded are those of x/‖x‖ (the norm cancels; only the scale, max/‖x‖/127, needs it),
 * and max|x| is the largest of the halves' magnitude bits, decoded (decoding is monotonic): one
 * integer pass for the max, then one pass that decodes, adds up the squares and writes the codes.
 * Returns 0 without finishing when the row holds inf/NaN or is all zeros (the caller's plain path
 * handles those).
 */
function ingestBody(): Code {
  const [SRC, DIM, DST, CODES, SCALEP, P, Q, END, W, V, SUM, MAX, SPECIAL, V1, QW, S, M] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
  const convert = (extend: number[], offset: number) => [
    ...op.get(V), ...extend, ...op.set(W),
    ...op.get(Q), ...halfToFloat(W, SPECIAL), ...op.v128store(offset),
    ...op.get(Q), ...op.v128load(offset), ...op.set(W),
    ...op.get(SUM), ...op.get(W), ...op.get(W), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(SUM),
  ]; // prettier-ignore
  // int8: 4 halves of `from` decoded, their squares added to SUM, their codes left on the stack.
  const code4 = (from: number, extend: number[]) => [
    ...op.get(from), ...extend, ...op.set(W),
    ...halfToFloat(W, null), ...op.set(MAX),
    ...op.get(SUM), ...op.get(MAX), ...op.get(MAX), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(SUM),
    ...op.get(MAX), ...op.get(QW), ...op.f32x4Mul, ...op.f32x4Nearest, ...op.i32x4TruncSatF32,
  ]; // prettier-ignore
  return [
    ...op.get(CODES), ...op.ifVoid,
    // int8, pass 1: M = max |x| (magnitude bits, 8 halves a step: an inf/NaN half has the largest)
    ...op.v128zero, ...op.set(V1),
    ...op.get(SRC), ...op.set(P),
    ...op.get(SRC), ...op.get(DIM), ...op.i32(1), ...op.shl, ...op.add, ...op.set(END),
    ...op.loop,
    ...op.get(V1), ...op.get(P), ...op.v128load(0), ...splat(0x7fff7fff), ...op.v128and, ...op.i16x8MaxU, ...op.set(V1),
    ...op.get(P), ...op.i32(16), ...op.add, ...op.set(P),
    ...op.get(P), ...op.get(END), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.get(V1), ...op.i32x4ExtendLowU16, ...op.get(V1), ...op.i32x4ExtendHighU16, ...op.i32x4MaxU, ...op.set(W),
    ...halfMagnitude(W), ...op.set(W),
    ...op.get(W), ...op.f32x4Lane(0), ...op.get(W), ...op.f32x4Lane(1), ...op.f32max,
    ...op.get(W), ...op.f32x4Lane(2), ...op.f32max, ...op.get(W), ...op.f32x4Lane(3), ...op.f32max, ...op.set(M),
    // all zeros, or an inf/NaN half (exponent 31 decodes to ≥ 2^16 here; the largest finite half is 65504)
    ...op.get(M), ...op.f32const(0), ...op.f32gt, ...op.eqz, ...op.ifVoid, ...op.i32(0), ...op.ret, ...op.end,
    ...op.get(M), ...op.f32const(0x47800000), ...op.f32lt, ...op.eqz, ...op.ifVoid, ...op.i32(0), ...op.ret, ...op.end,
    // int8, pass 2: 16 halves a step decoded, squares summed (element j into lane j % 4, as the
    // float32 path), codes round(x · 127/M), narrowed (saturating; |code| ≤ 127 anyway) and stored
    ...op.f32const(F32_127), ...op.get(M), ...op.f32div, ...op.f32x4Splat, ...op.set(QW),
    ...op.v128zero, ...op.set(SUM),
    ...op.get(SRC), ...op.set(P), ...op.get(CODES), ...op.set(Q),
    ...op.loop,
    ...op.get(P), ...op.v128load(0), ...op.set(V), ...op.get(P), ...op.v128load(16), ...op.set(V1),
    ...op.get(Q),
    ...code4(V, op.i32x4ExtendLowU16), ...code4(V, op.i32x4ExtendHighU16), ...op.i16x8NarrowI32,
    ...code4(V1, op.i32x4ExtendLowU16), ...code4(V1, op.i32x4ExtendHighU16), ...op.i16x8NarrowI32,
    ...op.i8x16NarrowI16,
    ...op.v128store(0),
    ...op.get(P), ...op.i32(32), ...op.add, ...op.set(P),
    ...op.get(Q), ...op.i32(16), ...op.add, ...op.set(Q),
    ...op.get(P), ...op.get(END), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...laneSum(SUM, S),
    ...op.get(SCALEP), ...op.get(M), ...op.f32const(F32_ONE), ...op.get(S), ...op.f32sqrt, ...op.f32div, ...op.f32mul, ...op.f32const(F32_127), ...op.f32div, ...op.f32store(),
    ...op.i32(1), ...op.ret,
    ...op.end,
    // float32, pass 1: convert, sum of squares
    ...op.v128zero, ...op.set(SUM), ...op.v128zero, ...op.set(SPECIAL),
    ...op.get(SRC), ...op.set(P), ...op.get(DST), ...op.set(Q),
    ...op.get(SRC), ...op.get(DIM), ...op.i32(1), ...op.shl, ...op.add, ...op.set(END),
    ...op.loop,
    ...op.get(P), ...op.v128load(0), ...op.set(V),
    ...convert(op.i32x4ExtendLowU16, 0),
    ...convert(op.i32x4ExtendHighU16, 16),
    ...op.get(P), ...op.i32(16), ...op.add, ...op.set(P),
    ...op.get(Q), ...op.i32(32), ...op.add, ...op.set(Q),
    ...op.get(P), ...op.get(END), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.get(SPECIAL), ...op.anyTrue, ...op.ifVoid, ...op.i32(0), ...op.ret, ...op.end,
    ...laneSum(SUM, S),
    ...op.get(S), ...op.f32const(0), ...op.f32gt, ...op.eqz, ...op.ifVoid, ...op.i32(0), ...op.ret, ...op.end,
    // float32, pass 2: scale to unit length (W = splat 1/‖x‖)
    ...op.f32const(F32_ONE), ...op.get(S), ...op.f32sqrt, ...op.f32div, ...op.f32x4Splat, ...op.set(W),
    ...op.get(DST), ...op.get(DIM), ...op.i32(2), ...op.shl, ...op.add, ...op.set(END),
    ...op.get(DST), ...op.set(Q),
    ...op.loop,
    ...op.get(Q), ...op.get(Q), ...op.v128load(0), ...op.get(W), ...op.f32x4Mul, ...op.v128store(0),
    ...op.get(Q), ...op.i32(16), ...op.add, ...op.set(Q),
    ...op.get(Q), ...op.get(END), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.i32(1),
  ]; // prettier-ignore
}

/**
 * dot_i8(mat, rows, dim, dir, scales, out, dscale):
 *   out[r] = f32(Σ_j mat[r·dim + j] · dir[j]) · scales[r] · dscale, for r < rows
 * mat: int8 rows; dir: int16 (dim values); dim a multiple of 16.
 */
function dotI8Body(): Code {
  const [MAT, ROWS, DIM, DIR, SCALES, OUT, DSCALE, R, P, J, END, ACC, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  return [
    ...op.i32(0), ...op.set(R), ...op.get(MAT), ...op.set(P),
    ...op.block, ...op.loop,
    ...op.get(R), ...op.get(ROWS), ...op.geU, ...op.brIf(1),
    ...op.v128zero, ...op.set(ACC),
    ...op.get(P), ...op.get(DIM), ...op.add, ...op.set(END),
    ...op.get(DIR), ...op.set(J),
    ...op.loop,
    ...op.get(P), ...op.v128load(0), ...op.set(V),
    ...op.get(ACC),
    ...op.get(V), ...op.i16x8ExtendLowI8, ...op.get(J), ...op.v128load(0), ...op.i32x4DotI16, ...op.i32x4Add,
    ...op.get(V), ...op.i16x8ExtendHighI8, ...op.get(J), ...op.v128load(16), ...op.i32x4DotI16, ...op.i32x4Add,
    ...op.set(ACC),
    ...op.get(P), ...op.i32(16), ...op.add, ...op.set(P),
    ...op.get(J), ...op.i32(32), ...op.add, ...op.set(J),
    ...op.get(P), ...op.get(END), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.get(OUT), ...op.get(R), ...op.i32(2), ...op.shl, ...op.add,
    ...op.get(ACC), ...op.i32x4Lane(0), ...op.get(ACC), ...op.i32x4Lane(1), ...op.add,
    ...op.get(ACC), ...op.i32x4Lane(2), ...op.add, ...op.get(ACC), ...op.i32x4Lane(3), ...op.add,
    ...op.f32FromI32,
    ...op.get(SCALES), ...op.get(R), ...op.i32(2), ...op.shl, ...op.add, ...op.f32load(), ...op.f32mul,
    ...op.get(DSCALE), ...op.f32mul,
    ...op.f32store(),
    ...op.get(R), ...op.i32(1), ...op.add, ...op.set(R),
    ...op.br(0),
    ...op.end, ...op.end,
  ]; // prettier-ignore
}

/**
 * dot_f32(mat, rows, dim, dir, out): out[r] = Σ_j mat[r·dim + j] · dir[j]; dim a multiple of 8.
 * Two accumulators so consecutive additions do not wait on each other.
 */
function dotF32Body(): Code {
  const [MAT, ROWS, DIM, DIR, OUT, R, P, J, END, A0, A1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  return [
    ...op.i32(0), ...op.set(R), ...op.get(MAT), ...op.set(P),
    ...op.get(DIM), ...op.i32(2), ...op.shl, ...op.set(DIM), // bytes per row from here on
    ...op.block, ...op.loop,
    ...op.get(R), ...op.get(ROWS), ...op.geU, ...op.brIf(1),
    ...op.v128zero, ...op.set(A0), ...op.v128zero, ...op.set(A1),
    ...op.get(P), ...op.get(DIM), ...op.add, ...op.set(END),
    ...op.get(DIR), ...op.set(J),
    ...op.loop,
    ...op.get(A0), ...op.get(P), ...op.v128load(0), ...op.get(J), ...op.v128load(0), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(A0),
    ...op.get(A1), ...op.get(P), ...op.v128load(16), ...op.get(J), ...op.v128load(16), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(A1),
    ...op.get(P), ...op.i32(32), ...op.add, ...op.set(P),
    ...op.get(J), ...op.i32(32), ...op.add, ...op.set(J),
    ...op.get(P), ...op.get(END), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.get(OUT), ...op.get(R), ...op.i32(2), ...op.shl, ...op.add,
    ...op.get(A0), ...op.get(A1), ...op.f32x4Add, ...op.set(A0),
    ...op.get(A0), ...op.f32x4Lane(0), ...op.get(A0), ...op.f32x4Lane(1), ...op.f32add,
    ...op.get(A0), ...op.f32x4Lane(2), ...op.get(A0), ...op.f32x4Lane(3), ...op.f32add, ...op.f32add,
    ...op.f32store(),
    ...op.get(R), ...op.i32(1), ...op.add, ...op.set(R),
    ...op.br(0),
    ...op.end, ...op.end,
  ]; // prettier-ignore
}

/** `shared`: over an imported shared memory (scoring passes split across threads, dot-pool.ts). */
export function rowKernelBytes(shared = false): Uint8Array<ArrayBuffer> {
  const i = T.i32;
  return wasmModule([funcType([i, i, i, i, i, i, T.f32]), funcType([i, i, i, i, i]), funcType([i, i, i, i, i], [i])], { imported: true, pages: 1, shared }, [
    { name: 'dot_i8', type: 0, locals: [[4, T.i32], [2, T.v128]], code: dotI8Body() },
    { name: 'dot_f32', type: 1, locals: [[4, T.i32], [2, T.v128]], code: dotF32Body() },
    { name: 'ingest', type: 2, locals: [[3, T.i32], [7, T.v128], [2, T.f32]], code: ingestBody() },
  ]);
}

export interface RowKernels {
  dot_i8(mat: number, rows: number, dim: number, dir: number, scales: number, out: number, dscale: number): void;
  dot_f32(mat: number, rows: number, dim: number, dir: number, out: number): void;
  ingest(src: number, dim: number, dst: number, codes: number, scalePtr: number): number;
}

const compiled = new Map<boolean, WebAssembly.Module | null>();

/**
 * The kernel module, or null where WebAssembly SIMD is unavailable (or CULL_NO_SIMD is set).
 * `shared`: the variant over a shared memory, null also where shared memory is unavailable.
 */
export function rowKernelModule(shared = false): WebAssembly.Module | null {
  if (!compiled.has(shared)) {
    let module: WebAssembly.Module | null = null;
    try {
      if (!process.env.CULL_NO_SIMD) module = new WebAssembly.Module(rowKernelBytes(shared));
    } catch {
      module = null;
    }
    compiled.set(shared, module);
  }
  return compiled.get(shared)!;
}
