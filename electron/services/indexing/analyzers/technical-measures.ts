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
// shadows); mean, median and 99th percentile of luminance (Rec. 709 luma of the sRGB values, 0…255)
// — counted and scored in ./technical-exposure.ts.
// Noise — Immerkær's estimator ("Fast noise variance estimation", CVIU 1996): the luminance
// convolved with the Laplacian-difference mask [1 −2 1; −2 4 −2; 1 −2 1] (which cancels any plane and
// most smooth shading), σ = √(π/2) / 6 · mean |response|, taken per tile of a 32 × 32 grid; the
// photo's noise is the 10th percentile of its tiles that are neither blocked nor clipped (its
// flattest regions: texture raises a tile's estimate, never lowers it). In 8-bit levels at the
// working size (downscaling averages sensor noise: a 6000 px photo measured at 1200 px shows about
// a fifth of its 100 % noise).
//
// Cost (docs/performance.md, "Technical analyzer kernels"): the luminance plane is made once (reused
// between photos); the focus map's sums read every STEP-th row and column, the noise estimate every
// NOISE_STEP-th row, the histograms every HIST_STEP-th row; only the sharpest region's four
// directions read every pixel of their tiles (that value is the score). The loops are in
// ./technical-kernels.ts and the WebAssembly SIMD kernels (luminance, the row and column re-blur)
// in ./technical-simd.ts; about 10 ms of CPU for a 1200 × 800 raster.
//
// Scores on 0…1 (higher = better), each a fixed documented function of the measures above:
//   focus    = clamp((sharpness − 0.20) / 0.65) · (1 − 0.5 · motion); NaN ("can't tell") when no
//              tile has enough detail (a smooth gradient, fog, a blank wall)
//              (0.20: about the V/D of a σ = 4 working-pixel blur; 0.85: crisp, in-focus detail;
//              real photos' values are in docs/judgement.md)
//   exposure = exp(−(headroom² + max(0, clippedHigh − 0.02) / 0.05 + blockedLow / 0.5))
//              headroom: the stops of range left unused at the top, max(0, log2(lin(245) / lin(p99)))
//              with lin the sRGB curve in linear light and p99 the 99th percentile of luminance —
//              a photo whose brightest tones sit 1 EV below white costs a factor e, 2 EV e⁴;
//              clippedHigh/blockedLow: the mean over R, G, B of the clipped/blocked fractions —
//              the first 2 % of blown pixels are free (speculars, the sun, a lamp), then each 5 %
//              more costs a factor e; blocked shadows cost little (half the frame black: e⁻¹), since
//              dark backgrounds are usually meant and underexposure shows as headroom.
//              The constants were chosen on the judgement photos (docs/judgement.md: a plateau of
//              nearby values gives the same figures within 2 pairs of 120)
//   clean    = 1 / (1 + (noiseSigma / 1.5)²)  (σ 0.5 levels → 0.90, 1.5 → 0.5, 3 → 0.2)
import type { Raster } from '../../../../native-models/preprocess.ts';
import { exposureCounts, exposureScore } from './technical-exposure.ts';
import { laplacianSums, reblurDirection, reblurRowsAndColumns, tiles } from './technical-kernels.ts';
import { lumaPlane } from './technical-simd.ts';

export { exposureScore, headroomEv } from './technical-exposure.ts';

export const FOCUS_GRID = 16;
export const NOISE_GRID = 32;
/** Line subsampling of the focus sums (every STEP-th row and column), the noise estimate and the histograms. */
const STEP = 4;
const NOISE_STEP = 4;
const HIST_STEP = 4;

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

export function cleanScore(noiseSigma: number): number {
  if (!Number.isFinite(noiseSigma)) return 0.5; // can't tell (all clipped or blocked): neutral
  return 1 / (1 + (noiseSigma / 1.5) ** 2);
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
  const nTiles = G * G;
  const { t: tx, edges: xe } = tiles(w, G);
  const { t: ty } = tiles(h, G);
  // The map: horizontal and vertical over the whole raster (the diagonals, for the motion
  // estimate, only over the sharpest region below: they would double the cost for the map).
  const D = new Float64Array(nTiles);
  const V = new Float64Array(nTiles);
  const N = new Float64Array(nTiles);
  reblurRowsAndColumns(L, w, h, G, STEP, tx, ty, xe, D, V, N);

  // A tile tells something when its neighbour-to-neighbour variation (mean |ΔL|) clearly exceeds
  // what the noise alone gives (i.i.d. noise σ: E|ΔL| = 2σ/√π ≈ 1.13σ).
  const noise = Number.isFinite(noiseSigma) ? noiseSigma : 0;
  const minVariation = 1.5 + 1.13 * noise;
  const focusMap = new Float32Array(nTiles).fill(NaN);
  const textured: number[] = [];
  for (let t = 0; t < nTiles; t++) {
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
  const dv = new Float64Array(2);
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
      dv.fill(0);
      reblurDirection(L, w, xa, ya, xb, yb, dx, dy, dv);
      dSum[k] += dv[0];
      vSum[k] += dv[1];
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
  const { t: ty } = tiles(h, G);
  const { edges: xe } = tiles(w, G);
  const sum = new Float64Array(G * G);
  const count = new Float64Array(G * G);
  const bright = new Float64Array(G * G);
  laplacianSums(L, w, h, G, NOISE_STEP, ty, xe, sum, count, bright);
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
  const L = lumaPlane(data, w, h);
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
  const dv = new Float64Array(2);
  for (const [dx, dy] of DIRECTIONS) reblurDirection(L, w, x0, y0, x1, y1, dx, dy, dv);
  const pixels = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  if (pixels < 64 || dv[0] / (DIRECTIONS.length * pixels) < 1.5) return NaN;
  return dv[1] / dv[0];
}
