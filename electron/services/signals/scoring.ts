// CLIP-IQA scoring over the in-memory embedding matrix.
//
// For an attribute with pole directions t+ and t− (normalised weighted means of their prompt
// embeddings) CLIP-IQA's score is the softmax at the positive pole:
//   exp(s·c+) / (exp(s·c+) + exp(s·c−)),  c± = cos(x, t±), s = logit scale (100)
// which equals 1 / (1 + exp(−s·(c+ − c−))) and c+ − c− = x·(t+ − t−) for unit x. So one dot product
// per photo with d = t+ − t− gives the exact score, and never overflows.
import type { DB } from '../../../db/database.ts';
import { getTextFeatures } from '../../../db/features.ts';
import type { ClipModel } from '../../../native-models/types.ts';
import type { EmbeddingMatrix } from '../matrix/embedding-matrix.ts';
import type { Attribute, AttributeQuery, PhotoFilter, ScoredPhoto } from '../../../common/types.ts';

/** Normalised weighted mean of L2-normalised prompt embeddings (plain mean without weights). */
export function poleDirection(vectors: Float32Array[], weights?: number[]): Float32Array {
  if (!vectors.length) throw new Error('A pole needs at least one prompt.');
  if (weights && weights.length !== vectors.length) throw new Error(`${vectors.length} prompts but ${weights.length} weights.`);
  const dim = vectors[0].length;
  const acc = new Float64Array(dim);
  vectors.forEach((v, i) => {
    const w = weights ? weights[i] : 1;
    for (let j = 0; j < dim; j++) acc[j] += w * v[j];
  });
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += acc[j] * acc[j];
  norm = Math.sqrt(norm);
  if (!(norm > 0)) throw new Error('The prompts of a pole cancel out: their weighted mean is zero.');
  const out = new Float32Array(dim);
  for (let j = 0; j < dim; j++) out[j] = acc[j] / norm;
  return out;
}

/** CLIP-IQA's two-way softmax at the positive pole, written as a logistic of the cosine difference. */
export function clipIqaScore(cosPositive: number, cosNegative: number, logitScale: number): number {
  return 1 / (1 + Math.exp(-logitScale * (cosPositive - cosNegative)));
}

export interface AttributeDirection {
  label: string;
  weight: number;
  positive: Float32Array;
  negative: Float32Array;
  /** t+ − t−: the one vector each photo is dotted with. */
  diff: Float32Array;
}

export interface ScoreOptions {
  /** Keep only the N best. */
  top?: number;
  /** Keep only the best p % (0..100) of the photos that pass the filter and threshold. */
  topPercent?: number;
  /** Threshold on the combined score (0..1); defaults to the query's minScore. */
  minScore?: number;
  /** Only these photo ids (an allow-list, e.g. from a PhotoFilter). */
  ids?: Iterable<number>;
  /** Resolved to ids through `ScorerDeps.filterIds`. */
  filter?: PhotoFilter;
  /** false: leave `path` empty (reading 100k paths costs ~0.1 s and ~40 % of a window's reply). */
  paths?: boolean;
}

export interface ScorerDeps {
  db: DB;
  model: ClipModel;
  matrix: EmbeddingMatrix;
  /** Photo ids matching a PhotoFilter (the photo queries live in db/photos.ts). */
  filterIds?: (filter: PhotoFilter) => Iterable<number>;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function weightOf(a: Attribute): number {
  const w = a.weight ?? 1;
  if (!(w > 0) || !Number.isFinite(w)) throw new Error(`The weight of "${a.label}" must be a positive number.`);
  return w;
}

/** Is row a ranked above row b? Higher score first, ties by smaller photo id (stable across runs). */
function better(scores: ArrayLike<number>, ids: ArrayLike<number>, a: number, b: number): boolean {
  return scores[a] > scores[b] || (scores[a] === scores[b] && ids[a] < ids[b]);
}

/** Rows of an approximate pass (int8 rows or shadow) re-ranked from their exact embeddings. */
const EXACT_HEAD = 1000;

/**
 * Indices of the best `k` of `candidates`, best first. A size-k min-heap keeps it O(n log k): the
 * whole library is never sorted to show the first page.
 */
export function selectTop(scores: ArrayLike<number>, ids: ArrayLike<number>, candidates: ArrayLike<number>, k: number): number[] {
  const n = candidates.length;
  if (k >= n) {
    const all = Array.from(candidates);
    return all.sort((a, b) => (better(scores, ids, a, b) ? -1 : better(scores, ids, b, a) ? 1 : 0));
  }
  if (k <= 0) return [];
  // heap[0] is the worst row kept so far.
  const heap: number[] = [];
  const worse = (a: number, b: number) => better(scores, ids, b, a);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l], heap[m])) m = l;
      if (r < heap.length && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let c = 0; c < n; c++) {
    const row = candidates[c];
    if (heap.length < k) {
      heap.push(row);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i], heap[p])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
    } else if (better(scores, ids, row, heap[0])) {
      heap[0] = row;
      down(0);
    }
  }
  return heap.sort((a, b) => (better(scores, ids, a, b) ? -1 : 1));
}

export class Scorer {
  constructor(private readonly deps: ScorerDeps) {
    // Text directions of one model against another model's image space would be silent nonsense.
    if (deps.matrix.modelId !== deps.model.info.id) {
      throw new Error(`The embedding matrix is for model ${deps.matrix.modelId}, not the active model ${deps.model.info.id}.`);
    }
  }

  get matrix(): EmbeddingMatrix {
    return this.deps.matrix;
  }

  /** t+, t− and their difference for one attribute (text features from the cache when known). */
  async direction(attr: Attribute): Promise<AttributeDirection> {
    // Both poles' prompts in one cache lookup, so a new attribute costs one text-model call.
    const pos = attr.positive.prompts;
    const vecs = await getTextFeatures(this.deps.db, this.deps.model, [...pos, ...attr.negative.prompts]);
    const positive = poleDirection(vecs.slice(0, pos.length), attr.positive.weights);
    const negative = poleDirection(vecs.slice(pos.length), attr.negative.weights);
    const diff = new Float32Array(positive.length);
    for (let j = 0; j < diff.length; j++) diff[j] = positive[j] - negative[j];
    return { label: attr.label, weight: weightOf(attr), positive, negative, diff };
  }

  /** Score of every matrix row: per attribute, and their weighted average. */
  async scoreAll(query: AttributeQuery): Promise<{ combined: Float32Array; parts: { label: string; scores: Float32Array }[] }> {
    return this.scoreRows(await this.directions(query), false);
  }

  private async directions(query: AttributeQuery): Promise<AttributeDirection[]> {
    if (!query.attributes.length) throw new Error('The query has no attributes.');
    const dirs: AttributeDirection[] = [];
    for (const attr of query.attributes) dirs.push(await this.direction(attr));
    return dirs;
  }

  /**
   * `fast`: the pass may run over the matrix's int8 shadow (`dotFast`); `approximate` then says the
   * caller must re-rank exactly what it shows (selectExact). Without it the values are the matrix's own.
   */
  private scoreRows(
    dirs: AttributeDirection[],
    fast = true,
  ): { combined: Float32Array; parts: { label: string; scores: Float32Array }[]; approximate: boolean } {
    const { matrix, model } = this.deps;
    const s = model.info.logitScale;
    const n = matrix.length;
    const combined = new Float32Array(n);
    const parts: { label: string; scores: Float32Array }[] = [];
    const acc = new Float64Array(n);
    let total = 0;
    let approximate = matrix.approximate;
    for (const dir of dirs) {
      let scores: Float32Array; // reused in place for the sigmoid
      if (fast) {
        const d = matrix.dotFast(dir.diff);
        scores = d.values;
        approximate ||= d.approximate;
      } else scores = matrix.dot(dir.diff);
      for (let r = 0; r < n; r++) {
        scores[r] = sigmoid(s * scores[r]);
        acc[r] += dir.weight * scores[r];
      }
      total += dir.weight;
      parts.push({ label: dir.label, scores });
    }
    for (let r = 0; r < n; r++) combined[r] = acc[r] / total;
    return { combined, parts, approximate };
  }

  /**
   * The best `k` of `cands` by `approx`, exact. With exact values (a float32 pass) that is
   * selectTop itself. After an approximate pass (int8 rows, or the int8 shadow of a large float32
   * matrix: errors ~1e-3 in a score) the best rows by the approximate values, with a margin, are
   * re-scored from their exact embeddings (`rescore` writes the exact values into the arrays it was
   * given) and selected again: the first EXACT_HEAD shown scores and their order are exact, and a
   * row can only be missed if its approximation erred by more than the spread of the margin.
   */
  private selectExact(
    approx: Float32Array,
    cands: ArrayLike<number>,
    k: number,
    rescore: (rows: number[], exact: Float32Array) => void,
    approximate = this.deps.matrix.approximate,
  ): number[] {
    const { matrix } = this.deps;
    if (!approximate || k <= 0) return selectTop(approx, matrix.ids, cands, k);
    // Exact for the first EXACT_HEAD rows (every page a person looks at); a whole-library ranking
    // continues below them by the approximate values (±~0.005), instead of re-reading every row.
    const head = Math.min(k, EXACT_HEAD);
    const window = selectTop(approx, matrix.ids, cands, Math.min(cands.length, head + head + 256));
    rescore(window, matrix.exactRows(window));
    const best = selectTop(approx, matrix.ids, window, head);
    if (k <= head) return best;
    const shown = new Set(best);
    const rest = Int32Array.from(cands).filter((r) => !shown.has(r));
    return best.concat(selectTop(approx, matrix.ids, rest, k - head));
  }

  /** Rows allowed by the options' ids / filter (null = every row). */
  private allowed(opts: ScoreOptions): Set<number> | null {
    let set: Set<number> | null = opts.ids ? new Set(opts.ids) : null;
    if (opts.filter) {
      if (!this.deps.filterIds) throw new Error('This scorer cannot apply photo filters (no filterIds given).');
      const f = new Set(this.deps.filterIds(opts.filter));
      set = set ? new Set([...set].filter((id) => f.has(id))) : f;
    }
    return set;
  }

  private candidates(scores: Float32Array, opts: ScoreOptions, minScore: number | undefined): Int32Array {
    const { matrix } = this.deps;
    const ids = matrix.ids;
    const allow = this.allowed(opts);
    const out = new Int32Array(matrix.length);
    let c = 0;
    for (let r = 0; r < matrix.length; r++) {
      const v = scores[r];
      if (Number.isNaN(v)) continue; // a corrupt embedding ranks nowhere
      if (minScore !== undefined && v < minScore) continue;
      if (allow && !allow.has(ids[r])) continue;
      out[c++] = r;
    }
    return out.subarray(0, c);
  }

  private limit(opts: ScoreOptions, candidates: number): number {
    let k = candidates;
    if (opts.top !== undefined) {
      if (!(opts.top >= 0)) throw new Error('top must be a non-negative number.');
      k = Math.min(k, Math.floor(opts.top));
    }
    if (opts.topPercent !== undefined) {
      if (!(opts.topPercent >= 0 && opts.topPercent <= 100)) throw new Error('topPercent must be between 0 and 100.');
      k = Math.min(k, Math.ceil((opts.topPercent / 100) * candidates));
    }
    return k;
  }

  /** Photos ranked by the query's combined score (descending, ties by id), with per-attribute parts. */
  async score(query: AttributeQuery, opts: ScoreOptions = {}): Promise<ScoredPhoto[]> {
    const minScore = opts.minScore ?? query.minScore;
    if (minScore !== undefined && !(minScore >= 0 && minScore <= 1)) throw new Error('minScore must be between 0 and 1.');
    const dirs = await this.directions(query);
    const { combined, parts, approximate } = this.scoreRows(dirs);
    const cands = this.candidates(combined, opts, minScore);
    const { matrix, model } = this.deps;
    const s = model.info.logitScale;
    const dim = matrix.dim;
    const rows = this.selectExact(combined, cands, this.limit(opts, cands.length), (window, exact) => {
      const total = dirs.reduce((t, d) => t + d.weight, 0);
      window.forEach((r, k) => {
        const x = exact.subarray(k * dim, (k + 1) * dim);
        let acc = 0;
        dirs.forEach((dir, a) => {
          let c = 0;
          for (let j = 0; j < dim; j++) c += x[j] * dir.diff[j];
          parts[a].scores[r] = sigmoid(s * c);
          acc += dir.weight * parts[a].scores[r];
        });
        combined[r] = acc / total;
      });
    }, approximate);
    const ids = matrix.ids;
    const paths = opts.paths === false ? null : matrix.pathsOf(rows);
    return rows.map((r, i) => {
      const p: Record<string, number> = {};
      for (const part of parts) p[part.label] = part.scores[r];
      return { id: ids[r], path: paths ? paths[i] : '', score: combined[r], parts: p };
    });
  }

  /** Text search: cosine of each photo to the text as typed (no "a photo of" added), top-k. */
  async search(text: string, opts: ScoreOptions = {}): Promise<ScoredPhoto[]> {
    const query = text.trim();
    if (!query) throw new Error('Type something to search for.');
    const [vec] = await getTextFeatures(this.deps.db, this.deps.model, [query]);
    const { matrix } = this.deps;
    const { values: cos, approximate } = matrix.dotFast(vec);
    const cands = this.candidates(cos, { ...opts }, undefined);
    const k = this.limit({ top: opts.top ?? 100, topPercent: opts.topPercent }, cands.length);
    const dim = matrix.dim;
    const rows = this.selectExact(cos, cands, k, (window, exact) => {
      window.forEach((r, i) => {
        let c = 0;
        for (let j = 0; j < dim; j++) c += exact[i * dim + j] * vec[j];
        cos[r] = c;
      });
    }, approximate);
    const ids = matrix.ids;
    const paths = opts.paths === false ? null : matrix.pathsOf(rows);
    return rows.map((r, i) => ({ id: ids[r], path: paths ? paths[i] : '', score: cos[r] }));
  }

  /** Per-attribute scores of one photo (no pass over the library). */
  async explain(photoId: number, query: AttributeQuery | Attribute[]): Promise<Record<string, number>> {
    const { matrix, model } = this.deps;
    const r = matrix.indexOf(photoId);
    if (r < 0) throw new Error(`Photo ${photoId} has no embedding for this model (not indexed yet, missing or failed).`);
    const attrs = Array.isArray(query) ? query : query.attributes;
    const out: Record<string, number> = {};
    for (const attr of attrs) {
      const dir = await this.direction(attr);
      out[attr.label] = sigmoid(model.info.logitScale * matrix.dotRow(r, dir.diff));
    }
    return out;
  }
}
