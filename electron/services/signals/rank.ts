// The one ranking function. A query is a weighted list of signals; ranking combines their values per
// photo (weighted average on 0…1, or the raw value of a single signal), drops photos without a value,
// below the threshold or outside the filter, keeps the top N or N % and returns them best first,
// ties by photo id. When a signal was scored over the int8 shadow, the rows shown are re-scored
// exactly, so every score a person sees is exact.
import type { ScoredPhoto } from '../../../common/types.ts';
import { topCount, type TopLimit } from '../../../common/top.ts';
import { UserError } from '../../../common/errors.ts';
import { normalised, type RowScores, type Signal, type SignalContext } from './signal.ts';

export interface WeightedSignal {
  signal: Signal;
  weight: number;
  /** The key of this term in `parts` (default: the signal's label). */
  label?: string;
}

export interface RankOptions extends TopLimit {
  /** Threshold on the combined score. */
  minScore?: number;
  /** Only these photo ids (null: all). */
  allow?: ReadonlySet<number> | null;
  /** false: leave `path` empty (reading 100k paths costs ~0.1 s and ~40 % of a window's reply). */
  paths?: boolean;
}

export interface Combined {
  /** The combined score per matrix row. */
  combined: Float32Array;
  /** Each term's raw values per matrix row. */
  parts: { label: string; values: Float32Array }[];
  approximate: boolean;
  /** Writes exact values for `rows` into `parts` and `combined` (after an approximate pass). */
  rescore(rows: number[]): void;
}

/** Rows of an approximate pass (int8 rows or shadow) re-ranked from their exact embeddings. */
const EXACT_HEAD = 1000;

/** Is row a ranked above row b? Higher score first, ties by smaller photo id (stable across runs). */
function better(scores: ArrayLike<number>, ids: ArrayLike<number>, a: number, b: number): boolean {
  return scores[a] > scores[b] || (scores[a] === scores[b] && ids[a] < ids[b]);
}

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
  // Score of the worst row kept (heap[0]) once the heap is full: a row scoring below it cannot
  // enter, so most rows cost one comparison (the exact test below decides ties and the rest).
  let floor = -Infinity;
  for (let c = 0; c < n; c++) {
    const row = candidates[c];
    if (scores[row] < floor) continue;
    if (heap.length < k) {
      heap.push(row);
      for (let i = heap.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i], heap[p])) break;
        [heap[i], heap[p]] = [heap[p], heap[i]];
        i = p;
      }
      if (heap.length === k) floor = scores[heap[0]];
    } else if (better(scores, ids, row, heap[0])) {
      heap[0] = row;
      down(0);
      floor = scores[heap[0]];
    }
  }
  return heap.sort((a, b) => (better(scores, ids, a, b) ? -1 : 1));
}

/**
 * Every term's values and their combination, per matrix row. One term: its raw values (so "@laion"
 * ranks on its 1…10 scale). Several: the weighted average of each value mapped onto 0…1 by its
 * signal's range. `fast` lets terms use the int8 shadow.
 */
export async function combine(ctx: SignalContext, terms: WeightedSignal[], fast: boolean): Promise<Combined> {
  if (!terms.length) throw new UserError('The query has no attributes.');
  const scored: RowScores[] = [];
  for (const t of terms) {
    if (!(t.weight > 0) || !Number.isFinite(t.weight)) throw new UserError(`The weight of "${t.signal.label}" must be a positive number.`);
    scored.push(await t.signal.scoreRows(ctx, fast));
  }
  const n = ctx.matrix.length;
  const total = terms.reduce((s, t) => s + t.weight, 0);
  const parts = terms.map((t, i) => ({ label: t.label ?? t.signal.label, values: scored[i].values }));
  const combined = terms.length === 1 ? scored[0].values : new Float32Array(n);
  const combineRow = (r: number) => {
    let acc = 0;
    for (let i = 0; i < terms.length; i++) acc += terms[i].weight * normalised(terms[i].signal, scored[i].values[r]);
    combined[r] = acc / total;
  };
  if (terms.length > 1) for (let r = 0; r < n; r++) combineRow(r);
  const approximate = scored.some((s) => s.approximate);
  return {
    combined,
    parts,
    approximate,
    rescore(rows) {
      if (!approximate || !rows.length) return;
      const exact = ctx.matrix.exactRows(rows);
      scored.forEach((s) => {
        if (!s.approximate || !s.exact) return;
        const values = s.exact(rows, exact);
        rows.forEach((r, k) => (s.values[r] = values[k]));
      });
      if (terms.length > 1) rows.forEach(combineRow);
    },
  };
}

/**
 * The best `k` of `cands` by `c.combined`, exact. With exact values that is selectTop itself.
 * After an approximate pass (errors ~1e-3 in a score) the best rows by the approximate values, with
 * a margin, are re-scored from their exact embeddings and selected again: the first EXACT_HEAD shown
 * scores and their order are exact, and a row can only be missed if its approximation erred by more
 * than the spread of the margin. A whole-library ranking continues below them by the approximate
 * values (±~0.005), instead of re-reading every row.
 */
function selectExact(ids: Int32Array, c: Combined, cands: Int32Array, k: number): number[] {
  if (!c.approximate || k <= 0) return selectTop(c.combined, ids, cands, k);
  const head = Math.min(k, EXACT_HEAD);
  const window = selectTop(c.combined, ids, cands, Math.min(cands.length, head + head + 256));
  c.rescore(window);
  const best = selectTop(c.combined, ids, window, head);
  if (k <= head) return best;
  const shown = new Set(best);
  const rest = cands.filter((r) => !shown.has(r));
  return best.concat(selectTop(c.combined, ids, rest, k - head));
}

/** Rows with a value, at or above the threshold, and allowed. */
function candidates(ids: Int32Array, scores: Float32Array, opts: RankOptions): Int32Array {
  const out = new Int32Array(scores.length);
  const { minScore, allow } = opts;
  let c = 0;
  if (minScore === undefined && !allow) {
    // The usual case, in a loop of its own: ~1 ms less at 100k rows than testing the options per row.
    for (let r = 0; r < scores.length; r++) if (scores[r] === scores[r]) out[c++] = r; // not NaN
    return out.subarray(0, c);
  }
  for (let r = 0; r < scores.length; r++) {
    const v = scores[r];
    if (Number.isNaN(v)) continue; // a corrupt embedding, or a photo the signal has not measured
    if (minScore !== undefined && v < minScore) continue;
    if (allow && !allow.has(ids[r])) continue;
    out[c++] = r;
  }
  return out.subarray(0, c);
}

/** Photos ranked by the weighted signals, best first, with each term's raw value in `parts`. */
export async function rank(ctx: SignalContext, terms: WeightedSignal[], opts: RankOptions = {}): Promise<ScoredPhoto[]> {
  const c = await combine(ctx, terms, true);
  const { matrix } = ctx;
  const ids = matrix.ids;
  const cands = candidates(ids, c.combined, opts);
  const rows = selectExact(ids, c, cands, topCount(opts, cands.length));
  const paths = opts.paths === false ? null : matrix.pathsOf(rows);
  return rows.map((r, i) => {
    const parts: Record<string, number> = {};
    for (const p of c.parts) parts[p.label] = p.values[r];
    return { id: ids[r], path: paths ? paths[i] : '', score: c.combined[r], parts };
  });
}
