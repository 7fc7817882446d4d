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
//   focus    = clamp((sharpness − 0.20) / 0.65) · (1 − 0.5 · motion)
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

export interface TechnicalMeasures {
  /** Size of the raster measured. */
  width: number;
  height: number;
  /** FOCUS_GRID² tile sharpness values (row-major, V/D on 0…1), NaN where a tile has too little detail to tell. */
  focusMap: Float32Array;
  /** V/D of the sharpest region in its weakest direction, 0…1 (NaN: no textured tile at all). */
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
  if (!Number.isFinite(sharpness)) return 0; // nothing textured at all: nothing is in focus
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

/** Rec. 709 luma of the sRGB values, 0…255. */
function luma(r: Raster): Float32Array {
  const n = r.width * r.height;
  const out = new Float32Array(n);
  const d = r.data;
  for (let i = 0, s = 0; i < n; i++, s += 3) out[i] = 0.2126 * d[s] + 0.7152 * d[s + 1] + 0.0722 * d[s + 2];
  return out;
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
  reblurDirection(L, w, 0, 0, w, h, 1, 0, tx, ty, D, V);
  reblurDirection(L, w, 0, 0, w, h, 0, 1, tx, ty, D, V);
  const pixels = new Float64Array(tiles);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pixels[ty[y] * G + tx[x]]++;

  // A tile tells something when its neighbour-to-neighbour variation (mean |ΔL|) clearly exceeds
  // what the noise alone gives (i.i.d. noise σ: E|ΔL| = 2σ/√π ≈ 1.13σ).
  const noise = Number.isFinite(noiseSigma) ? noiseSigma : 0;
  const minVariation = 1.5 + 1.13 * noise;
  const focusMap = new Float32Array(tiles).fill(NaN);
  const textured: number[] = [];
  for (let t = 0; t < tiles; t++) {
    if (pixels[t] === 0 || D[t] / (2 * pixels[t]) < minVariation) continue;
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
  for (let y = 1; y < h - 1; y++) {
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
  const L = luma(r);

  const hi = [0, 0, 0];
  const lo = [0, 0, 0];
  for (let i = 0; i < n * 3; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = data[i + c];
      if (v >= 250) hi[c]++;
      else if (v <= 5) lo[c]++;
    }
  }
  const hist = new Uint32Array(256);
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += L[i];
    hist[Math.min(255, Math.round(L[i]))]++;
  }
  const percentile = (p: number) => {
    for (let acc = 0, v = 0; v < 256; v++) {
      acc += hist[v];
      if (acc >= p * n) return v;
    }
    return 255;
  };
  const median = percentile(0.5);
  const p99 = percentile(0.99);
  const clippedHigh = hi.map((x) => x / n) as [number, number, number];
  const blockedLow = lo.map((x) => x / n) as [number, number, number];
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
    lumaMean: n ? total / n : NaN,
    lumaMedian: median,
    focus: focusScore(sharpness, motion),
    exposure: exposureScore(mean3(clippedHigh), mean3(blockedLow), median, p99),
    lumaP99: p99,
    clean: cleanScore(noiseSigma),
  };
}
