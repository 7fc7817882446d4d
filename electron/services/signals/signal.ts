// The Signal seam: every per-photo score Cull offers — a typed antonym pair, a preset, the LAION
// head, a taste model, and the analyzers' measures to come (focus, exposure, faces) — is a Signal.
// A query is a weighted list of signals (query.ts parses it, registry.ts names them) and one
// ranking function (rank.ts) combines, filters, thresholds and cuts them for the CLI, IPC and HTTP
// alike. A new signal is one class here plus one line in registry.ts: the parser, the CLI and the
// renderer do not change.
import type { DB } from '../../../db/database.ts';
import type { ClipModel } from '../../../native-models/types.ts';
import type { EmbeddingMatrix } from '../matrix/embedding-matrix.ts';

/** What a signal may read. The matrix's rows are the photos a query ranks (every indexed photo). */
export interface SignalContext {
  db: DB;
  model: ClipModel;
  matrix: EmbeddingMatrix;
}

/** A signal's values for every matrix row (NaN: no value, the photo ranks nowhere). */
export interface RowScores {
  values: Float32Array;
  /** True when `values` came from the int8 shadow: the rows shown are then re-scored by `exact`. */
  approximate: boolean;
  /** Exact values of `rows`, given their exact embeddings (rows.length × dim, in `rows` order). */
  exact?: (rows: number[], embeddings: Float32Array) => Float32Array;
}

export interface Signal {
  /** What the term is called in `parts` and in explanations. */
  readonly label: string;
  /**
   * The raw values' natural range. In a combination each value is mapped onto 0…1 by this range
   * before weighting (the LAION head's ~1…10 would otherwise outweigh everything); alone, a
   * signal ranks and reports its raw values.
   */
  readonly range: readonly [number, number];
  /** `fast`: the int8 shadow may be used (the ranking re-scores what it shows exactly). */
  scoreRows(ctx: SignalContext, fast: boolean): Promise<RowScores>;
  /** One matrix row's value (explanations: no pass over the library). */
  scoreRow(ctx: SignalContext, row: number): Promise<number>;
}

export const UNIT_RANGE = [0, 1] as const;

/** The value on 0…1 as combinations weigh it. */
export function normalised(signal: Pick<Signal, 'range'>, value: number): number {
  const [lo, hi] = signal.range;
  return lo === 0 && hi === 1 ? value : (value - lo) / (hi - lo);
}
