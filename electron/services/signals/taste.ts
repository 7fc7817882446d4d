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
import { UserError } from '../../../common/errors.ts';
import type { PhotoFilter, PhotoRecord, StoredTasteModel, TasteModelInfo } from '../../../common/types.ts';
import { listPhotos } from '../../../db/photos.ts';
import { getTasteModel, listTasteModels, saveTasteModel } from '../../../db/taste.ts';
import type { EmbeddingMatrix } from '../matrix/embedding-matrix.ts';
import type { SignalProvider } from './registry.ts';
import { fitRidgeCv } from './ridge.ts';
import { UNIT_RANGE, type RowScores, type Signal, type SignalContext } from './signal.ts';

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

export interface Decisions {
  /** Photo id per example. */
  ids: Int32Array;
  /** Matrix row per example. */
  rows: Int32Array;
  targets: Float64Array;
  picks: number;
  rejects: number;
  rated: number;
  /** Decisions on photos listed but not embedded yet (indexing under way or stopped): not learned from until they are. */
  pending?: number;
}

/** The decided photos among `photos` that have an embedding in `matrix`. */
export function collectDecisions(photos: PhotoRecord[], matrix: Pick<EmbeddingMatrix, 'indexOf'>): Decisions {
  const ids: number[] = [];
  const rows: number[] = [];
  const targets: number[] = [];
  let picks = 0;
  let rejects = 0;
  let rated = 0;
  let pending = 0;
  for (const p of photos) {
    // An automatic reject ("keep the best") is not the photographer's decision: only their stars count.
    const flag = p.flagAuto ? 0 : p.flag;
    const t = decisionTarget(flag, p.rating);
    if (t === null) continue;
    const r = matrix.indexOf(p.id);
    if (r < 0) {
      if (p.status === 'ok') pending++;
      continue;
    }
    ids.push(p.id);
    rows.push(r);
    targets.push(t);
    if (flag === 1) picks++;
    else if (flag === -1) rejects++;
    else rated++;
  }
  return { ids: Int32Array.from(ids), rows: Int32Array.from(rows), targets: Float64Array.from(targets), picks, rejects, rated, pending };
}

export type TasteFit = Omit<StoredTasteModel, 'name' | 'modelId' | 'scope' | 'createdAt'>;

export class TasteError extends UserError {
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
      `A taste model needs at least ${MIN_TASTE_DECISIONS} decisions (picks, rejects or star ratings) on indexed photos; there ${n === 1 ? 'is' : 'are'} ${n}` +
        (decisions.pending ? `, and ${decisions.pending} more on photos not scored yet (they count once indexing has analysed them).` : '.'),
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

/** A prediction on the decision scale (0 reject … 1 pick) squashed into 0…1 (see the top of this file). */
const squash = (prediction: number) => 1 / (1 + Math.exp(-TASTE_SLOPE * (prediction - 0.5)));

function checkDim(model: Pick<StoredTasteModel, 'name' | 'dim'>, dim: number): void {
  if (model.dim !== dim) {
    throw new TasteError(`Taste model "${model.name}" was fitted on ${model.dim}-dimensional embeddings; this model's are ${dim}. Fit it again.`);
  }
}

/** Taste score of every matrix row, 0…1 (see the top of this file). */
export function tasteScores(matrix: Pick<EmbeddingMatrix, 'dim' | 'length' | 'dot'>, model: Pick<StoredTasteModel, 'name' | 'dim' | 'weights' | 'bias'>): Float32Array {
  if (matrix.length) checkDim(model, matrix.dim);
  const out = matrix.dot(model.weights);
  for (let r = 0; r < out.length; r++) out[r] = squash(out[r] + model.bias);
  return out;
}

/** "@taste", "@taste:NAME": a fitted taste model as a signal, 0…1. */
class TasteSignal implements Signal {
  readonly range = UNIT_RANGE;
  constructor(
    readonly label: string,
    private readonly model: StoredTasteModel,
  ) {}

  async scoreRows(ctx: SignalContext): Promise<RowScores> {
    const { matrix } = ctx;
    const { weights, bias, dim } = this.model;
    return {
      values: tasteScores(matrix, this.model),
      approximate: matrix.approximate,
      exact: (rows, x) =>
        Float32Array.from(rows, (_r, k) => {
          let dot = 0;
          for (let j = 0; j < dim; j++) dot += x[k * dim + j] * weights[j];
          return squash(dot + bias);
        }),
    };
  }

  async scoreRow(ctx: SignalContext, row: number): Promise<number> {
    checkDim(this.model, ctx.matrix.dim);
    return squash(ctx.matrix.dotRow(row, this.model.weights) + this.model.bias);
  }
}

/** The chip and table label of a taste model. */
export function tasteLabel(name: string): string {
  return name === DEFAULT_TASTE ? 'My taste' : `Taste: ${name}`;
}

/** The taste model `name` for the library's model, or a TasteError saying how to fit it. */
function storedTaste(ctx: SignalContext, name: string): StoredTasteModel {
  const model = getTasteModel(ctx.db, name, ctx.model.info.id);
  if (model) return model;
  const hint = name === DEFAULT_TASTE ? '' : ` --name ${JSON.stringify(name)}`;
  throw new TasteError(`There is no taste model "${name}" for ${ctx.model.info.name} yet: pick and reject some photos, then fit it (cull taste fit${hint}).`);
}

/** "taste" → the default model, "taste:NAME" (or taste:"NAME") → NAME. */
export const tasteSignals: SignalProvider = {
  match(name) {
    const m = /^\s*taste(?:\s*:\s*(.*?))?\s*$/is.exec(name);
    if (!m) return null;
    const model = (m[1] ?? '').replace(/^(["'“])(.*)(["'”])$/, '$2').trim() || DEFAULT_TASTE;
    return { signal: `taste:${model}`, label: tasteLabel(model) };
  },
  resolve(name, ctx) {
    const model = name.slice(name.indexOf(':') + 1);
    return new TasteSignal(tasteLabel(model), storedTaste(ctx, model));
  },
  list: (ctx) =>
    listTasteModels(ctx.db, ctx.model.info.id).map((m) => ({
      id: m.name === DEFAULT_TASTE ? 'taste' : `taste:${m.name}`,
      label: tasteLabel(m.name),
      description: `Learned from your decisions: ${describeTaste(m)}.`,
    })),
};

// --- fitting a library's taste models -------------------------------------------------------------

/**
 * Fits (or refits) the taste model `name` on the library's decisions, stores it and returns its
 * summary. `filter` limits the decisions it learns from (one client's folder, say); a refit keeps
 * the model's earlier filter unless given a new one.
 */
export async function fitTaste(ctx: SignalContext, name?: string, opts: { filter?: PhotoFilter; folds?: number } = {}): Promise<TasteModelInfo> {
  const key = (name ?? DEFAULT_TASTE).trim();
  if (!key || key.length > 100) throw new TasteError('A taste model needs a name of 1 to 100 characters.');
  const { db, matrix } = ctx;
  const modelId = ctx.model.info.id;
  const scope = opts.filter ?? getTasteModel(db, key, modelId)?.scope ?? null;
  const decisions = collectDecisions(listPhotos(db, scope ?? undefined), matrix);
  const x = decisions.rows.length ? matrix.exactRows(decisions.rows) : new Float32Array(0);
  const fit = await fitTasteModel(x, matrix.dim, decisions, { folds: opts.folds });
  const stored = { ...fit, name: key, modelId, scope, createdAt: Date.now() };
  saveTasteModel(db, stored);
  const { weights: _weights, ...info } = stored;
  return info;
}

/**
 * Refits `name` when the number of decisions in its scope has moved by `everyN` or more since it
 * was fitted (call it after culling changes); returns the new summary, or null when nothing was
 * done (no such model, or too few new decisions). Decisions that merely change (a pick turned
 * into a reject) do not count: fitTaste refits on demand.
 */
export async function maybeRefitTaste(ctx: SignalContext, name?: string, everyN?: number): Promise<TasteModelInfo | null> {
  const key = (name ?? DEFAULT_TASTE).trim();
  const existing = getTasteModel(ctx.db, key, ctx.model.info.id);
  if (!existing) return null;
  const decisions = collectDecisions(listPhotos(ctx.db, existing.scope ?? undefined), ctx.matrix);
  if (Math.abs(decisions.rows.length - existing.examples) < Math.max(1, everyN ?? TASTE_REFIT_EVERY)) return null;
  return fitTaste(ctx, key);
}

/** Each taste model's score (0…1, as @taste ranks) for one photo; empty without taste models or embedding. */
export async function tasteScoresOf(ctx: SignalContext, photoId: number): Promise<Record<string, number>> {
  const r = ctx.matrix.indexOf(photoId);
  const out: Record<string, number> = {};
  if (r < 0) return out;
  for (const info of listTasteModels(ctx.db, ctx.model.info.id)) {
    const m = getTasteModel(ctx.db, info.name, ctx.model.info.id);
    if (m && m.dim === ctx.matrix.dim) out[m.name] = await new TasteSignal(info.name, m).scoreRow(ctx, r);
  }
  return out;
}

/** One line about a model's quality, for the CLI and the UI. */
export function describeTaste(m: TasteModelInfo): string {
  const v = m.validation === null ? 'not validated' : `cross-validated rank correlation ${m.validation.toFixed(2)}`;
  const auc = m.auc === null ? '' : `, AUC ${m.auc.toFixed(2)}`;
  return `${m.examples} decisions (${m.picks} picks, ${m.rejects} rejects, ${m.rated} rated only), ${v}${auc}`;
}
