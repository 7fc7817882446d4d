// Bursts and near-duplicates: photos that show the same moment, grouped so the user keeps the best
// of each and rejects the rest with one key.
//
// Two kinds of link join photos into a group (single linkage, union-find):
//   burst           consecutive captures of one camera (ordered by capture time) at most `burstGapMs`
//                   apart whose embeddings agree to at least `burstCosine`;
//   near-duplicate  any two photos whose embeddings have cosine ≥ `cosine`, wherever they were taken.
// A group's reason is 'burst' when burst links alone connect it, 'near-duplicate' when similarity
// links alone do, and 'both' when it takes both kinds.
//
// Strictness (0…100, default 50) sets all three thresholds (see groupingThresholds):
//   cosine        0.80 (loose) … 0.98 (strict), linear          50 → 0.89
//   burstCosine   0.70 … 0.90, linear                            50 → 0.80
//   burstGapMs    10 s … 1 s, geometric (10 s · 10^(−s/100))     50 → 3.2 s
//
// Near-duplicates are found without comparing all pairs: random-hyperplane LSH, in
// near-duplicates.ts. The number of tables and bits per key (planLsh) aim at finding a pair exactly
// at the threshold with 97 % probability, within a work budget linear in the number of photos. At
// loose settings on large libraries the budget wins: borderline pairs may then be missed, while real
// duplicates (well above the threshold) are still found almost surely. 400 photos or fewer are
// compared exhaustively.
//
// This file: the thresholds, union-find, burst links and the groups (the LSH plan is tuned with the
// thresholds here). Test data: test/helpers/synthetic-groups.ts.

import type { PhotoFilter } from '../../../common/types.ts';
import { cosine, nearDuplicatesLsh, type Prepared } from './near-duplicates.ts';

/** Where the strictness slider starts. */
export const DEFAULT_STRICTNESS = 50;

export interface GroupingThresholds {
  strictness: number;
  /** Near-duplicate: embedding cosine at or above this. */
  cosine: number;
  /** Burst: consecutive frames at most this far apart (ms)… */
  burstGapMs: number;
  /** …whose embedding cosine is at least this (a burst that turns to another subject splits). */
  burstCosine: number;
}

export function groupingThresholds(strictness: number = DEFAULT_STRICTNESS): GroupingThresholds {
  if (!Number.isFinite(strictness)) throw new Error(`Strictness must be a number from 0 to 100, not ${strictness}.`);
  const s = Math.min(100, Math.max(0, strictness)) / 100;
  return { strictness: s * 100, cosine: 0.8 + 0.18 * s, burstCosine: 0.7 + 0.2 * s, burstGapMs: 10_000 * 10 ** -s };
}

export interface GroupInput {
  /** Photo id per row. */
  ids: ArrayLike<number>;
  /** rows × dim embeddings, row-major (normalised here if they are not unit length). */
  vectors: Float32Array;
  dim: number;
  /** Capture time per row (ms since epoch); NaN or null = unknown (never part of a burst). */
  takenAt?: ArrayLike<number | null>;
  /** Camera per row; bursts never mix cameras. */
  camera?: ArrayLike<string | null | undefined>;
  /** Only these rows take part (default: every row). */
  rows?: ArrayLike<number>;
}

export interface GroupOptions {
  strictness?: number;
  /** Per row (same indexing as `ids`), higher is better: decides each group's best photo. */
  scores?: ArrayLike<number>;
  /** 'exact' compares all pairs (O(n²), for tests); 'lsh' always hashes; 'auto' hashes above 400 photos. */
  method?: 'auto' | 'exact' | 'lsh';
  /** Seed of the hash functions (results are deterministic for a given seed). */
  seed?: number;
}

export type GroupReason = 'burst' | 'near-duplicate' | 'both';

export interface PhotoGroup {
  /** Best first, then by score (or capture order without scores). */
  ids: number[];
  bestId: number;
  reason: GroupReason;
  /** Scores aligned with `ids`, when scores were given. */
  scores?: number[];
}

/** What Library.groups takes. */
export interface GroupQuery {
  strictness?: number;
  /** Picks each group's best: an attribute text, "@laion" or "@taste[:name]"; default "@quality + @sharpness". */
  by?: string;
  filter?: PhotoFilter;
  /** Rejected photos are left out of grouping unless this is set (or the filter asks for rejects). */
  includeRejected?: boolean;
}

/** A group as the library returns it: best first, with each member's score and path. */
export interface LibraryPhotoGroup extends PhotoGroup {
  scores: number[];
  paths: string[];
  /** The attribute that ranked the members. */
  by: string;
  /** Frames passed over for the best despite a higher score, and why (group-service.ts). */
  why: string[];
}

const EXACT_MAX = 400;

// ---- small tools ------------------------------------------------------------------------------

class UnionFind {
  readonly parent: Int32Array;
  private readonly size: Int32Array;

  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.size = new Int32Array(n).fill(1);
  }

  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }

  union(a: number, b: number): boolean {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return false;
    if (this.size[ra] < this.size[rb]) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra] += this.size[rb];
    return true;
  }
}

// ---- grouping -----------------------------------------------------------------------------------

/** Groups of ≥ 2 photos (bursts and near-duplicates), each with its best photo first. */
export function groupPhotos(input: GroupInput, opts: GroupOptions = {}): PhotoGroup[] {
  const { ids, vectors, dim } = input;
  const total = ids.length;
  if (!(dim > 0) || vectors.length < total * dim) throw new Error(`groupPhotos: ${vectors.length} values for ${total} rows of ${dim}.`);
  const rows = input.rows ? Int32Array.from(input.rows) : Int32Array.from({ length: total }, (_, i) => i);
  for (const r of rows) if (!(r >= 0 && r < total)) throw new Error(`groupPhotos: row ${r} is out of range.`);
  const n = rows.length;
  const th = groupingThresholds(opts.strictness);
  const method = opts.method ?? 'auto';
  const hashed = method === 'lsh' || (method === 'auto' && n > EXACT_MAX);
  // 1/‖x‖ per photo and, for hashing, the mean of the normalised rows (while each row is in cache).
  const inv = new Float64Array(n);
  const mean = new Float64Array(hashed ? dim : 0);
  let valid = 0;
  for (let i = 0; i < n; i++) {
    const o = rows[i] * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[o + j] * vectors[o + j];
    const k = s > 0 && Number.isFinite(s) ? 1 / Math.sqrt(s) : 0;
    inv[i] = k;
    if (k > 0) valid++;
    if (hashed && k > 0) for (let j = 0; j < dim; j++) mean[j] += vectors[o + j] * k;
  }
  for (let j = 0; j < mean.length; j++) mean[j] /= Math.max(1, valid);
  const p: Prepared = { vectors, dim, rows, inv };
  const burst = new UnionFind(n);
  const dup = new UnionFind(n);
  const all = new UnionFind(n);

  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = input.takenAt?.[rows[i]];
    times[i] = t === null || t === undefined ? NaN : t;
  }

  // Bursts: neighbours in capture order, per camera.
  if (input.takenAt) {
    const cameraOrdinal = new Map<string, number>();
    const cam = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const name = input.camera?.[rows[i]] ?? '';
      let o = cameraOrdinal.get(name);
      if (o === undefined) cameraOrdinal.set(name, (o = cameraOrdinal.size));
      cam[i] = o;
    }
    const timed = Int32Array.from({ length: n }, (_, i) => i).filter((i) => Number.isFinite(times[i]));
    timed.sort((a, b) => cam[a] - cam[b] || times[a] - times[b] || ids[rows[a]] - ids[rows[b]]);
    for (let k = 1; k < timed.length; k++) {
      const a = timed[k - 1];
      const b = timed[k];
      if (cam[a] !== cam[b] || times[b] - times[a] > th.burstGapMs) continue;
      if (cosine(p, a, b) >= th.burstCosine) {
        burst.union(a, b);
        all.union(a, b);
      }
    }
  }

  // Near-duplicates.
  const link = (a: number, b: number) => {
    dup.union(a, b);
    all.union(a, b);
  };
  if (!hashed) {
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        if (dup.find(a) !== dup.find(b) && cosine(p, a, b) >= th.cosine) link(a, b);
      }
    }
  } else if (n > 1) {
    nearDuplicatesLsh(p, mean, th.cosine, dup, link, opts.seed ?? 1);
  }

  // Components of two or more photos.
  const root = new Int32Array(n);
  const size = new Int32Array(n);
  for (let i = 0; i < n; i++) size[(root[i] = all.find(i))]++;
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (size[root[i]] < 2) continue;
    let list = members.get(root[i]);
    if (!list) members.set(root[i], (list = []));
    list.push(i);
  }
  const scores = opts.scores;
  const scoreOf = (i: number) => {
    const s = scores ? scores[rows[i]] : NaN;
    return Number.isNaN(s) ? -Infinity : s;
  };
  const order = (a: number, b: number) => {
    if (scores) {
      const d = scoreOf(b) - scoreOf(a);
      if (d) return d;
    }
    const ta = times[a];
    const tb = times[b];
    const na = Number.isNaN(ta);
    const nb = Number.isNaN(tb);
    if (na !== nb) return na ? 1 : -1; // undated photos after dated ones
    if (!na && ta !== tb) return ta - tb;
    return ids[rows[a]] - ids[rows[b]];
  };
  const out: { group: PhotoGroup; first: number; minId: number }[] = [];
  for (const list of members.values()) {
    const one = (uf: UnionFind) => list.every((i) => uf.find(i) === uf.find(list[0]));
    const reason: GroupReason = one(burst) ? 'burst' : one(dup) ? 'near-duplicate' : 'both';
    list.sort(order);
    const group: PhotoGroup = { ids: list.map((i) => ids[rows[i]]), bestId: ids[rows[list[0]]], reason };
    if (scores) group.scores = list.map((i) => scores[rows[i]]);
    let first = Infinity;
    let minId = Infinity;
    for (const i of list) {
      if (times[i] < first) first = times[i];
      if (ids[rows[i]] < minId) minId = ids[rows[i]];
    }
    out.push({ group, first, minId });
  }
  // Groups in capture order (undated ones last), then by smallest id.
  out.sort((a, b) => (a.first !== b.first ? (a.first === Infinity ? 1 : b.first === Infinity ? -1 : a.first - b.first) : a.minId - b.minId));
  return out.map((o) => o.group);
}

