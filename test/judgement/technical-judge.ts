// How often the technical analyzer's signals are right, measured by degrading photos by known
// amounts: Gaussian blur, motion blur (horizontal and diagonal), Gaussian noise, exposure ±1/±2 EV
// (in linear light, clipped). Every copy (and the original) is JPEG-encoded at quality 95 at the
// original's size, decoded as the indexer decodes (decodeImage with the working raster) and run
// through the real TechnicalAnalyzer. Used by test/judgement/technical.ts (the published figures,
// on ../shared/photos/sample-shoot) and by test/technical.test.ts (floors, on generated images).
//
// Amounts are in pixels of a 1500 px rendering (REFERENCE_SIDE, whatever working side the analyzer
// uses, so working sides compare on the same copies): a photo whose long side is larger gets them
// scaled by long / 1500 (σ = 1 on a 6000 px photo is σ = 4 px at 100 %).
//
// A value of NaN ("can't tell": no region with enough detail) is neither right nor wrong: such
// pairs are left out of the rates and counted apart (noValue).
import sharp from 'sharp';
import { prng } from '../../electron/services/matrix/prng.ts';
import { decodeImage } from '../../native-models/preprocess.ts';
import { TechnicalAnalyzer } from '../../electron/services/indexing/analyzers/technical.ts';
import type { TechnicalMeasures } from '../../electron/services/indexing/analyzers/technical-measures.ts';

export interface RawImage {
  name: string;
  data: Buffer; // RGB, 3 channels
  width: number;
  height: number;
}

export type Kind = 'original' | 'blur' | 'motion-h' | 'motion-d' | 'noise' | 'ev';
export interface Variant {
  kind: Kind;
  amount: number; // blur σ / motion length (working px), noise σ (levels), EV
  label: string;
}

export const VARIANTS: Variant[] = [
  { kind: 'original', amount: 0, label: 'original' },
  { kind: 'blur', amount: 1, label: 'blur σ1' },
  { kind: 'blur', amount: 2, label: 'blur σ2' },
  { kind: 'blur', amount: 4, label: 'blur σ4' },
  { kind: 'motion-h', amount: 9, label: 'motion 9 px →' },
  { kind: 'motion-d', amount: 9, label: 'motion 9 px ↘' },
  { kind: 'noise', amount: 3, label: 'noise σ3' },
  { kind: 'noise', amount: 8, label: 'noise σ8' },
  { kind: 'ev', amount: -2, label: '−2 EV' },
  { kind: 'ev', amount: -1, label: '−1 EV' },
  { kind: 'ev', amount: 1, label: '+1 EV' },
  { kind: 'ev', amount: 2, label: '+2 EV' },
];

export async function loadRaw(name: string, input: string | Buffer): Promise<RawImage> {
  const { data, info } = await sharp(input).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { name, data, width: info.width, height: info.height };
}

/** Box blur of length `len` along (dx, dy) per channel, the mean of the samples inside the image. */
function motionBlur(img: RawImage, len: number, dx: number, dy: number): Buffer {
  const { width: w, height: h, data } = img;
  const out = Buffer.allocUnsafe(data.length);
  const r = Math.max(1, Math.round((len - 1) / 2));
  const maxLen = Math.max(w, h) + 1;
  const idx = new Int32Array(maxLen);
  const prefix = new Float64Array(maxLen + 1);
  const starts: [number, number][] = [];
  if (dy === 0) for (let y = 0; y < h; y++) starts.push([0, y]);
  else {
    for (let x = 0; x < w; x++) starts.push([x, 0]);
    for (let y = 1; y < h; y++) starts.push([0, y]);
  }
  for (const [x0, y0] of starts) {
    let n = 0;
    for (let x = x0, y = y0; x < w && y < h; x += dx, y += dy) idx[n++] = (y * w + x) * 3;
    for (let c = 0; c < 3; c++) {
      prefix[0] = 0;
      for (let k = 0; k < n; k++) prefix[k + 1] = prefix[k] + data[idx[k] + c];
      for (let k = 0; k < n; k++) {
        const lo = Math.max(0, k - r);
        const hi = Math.min(n, k + r + 1);
        out[idx[k] + c] = Math.round((prefix[hi] - prefix[lo]) / (hi - lo));
      }
    }
  }
  return out;
}

function addNoise(img: RawImage, sigma: number, seed: number): Buffer {
  const rand = prng(seed);
  const out = Buffer.allocUnsafe(img.data.length);
  for (let i = 0; i < img.data.length; i += 2) {
    const u = Math.max(rand(), 1e-12);
    const m = Math.sqrt(-2 * Math.log(u)) * sigma;
    const a = 2 * Math.PI * rand();
    out[i] = Math.max(0, Math.min(255, Math.round(img.data[i] + m * Math.cos(a))));
    if (i + 1 < img.data.length) out[i + 1] = Math.max(0, Math.min(255, Math.round(img.data[i + 1] + m * Math.sin(a))));
  }
  return out;
}

const toLinear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const toSrgb = (v: number) => (v <= 0.0031308 ? v * 12.92 : 1.055 * v ** (1 / 2.4) - 0.055);

function exposeEv(img: RawImage, ev: number): Buffer {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.round(255 * toSrgb(Math.min(1, toLinear(v / 255) * 2 ** ev)));
  const out = Buffer.allocUnsafe(img.data.length);
  for (let i = 0; i < img.data.length; i++) out[i] = lut[img.data[i]];
  return out;
}

/** The variant's pixels at the original's size, JPEG-encoded (quality 95) like a camera file. */
export const REFERENCE_SIDE = 1500;

export async function degrade(img: RawImage, v: Variant, seed = 1): Promise<Buffer> {
  const scale = Math.max(1, Math.max(img.width, img.height) / REFERENCE_SIDE);
  const raw = { raw: { width: img.width, height: img.height, channels: 3 as const } };
  let pipeline: ReturnType<typeof sharp>;
  switch (v.kind) {
    case 'original':
      pipeline = sharp(img.data, raw);
      break;
    case 'blur':
      pipeline = sharp(img.data, raw).blur(Math.max(0.3, v.amount * scale));
      break;
    case 'motion-h':
      pipeline = sharp(motionBlur(img, v.amount * scale, 1, 0), raw);
      break;
    case 'motion-d':
      pipeline = sharp(motionBlur(img, (v.amount * scale) / Math.SQRT2, 1, 1), raw);
      break;
    case 'noise':
      pipeline = sharp(addNoise(img, v.amount, seed), raw);
      break;
    case 'ev':
      pipeline = sharp(exposeEv(img, v.amount), raw);
      break;
  }
  return pipeline.jpeg({ quality: 95, mozjpeg: false }).toBuffer();
}

/** The real analyzer over the indexer's decode of `file`. */
export async function analyze(file: Buffer, analyzer = new TechnicalAnalyzer()): Promise<TechnicalMeasures> {
  const side = analyzer.needs.working.longSide;
  const d = await decodeImage(file, { working: [side], thumbnail: false });
  const [m] = await analyzer.analyze([{ path: '', width: d.width, height: d.height, working: d.working[0] }]);
  return m;
}

export type Scores = Record<string, TechnicalMeasures>; // by variant label

export async function measureImage(img: RawImage, analyzer = new TechnicalAnalyzer(), variants = VARIANTS): Promise<Scores> {
  const out: Scores = {};
  for (const v of variants) out[v.label] = await analyze(await degrade(img, v), analyzer);
  return out;
}

export interface PairFigure {
  signal: 'focus' | 'clean' | 'exposure';
  variant: string;
  correct: number;
  total: number; // pairs with a value on both sides
  wrong: string[]; // image names
  noValue: string[]; // pairs left out: NaN on either side
}

export interface CrossFigure {
  signal: 'focus' | 'clean' | 'exposure';
  against: string[]; // variant labels pooled as the "bad" side
  auc: number;
  pairs: number;
  wrongPairs: number;
  noValue: number; // pairs left out: NaN on either side
  /** The worst confusions: "original A (0.31) ≤ B blur σ2 (0.40)". */
  worst: string[];
}

/** Which signal each degradation should lower. */
export const PAIR_SETS: { signal: PairFigure['signal']; variants: string[] }[] = [
  { signal: 'focus', variants: ['blur σ1', 'blur σ2', 'blur σ4', 'motion 9 px →', 'motion 9 px ↘'] },
  { signal: 'clean', variants: ['noise σ3', 'noise σ8'] },
  { signal: 'exposure', variants: ['−2 EV', '−1 EV', '+1 EV', '+2 EV'] },
];

export const CROSS_SETS: { signal: CrossFigure['signal']; against: string[] }[] = [
  { signal: 'focus', against: ['blur σ2', 'blur σ4'] },
  { signal: 'focus', against: ['blur σ1'] },
  { signal: 'focus', against: ['motion 9 px →', 'motion 9 px ↘'] },
  { signal: 'clean', against: ['noise σ8'] },
  { signal: 'clean', against: ['noise σ3'] },
  { signal: 'exposure', against: ['−2 EV', '+2 EV'] },
  { signal: 'exposure', against: ['−1 EV', '+1 EV'] },
];

/** Original vs its own degraded copy: the share where the original scores strictly higher. */
export function pairFigures(all: Record<string, Scores>): PairFigure[] {
  const out: PairFigure[] = [];
  for (const set of PAIR_SETS) {
    for (const variant of set.variants) {
      if (!Object.values(all).every((s) => s[variant])) continue; // not measured in this run
      const f: PairFigure = { signal: set.signal, variant, correct: 0, total: 0, wrong: [], noValue: [] };
      for (const [name, s] of Object.entries(all)) {
        if (Number.isNaN(s.original[set.signal]) || Number.isNaN(s[variant][set.signal])) {
          f.noValue.push(name);
          continue;
        }
        f.total++;
        if (s.original[set.signal] > s[variant][set.signal]) f.correct++;
        else f.wrong.push(name);
      }
      out.push(f);
    }
  }
  return out;
}

/** Across photos: every original against every OTHER photo's degraded copies (AUC, ties count half). */
export function crossFigures(all: Record<string, Scores>): CrossFigure[] {
  const names = Object.keys(all);
  const measured = CROSS_SETS.filter(({ against }) => against.every((v) => Object.values(all).every((s) => s[v])));
  return measured.map(({ signal, against }) => {
    let pairs = 0;
    let wins = 0;
    let wrongPairs = 0;
    let noValue = 0;
    const confusions: { gap: number; text: string }[] = [];
    for (const a of names) {
      const good = all[a].original[signal];
      for (const b of names) {
        if (a === b) continue;
        for (const v of against) {
          const bad = all[b][v][signal];
          if (Number.isNaN(good) || Number.isNaN(bad)) {
            noValue++;
            continue;
          }
          pairs++;
          if (good > bad) wins++;
          else {
            wins += good === bad ? 0.5 : 0;
            wrongPairs++;
            confusions.push({ gap: bad - good, text: `${a} original (${good.toFixed(2)}) ≤ ${b} ${v} (${bad.toFixed(2)})` });
          }
        }
      }
    }
    confusions.sort((p, q) => q.gap - p.gap);
    return { signal, against, auc: pairs ? wins / pairs : NaN, pairs, wrongPairs, noValue, worst: confusions.slice(0, 5).map((c) => c.text) };
  });
}
