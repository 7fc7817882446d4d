// CLIP signals: an antonym pair scored as CLIP-IQA, and a free-text match (search).
//
// For an attribute with pole directions t+ and t− (normalised weighted means of their prompt
// embeddings) CLIP-IQA's score is the softmax at the positive pole:
//   exp(s·c+) / (exp(s·c+) + exp(s·c−)),  c± = cos(x, t±), s = logit scale (100)
// which equals 1 / (1 + exp(−s·(c+ − c−))) and c+ − c− = x·(t+ − t−) for unit x. So one dot product
// per photo with d = t+ − t− gives the exact score, and never overflows.
import { UserError } from '../../../common/errors.ts';
import type { Attribute } from '../../../common/types.ts';
import { getTextFeatures } from '../../../db/features.ts';
import { logistic } from '../matrix/dot.ts';
import { UNIT_RANGE, type RowScores, type Signal, type SignalContext } from './signal.ts';

/** Normalised weighted mean of L2-normalised prompt embeddings (plain mean without weights). */
export function poleDirection(vectors: Float32Array[], weights?: number[]): Float32Array {
  if (!vectors.length) throw new UserError('A pole needs at least one prompt.');
  if (weights && weights.length !== vectors.length) throw new UserError(`${vectors.length} prompts but ${weights.length} weights.`);
  const dim = vectors[0].length;
  const acc = new Float64Array(dim);
  vectors.forEach((v, i) => {
    const w = weights ? weights[i] : 1;
    for (let j = 0; j < dim; j++) acc[j] += w * v[j];
  });
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += acc[j] * acc[j];
  norm = Math.sqrt(norm);
  if (!(norm > 0)) throw new UserError('The prompts of a pole cancel out: their weighted mean is zero.');
  const out = new Float32Array(dim);
  for (let j = 0; j < dim; j++) out[j] = acc[j] / norm;
  return out;
}

/** CLIP-IQA's two-way softmax at the positive pole, written as a logistic of the cosine difference. */
export function clipIqaScore(cosPositive: number, cosNegative: number, logitScale: number): number {
  return logistic(logitScale, cosPositive - cosNegative);
}

/**
 * Every row's dot product with `vec` (over the int8 shadow when `fast`), mapped through the
 * logistic of `logitScale` (null: the dots as they are), with the exact re-score. The mapping is
 * part of the scoring pass (split over the cores with it: dot-pool.ts); the values are those of
 * `logistic` row by row.
 */
async function dotSignal(ctx: SignalContext, vec: Float32Array, fast: boolean, logitScale: number | null): Promise<RowScores> {
  const { matrix } = ctx;
  const d = fast ? matrix.dotFast(vec, undefined, logitScale) : { values: matrix.dot(vec, undefined, logitScale), approximate: matrix.approximate };
  const values = d.values;
  const dim = matrix.dim;
  return {
    values,
    approximate: d.approximate,
    exact: (rows, embeddings) => {
      const out = new Float32Array(rows.length);
      for (let k = 0, at = 0; k < rows.length; k++, at += dim) {
        let c = 0;
        for (let j = 0; j < dim; j++) c += embeddings[at + j] * vec[j];
        out[k] = logitScale === null ? c : logistic(logitScale, c);
      }
      return out;
    },
  };
}

/** An antonym pair (typed, a preset or an ensemble) as CLIP-IQA scores it, 0…1. */
export class ClipAttributeSignal implements Signal {
  readonly range = UNIT_RANGE;
  private diff: Promise<Float32Array> | null = null;

  constructor(readonly attribute: Attribute) {}

  get label(): string {
    return this.attribute.label;
  }

  /** t+ − t−: the one vector each photo is dotted with (text features from the cache when known). */
  direction(ctx: SignalContext): Promise<Float32Array> {
    return (this.diff ??= (async () => {
      // Both poles' prompts in one cache lookup, so a new attribute costs one text-model call.
      const { positive: pos, negative: neg } = this.attribute;
      const vecs = await getTextFeatures(ctx.db, ctx.model, [...pos.prompts, ...neg.prompts]);
      const p = poleDirection(vecs.slice(0, pos.prompts.length), pos.weights);
      const n = poleDirection(vecs.slice(pos.prompts.length), neg.weights);
      return p.map((v, j) => v - n[j]);
    })());
  }

  async scoreRows(ctx: SignalContext, fast: boolean): Promise<RowScores> {
    return dotSignal(ctx, await this.direction(ctx), fast, ctx.model.info.logitScale);
  }

  async scoreRow(ctx: SignalContext, row: number): Promise<number> {
    return logistic(ctx.model.info.logitScale, ctx.matrix.dotRow(row, await this.direction(ctx)));
  }
}

/** Text search: the cosine of each photo to the text as typed (no "a photo of" added), −1…1. */
export class TextMatchSignal implements Signal {
  readonly range = [-1, 1] as const;

  constructor(readonly label: string) {
    if (!label.trim()) throw new UserError('Type something to search for.');
  }

  private async vector(ctx: SignalContext): Promise<Float32Array> {
    return (await getTextFeatures(ctx.db, ctx.model, [this.label.trim()]))[0];
  }

  async scoreRows(ctx: SignalContext, fast: boolean): Promise<RowScores> {
    return dotSignal(ctx, await this.vector(ctx), fast, null);
  }

  async scoreRow(ctx: SignalContext, row: number): Promise<number> {
    return ctx.matrix.dotRow(row, await this.vector(ctx));
  }
}
