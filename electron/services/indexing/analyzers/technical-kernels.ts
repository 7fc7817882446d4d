// The technical analyzer's hot loops over one luminance plane (what they measure and why:
// technical-measures.ts): the focus map's re-blur sums along rows and columns (the columns' per-pixel
// work in the SIMD kernel of technical-simd.ts where it applies), the re-blur sums of a window in one
// direction, and the noise estimate's Laplacian sums. Allocation-free after the first photo of a
// size (scratch and tile tables are kept between photos: measureTechnical is synchronous).
//
// Same numbers as the straightforward loops they replaced (test/helpers/technical-reference.ts;
// test/technical-kernels.test.ts compares every stored measure bit for bit). Where a loop was
// rearranged, the arithmetic it rearranges is exact: a luminance value is a float32 of 0 or at least
// 0.0722 (the smallest Rec. 709 weight times 1) and below 256, so it is a whole multiple of 2⁻²⁷
// below 2³⁵ of them, and sums and differences of up to thousands of such values are exact in float64,
// in any order. Sums with a rounded term (the re-blurred values B, and so V) keep the old order.
//
// Why faster: no branch on the data (|x| and max(0, x) as selects, which the CPU does not have to
// guess), the row re-blur computed as it is consumed (no second pass over a buffer), the column
// window slid in the same pass that reads it, and the Laplacian taken as its two separable [1 −2 1]
// halves (3 reads a pixel instead of 9).

import { columnKernel, rowKernel } from './technical-simd.ts';

/** Re-blur length (pixels along a direction). */
export const REBLUR = 9;
const R = (REBLUR - 1) >> 1;

/** Tile index of each column / row for a grid of `g` tiles over `size` pixels. */
export function tileOf(size: number, g: number): Int32Array {
  const t = new Int32Array(size);
  for (let i = 0; i < size; i++) t[i] = Math.min(g - 1, Math.floor((i * g) / size));
  return t;
}

/** Tile boundaries: segment c covers [edges[c], edges[c + 1]) of `t` (a tileOf array). */
export function edgesOf(t: Int32Array, g: number): Int32Array {
  const e = new Int32Array(g + 1);
  for (let c = 0, i = 0; c <= g; c++) {
    while (i < t.length && t[i] < c) i++;
    e[c] = i;
  }
  e[g] = t.length;
  return e;
}

/** Tile tables of one size, kept while photos keep that size (a shoot's photos mostly share two). */
const tables = new Map<string, Int32Array>();
export function tiles(size: number, g: number): { t: Int32Array; edges: Int32Array } {
  const key = `${size}/${g}`;
  let t = tables.get(key);
  if (!t) {
    if (tables.size > 16) tables.clear();
    tables.set(key, (t = tileOf(size, g)));
    tables.set(`${key}/e`, edgesOf(t, g));
  }
  return { t, edges: tables.get(`${key}/e`)! };
}

let f64 = new Float64Array(0);
/** Float64 scratch of at least n values (contents undefined). */
function f64Scratch(n: number): Float64Array {
  if (f64.length < n) f64 = new Float64Array(Math.max(n, 2 * f64.length));
  return f64;
}

/**
 * Re-blur variation sums along one direction (dx, dy) ∈ {(1,0), (0,1), (1,1), (−1,1)} over the window
 * [x0, x1) × [y0, y1) of L (lines are cut at the window's edges): D += Σ|ΔL|, V += Σ max(0, |ΔL| − |ΔB|)
 * with B the line box-blurred over REBLUR pixels (window clipped to the line), added to into[0] and
 * into[1].
 */
export function reblurDirection(L: Float32Array, w: number, x0: number, y0: number, x1: number, y1: number, dx: number, dy: number, into: Float64Array): void {
  const maxLen = Math.max(x1 - x0, y1 - y0) + 1;
  const buf = f64Scratch(2 * maxLen + 1);
  // line[k] at buf[k], prefix[k] at buf[maxLen + k]
  let D = into[0];
  let V = into[1];
  const walk = (sx: number, sy: number): void => {
    let n = 0;
    for (let x = sx, y = sy; x >= x0 && x < x1 && y < y1; x += dx, y += dy) buf[n++] = L[y * w + x];
    if (n < 2) return;
    const P = maxLen;
    buf[P] = 0;
    for (let k = 0; k < n; k++) buf[P + k + 1] = buf[P + k] + buf[k];
    const first = Math.min(n, R + 1);
    let prevB = buf[P + first] / first;
    for (let k = 1; k < n; k++) {
      const lo = k - R < 0 ? 0 : k - R;
      const hi = k + R + 1 > n ? n : k + R + 1;
      const b = (buf[P + hi] - buf[P + lo]) / (hi - lo);
      const dl = Math.abs(buf[k] - buf[k - 1]);
      const e = dl - Math.abs(b - prevB);
      D += dl;
      V += e > 0 ? e : 0;
      prevB = b;
    }
  };
  if (dy === 0) for (let y = y0; y < y1; y++) walk(x0, y);
  else if (dx === 0) for (let x = x0; x < x1; x++) walk(x, y0);
  else {
    for (let x = x0; x < x1; x++) walk(x, y0);
    for (let y = y0 + 1; y < y1; y++) walk(dx > 0 ? x0 : x1 - 1, y);
  }
  into[0] = D;
  into[1] = V;
}

/**
 * The horizontal and vertical re-blur sums per tile of a g × g grid (`tx`/`ty`: tileOf of the
 * columns/rows, `xe` the column edges) over every `step`-th line: every step-th row for the
 * horizontal sums, every step-th column for the vertical (a tile at 1200 px is ~75 × 50 pixels, so
 * ~13 lines of it in each direction still give its sums thousands of terms, and this costs 1/step of
 * a full pass). Adds into D[tile], V[tile] and the terms counted into N[tile].
 */
export function reblurRowsAndColumns(
  L: Float32Array, w: number, h: number, g: number, step: number, tx: Int32Array, ty: Int32Array, xe: Int32Array,
  D: Float64Array, V: Float64Array, N: Float64Array,
): void {
  // Horizontal: the re-blurred value at x from a running window sum, consumed as it is made; B is
  // rounded to float32 (fround), as the row buffer it used to be stored in did.
  const rows = rowKernel(L, w, REBLUR);
  for (let y = 0; y < h && rows; y += step) {
    rows.row(y);
    segmentSums(rows.dl, rows.e, 1, xe, g, ty[y] * g, D, V, N);
  }
  for (let y = 0; y < h && !rows; y += step) {
    const base = y * w;
    let sum = 0;
    for (let x = 0; x < R && x < w; x++) sum += L[base + x];
    if (R < w) sum += L[base + R];
    let prevB = Math.fround(sum / (R < w ? R + 1 : w));
    let prevL = L[base];
    const row = ty[y] * g;
    for (let c = 0; c < g; c++) {
      let d = 0;
      let v = 0;
      const start = xe[c] < 1 ? 1 : xe[c];
      const end = xe[c + 1];
      for (let x = start; x < end; x++) {
        let b: number;
        if (x > R && x + R < w) b = Math.fround((sum += L[base + x + R] - L[base + x - R - 1]) / REBLUR);
        else {
          if (x + R < w) sum += L[base + x + R];
          if (x > R) sum -= L[base + x - R - 1];
          b = Math.fround(sum / ((x + R < w ? x + R + 1 : w) - (x > R ? x - R : 0)));
        }
        const l = L[base + x];
        const dl = Math.abs(l - prevL);
        const e = dl - Math.abs(b - prevB);
        d += dl;
        v += e > 0 ? e : 0;
        prevL = l;
        prevB = b;
      }
      const k = row + c;
      D[k] += d;
      V[k] += v;
      N[k] += end - start;
    }
  }
  // Vertical: running column sums over the rows [lo, hi) of the window, every step-th column. In
  // the rows away from the top and bottom the window slides by one row: the column sum gains the
  // row entering and loses the one leaving in the same pass (exact, as every sum of luma here).
  // The per-column work runs in the SIMD kernel where it applies (technical-simd.ts), which leaves
  // each column's |ΔL| and max(0, |ΔL| − |ΔB|) of the row for the sums below.
  const cols = Math.ceil(w / step);
  const simd = columnKernel(L, w, step);
  const scratch = simd ? null : f64Scratch(2 * cols);
  const S = simd ? simd.S : scratch!.subarray(0, cols);
  const prev = simd ? simd.prev : scratch!.subarray(cols, 2 * cols);
  S.fill(0, 0, cols);
  const ce = sampledEdges(tx, g, step, cols);
  let lo = 0;
  let hi = Math.min(h, R + 1);
  for (let yy = 0; yy < hi; yy++) for (let j = 0, a = yy * w; j < cols; j++) S[j] += L[a + j * step];
  for (let j = 0; j < cols; j++) prev[j] = S[j] / (hi - lo);
  for (let y = 1; y < h; y++) {
    const nlo = y - R < 0 ? 0 : y - R;
    const nhi = y + R + 1 > h ? h : y + R + 1;
    // Sliding (one row in, one out): folded into the loop below; otherwise here.
    const slide = nhi > hi && nlo > lo;
    const enter = hi * w;
    const leave = lo * w;
    if (!slide) {
      if (nhi > hi) for (let j = 0, a = hi * w; j < cols; j++) S[j] += L[a + j * step];
      if (nlo > lo) for (let j = 0, a = lo * w; j < cols; j++) S[j] -= L[a + j * step];
    }
    lo = nlo;
    hi = nhi;
    const inv = 1 / (hi - lo);
    const base = y * w;
    const up = base - w;
    const row = ty[y] * g;
    if (simd) {
      simd.row(y, y - 1, slide ? enter / w : y, slide ? leave / w : y, inv);
      segmentSums(simd.dl, simd.e, 0, ce, g, row, D, V, N);
      continue;
    }
    for (let c = 0; c < g; c++) {
      let d = 0;
      let v = 0;
      const end = ce[c + 1];
      for (let j = ce[c], x = j * step; j < end; j++, x += step) {
        const sj = slide ? (S[j] += L[enter + x] - L[leave + x]) : S[j];
        const b = sj * inv;
        const dl = Math.abs(L[base + x] - L[up + x]);
        const e = dl - Math.abs(b - prev[j]);
        prev[j] = b;
        d += dl;
        v += e > 0 ? e : 0;
      }
      const k = row + c;
      D[k] += d;
      V[k] += v;
      N[k] += end - ce[c];
    }
  }
}

/**
 * One line's sums per tile segment [edges[c], edges[c + 1]) (from `first` on) of the SIMD kernels'
 * per-pixel terms, in order, into D, V, N at `at` + c. A function of its own: called once a line,
 * V8 optimises it within the first photo (inlined in the big loop, the first photos ran it interpreted).
 */
function segmentSums(dl: Float64Array, e: Float64Array, first: number, edges: Int32Array, g: number, at: number, D: Float64Array, V: Float64Array, N: Float64Array): void {
  for (let c = 0; c < g; c++) {
    let d = 0;
    let v = 0;
    const start = edges[c] < first ? first : edges[c];
    const end = edges[c + 1];
    for (let x = start; x < end; x++) {
      d += dl[x];
      v += e[x];
    }
    D[at + c] += d;
    V[at + c] += v;
    N[at + c] += end - start;
  }
}

/** Column tile edges in sampled columns (every step-th column of a tileOf table `tx`), kept per size. */
function sampledEdges(tx: Int32Array, g: number, step: number, cols: number): Int32Array {
  const key = `${tx.length}/${g}/${step}/sampled`;
  let ce = tables.get(key);
  if (!ce) {
    ce = new Int32Array(g + 1);
    for (let c = 0, j = 0; c <= g; c++) {
      while (j < cols && tx[j * step] < c) j++;
      ce[c] = j;
    }
    ce[g] = cols;
    tables.set(key, ce);
  }
  return ce;
}

/**
 * Immerkær's sums per tile of a g × g grid over every `step`-th row from row 1 (`ty`: tileOf of the
 * rows, `xe` the column edges): Σ|L ∗ [1 −2 1; −2 4 −2; 1 −2 1]| into sum[tile], the pixels into
 * count[tile] and their luma into bright[tile]. The mask is [1 −2 1]ᵀ ⊗ [1 −2 1]: the vertical
 * second difference per column (3 reads), then the horizontal one over it, sliding.
 */
export function laplacianSums(
  L: Float32Array, w: number, h: number, g: number, step: number, ty: Int32Array, xe: Int32Array,
  sum: Float64Array, count: Float64Array, bright: Float64Array,
): void {
  for (let y = 1; y < h - 1; y += step) {
    const b = y * w;
    const a = b - w;
    const c = b + w;
    const row = ty[y] * g;
    let h0 = L[a] - 2 * L[b] + L[c];
    let h1 = L[a + 1] - 2 * L[b + 1] + L[c + 1];
    for (let t = 0; t < g; t++) {
      const x0 = xe[t] < 1 ? 1 : xe[t];
      const x1 = xe[t + 1] > w - 1 ? w - 1 : xe[t + 1];
      let s = 0;
      let l = 0;
      for (let x = x0; x < x1; x++) {
        const h2 = L[a + x + 1] - 2 * L[b + x + 1] + L[c + x + 1];
        s += Math.abs(h0 - 2 * h1 + h2);
        l += L[b + x];
        h0 = h1;
        h1 = h2;
      }
      if (x1 > x0) {
        sum[row + t] += s;
        count[row + t] += x1 - x0;
        bright[row + t] += l;
      }
    }
  }
}
