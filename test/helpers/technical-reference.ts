// The technical analyzer's measures as the straightforward loops computed them before the kernels
// (electron/services/indexing/analyzers/technical-measures.ts at commit 9cab788, analyzer version 2):
// kept only as the reference test/technical-kernels.test.ts compares the product's kernels with, bit
// for bit. What the measures mean, and the scores, are documented in technical-measures.ts (the
// scores are imported from there, not copied). Not used by the product.
import type { Raster } from '../../native-models/preprocess.ts';
import { exposureCounts, exposureScore } from '../../electron/services/indexing/analyzers/technical-exposure.ts';
import { cleanScore, focusScore, FOCUS_GRID, NOISE_GRID, type TechnicalMeasures } from '../../electron/services/indexing/analyzers/technical-measures.ts';

/** Re-blur length (pixels along a direction). */
const REBLUR = 9;
/** Line subsampling of the focus sums (every STEP-th row and column), the noise estimate and the histograms. */
const STEP = 4;
const NOISE_STEP = 4;
const HIST_STEP = 4;

/**
 * The luminance plane, reused from one photo to the next (6 MB at 1500 px: allocating and zeroing
 * it per photo cost as much as filling it). measureTechnical is synchronous, so one buffer is safe.
 */
let scratch = new Float32Array(0);
function lumaScratch(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(n);
  return scratch.subarray(0, n);
}

/** Tile index of each column / row for a grid of `g` tiles over `size` pixels. */
function tileOf(size: number, g: number): Int32Array {
  const t = new Int32Array(size);
  for (let i = 0; i < size; i++) t[i] = Math.min(g - 1, Math.floor((i * g) / size));
  return t;
}

/**
 * Re-blur variation sums along one direction (dx, dy) ∈ {(1,0), (0,1), (1,1), (−1,1)} over the window
 * [x0, x1) × [y0, y1) of L (lines are cut at the window's edges): adds D and V per tile of `tileOfXY`
 * into D[tile] and V[tile] (`tileOfXY` null: everything into tile 0).
 */
function reblurDirection(
  L: Float32Array, w: number, x0: number, y0: number, x1: number, y1: number,
  dx: number, dy: number, tx: Int32Array | null, ty: Int32Array | null, D: Float64Array, V: Float64Array,
): void {
  const maxLen = Math.max(x1 - x0, y1 - y0) + 1;
  const line = new Float32Array(maxLen);
  const tiles = new Int32Array(maxLen);
  const prefix = new Float64Array(maxLen + 1);
  const r = (REBLUR - 1) >> 1;
  const walk = (sx: number, sy: number) => {
    let n = 0;
    for (let x = sx, y = sy; x >= x0 && x < x1 && y < y1; x += dx, y += dy) {
      tiles[n] = tx && ty ? ty[y] * FOCUS_GRID + tx[x] : 0;
      line[n++] = L[y * w + x];
    }
    if (n < 2) return;
    prefix[0] = 0;
    for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k] + line[k];
    let prevB = prefix[Math.min(n, r + 1)] / Math.min(n, r + 1);
    for (let k = 1; k < n; k++) {
      const lo = k - r < 0 ? 0 : k - r;
      const hi = k + r + 1 > n ? n : k + r + 1;
      const b = (prefix[hi] - prefix[lo]) / (hi - lo);
      const dl = Math.abs(line[k] - line[k - 1]);
      const db = Math.abs(b - prevB);
      const t = tiles[k];
      D[t] += dl;
      if (dl > db) V[t] += dl - db;
      prevB = b;
    }
  };
  if (dy === 0) for (let y = y0; y < y1; y++) walk(x0, y);
  else if (dx === 0) for (let x = x0; x < x1; x++) walk(x, y0);
  else {
    for (let x = x0; x < x1; x++) walk(x, y0);
    for (let y = y0 + 1; y < y1; y++) walk(dx > 0 ? x0 : x1 - 1, y);
  }
}

/** Tile boundaries: segment c covers [edges[c], edges[c + 1]) of `t` (a tileOf array). */
function edgesOf(t: Int32Array, g: number): Int32Array {
  const e = new Int32Array(g + 1);
  for (let c = 0, i = 0; c <= g; c++) {
    while (i < t.length && t[i] < c) i++;
    e[c] = i;
  }
  e[g] = t.length;
  return e;
}

/**
 * reblurDirection's horizontal and vertical passes over the whole raster, in one row-major sweep
 * each, over every STEP-th line only (every STEP-th row for the horizontal sums, every STEP-th
 * column for the vertical): a tile at 1200 px is ~75 × 50 pixels, so ~13 lines of it in each
 * direction still give its sums thousands of terms, and this hot loop costs 1/STEP of a full pass.
 * The re-blur is a running window sum (no per-line prefix array); N counts the terms per tile.
 */
function reblurRowsAndColumns(
  L: Float32Array, w: number, h: number, tx: Int32Array, ty: Int32Array, D: Float64Array, V: Float64Array, N: Float64Array,
): void {
  const r = (REBLUR - 1) >> 1;
  const G = FOCUS_GRID;
  const xe = edgesOf(tx, G);
  // Horizontal: the re-blurred row B (window [x − r, x + r] clipped to the row) from a running sum,
  // then the sums per tile segment.
  const B = new Float32Array(w);
  for (let y = 0; y < h; y += STEP) {
    const base = y * w;
    let sum = 0;
    for (let x = 0; x < r && x < w; x++) sum += L[base + x];
    for (let x = 0; x < w; x++) {
      if (x + r < w) sum += L[base + x + r];
      if (x - r - 1 >= 0) sum -= L[base + x - r - 1];
      B[x] = sum / ((x + r < w ? x + r + 1 : w) - (x - r > 0 ? x - r : 0));
    }
    const row = ty[y] * G;
    for (let c = 0; c < G; c++) {
      let d = 0;
      let v = 0;
      const start = xe[c] < 1 ? 1 : xe[c];
      const end = xe[c + 1];
      for (let x = start; x < end; x++) {
        const dl = Math.abs(L[base + x] - L[base + x - 1]);
        const db = Math.abs(B[x] - B[x - 1]);
        d += dl;
        if (dl > db) v += dl - db;
      }
      const k = row + c;
      D[k] += d;
      V[k] += v;
      N[k] += end - start;
    }
  }
  // Vertical: running column sums over the rows [lo, hi) of the window, every STEP-th column.
  const cols = Math.ceil(w / STEP);
  const S = new Float64Array(cols);
  const prev = new Float64Array(cols);
  let lo = 0;
  let hi = Math.min(h, r + 1);
  for (let yy = 0; yy < hi; yy++) for (let j = 0, a = yy * w; j < cols; j++) S[j] += L[a + j * STEP];
  for (let j = 0; j < cols; j++) prev[j] = S[j] / (hi - lo);
  const colTile = new Int32Array(cols);
  for (let j = 0; j < cols; j++) colTile[j] = tx[j * STEP];
  const ce = edgesOf(colTile, G);
  for (let y = 1; y < h; y++) {
    const nlo = y - r < 0 ? 0 : y - r;
    const nhi = y + r + 1 > h ? h : y + r + 1;
    if (nhi > hi) for (let j = 0, a = hi * w; j < cols; j++) S[j] += L[a + j * STEP];
    if (nlo > lo) for (let j = 0, a = lo * w; j < cols; j++) S[j] -= L[a + j * STEP];
    lo = nlo;
    hi = nhi;
    const inv = 1 / (hi - lo);
    const base = y * w;
    const up = base - w;
    const row = ty[y] * G;
    for (let c = 0; c < G; c++) {
      let d = 0;
      let v = 0;
      const end = ce[c + 1];
      for (let j = ce[c]; j < end; j++) {
        const x = j * STEP;
        const b = S[j] * inv;
        const dl = Math.abs(L[base + x] - L[up + x]);
        const db = Math.abs(b - prev[j]);
        prev[j] = b;
        d += dl;
        if (dl > db) v += dl - db;
      }
      const k = row + c;
      D[k] += d;
      V[k] += v;
      N[k] += end - ce[c];
    }
  }
}

const DIRECTIONS: [number, number][] = [
  [1, 0],
  [0, 1],
  [1, 1],
  [-1, 1],
];

interface FocusResult {
  focusMap: Float32Array;
  sharpness: number;
  motion: number;
}

function measureFocus(L: Float32Array, w: number, h: number, noiseSigma: number): FocusResult {
  const G = FOCUS_GRID;
  const tiles = G * G;
  const tx = tileOf(w, G);
  const ty = tileOf(h, G);
  // The map: horizontal and vertical over the whole raster (the diagonals, for the motion
  // estimate, only over the sharpest region below: they would double the cost for the map).
  const D = new Float64Array(tiles);
  const V = new Float64Array(tiles);
  const N = new Float64Array(tiles);
  reblurRowsAndColumns(L, w, h, tx, ty, D, V, N);

  // A tile tells something when its neighbour-to-neighbour variation (mean |ΔL|) clearly exceeds
  // what the noise alone gives (i.i.d. noise σ: E|ΔL| = 2σ/√π ≈ 1.13σ).
  const noise = Number.isFinite(noiseSigma) ? noiseSigma : 0;
  const minVariation = 1.5 + 1.13 * noise;
  const focusMap = new Float32Array(tiles).fill(NaN);
  const textured: number[] = [];
  for (let t = 0; t < tiles; t++) {
    if (N[t] === 0 || D[t] / N[t] < minVariation) continue;
    focusMap[t] = V[t] / D[t];
    textured.push(t);
  }
  if (!textured.length) return { focusMap, sharpness: NaN, motion: 0 };
  textured.sort((a, b) => focusMap[b] - focusMap[a]);
  const region = textured.slice(0, Math.max(3, Math.ceil(textured.length * 0.04)));
  // Each direction over the region's tiles; a direction with little variation there (stripes
  // along it) does not vote.
  const dSum = new Float64Array(DIRECTIONS.length);
  const vSum = new Float64Array(DIRECTIONS.length);
  const bounds = (t: Int32Array, i: number, size: number) => {
    let a = 0;
    while (t[a] < i) a++;
    let b = a;
    while (b < size && t[b] === i) b++;
    return [a, b];
  };
  for (const t of region) {
    const [xa, xb] = bounds(tx, t % G, w);
    const [ya, yb] = bounds(ty, Math.floor(t / G), h);
    DIRECTIONS.forEach(([dx, dy], k) => {
      const d = new Float64Array(1);
      const v = new Float64Array(1);
      reblurDirection(L, w, xa, ya, xb, yb, dx, dy, null, null, d, v);
      dSum[k] += d[0];
      vSum[k] += v[0];
    });
  }
  const dAll = dSum.reduce((a, b) => a + b, 0);
  const perDir: number[] = [];
  DIRECTIONS.forEach((_, k) => {
    if (dSum[k] >= 0.1 * (dAll / DIRECTIONS.length)) perDir.push(vSum[k] / dSum[k]);
  });
  const weakest = Math.min(...perDir);
  const strongest = Math.max(...perDir);
  return { focusMap, sharpness: weakest, motion: strongest > 0 ? 1 - weakest / strongest : 0 };
}

/**
 * Immerkær σ per tile of a NOISE_GRID² grid over every NOISE_STEP-th row (a tile at 1200 px is
 * ~37 × 25 pixels: 6 rows of it, ~220 terms, put its σ within ~5 %); the 10th percentile of usable tiles.
 */
function measureNoise(L: Float32Array, w: number, h: number): number {
  if (w < 3 || h < 3) return NaN;
  const G = NOISE_GRID;
  const ty = tileOf(h, G);
  const xe = edgesOf(tileOf(w, G), G);
  const sum = new Float64Array(G * G);
  const count = new Float64Array(G * G);
  const bright = new Float64Array(G * G);
  for (let y = 1; y < h - 1; y += NOISE_STEP) {
    const b = y * w;
    const a = b - w;
    const c = b + w;
    const row = ty[y] * G;
    for (let t = 0; t < G; t++) {
      const x0 = xe[t] < 1 ? 1 : xe[t];
      const x1 = xe[t + 1] > w - 1 ? w - 1 : xe[t + 1];
      let s = 0;
      let l = 0;
      for (let x = x0; x < x1; x++) {
        const m =
          L[a + x - 1] - 2 * L[a + x] + L[a + x + 1] - 2 * (L[b + x - 1] - 2 * L[b + x] + L[b + x + 1]) + L[c + x - 1] - 2 * L[c + x] + L[c + x + 1];
        s += m < 0 ? -m : m;
        l += L[b + x];
      }
      if (x1 > x0) {
        sum[row + t] += s;
        count[row + t] += x1 - x0;
        bright[row + t] += l;
      }
    }
  }
  const sigmas: number[] = [];
  const k = Math.sqrt(Math.PI / 2) / 6;
  for (let t = 0; t < G * G; t++) {
    if (count[t] < 16) continue;
    const mean = bright[t] / count[t];
    if (mean < 12 || mean > 243) continue; // blocked or clipped: flat because nothing was recorded
    sigmas.push((k * sum[t]) / count[t]);
  }
  if (sigmas.length < 4) return NaN;
  sigmas.sort((p, q) => p - q);
  return sigmas[Math.floor(sigmas.length * 0.1)];
}

/** Rec. 709 luma of n RGB pixels into L (a small function of its own: V8 optimises it as a unit). */
function lumaOf(data: Uint8Array, L: Float32Array, n: number): void {
  for (let i = 0, s = 0; i < n; i++, s += 3) L[i] = 0.2126 * data[s] + 0.7152 * data[s + 1] + 0.0722 * data[s + 2];
}

/** Everything the technical analyzer stores about one raster. */
export function measureTechnical(r: Raster): TechnicalMeasures {
  const { width: w, height: h, data } = r;
  const n = w * h;
  const L = lumaScratch(n);
  lumaOf(data, L, n);
  // Per channel: ≥ 250 clipped, ≤ 5 blocked; the luma histogram. Over every HIST_STEP-th row.
  const hist = new Uint32Array(256);
  const hi = [0, 0, 0];
  const lo = [0, 0, 0];
  const total = exposureCounts(data, L, w, h, hist, hi, lo, HIST_STEP);
  const sampled = Math.ceil(h / HIST_STEP) * w;
  const percentile = (p: number) => {
    for (let acc = 0, v = 0; v < 256; v++) {
      acc += hist[v];
      if (acc >= p * sampled) return v;
    }
    return 255;
  };
  const median = percentile(0.5);
  const p99 = percentile(0.99);
  const clippedHigh = hi.map((x) => x / sampled) as [number, number, number];
  const blockedLow = lo.map((x) => x / sampled) as [number, number, number];
  const mean3 = (xs: number[]) => (xs[0] + xs[1] + xs[2]) / 3;

  const noiseSigma = measureNoise(L, w, h);
  const { focusMap, sharpness, motion } = measureFocus(L, w, h, noiseSigma);
  return {
    width: w,
    height: h,
    focusMap,
    sharpness,
    motion,
    noiseSigma,
    clippedHigh,
    blockedLow,
    lumaMean: sampled ? total / sampled : NaN,
    lumaMedian: median,
    focus: focusScore(sharpness, motion),
    exposure: exposureScore(mean3(clippedHigh), mean3(blockedLow), p99),
    lumaP99: p99,
    clean: cleanScore(noiseSigma),
  };
}

/**
 * The re-blur sharpness (V / D over the four directions pooled) of one window [x0, x1) × [y0, y1)
 * of a luminance raster `L` of width `w`, or NaN when the window has too little variation to tell
 * (mean |ΔL| under 1.5 levels, as a focus-map tile). For a region chosen by someone else: the faces
 * analyzer's eye region (face-measures.ts).
 */
export function windowSharpness(L: Float32Array, w: number, x0: number, y0: number, x1: number, y1: number): number {
  const d = new Float64Array(1);
  const v = new Float64Array(1);
  for (const [dx, dy] of DIRECTIONS) reblurDirection(L, w, x0, y0, x1, y1, dx, dy, null, null, d, v);
  const pixels = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  if (pixels < 64 || d[0] / (DIRECTIONS.length * pixels) < 1.5) return NaN;
  return v[0] / d[0];
}
