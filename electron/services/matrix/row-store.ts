// Rows of embeddings in one block of WebAssembly memory, with SIMD dot-product kernels.
//
// Every attribute score is one dot product per photo, so this is the hot loop of scoring: a plain
// JavaScript loop does ~1.3 G multiply-adds/s here (400 ms for 1M × 512), a WebAssembly SIMD
// kernel 5–8× that. Two formats:
//   'f32'  exact float32 rows (4 bytes per value);
//   'i8'   int8 codes with one float32 scale per row (x ≈ scale · code, scale = max|x| / 127):
//          a quarter of the memory (1M × 512 = 512 MB instead of 2 GB) at ~4e-4·‖d‖ of dot error.
//          The direction is quantised to int16 and the kernel multiplies int8 × int16 into int32
//          (i32x4.dot_i16x8_s), exact integer arithmetic, then applies both scales.
// Without WebAssembly SIMD (never seen on Node ≥ 16 or Electron), plain loops do the same maths.
//
// The module is assembled here from its opcodes (a few dozen bytes) rather than shipped as a binary.

import { VALTYPE, name, section, sleb, uleb, vec } from './wasm-encoding.ts';

export type RowFormat = 'f32' | 'i8';

// ---- a minimal WebAssembly assembler ---------------------------------------------------------------

const T = VALTYPE;
const op = {
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  i32: (n: number) => [0x41, ...sleb(n)],
  add: [0x6a],
  shl: [0x74],
  geU: [0x4f],
  ltU: [0x49],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (d: number) => [0x0c, d],
  brIf: (d: number) => [0x0d, d],
  f32load: [0x2a, 2, 0],
  f32store: [0x38, 2, 0],
  f32mul: [0x94],
  f32add: [0x92],
  f32FromI32: [0xb2],
  // SIMD: 0xfd prefix, LEB128 opcode
  v128load: (offset: number) => [0xfd, 0x00, 0, ...uleb(offset)],
  v128zero: [0xfd, 0x0c, ...new Array(16).fill(0)],
  i16x8ExtendLowI8: [0xfd, ...uleb(0x87)],
  i16x8ExtendHighI8: [0xfd, ...uleb(0x88)],
  i32x4DotI16: [0xfd, ...uleb(0xba)],
  i32x4Add: [0xfd, ...uleb(0xae)],
  i32x4Lane: (l: number) => [0xfd, ...uleb(0x1b), l],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  f32x4Lane: (l: number) => [0xfd, ...uleb(0x1f), l],
  // for the float16 ingest
  f32const: (bits: number) => [0x43, bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, bits >>> 24],
  f32sqrt: [0x91],
  f32div: [0x95],
  f32max: [0x97],
  f32gt: [0x5e],
  eqz: [0x45],
  ifVoid: [0x04, 0x40],
  ret: [0x0f],
  v128store: (offset: number) => [0xfd, 0x0b, 0, ...uleb(offset)],
  i32x4Splat: [0xfd, ...uleb(0x11)],
  f32x4Splat: [0xfd, ...uleb(0x13)],
  v128and: [0xfd, ...uleb(0x4e)],
  v128or: [0xfd, ...uleb(0x50)],
  anyTrue: [0xfd, ...uleb(0x53)],
  i32x4Eq: [0xfd, ...uleb(0x37)],
  i32x4Shl: [0xfd, ...uleb(0xab)],
  i32x4ExtendLowU16: [0xfd, ...uleb(0xa9)],
  i32x4ExtendHighU16: [0xfd, ...uleb(0xaa)],
  f32x4Abs: [0xfd, ...uleb(0xe0)],
  f32x4Max: [0xfd, ...uleb(0xe9)],
  f32x4Nearest: [0xfd, ...uleb(0x6a)],
  i32x4TruncSatF32: [0xfd, ...uleb(0xf8)],
  i16x8NarrowI32: [0xfd, ...uleb(0x85)],
  i8x16NarrowI16: [0xfd, ...uleb(0x65)],
};

const F32_TWO_POW_112 = 0x77800000; // bits of 2^112: rebiases a float16 exponent (15) to float32's (127)
const F32_127 = 0x42fe0000;
const F32_ONE = 0x3f800000;

/**
 * One float16 → float32 step over 4 lanes `w` (u32 holding a half each): (w & 0x7fff) << 13 read as a
 * float32 and multiplied by 2^112 is the half's magnitude (normals and subnormals alike), the sign
 * bit moves up 16 places. Lanes with exponent 31 (inf/NaN) are flagged in SPECIAL.
 * Leaves the float32x4 on the stack.
 */
function halfToFloat(W: number, SPECIAL: number): number[] {
  const splat = (n: number) => [...op.i32(n), ...op.i32x4Splat];
  return [
    ...op.get(SPECIAL), ...op.get(W), ...splat(0x7c00), ...op.v128and, ...splat(0x7c00), ...op.i32x4Eq, ...op.v128or, ...op.set(SPECIAL),
    ...op.get(W), ...splat(0x7fff), ...op.v128and, ...op.i32(13), ...op.i32x4Shl,
    ...op.f32const(F32_TWO_POW_112), ...op.f32x4Splat, ...op.f32x4Mul,
    ...op.get(W), ...splat(0x8000), ...op.v128and, ...op.i32(16), ...op.i32x4Shl,
    ...op.v128or,
  ]; // prettier-ignore
}

/**
 * ingest(src, dim, dst, codes, scalePtr) → i32: float16 row at `src` (dim a multiple of 16) to a
 * float32 row at `dst`, re-normalised to unit length. If `codes` is non-zero the row is then also
 * quantised to int8 at `codes` with its scale at `scalePtr` (x ≈ scale · code). Returns 0 without
 * finishing when the row holds inf/NaN or is all zeros (the caller's plain path handles those).
 */
function ingestBody(): number[] {
  const [SRC, DIM, DST, CODES, SCALEP, P, Q, END, W, V, SUM, MAX, SPECIAL, S, M] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const convert = (extend: number[], offset: number) => [
    ...op.get(V), ...extend, ...op.set(W),
    ...op.get(Q), ...halfToFloat(W, SPECIAL), ...op.v128store(offset),
    ...op.get(Q), ...op.v128load(offset), ...op.set(W),
    ...op.get(SUM), ...op.get(W), ...op.get(W), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(SUM),
    ...op.get(MAX), ...op.get(W), ...op.f32x4Abs, ...op.f32x4Max, ...op.set(MAX),
  ]; // prettier-ignore
  const lanes = (local: number, combine: number[]) => [
    ...op.get(local), ...op.f32x4Lane(0), ...op.get(local), ...op.f32x4Lane(1), ...combine,
    ...op.get(local), ...op.f32x4Lane(2), ...combine, ...op.get(local), ...op.f32x4Lane(3), ...combine,
  ]; // prettier-ignore
  const quantLane = (offset: number) => [...op.get(P), ...op.v128load(offset), ...op.get(W), ...op.f32x4Mul, ...op.f32x4Nearest, ...op.i32x4TruncSatF32];
  return [
    ...vec([[3, T.i32], [5, T.v128], [2, T.f32]]),
    // pass 1: convert, sum of squares, max |x|
    ...op.v128zero, ...op.set(SUM), ...op.v128zero, ...op.set(MAX), ...op.v128zero, ...op.set(SPECIAL),
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
    ...lanes(SUM, op.f32add), ...op.set(S),
    ...lanes(MAX, op.f32max), ...op.set(M),
    ...op.get(S), ...op.f32const(0), ...op.f32gt, ...op.eqz, ...op.ifVoid, ...op.i32(0), ...op.ret, ...op.end,
    // pass 2: scale to unit length (W = splat 1/‖x‖), and track the new max
    ...op.f32const(F32_ONE), ...op.get(S), ...op.f32sqrt, ...op.f32div, ...op.set(S),
    ...op.get(M), ...op.get(S), ...op.f32mul, ...op.set(M),
    ...op.get(S), ...op.f32x4Splat, ...op.set(W),
    ...op.get(DST), ...op.set(Q), ...op.get(DST), ...op.get(DIM), ...op.i32(2), ...op.shl, ...op.add, ...op.set(END),
    ...op.loop,
    ...op.get(Q), ...op.get(Q), ...op.v128load(0), ...op.get(W), ...op.f32x4Mul, ...op.v128store(0),
    ...op.get(Q), ...op.i32(16), ...op.add, ...op.set(Q),
    ...op.get(Q), ...op.get(END), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.get(CODES), ...op.eqz, ...op.ifVoid, ...op.i32(1), ...op.ret, ...op.end,
    // pass 3: int8 codes round(x · 127 / max), 16 per step (narrowing saturates, |code| ≤ 127 anyway)
    ...op.get(SCALEP), ...op.get(M), ...op.f32const(F32_127), ...op.f32div, ...op.f32store,
    ...op.f32const(F32_127), ...op.get(M), ...op.f32div, ...op.f32x4Splat, ...op.set(W),
    ...op.get(DST), ...op.set(P), ...op.get(CODES), ...op.set(Q),
    ...op.loop,
    ...op.get(Q),
    ...quantLane(0), ...quantLane(16), ...op.i16x8NarrowI32,
    ...quantLane(32), ...quantLane(48), ...op.i16x8NarrowI32,
    ...op.i8x16NarrowI16,
    ...op.v128store(0),
    ...op.get(P), ...op.i32(64), ...op.add, ...op.set(P),
    ...op.get(Q), ...op.i32(16), ...op.add, ...op.set(Q),
    ...op.get(P), ...op.get(END), ...op.ltU, ...op.brIf(0),
    ...op.end,
    ...op.i32(1),
    ...op.end,
  ]; // prettier-ignore
}

/**
 * dot_i8(mat, rows, dim, dir, scales, out, dscale):
 *   out[r] = f32(Σ_j mat[r·dim + j] · dir[j]) · scales[r] · dscale, for r < rows
 * mat: int8 rows; dir: int16 (dim values); dim a multiple of 16.
 */
function dotI8Body(): number[] {
  const [MAT, ROWS, DIM, DIR, SCALES, OUT, DSCALE, R, P, J, END, ACC, V] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  return [
    ...vec([[4, T.i32], [2, T.v128]]),
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
    ...op.get(SCALES), ...op.get(R), ...op.i32(2), ...op.shl, ...op.add, ...op.f32load, ...op.f32mul,
    ...op.get(DSCALE), ...op.f32mul,
    ...op.f32store,
    ...op.get(R), ...op.i32(1), ...op.add, ...op.set(R),
    ...op.br(0),
    ...op.end, ...op.end, ...op.end,
  ]; // prettier-ignore
}

/**
 * dot_f32(mat, rows, dim, dir, out): out[r] = Σ_j mat[r·dim + j] · dir[j]; dim a multiple of 8.
 * Two accumulators so consecutive additions do not wait on each other.
 */
function dotF32Body(): number[] {
  const [MAT, ROWS, DIM, DIR, OUT, R, P, J, END, A0, A1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  return [
    ...vec([[4, T.i32], [2, T.v128]]),
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
    ...op.f32store,
    ...op.get(R), ...op.i32(1), ...op.add, ...op.set(R),
    ...op.br(0),
    ...op.end, ...op.end, ...op.end,
  ]; // prettier-ignore
}

function assemble(): Uint8Array<ArrayBuffer> {
  const i = T.i32;
  const types = vec([
    [0x60, ...vec([[i], [i], [i], [i], [i], [i], [T.f32]]), 0], // dot_i8
    [0x60, ...vec([[i], [i], [i], [i], [i]]), 0], // dot_f32
    [0x60, ...vec([[i], [i], [i], [i], [i]]), 1, i], // ingest
  ]);
  const body = (b: number[]) => [...uleb(b.length), ...b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, types),
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, ...uleb(1)]])), // imported memory, ≥ 1 page
    ...section(3, vec([[0], [1], [2]])),
    ...section(7, vec([[...name('dot_i8'), 0x00, 0], [...name('dot_f32'), 0x00, 1], [...name('ingest'), 0x00, 2]])),
    ...section(10, vec([body(dotI8Body()), body(dotF32Body()), body(ingestBody())])),
  ]); // prettier-ignore
}

let compiled: WebAssembly.Module | null | undefined;

/** The kernel module, or null where WebAssembly SIMD is unavailable (or CULL_NO_SIMD is set). */
function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = process.env.CULL_NO_SIMD ? null : new WebAssembly.Module(assemble());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

export function simdAvailable(): boolean {
  return kernelModule() !== null;
}

// ---- the row store ---------------------------------------------------------------------------------

interface Kernels {
  dot_i8(mat: number, rows: number, dim: number, dir: number, scales: number, out: number, dscale: number): void;
  dot_f32(mat: number, rows: number, dim: number, dir: number, out: number): void;
  ingest(src: number, dim: number, dst: number, codes: number, scalePtr: number): number;
}

const PAGE = 65536;
const align16 = (n: number) => (n + 15) & ~15;

/**
 * `capacity` rows of `dim` values in one memory: [rows][scales][out][direction]. Growing allocates
 * a larger memory and copies (amortised by geometric growth in the caller).
 */
export class RowStore {
  private memory: WebAssembly.Memory | null = null;
  private buffer!: ArrayBuffer;
  private kernels: Kernels | null = null;
  private rowsAt = 0;
  private scalesAt = 0;
  private outAt = 0;
  private dirAt = 0;
  private stageAt = 0;
  private tmpAt = 0;
  private readonly rowBytes: number;
  private readonly simd: boolean;
  capacity = 0;

  constructor(
    readonly format: RowFormat,
    readonly dim: number,
    capacity: number,
  ) {
    this.rowBytes = format === 'f32' ? dim * 4 : dim;
    // The kernels walk rows in 16- or 32-byte steps: other dimensions use the plain loops.
    this.simd = kernelModule() !== null && dim > 0 && dim % (format === 'f32' ? 8 : 16) === 0;
    this.allocate(Math.max(1, capacity));
  }

  /** Row-major float32 rows ('f32' only): a view that stays valid until the next grow(). */
  get f32(): Float32Array {
    if (this.format !== 'f32') throw new Error('This row store holds int8 codes, not float32 rows.');
    return new Float32Array(this.buffer, this.rowsAt, this.capacity * this.dim);
  }

  get codes(): Int8Array {
    return new Int8Array(this.buffer, this.rowsAt, this.capacity * this.rowBytes);
  }

  get scales(): Float32Array {
    return new Float32Array(this.buffer, this.scalesAt, this.capacity);
  }

  /** The first `rows` rows as raw bytes (float32 or int8 codes), for snapshots: a view, no copy. */
  rawRows(rows: number): Uint8Array {
    return new Uint8Array(this.buffer, this.rowsAt, rows * this.rowBytes);
  }

  /** Bytes held for rows and scales (what a library's embeddings cost in memory). */
  get bytes(): number {
    return this.capacity * (this.rowBytes + 4);
  }

  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    const rows = new Uint8Array(this.buffer, this.rowsAt, this.capacity * this.rowBytes).slice();
    const scales = this.scales.slice();
    this.allocate(capacity);
    new Uint8Array(this.buffer, this.rowsAt, rows.length).set(rows);
    this.scales.set(scales);
  }

  /** Stores unit-length `v` as row r (quantised for 'i8'). */
  setRow(r: number, v: ArrayLike<number>, from = 0): void {
    const dim = this.dim;
    if (this.format === 'f32') {
      const m = new Float32Array(this.buffer, this.rowsAt + r * this.rowBytes, dim);
      for (let j = 0; j < dim; j++) m[j] = v[from + j];
      return;
    }
    let max = 0;
    let finite = true;
    for (let j = 0; j < dim; j++) {
      const a = Math.abs(v[from + j]);
      if (a > max) max = a;
      else if (!(a <= max)) finite = false; // NaN
    }
    finite &&= Number.isFinite(max);
    const scale = max > 0 && finite ? max / 127 : 0;
    const inv = scale > 0 ? 1 / scale : 0;
    const c = new Int8Array(this.buffer, this.rowsAt + r * this.rowBytes, dim);
    for (let j = 0; j < dim; j++) c[j] = Math.round(v[from + j] * inv);
    // A row with NaN or infinite values (corrupt BLOB) gets a NaN scale, so it scores NaN and ranks
    // nowhere, as it would in 'f32'.
    new Float32Array(this.buffer, this.scalesAt, this.capacity)[r] = finite ? scale : NaN;
  }

  /**
   * Stores a float16 BLOB (as the database keeps embeddings) as row r, re-normalised to unit length
   * like `setRow(decodeF16(blob) / norm)`, in one kernel call (~0.1 µs instead of ~5 µs of
   * JavaScript, whose 256 KB half-to-float table keeps missing the cache while SQLite streams rows
   * by). Returns false, having stored nothing, when the caller must decode it itself: no SIMD, or
   * a row with inf/NaN values or all zeros.
   */
  setRowF16(r: number, blob: Uint8Array): boolean {
    if (!this.kernels || blob.length !== this.dim * 2) return false;
    new Uint8Array(this.buffer, this.stageAt, blob.length).set(blob);
    const row = this.rowsAt + r * this.rowBytes;
    if (this.format === 'f32') return this.kernels.ingest(this.stageAt, this.dim, row, 0, 0) === 1;
    return this.kernels.ingest(this.stageAt, this.dim, this.tmpAt, row, this.scalesAt + r * 4) === 1;
  }

  /** Row r as float32 (dequantised for 'i8'). */
  getRow(r: number, out = new Float32Array(this.dim)): Float32Array {
    if (this.format === 'f32') {
      out.set(new Float32Array(this.buffer, this.rowsAt + r * this.rowBytes, this.dim));
      return out;
    }
    const c = new Int8Array(this.buffer, this.rowsAt + r * this.rowBytes, this.dim);
    const s = this.scales[r];
    for (let j = 0; j < this.dim; j++) out[j] = c[j] * s;
    return out;
  }

  /** Moves row `from` to row `to` (compaction after removals). */
  moveRow(from: number, to: number): void {
    new Uint8Array(this.buffer).copyWithin(this.rowsAt + to * this.rowBytes, this.rowsAt + from * this.rowBytes, this.rowsAt + (from + 1) * this.rowBytes);
    const s = this.scales;
    s[to] = s[from];
  }

  /** out[r] = row r · direction for r < rows. */
  dot(direction: Float32Array, rows: number, out: Float32Array = new Float32Array(rows)): Float32Array {
    const dim = this.dim;
    if (direction.length !== dim) throw new Error(`Direction has ${direction.length} values; the rows have ${dim}.`);
    if (rows > this.capacity) throw new Error(`${rows} rows asked of a store of ${this.capacity}.`);
    if (rows === 0) return out;
    if (!this.simd || !this.kernels) return this.format === 'f32' ? this.dotF32Js(direction, rows, out) : this.dotI8Js(direction, rows, out);
    if (this.format === 'f32') {
      new Float32Array(this.buffer, this.dirAt, dim).set(direction);
      this.kernels.dot_f32(this.rowsAt, rows, dim, this.dirAt, this.outAt);
    } else {
      const { codes, scale } = quantiseDirection(direction);
      new Int16Array(this.buffer, this.dirAt, dim).set(codes);
      this.kernels.dot_i8(this.rowsAt, rows, dim, this.dirAt, this.scalesAt, this.outAt, scale);
    }
    out.set(new Float32Array(this.buffer, this.outAt, rows));
    return out;
  }

  dotRow(r: number, direction: ArrayLike<number>): number {
    const dim = this.dim;
    let s = 0;
    if (this.format === 'f32') {
      const m = new Float32Array(this.buffer, this.rowsAt + r * this.rowBytes, dim);
      for (let j = 0; j < dim; j++) s += m[j] * direction[j];
      return s;
    }
    const c = new Int8Array(this.buffer, this.rowsAt + r * this.rowBytes, dim);
    for (let j = 0; j < dim; j++) s += c[j] * direction[j];
    return s * this.scales[r];
  }

  private allocate(capacity: number): void {
    const dim = this.dim;
    this.rowsAt = 16; // not 0: address 0 means "no int8 codes" to the ingest kernel
    this.scalesAt = align16(this.rowsAt + capacity * this.rowBytes);
    this.outAt = align16(this.scalesAt + capacity * 4);
    this.dirAt = align16(this.outAt + capacity * 4);
    this.stageAt = align16(this.dirAt + dim * 4);
    this.tmpAt = align16(this.stageAt + dim * 2);
    const bytes = this.tmpAt + dim * 4 + 16;
    this.capacity = capacity;
    if (this.simd) {
      this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE) });
      this.buffer = this.memory.buffer;
      const instance = new WebAssembly.Instance(kernelModule()!, { env: { mem: this.memory } });
      this.kernels = instance.exports as unknown as Kernels;
    } else {
      this.buffer = new ArrayBuffer(bytes);
    }
  }

  // Plain-loop equivalents (also the reference the tests compare the kernels with).
  private dotF32Js(d: Float32Array, rows: number, out: Float32Array): Float32Array {
    const dim = this.dim;
    const data = new Float32Array(this.buffer, this.rowsAt, rows * dim);
    const tail = dim - (dim % 4);
    for (let r = 0, off = 0; r < rows; r++, off += dim) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0; // prettier-ignore
      let j = 0;
      for (; j < tail; j += 4) {
        a0 += data[off + j] * d[j];
        a1 += data[off + j + 1] * d[j + 1];
        a2 += data[off + j + 2] * d[j + 2];
        a3 += data[off + j + 3] * d[j + 3];
      }
      for (; j < dim; j++) a0 += data[off + j] * d[j];
      out[r] = a0 + a1 + a2 + a3;
    }
    return out;
  }

  private dotI8Js(d: Float32Array, rows: number, out: Float32Array): Float32Array {
    const dim = this.dim;
    const codes = new Int8Array(this.buffer, this.rowsAt, rows * dim);
    const scales = this.scales;
    for (let r = 0, off = 0; r < rows; r++, off += dim) {
      let a = 0;
      for (let j = 0; j < dim; j++) a += codes[off + j] * d[j];
      out[r] = a * scales[r];
    }
    return out;
  }
}

/**
 * int16 codes and scale of a direction for the int8 kernel. The scale keeps Σ|code·127| below 2³¹
 * (int32 accumulators cannot overflow): full int16 range up to 516 dimensions, less beyond.
 */
export function quantiseDirection(d: ArrayLike<number>): { codes: Int16Array; scale: number } {
  const dim = d.length;
  let max = 0;
  for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(d[j]));
  const levels = Math.min(32767, Math.floor((2 ** 31 - 1) / (127 * Math.max(1, dim))));
  const codes = new Int16Array(dim);
  if (!(max > 0) || !Number.isFinite(max)) return { codes, scale: Number.isNaN(max) ? NaN : 0 };
  const scale = max / levels;
  for (let j = 0; j < dim; j++) codes[j] = Math.round(d[j] / scale);
  return { codes, scale };
}
