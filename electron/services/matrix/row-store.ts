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
// The kernels themselves are in wasm/row-kernels.ts.

import { dot, logisticInPlace } from './dot.ts';
import { dotPool, PARALLEL_DOT_MIN_ROWS } from './dot-pool.ts';
import { rowKernelModule, type RowKernels } from './wasm/row-kernels.ts';

export type RowFormat = 'f32' | 'i8';

/** Rows in shared memory that another thread may fill (RowStore.loadTarget). */
export interface RowTarget {
  memory: WebAssembly.Memory;
  rowsAt: number;
  scalesAt: number;
  capacity: number;
}

export function simdAvailable(): boolean {
  return rowKernelModule() !== null;
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
  private kernels: RowKernels | null = null;
  private rowsAt = 0;
  private scalesAt = 0;
  private outAt = 0;
  private dirAt = 0;
  private stageAt = 0;
  private readonly rowBytes: number;
  private readonly simd: boolean;
  /** Set when the rows sit in shared memory known to the dot pool: passes are split over the cores. */
  private poolId = 0;
  capacity = 0;

  /**
   * `shared`: rows in shared memory whatever the size, so that other threads can write them in
   * place (a parallel load: `loadTarget`). Large stores are shared anyway when the dot pool runs.
   */
  constructor(
    readonly format: RowFormat,
    readonly dim: number,
    capacity: number,
    private readonly shared = false,
  ) {
    this.rowBytes = format === 'f32' ? dim * 4 : dim;
    // The kernels walk rows in 16- or 32-byte steps: other dimensions use the plain loops.
    this.simd = rowKernelModule() !== null && dim > 0 && dim % (format === 'f32' ? 8 : 16) === 0;
    this.allocate(Math.max(1, capacity));
  }

  /**
   * Where other threads may write rows in place (parallel-load-worker.mjs), or null when the rows
   * are not in shared memory: the shared memory, the byte offsets of row 0 and of scale 0, and the
   * capacity in rows. Valid until the next grow().
   */
  loadTarget(): RowTarget | null {
    if (!this.memory || !(this.memory.buffer instanceof SharedArrayBuffer)) return null;
    return { memory: this.memory, rowsAt: this.rowsAt, scalesAt: this.scalesAt, capacity: this.capacity };
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
    return this.kernels.ingest(this.stageAt, this.dim, 0, row, this.scalesAt + r * 4) === 1;
  }

  /** Rows from r on, as made elsewhere in this store's format (raw row bytes; one scale per row for 'i8'). */
  setRawRows(r: number, rows: Uint8Array, scales: Float32Array | null): void {
    new Uint8Array(this.buffer, this.rowsAt + r * this.rowBytes, rows.length).set(rows);
    if (scales) this.scales.set(scales, r);
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

  /**
   * out[r] = row r · direction for r < rows; with `logit`, logistic(logit, row r · direction) (the
   * dots mapped inside the pass: split over the cores with it, see dot-pool.ts).
   */
  dot(direction: Float32Array, rows: number, out: Float32Array = new Float32Array(rows), logit: number | null = null): Float32Array {
    const dim = this.dim;
    if (direction.length !== dim) throw new Error(`Direction has ${direction.length} values; the rows have ${dim}.`);
    if (rows > this.capacity) throw new Error(`${rows} rows asked of a store of ${this.capacity}.`);
    if (rows === 0) return out;
    if (!this.simd || !this.kernels) {
      if (this.format === 'f32') this.dotF32Js(direction, rows, out);
      else this.dotI8Js(direction, rows, out);
      if (logit !== null) logisticInPlace(out, 0, rows, logit);
      return out;
    }
    let scale = 0;
    if (this.format === 'f32') {
      new Float32Array(this.buffer, this.dirAt, dim).set(direction);
    } else {
      const q = quantiseDirection(direction);
      new Int16Array(this.buffer, this.dirAt, dim).set(q.codes);
      scale = q.scale;
    }
    const pool = this.poolId && rows >= PARALLEL_DOT_MIN_ROWS && RowStore.passes !== 'one-thread' ? dotPool() : null;
    const outView = new Float32Array(this.buffer, this.outAt, rows);
    if (pool) {
      const pass = { format: this.format, memoryId: this.poolId, kernels: this.kernels, mat: this.rowsAt, rows, dim, dir: this.dirAt, scales: this.scalesAt, out: this.outAt, dscale: scale, logit, outView };
      pool.run(pass, RowStore.passes === 'helpers-only');
    } else {
      if (this.format === 'f32') this.kernels.dot_f32(this.rowsAt, rows, dim, this.dirAt, this.outAt);
      else this.kernels.dot_i8(this.rowsAt, rows, dim, this.dirAt, this.scalesAt, this.outAt, scale);
      if (logit !== null) logisticInPlace(outView, 0, rows, logit);
    }
    out.set(outView);
    return out;
  }

  /**
   * Tests: 'one-thread' runs every pass on the calling thread; 'helpers-only' leaves every chunk of
   * a split pass to the helper threads (so their path surely runs).
   */
  static passes: 'auto' | 'one-thread' | 'helpers-only' = 'auto';

  /**
   * Lets the pool's helper threads forget this store's memory now (a store being replaced: 0.5 GB
   * at 1M) rather than when it is collected. The store keeps working, on the calling thread.
   */
  release(): void {
    if (!this.poolId) return;
    dotPool()?.unregister(this.poolId);
    this.poolId = 0;
  }

  /** Threads a pass over `rows` rows runs on (1: this thread alone). */
  threadsFor(rows: number): number {
    return this.poolId && rows >= PARALLEL_DOT_MIN_ROWS ? (dotPool()?.threads ?? 1) : 1;
  }

  /** Resolves once the helper threads can take this store's passes (tests). */
  async poolReady(): Promise<boolean> {
    const pool = dotPool();
    if (!this.poolId || !pool) return false;
    await pool.registered(this.poolId);
    return true;
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
    const bytes = this.stageAt + dim * 2 + 16;
    this.capacity = capacity;
    if (this.simd) {
      // Stores large enough for split passes live in shared memory (fixed size: a grow allocates
      // anew, as for any store), known to the pool's helper threads.
      const pool = capacity >= PARALLEL_DOT_MIN_ROWS ? dotPool() : null;
      const shared = Boolean(pool) || (this.shared && rowKernelModule(true) !== null);
      const pages = Math.ceil(bytes / PAGE);
      this.memory = shared ? new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }) : new WebAssembly.Memory({ initial: pages });
      this.buffer = this.memory.buffer as ArrayBuffer;
      const instance = new WebAssembly.Instance(rowKernelModule(shared)!, { env: { mem: this.memory } });
      this.kernels = instance.exports as unknown as RowKernels;
      if (this.poolId) dotPool()?.unregister(this.poolId);
      this.poolId = pool ? pool.register(this.memory, this) : 0;
    } else {
      this.buffer = new ArrayBuffer(bytes);
    }
  }

  // Plain-loop equivalents (also the reference the tests compare the kernels with).
  private dotF32Js(d: Float32Array, rows: number, out: Float32Array): Float32Array {
    const dim = this.dim;
    const data = new Float32Array(this.buffer, this.rowsAt, rows * dim);
    for (let r = 0, off = 0; r < rows; r++, off += dim) out[r] = dot(data, off, d, 0, dim);
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
