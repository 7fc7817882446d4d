// The technical analyzer's WebAssembly SIMD kernels, built at run time with the project's assembler
// (matrix/wasm/assembler.ts; no binary in the repo): the luminance plane (Rec. 709 luma of every
// pixel as float32) and the focus map's re-blur terms, one sampled row (rowKernel) or one row of
// sampled columns (columnKernel) at a time. Where SIMD is missing or turned off (CULL_NO_SIMD, or
// disableTechnicalSimd for tests) the callers run the JavaScript loops (analyzer.ts lumaAt,
// technical-kernels.ts). Both give the same numbers, bit for bit (test/technical-kernels.test.ts):
// the kernels do the JavaScript expressions' float64 arithmetic in the same order, two pixels or
// columns per f64x2, and round to float32 where the JavaScript does ((0.2126·R + 0.7152·G) +
// 0.0722·B stored as float32; the row means float32(window sum / 9); S + (in − out), S·inv; |ΔL|,
// max(0, |ΔL| − |ΔB|)); window sums as prefix-sum differences are exact (technical-kernels.ts says
// why); the sums over a tile stay in JavaScript, in the old order.
//
// Why: at the 1200 px working size the plane is a million pixels (~4.5 ms a photo in V8, ~2 with the
// kernel, copying the pixels in included), and the re-blur terms of every 4th row and column ~7 ms in
// V8, ~3 with the kernels and the sums. The plane and the kernels' scratch live in the module's
// memory and are reused from one photo to the next (measureTechnical is synchronous, so one set is
// safe). The column kernel is specialised to the focus map's step of 4 columns (two sampled columns
// are 32 bytes apart) and the row kernel to the re-blur length of 9.
import { VALTYPE as T, funcType, op, wasmModule, type Code } from '../../matrix/wasm/assembler.ts';
import { lumaAt } from './analyzer.ts';

/** Bytes of 0 in a shuffle (lane 16 = byte 0 of the zero operand). */
const Z = 16;
/** Shuffle lanes taking byte `a` and `b` of the first operand into the low two u32 lanes. */
const pair = (a: number, b: number) => [a, Z, Z, Z, b, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z];

/**
 * luma(src, dst, end): for each group of 4 RGB pixels (12 bytes at src, 16 read) until dst reaches
 * end, 4 float32 lumas at dst. Locals: V (the 16 bytes), ZERO, CR/CG/CB (the weights, splat), LO (the first two).
 */
function lumaBody(): Code {
  const [SRC, DST, END, V, ZERO, CR, CG, CB, LO] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const channel = (a: number, b: number, weight: number) => [
    op.get(V), op.get(ZERO), op.shuffle(pair(a, b)), op.f64x2ConvertLowI32x4U, op.get(weight), op.f64x2Mul,
  ];
  // Pixels at byte offsets p and p + 3: (R·0.2126 + G·0.7152) + B·0.0722, rounded to float32.
  const two = (p: number) => [
    ...channel(p, p + 3, CR), ...channel(p + 1, p + 4, CG), op.f64x2Add, ...channel(p + 2, p + 5, CB), op.f64x2Add,
    op.f32x4DemoteF64x2Zero,
  ];
  return [
    op.v128zero, op.set(ZERO),
    op.f64const(0.2126), op.f64x2Splat, op.set(CR),
    op.f64const(0.7152), op.f64x2Splat, op.set(CG),
    op.f64const(0.0722), op.f64x2Splat, op.set(CB),
    op.block, op.get(DST), op.get(END), op.geU, op.brIf(0),
    op.loop,
    op.get(SRC), op.v128load(0), op.set(V),
    ...two(0), op.set(LO),
    op.get(DST), op.get(LO), ...two(6), op.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]), op.v128store(0),
    op.get(SRC), op.i32(12), op.add, op.set(SRC),
    op.get(DST), op.i32(16), op.add, op.tee(DST), op.get(END), op.ltU, op.brIf(0),
    op.end, op.end,
  ];
}

/** Lanes 0–3 and 16–19 (float32 lane 0 of each operand) into the low two float32 lanes. */
const FIRSTS = [0, 1, 2, 3, 16, 17, 18, 19, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * column_row(lb, lu, le, ll, inv, s, p, dl, e, pairs): for `pairs` pairs of sampled columns (every
 * 4th float32 of the rows at byte addresses lb, lu, le, ll; 32 bytes a pair) and the
 * float64 arrays at s, p, dl, e (16 bytes a pair): S += L[le] − L[ll]; B = S·inv;
 * dl = |L[lb] − L[lu]|; e = max(0, dl − |B − P|); P = B.
 */
function columnRowBody(): Code {
  const [LB, LU, LE, LL, INV, S, P, DL, E, PAIRS, I, INV2, B, DLV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const col = (ptr: number) => [op.get(ptr), op.v128load(0), op.get(ptr), op.v128load(16), op.shuffle(FIRSTS), op.f64x2PromoteLowF32x4];
  const advance = (ptr: number, by: number) => [op.get(ptr), op.i32(by), op.add, op.set(ptr)];
  return [
    op.get(INV), op.f64x2Splat, op.set(INV2),
    op.block, op.get(PAIRS), op.eqz, op.brIf(0),
    op.loop,
    op.get(S), op.get(S), op.v128load(0), ...col(LE), ...col(LL), op.f64x2Sub, op.f64x2Add, op.tee(B), op.v128store(0),
    op.get(B), op.get(INV2), op.f64x2Mul, op.set(B),
    ...col(LB), ...col(LU), op.f64x2Sub, op.f64x2Abs, op.set(DLV),
    op.get(DL), op.get(DLV), op.v128store(0),
    op.get(E), op.get(DLV), op.get(B), op.get(P), op.v128load(0), op.f64x2Sub, op.f64x2Abs, op.f64x2Sub, op.v128zero, op.f64x2Max, op.v128store(0),
    op.get(P), op.get(B), op.v128store(0),
    ...advance(LB, 32), ...advance(LU, 32), ...advance(LE, 32), ...advance(LL, 32),
    ...advance(S, 16), ...advance(P, 16), ...advance(DL, 16), ...advance(E, 16),
    op.get(I), op.i32(1), op.add, op.tee(I), op.get(PAIRS), op.ltU, op.brIf(0),
    op.end, op.end,
  ];
}

/**
 * The row re-blur in three passes over one row of the plane (float64 arrays P, B, DL, E in scratch):
 * row_prefix(l, p, w): P[0] = 0, P[k + 1] = P[k] + L[k] (exact: see technical-kernels.ts), so a
 * window's sum is P[hi] − P[lo], the same value the running sum had;
 * row_mid(pa, pb, q, end): from q to end, two at a time, B = float32((P[pa] − P[pb]) / 9) (the
 * windows wholly inside the row; the caller sets the clipped ones at the ends);
 * row_diff(lx, lp, bx, bp, dl, e, end): DL = |L[x] − L[x − 1]|, E = max(0, DL − |B[x] − B[x − 1]|)
 * from x = 1, two at a time, until dl reaches end.
 */
function rowPrefixBody(): Code {
  const [L, P, W, K, ACC] = [0, 1, 2, 3, 4];
  return [
    op.f64const(0), op.set(ACC), op.get(P), op.get(ACC), op.f64store,
    op.i32(0), op.set(K),
    op.block, op.get(W), op.eqz, op.brIf(0),
    op.loop,
    op.get(ACC), op.get(L), op.f32load(0), op.f64PromoteF32, op.f64add, op.set(ACC),
    op.get(P), op.i32(8), op.add, op.tee(P), op.get(ACC), op.f64store,
    op.get(L), op.i32(4), op.add, op.set(L),
    op.get(K), op.i32(1), op.add, op.tee(K), op.get(W), op.ltU, op.brIf(0),
    op.end, op.end,
  ];
}

function rowMidBody(): Code {
  const [PA, PB, Q, END, NINE] = [0, 1, 2, 3, 4];
  return [
    op.f64const(9), op.f64x2Splat, op.set(NINE),
    op.block, op.get(Q), op.get(END), op.geU, op.brIf(0),
    op.loop,
    op.get(Q), op.get(PA), op.v128load(0), op.get(PB), op.v128load(0), op.f64x2Sub, op.get(NINE), op.f64x2Div,
    op.f32x4DemoteF64x2Zero, op.f64x2PromoteLowF32x4, op.v128store(0),
    op.get(PA), op.i32(16), op.add, op.set(PA),
    op.get(PB), op.i32(16), op.add, op.set(PB),
    op.get(Q), op.i32(16), op.add, op.tee(Q), op.get(END), op.ltU, op.brIf(0),
    op.end, op.end,
  ];
}

function rowDiffBody(): Code {
  const [LX, LP, BX, BP, DL, E, END, DLV] = [0, 1, 2, 3, 4, 5, 6, 7];
  const advance = (ptr: number, by: number) => [op.get(ptr), op.i32(by), op.add, op.set(ptr)];
  return [
    op.block, op.get(DL), op.get(END), op.geU, op.brIf(0),
    op.loop,
    op.get(LX), op.v128load(0), op.f64x2PromoteLowF32x4, op.get(LP), op.v128load(0), op.f64x2PromoteLowF32x4, op.f64x2Sub, op.f64x2Abs, op.set(DLV),
    op.get(DL), op.get(DLV), op.v128store(0),
    op.get(E), op.get(DLV), op.get(BX), op.v128load(0), op.get(BP), op.v128load(0), op.f64x2Sub, op.f64x2Abs, op.f64x2Sub, op.v128zero, op.f64x2Max, op.v128store(0),
    ...advance(LX, 8), ...advance(LP, 8), ...advance(BX, 16), ...advance(BP, 16), ...advance(E, 16),
    op.get(DL), op.i32(16), op.add, op.tee(DL), op.get(END), op.ltU, op.brIf(0),
    op.end, op.end,
  ];
}

export function lumaKernelBytes(): Uint8Array<ArrayBuffer> {
  const i = T.i32;
  return wasmModule([funcType([i, i, i]), funcType([i, i, i, i, T.f64, i, i, i, i, i]), funcType([i, i, i, i]), funcType([i, i, i, i, i, i, i])], { imported: true, pages: 1 }, [
    { name: 'luma', type: 0, locals: [[6, T.v128]], code: lumaBody() },
    { name: 'column_row', type: 1, locals: [[1, T.i32], [3, T.v128]], code: columnRowBody() },
    { name: 'row_prefix', type: 0, locals: [[1, T.i32], [1, T.f64]], code: rowPrefixBody() },
    { name: 'row_mid', type: 2, locals: [[1, T.v128]], code: rowMidBody() },
    { name: 'row_diff', type: 3, locals: [[1, T.v128]], code: rowDiffBody() },
  ]);
}

interface LumaKernel {
  luma(src: number, dst: number, end: number): void;
  column_row(lb: number, lu: number, le: number, ll: number, inv: number, s: number, p: number, dl: number, e: number, pairs: number): void;
  row_prefix(l: number, p: number, w: number): void;
  row_mid(pa: number, pb: number, q: number, end: number): void;
  row_diff(lx: number, lp: number, bx: number, bp: number, dl: number, e: number, end: number): void;
}

let compiled: WebAssembly.Module | null | undefined;
function lumaModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (process.env.CULL_NO_SIMD) return null;
  try {
    const bytes = lumaKernelBytes();
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return null;
    compiled = new WebAssembly.Module(bytes);
  } catch {
    compiled = null;
  }
  return compiled;
}

/**
 * The kernels over a memory of at least `bytes`. A larger photo gets a new memory and instance, never
 * memory.grow: growing detaches the old ArrayBuffer, and the first detached ArrayBuffer in a process
 * makes V8 check for detachment on every typed-array access from then on, in every module (measured:
 * the analyzers' JavaScript loops ran ~15 % slower after one grow).
 */
let instance: { mem: WebAssembly.Memory; k: LumaKernel } | null = null;
function lumaKernel(bytes: number): { mem: WebAssembly.Memory; k: LumaKernel } | null {
  const module = lumaModule();
  if (!module) return null;
  if (!instance || instance.mem.buffer.byteLength < bytes) {
    // A quarter more than asked: the next photo a little larger (a crop, another camera) fits too.
    const mem = new WebAssembly.Memory({ initial: Math.ceil((bytes * 1.25) / 65536) });
    instance = { mem, k: new WebAssembly.Instance(module, { env: { mem } }).exports as unknown as LumaKernel };
  }
  return instance;
}

/** For tests: force the JavaScript loop (true) or back to auto-detection (false). */
export function disableTechnicalSimd(disabled: boolean): void {
  compiled = disabled ? null : undefined;
  instance = null;
}

/** Whether the SIMD kernels are in use. */
export const technicalSimd = (): boolean => lumaModule() !== null;

let jsPlane = new Float32Array(0);

/** The vertical re-blur's scratch in the kernel's memory, for the plane last made (lumaPlane). */
export interface ColumnKernel {
  /** Running column sums, previous re-blurred values, and one row's |ΔL| and max(0, |ΔL| − |ΔB|) per sampled column. */
  S: Float64Array;
  prev: Float64Array;
  dl: Float64Array;
  e: Float64Array;
  /** One row (rows given by index): S += L[enter] − L[leave] (pass enter = leave to leave S as it is), then the rest. */
  row(y: number, up: number, enter: number, leave: number, inv: number): void;
}
let column: { plane: Float32Array; w: number; kernel: ColumnKernel; rows: RowKernel } | null = null;

/** The horizontal re-blur's scratch in the kernel's memory: one row's |ΔL| and max(0, |ΔL| − |ΔB|) at each x ≥ 1. */
export interface RowKernel {
  dl: Float64Array;
  e: Float64Array;
  /** Row y, the re-blur window [x − 4, x + 4] clipped to the row. */
  row(y: number): void;
}

/** The horizontal re-blur kernel over rows of the plane `L` of width w, or null where it does not apply (as columnKernel; a re-blur length other than 9). */
export function rowKernel(L: Float32Array, w: number, reblur: number): RowKernel | null {
  return column && column.plane === L && column.w === w && reblur === 9 ? column.rows : null;
}

/**
 * The vertical re-blur kernel over every 4th column of the plane `L` of width w, or null where it
 * does not apply (no SIMD, another plane than lumaPlane's last, another column step).
 */
export function columnKernel(L: Float32Array, w: number, step: number): ColumnKernel | null {
  return column && column.plane === L && column.w === w && step === 4 ? column.kernel : null;
}

/**
 * The Rec. 709 luma of the w × h RGB pixels of `data`, as a plane valid until the next call (the
 * kernel's memory, or a buffer kept between photos: 6 MB at 1500 px, whose allocation and zeroing
 * per photo cost as much as filling it).
 */
export function lumaPlane(data: Uint8Array, w: number, h: number): Float32Array {
  const n = w * h;
  column = null;
  if (!lumaModule()) {
    if (jsPlane.length < n) jsPlane = new Float32Array(n);
    const L = jsPlane.subarray(0, n);
    for (let i = 0, s = 0; i < n; i++, s += 3) L[i] = lumaAt(data, s);
    return L;
  }
  // Layout: the pixels (padded so the last group's 16-byte read stays inside), the plane (whole
  // groups of 4, then 32 bytes the row and column kernels may read past the last row), the column
  // scratch (S, prev, dl, e: a pair's worth more than the sampled columns), the row scratch (P, B,
  // dl, e: a few values more than the row, which the passes two at a time may touch).
  const align = (b: number) => Math.ceil(b / 16) * 16;
  const groups = Math.ceil(n / 4);
  const src = 0;
  const dst = align(groups * 12 + 16);
  const end = dst + groups * 16;
  const colBytes = align((Math.ceil(w / 4) + 2) * 8);
  const scratch = end + 32;
  const rowBytes = align((w + 4) * 8);
  const rowScratch = scratch + 4 * colBytes;
  const total = rowScratch + 4 * rowBytes;
  const { mem, k } = lumaKernel(total)!;
  const bytes = new Uint8Array(mem.buffer);
  bytes.set(data.subarray(0, n * 3), src);
  bytes.fill(0, src + n * 3, src + groups * 12 + 16);
  k.luma(src, dst, end);
  const L = new Float32Array(mem.buffer, dst, n);
  const f64 = (i: number) => new Float64Array(mem.buffer, scratch + i * colBytes, colBytes / 8);
  const [S, prev, dl, e] = [f64(0), f64(1), f64(2), f64(3)];
  const pairs = Math.ceil(Math.ceil(w / 4) / 2);
  const rowAt = (y: number) => dst + y * w * 4;
  const sAt = S.byteOffset, pAt = prev.byteOffset, dlAt = dl.byteOffset, eAt = e.byteOffset;
  const f64r = (i: number) => new Float64Array(mem.buffer, rowScratch + i * rowBytes, rowBytes / 8);
  const [P, B, rdl, re] = [f64r(0), f64r(1), f64r(2), f64r(3)];
  const rows: RowKernel = {
    dl: rdl,
    e: re,
    row: (y) => {
      const r = 4;
      const l = rowAt(y);
      k.row_prefix(l, P.byteOffset, w);
      if (w - r > r) k.row_mid(P.byteOffset + 8 * (2 * r + 1), P.byteOffset, B.byteOffset + 8 * r, B.byteOffset + 8 * (w - r));
      // The windows the row's ends clip (after row_mid, which may write one past its end).
      for (let x = 0; x < w; x = x + 1 === r && w - r > r ? w - r : x + 1) {
        const lo = x - r > 0 ? x - r : 0;
        const hi = x + r + 1 < w ? x + r + 1 : w;
        B[x] = Math.fround((P[hi] - P[lo]) / (hi - lo));
      }
      k.row_diff(l + 4, l, B.byteOffset + 8, B.byteOffset, rdl.byteOffset + 8, re.byteOffset + 8, rdl.byteOffset + 8 * w);
    },
  };
  column = {
    plane: L,
    w,
    kernel: { S, prev, dl, e, row: (y, up, enter, leave, inv) => k.column_row(rowAt(y), rowAt(up), rowAt(enter), rowAt(leave), inv, sAt, pAt, dlAt, eAt, pairs) },
    rows,
  };
  return L;
}
