// A learned "taste": the user's own culling decisions, fitted as a linear model on the CLIP image
// embeddings, then offered as one more attribute to sort by ("@taste", "@taste:wedding clients").
//
// Decisions become targets in [0, 1]: a reject is 0, a pick is 1, a star rating without a flag is
// 0.2 per star (★ 0.2 … ★★★★★ 1.0); photos without any decision are not used. Ridge regression
// (ridge.ts) fits target ≈ w·x + b with λ chosen by 5-fold cross-validation; the model's
// validation score is the cross-validated Spearman correlation between predicted and actual
// decisions (0 = no better than chance, 1 = orders them perfectly), plus the ROC AUC when the
// decisions are only picks and rejects. With few decisions it is noisy, and slightly optimistic
// because λ is picked on the same folds (random decisions score up to ~0.3 with 60 of them, ~0.1
// with 300): hence the warning below FEW_TASTE_DECISIONS.
//
// As an attribute, a photo scores σ(8·(w·x + b − 0.5)): the model's prediction on the decision
// scale (0 reject … 1 pick) squashed into 0…1 without clipping, so the order is kept everywhere and
// 0.5 is "halfway between a reject and a pick".
import type { TasteModelInfo, StoredTasteModel } from '../../../db/taste.ts';
import type { EmbeddingMatrix } from '../matrix/embedding-matrix.ts';
import { fitRidgeCv } from './ridge.ts';
import type { AttributeQuery, PhotoRecord } from '../../../common/types.ts';

export const DEFAULT_TASTE = 'my taste';
/** Fewer decisions than this and there is nothing to cross-validate. */
export const MIN_TASTE_DECISIONS = 10;
/** Below this many decisions the CLI and UI warn that the model is a rough guess. */
export const FEW_TASTE_DECISIONS = 20;
/** Refit automatically after this many new decisions (maybeRefitTaste). */
export const TASTE_REFIT_EVERY = 20;
/** Steepness of the squashing of predictions into 0…1. */
export const TASTE_SLOPE = 8;

/** A decision's target, or null for a photo without one. */
export function decisionTarget(flag: number, rating: number): number | null {
  if (flag === -1) return 0;
  if (flag === 1) return 1;
  if (rating > 0) return Math.min(5, rating) * 0.2;
  return null;
}

/**
 * The taste model a query names: "@taste" → the default model, "@taste:NAME" (or @taste:"NAME")
 * → NAME; anything else → null. For Library.score to route such queries to scoreTaste.
 */
export function tasteQueryName(query: string | AttributeQuery): string | null {
  if (typeof query !== 'string') return null;
  const m = /^\s*@taste(?:\s*:\s*(.*?))?\s*$/i.exec(query);
  if (!m) return null;
  const name = (m[1] ?? '').replace(/^(["'“])(.*)(["'”])$/, '$2').trim();
  return name || DEFAULT_TASTE;
}

export interface Decisions {
  /** Photo id per example. */
  ids: Int32Array;
  /** Matrix row per example. */
  rows: Int32Array;
  targets: Float64Array;
  picks: number;
  rejects: number;
  rated: number;
}

/** The decided photos among `photos` that have an embedding in `matrix`. */
export function collectDecisions(photos: PhotoRecord[], matrix: Pick<EmbeddingMatrix, 'indexOf'>): Decisions {
  const ids: number[] = [];
  const rows: number[] = [];
  const targets: number[] = [];
  let picks = 0;
  let rejects = 0;
  let rated = 0;
  for (const p of photos) {
    const t = decisionTarget(p.flag, p.rating);
    if (t === null) continue;
    const r = matrix.indexOf(p.id);
    if (r < 0) continue;
    ids.push(p.id);
    rows.push(r);
    targets.push(t);
    if (p.flag === 1) picks++;
    else if (p.flag === -1) rejects++;
    else rated++;
  }
  return { ids: Int32Array.from(ids), rows: Int32Array.from(rows), targets: Float64Array.from(targets), picks, rejects, rated };
}

export type TasteFit = Omit<StoredTasteModel, 'name' | 'modelId' | 'scope' | 'createdAt'>;

export class TasteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TasteError';
  }
}

/** Fits a taste model: `x` holds the decided photos' embeddings (n × dim, in `decisions` order). */
export async function fitTasteModel(
  x: Float32Array,
  dim: number,
  decisions: Decisions,
  opts: { folds?: number; seed?: number } = {},
): Promise<TasteFit> {
  const n = decisions.rows.length;
  if (n < MIN_TASTE_DECISIONS) {
    throw new TasteError(
      `A taste model needs at least ${MIN_TASTE_DECISIONS} decisions (picks, rejects or star ratings) on indexed photos; there ${n === 1 ? 'is' : 'are'} ${n}.`,
    );
  }
  if (x.length !== n * dim) throw new Error(`fitTasteModel: ${x.length} values for ${n} decisions of dimension ${dim}.`);
  const t = decisions.targets;
  if (t.every((v) => v === t[0])) {
    throw new TasteError('Every decision is the same: pick some photos and reject others (or give different star ratings) so there is something to learn.');
  }
  const fit = await fitRidgeCv(x, n, dim, t, { folds: opts.folds, seed: opts.seed });
  return {
    kind: 'ridge',
    dim,
    weights: Float32Array.from(fit.weights),
    bias: fit.bias,
    lambda: fit.lambda,
    examples: n,
    picks: decisions.picks,
    rejects: decisions.rejects,
    rated: decisions.rated,
    metric: 'spearman',
    validation: fit.spearman,
    auc: fit.auc,
    folds: fit.folds,
  };
}

/** Taste score of every matrix row, 0…1 (see the top of this file). */
export function tasteScores(matrix: Pick<EmbeddingMatrix, 'dim' | 'length' | 'dot'>, model: Pick<StoredTasteModel, 'name' | 'dim' | 'weights' | 'bias'>): Float32Array {
  if (matrix.length && model.dim !== matrix.dim) {
    throw new TasteError(`Taste model "${model.name}" was fitted on ${model.dim}-dimensional embeddings; this model's are ${matrix.dim}. Fit it again.`);
  }
  const out = matrix.dot(model.weights);
  for (let r = 0; r < out.length; r++) out[r] = 1 / (1 + Math.exp(-TASTE_SLOPE * (out[r] + model.bias - 0.5)));
  return out;
}

/** One line about a model's quality, for the CLI and the UI. */
export function describeTaste(m: TasteModelInfo): string {
  const v = m.validation === null ? 'not validated' : `cross-validated rank correlation ${m.validation.toFixed(2)}`;
  const auc = m.auc === null ? '' : `, AUC ${m.auc.toFixed(2)}`;
  return `${m.examples} decisions (${m.picks} picks, ${m.rejects} rejects, ${m.rated} rated only), ${v}${auc}`;
}
