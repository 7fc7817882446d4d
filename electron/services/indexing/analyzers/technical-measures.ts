// The image maths of the technical analyzer (focus, motion blur, exposure, noise), pure functions of
// one oriented sRGB raster (the indexer's working-size decode). No I/O, no database: the analyzer
// (technical.ts), the judgement script (test/judgement/technical.ts) and the tests call this.
//
// Focus — "re-blur" sharpness (Crété-Roffet, Dolmiere, Ladret & Nicolas, "The blur effect:
// perception and estimation with a new no-reference perceptual blur metric", SPIE 2007). Blurring an
// already blurred image changes little; blurring a sharp one removes most of its pixel-to-pixel
// variation. Per tile and per direction (horizontal, vertical, both diagonals): D = Σ|ΔL| (the
// luminance variation between neighbours), V = Σ max(0, |ΔL| − |ΔB|) where B is L box-blurred over
// 9 pixels along that direction (the variation the re-blur took away). V / D is 0 for a flat blur
// and approaches 1 for a pixel-sharp edge — a ratio, so it does not depend on how much contrast the
// tile has: a faint sharp edge scores like a strong one, and a tile with too little variation to
// tell (clear sky, a blown highlight, sensor noise only) gets no value at all (NaN in the map)
// instead of "blurry".
//   focus map  = V / D per tile of a 16 × 16 grid (horizontal and vertical pooled);
//   sharpness  = V / D over the sharpest region (the best 4 % of the textured tiles, at least 3),
//                in each of the four directions within those tiles, taken in the weakest: shallow depth of field with a sharp subject keeps
//                a sharp region and scores high; missed focus and shake have none;
//   motion     = 1 − (weakest direction's V/D) / (strongest's) over that region: motion blur
//                smears one direction only (0 = no directional loss).
// Exposure — per channel, the fraction of pixels at ≥ 250 (clipped highlights) and ≤ 5 (blocked
// shadows); mean and median luminance (Rec. 709 luma of the sRGB values, 0…255).
// Noise — Immerkær's estimator ("Fast noise variance estimation", CVIU 1996): the luminance
// convolved with the Laplacian-difference mask [1 −2 1; −2 4 −2; 1 −2 1] (which cancels any plane and
// most smooth shading), σ = √(π/2) / 6 · mean |response|, taken per tile of a 32 × 32 grid; the
// photo's noise is the 10th percentile of its tiles that are neither blocked nor clipped (its
// flattest regions: texture raises a tile's estimate, never lowers it). In 8-bit levels at the
// working size (downscaling averages sensor noise: a 6000 px photo measured at 1500 px shows about
// a quarter of its 100 % noise).
//
// Scores on 0…1 (higher = better), each a fixed documented function of the measures above:
//   focus    = clamp((sharpness − 0.20) / 0.65) · (1 − 0.5 · motion); NaN ("can't tell") when no
//              tile has enough detail (a smooth gradient, fog, a blank wall)
//              (0.20: about the V/D of a σ = 4 working-pixel blur; 0.85: crisp, in-focus detail;
//              real photos' values are in docs/judgement.md)
//   exposure = exp(−(clippedHigh / 0.04 + blockedLow / 0.10 + (max(0, 235 − p99) / 60)²
//                    + (max(0, |median − 118| − 70) / 50)²))
//              clippedHigh/blockedLow: the mean over R, G, B of the clipped/blocked fractions (4 %
//              blown or 10 % blocked each cost a factor e); p99: the 99th percentile of luminance —
//              an exposure that leaves the top of the range empty (p99 at 175, as −1 EV does to a
//              photo that used it) costs a factor e; the median costs only beyond 48…188, so a
//              bright beach or a dark stage that clips nothing is not "badly exposed"
//   clean    = 1 / (1 + (noiseSigma / 1.5)²)  (σ 0.5 levels → 0.90, 1.5 → 0.5, 3 → 0.2)
import type { Raster } from '../../../../native-models/preprocess.ts';

export const FOCUS_GRID = 16;
export const NOISE_GRID = 32;
/** Re-blur length (pixels along a direction). */
const REBLUR = 9;
/** Line subsampling of the whole-raster sums (focus map, noise, histograms). */
const STEP = 2;

export interface TechnicalMeasures {
  /** Size of the raster measured. */
  width: number;
  height: number;
  /** FOCUS_GRID² tile sharpness values (row-major, V/D on 0…1), NaN where a tile has too little detail to tell. */
  focusMap: Float32Array;
  /** V/D of the sharpest region in its weakest direction, 0…1 (NaN: no textured tile at all, and then focus is NaN too). */
  sharpness: number;
  /** Directional loss over the sharpest region, 0…1. */
  motion: number;
  /** Estimated noise σ in 8-bit levels at this size (NaN: no usable flat tile). */
  noiseSigma: number;
  /** Fractions of pixels ≥ 250 / ≤ 5 per channel R, G, B. */
  clippedHigh: [number, number, number];
  blockedLow: [number, number, number];
  lumaMean: number;
  lumaMedian: number;
  /** 99th percentile of luminance, 0…255. */
  lumaP99: number;
  focus: number;
  exposure: number;
  clean: number;
}

export const clamp01 = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x);

export function focusScore(sharpness: number, motion: number): number {
  if (!Number.isFinite(sharpness)) return NaN; // no tile with enough detail to tell: no value, not "blurry"
  return clamp01((sharpness - 0.2) / 0.65) * (1 - 0.5 * clamp01(motion));
}

export function exposureScore(clippedHigh: number, blockedLow: number, median: number, p99: number): number {
  const headroom = Math.max(0, 235 - p99) / 60;
  const off = Math.max(0, Math.abs(median - 118) - 70) / 50;
  return Math.exp(-(clippedHigh / 0.04 + blockedLow / 0.1 + headroom * headroom + off * off));
}

export function cleanScore(noiseSigma: number): number {
  if (!Number.isFinite(noiseSigma)) return 0.5; // can't tell (all clipped or blocked): neutral
  return 1 / (1 + (noiseSigma / 1.5) ** 2);
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
 * each, over every STEP-th line only (every other row for the horizontal sums, every other column
 * for the vertical): a tile at 1500 px is ~90 × 70 pixels, so its sums barely change, and this hot
 * loop of the analyzer costs half.
 */
function reblurRowsAndColumns(L: Float32Array, w: number, h: number, tx: Int32Array, ty: Int32Array, D: Float64Array, V: Float64Array): void {
  const r = (REBLUR - 1) >> 1;
  const G = FOCUS_GRID;
  const xe = edgesOf(tx, G);
  // Horizontal: a prefix sum per row gives the re-blurred row.
  const P = new Float64Array(w + 1);
  const B = new Float32Array(w);
  for (let y = 0; y < h; y += STEP) {
    const base = y * w;
    for (let x = 0; x < w; x++) P[x + 1] = P[x] + L[base + x];
    for (let x = 0; x < w; x++) {
      const lo = x - r < 0 ? 0 : x - r;
      const hi = x + r + 1 > w ? w : x + r + 1;
      B[x] = (P[hi] - P[lo]) / (hi - lo);
    }
    const row = ty[y] * G;
    for (let c = 0; c < G; c++) {
      let d = 0;
      let v = 0;
      for (let x = Math.max(1, xe[c]); x < xe[c + 1]; x++) {
        const dl = Math.abs(L[base + x] - L[base + x - 1]);
        const db = Math.abs(B[x] - B[x - 1]);
        d += dl;
        if (dl > db) v += dl - db;
      }
      D[row + c] += d;
      V[row + c] += v;
    }
  }
  // Vertical: running column sums over the rows [lo, hi) of the window.
  const S = new Float64Array(w);
  const prevB = new Float32Array(w);
  let lo = 0;
  let hi = Math.min(h, r + 1);
  for (let yy = 0; yy < hi; yy++) for (let x = 0; x < w; x++) S[x] += L[yy * w + x];
  for (let x = 0; x < w; x++) prevB[x] = S[x] / (hi - lo);
  for (let y = 1; y < h; y++) {
    const nlo = y - r < 0 ? 0 : y - r;
    const nhi = y + r + 1 > h ? h : y + r + 1;
    // Only the columns the sums below read (every STEP-th).
    if (nhi > hi) for (let x = 0, a = hi * w; x < w; x += STEP) S[x] += L[a + x];
    if (nlo > lo) for (let x = 0, a = lo * w; x < w; x += STEP) S[x] -= L[a + x];
    lo = nlo;
    hi = nhi;
    const n = hi - lo;
    const base = y * w;
    const up = base - w;
    const row = ty[y] * G;
    for (let c = 0; c < G; c++) {
      let d = 0;
      let v = 0;
      for (let x = xe[c] + (xe[c] & 1); x < xe[c + 1]; x += STEP) {
        const b = S[x] / n;
        const dl = Math.abs(L[base + x] - L[up + x]);
        const db = Math.abs(b - prevB[x]);
        prevB[x] = b;
        d += dl;
        if (dl > db) v += dl - db;
      }
      D[row + c] += d;
      V[row + c] += v;
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
  reblurRowsAndColumns(L, w, h, tx, ty, D, V);
  const pixels = new Float64Array(tiles);
  const xe = edgesOf(tx, G);
  const ye = edgesOf(ty, G);
  for (let t = 0; t < tiles; t++) pixels[t] = (xe[(t % G) + 1] - xe[t % G]) * (ye[Math.floor(t / G) + 1] - ye[Math.floor(t / G)]);

  // A tile tells something when its neighbour-to-neighbour variation (mean |ΔL|) clearly exceeds
  // what the noise alone gives (i.i.d. noise σ: E|ΔL| = 2σ/√π ≈ 1.13σ).
  const noise = Number.isFinite(noiseSigma) ? noiseSigma : 0;
  const minVariation = 1.5 + 1.13 * noise;
  const focusMap = new Float32Array(tiles).fill(NaN);
  const textured: number[] = [];
  for (let t = 0; t < tiles; t++) {
    if (pixels[t] === 0 || (STEP * D[t]) / (2 * pixels[t]) < minVariation) continue;
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

/** Immerkær σ per tile of a NOISE_GRID² grid; the 10th percentile of usable tiles. */
function measureNoise(L: Float32Array, w: number, h: number): number {
  if (w < 3 || h < 3) return NaN;
  const G = NOISE_GRID;
  const tx = tileOf(w, G);
  const ty = tileOf(h, G);
  const sum = new Float64Array(G * G);
  const count = new Float64Array(G * G);
  const bright = new Float64Array(G * G);
  for (let y = 1; y < h - 1; y += STEP) {
    const a = (y - 1) * w;
    const b = y * w;
    const c = (y + 1) * w;
    const row = ty[y] * G;
    for (let x = 1; x < w - 1; x++) {
      const m =
        L[a + x - 1] - 2 * L[a + x] + L[a + x + 1] - 2 * L[b + x - 1] + 4 * L[b + x] - 2 * L[b + x + 1] + L[c + x - 1] - 2 * L[c + x] + L[c + x + 1];
      const t = row + tx[x];
      sum[t] += m < 0 ? -m : m;
      count[t]++;
      bright[t] += L[b + x];
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

/** Everything the technical analyzer stores about one raster. */
export function measureTechnical(r: Raster): TechnicalMeasures {
  const { width: w, height: h, data } = r;
  const n = w * h;
  const L = new Float32Array(n);
  // Per channel: ≥ 250 clipped, ≤ 5 blocked. One pass for luma, clipping and the luma histogram.
  const chR = new Uint32Array(256);
  const chG = new Uint32Array(256);
  const chB = new Uint32Array(256);
  const hist = new Uint32Array(256);
  let total = 0;
  let sampled = 0;
  for (let y = 0; y < h; y++) {
    const counted = y % STEP === 0; // histograms over every STEP-th row
    for (let i = y * w, s = i * 3, end = i + w; i < end; i++, s += 3) {
      const R = data[s];
      const G_ = data[s + 1];
      const B_ = data[s + 2];
      const v = 0.2126 * R + 0.7152 * G_ + 0.0722 * B_;
      L[i] = v;
      if (counted) {
        total += v;
        hist[(v + 0.5) | 0]++;
        chR[R]++;
        chG[G_]++;
        chB[B_]++;
      }
    }
    if (counted) sampled += w;
  }
  const count = (ch: Uint32Array, a: number, b: number) => {
    let k = 0;
    for (let v = a; v <= b; v++) k += ch[v];
    return k;
  };
  const hi = [chR, chG, chB].map((ch) => count(ch, 250, 255));
  const lo = [chR, chG, chB].map((ch) => count(ch, 0, 5));
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
    exposure: exposureScore(mean3(clippedHigh), mean3(blockedLow), median, p99),
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
