// The near-duplicate candidate search of groups.ts, without comparing all pairs: random-hyperplane
// LSH. Each photo gets a 512-bit sign sketch of its mean-centred embedding (a randomised
// Walsh–Hadamard transform gives all 512 projections in O(d log d)); hash tables keyed on k sampled
// bits propose candidate pairs; a Hamming-distance test on the whole sketch drops most false
// candidates; the exact cosine decides. planLsh sizes the tables for the threshold groups.ts asks
// for (its thresholds and this plan are tuned together: see groups.ts's opening comment).
import { dot } from '../matrix/dot.ts';
import { prng } from '../matrix/prng.ts';
import { simdKernels } from '../matrix/wasm/dense-kernels.ts';

/** The rows being grouped, by local index. */
export interface Prepared {
  vectors: Float32Array;
  dim: number;
  /** Local index → row. */
  rows: Int32Array;
  /** 1/‖row‖ per local index. */
  inv: Float64Array;
}

export function cosine(p: Prepared, a: number, b: number): number {
  const { vectors, dim } = p;
  return dot(vectors, p.rows[a] * dim, vectors, p.rows[b] * dim, dim) * p.inv[a] * p.inv[b];
}

export interface LshPlan {
  /** Sketch bits per hash key. */
  k: number;
  /** Hash tables. */
  L: number;
  /** Probability that a pair exactly at the threshold shares a bucket in some table. */
  recall: number;
}

/**
 * Hash tables for `n` photos and a threshold on the centred cosine: the most recall for a pair at
 * the threshold within a work budget linear in n (about 0.6 s of hashing for 100 000 photos), and no
 * more tables than a 97 % recall needs. The cost model is calibrated on V8: ~30 ns per photo and
 * table for keys and bucketing, ~150 ns per candidate pair, ~4 ns per bucket. Pairs well above the
 * threshold (real duplicates) are found with much higher probability than `recall`.
 */
const TARGET_RECALL = 0.97;

export function planLsh(n: number, centredThreshold: number): LshPlan {
  const t = Math.min(0.9999, Math.max(-1, centredThreshold));
  const p1 = 1 - Math.acos(t) / Math.PI;
  const budget = 6000 * n + 5e7;
  let best: LshPlan & { cost: number } = { k: 8, L: 1, recall: 0, cost: Infinity };
  for (let k = 8; k <= 22; k++) {
    const hit = p1 ** k;
    const perTable = 30 * n + 150 * ((n * (n - 1)) / 2) * 2 ** -k + 4 * 2 ** k;
    const needed = Math.ceil(Math.log(1 - TARGET_RECALL) / Math.log(1 - hit));
    const L = Math.max(1, Math.min(needed, 128, Math.floor(budget / perTable)));
    const recall = 1 - (1 - hit) ** L;
    const cost = L * perTable;
    // Recall beyond the target buys nothing: among plans that reach it, the cheapest wins.
    const credit = Math.min(recall, TARGET_RECALL);
    const bestCredit = Math.min(best.recall, TARGET_RECALL);
    if (credit > bestCredit + 1e-3 || (Math.abs(credit - bestCredit) <= 1e-3 && cost < best.cost)) best = { k, L, recall, cost };
  }
  return { k: best.k, L: best.L, recall: best.recall };
}

function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** In-place fast Walsh–Hadamard transform (length a power of two, unnormalised). */
function fwht(x: Float32Array): void {
  const n = x.length;
  for (let h = 1; h < n; h <<= 1) {
    for (let i = 0; i < n; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const a = x[j];
        const b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
    }
  }
}

/** Finds every pair with cosine ≥ `threshold` (with high probability) and passes it to `link`. */
export function nearDuplicatesLsh(
  p: Prepared,
  mu: Float64Array,
  threshold: number,
  dup: { find(x: number): number },
  link: (a: number, b: number) => void,
  seed: number,
): void {
  const { vectors, dim, rows, inv } = p;
  const n = rows.length;
  const rnd = prng(seed);

  // `mu` is the mean of the normalised rows: CLIP embeddings share a large common component, and
  // hyperplanes through the origin would cut that cone poorly. Signs of (x̂ − μ) spread evenly.
  let mu2 = 0;
  for (let j = 0; j < dim; j++) mu2 += mu[j] * mu[j];
  // Per photo: c = μ·x̂ and ‖x̂ − μ‖, to turn the cosine threshold into a centred one per pair.
  const c = new Float64Array(n);
  const cnorm = new Float64Array(n);

  // Sketch: sign bits of H·D·(x̂ − μ), H Walsh–Hadamard, D random ±1 (several rounds for small d).
  let pad = 32; // at least one whole sketch word per round
  while (pad < dim) pad <<= 1;
  const bits = Math.min(512, Math.max(256, pad));
  const words = bits >>> 5;
  const rounds = Math.ceil(bits / pad);
  const signs = Float64Array.from({ length: rounds * pad }, () => (rnd() < 0.5 ? -1 : 1));
  const sketch = new Uint32Array(n * words);
  const kernels = simdKernels();
  // The transform runs in the kernels' memory (float32) when WebAssembly SIMD is there.
  const buf = kernels ? new Float32Array(kernels.memory(pad * 4), 0, pad) : new Float32Array(pad);
  // Only needed when d < 256 takes several rounds per photo.
  const centred = rounds > 1 ? new Float64Array(dim) : null;
  const signBits = new Int32Array(buf.buffer, buf.byteOffset, pad);
  for (let i = 0; i < n; i++) {
    const o = rows[i] * dim;
    const k = inv[i];
    if (k === 0) continue; // a zero or corrupt embedding: no sketch, and its cosines are 0
    let ci = 0;
    let nn = 0;
    // One pass: c = μ·x̂, ‖x̂ − μ‖², and the first round's input D(x̂ − μ).
    for (let j = 0; j < dim; j++) {
      const x = vectors[o + j] * k;
      ci += mu[j] * x;
      const v = x - mu[j];
      nn += v * v;
      buf[j] = v * signs[j];
      if (centred) centred[j] = v;
    }
    c[i] = ci;
    cnorm[i] = Math.sqrt(nn);
    for (let r = 0; r < rounds; r++) {
      const so = r * pad;
      if (r > 0) for (let j = 0; j < dim; j++) buf[j] = centred![j] * signs[so + j];
      if (dim < pad) buf.fill(0, dim);
      if (kernels) kernels.fwht(0, pad);
      else fwht(buf);
      // Sign bits without branches (their outcome is a coin flip): bit = 1 where the float is ≥ +0.
      const take = Math.min(pad, bits - so);
      for (let w = 0; w < take >>> 5; w++) {
        let word = 0;
        for (let b = 0, q = w << 5; b < 32; b++) word |= (~signBits[q + b] >>> 31) << b;
        sketch[i * words + ((so >>> 5) + w)] = word;
      }
    }
  }
  const sketchBytes = new Uint8Array(sketch.buffer);
  const bytesPer = words * 4;

  // Hamming cut-off per pair: the centred cosine a pair needs to reach `threshold` gives its
  // expected sketch distance bits·θ/π; 4 standard deviations above that keeps true pairs.
  const BINS = 1024;
  const cutoff = new Int32Array(BINS + 1);
  for (let b = 0; b <= BINS; b++) {
    const t = -1 + (2 * b) / BINS;
    const q = Math.acos(Math.min(1, Math.max(-1, t))) / Math.PI;
    cutoff[b] = Math.min(bits, Math.ceil(bits * q + 4 * Math.sqrt(bits * q * (1 - q)) + 2));
  }
  const pairCutoff = (a: number, b: number): number => {
    const den = cnorm[a] * cnorm[b];
    if (!(den > 1e-9)) return bits;
    const t = (threshold - c[a] - c[b] + mu2) / den;
    if (t <= -1) return bits;
    return cutoff[Math.min(BINS, Math.floor(((t + 1) / 2) * BINS))];
  };

  const tryPair = (a: number, b: number) => {
    if (dup.find(a) === dup.find(b)) return;
    const limit = pairCutoff(a, b);
    if (limit < bits) {
      let h = 0;
      for (let w = 0, oa = a * words, ob = b * words; w < words; w++) {
        h += popcount(sketch[oa + w] ^ sketch[ob + w]);
        if (h > limit) return;
      }
    }
    if (cosine(p, a, b) >= threshold) link(a, b);
  };

  const tTyp = (threshold - mu2) / Math.max(1e-9, 1 - mu2);
  const { k, L } = planLsh(n, tTyp);

  const keys = new Uint32Array(n);
  const counts = new Int32Array((1 << k) + 1);
  const order = new Int32Array(n);
  const BIG = 48;
  const WINDOW = 24;
  // A key is k sketch bits taken from a few random bytes (about four bits from each), read through
  // one 256-entry table per byte: a handful of lookups per photo instead of k bit extractions.
  const keyBytes = Math.min(bytesPer, Math.ceil(k / 4));
  const byteAt = new Int32Array(keyBytes);
  const lut = new Uint32Array(keyBytes * 256);
  for (let table = 0; table < L; table++) {
    const pickedBytes = new Set<number>();
    while (pickedBytes.size < keyBytes) pickedBytes.add(Math.floor(rnd() * bytesPer));
    let q = 0;
    let shift = 0;
    lut.fill(0);
    for (const byte of pickedBytes) {
      const take = Math.floor(k / keyBytes) + (q < k % keyBytes ? 1 : 0);
      const inByte = new Set<number>();
      while (inByte.size < take) inByte.add(Math.floor(rnd() * 8));
      const positions = [...inByte];
      for (let v = 0; v < 256; v++) {
        let part = 0;
        positions.forEach((pos, t) => (part |= ((v >>> pos) & 1) << (shift + t)));
        lut[q * 256 + v] = part;
      }
      byteAt[q++] = byte;
      shift += take;
    }
    for (let i = 0; i < n; i++) {
      let key = 0;
      const o = i * bytesPer;
      for (let b = 0; b < keyBytes; b++) key |= lut[(b << 8) | sketchBytes[o + byteAt[b]]];
      keys[i] = key;
    }
    // Counting sort by key, then each run of equal keys is a bucket.
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[keys[i] + 1]++;
    for (let b = 1; b < counts.length; b++) counts[b] += counts[b - 1];
    for (let i = 0; i < n; i++) order[counts[keys[i]]++] = i;
    for (let start = 0; start < n; ) {
      const key = keys[order[start]];
      let end = start + 1;
      while (end < n && keys[order[end]] === key) end++;
      const size = end - start;
      if (size <= BIG) {
        for (let x = start; x < end; x++) for (let y = x + 1; y < end; y++) tryPair(order[x], order[y]);
      } else {
        // A crowded bucket (many near-identical photos): compare each with a window of neighbours
        // in a random order; its true pairs mostly share other buckets too.
        for (let x = end - 1; x > start; x--) {
          const y = start + Math.floor(rnd() * (x - start + 1));
          const t = order[x];
          order[x] = order[y];
          order[y] = t;
        }
        for (let x = start; x < end; x++) for (let y = x + 1; y < Math.min(end, x + 1 + WINDOW); y++) tryPair(order[x], order[y]);
      }
      start = end;
    }
  }
}
