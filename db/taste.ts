// Stored taste models (migration 2): one row per (name, CLIP model), weights as float32 BLOBs.
import type { PhotoFilter, StoredTasteModel, TasteModelInfo } from '../common/types.ts';

export type { StoredTasteModel, TasteModelInfo };
import { UserError } from '../common/errors.ts';
import type { DB } from './database.ts';
import { decodeF32, encodeF32 } from './vectors.ts';

interface Row {
  name: string;
  model_id: string;
  kind: string;
  dim: number;
  weights: Buffer;
  bias: number;
  lambda: number;
  examples: number;
  picks: number;
  rejects: number;
  rated: number;
  metric: string;
  validation: number | null;
  auc: number | null;
  folds: number;
  scope: string | null;
  created_at: number;
}

function info(r: Row): TasteModelInfo {
  return {
    name: r.name,
    modelId: r.model_id,
    kind: r.kind as 'ridge',
    dim: r.dim,
    bias: r.bias,
    lambda: r.lambda,
    examples: r.examples,
    picks: r.picks,
    rejects: r.rejects,
    rated: r.rated,
    metric: r.metric as 'spearman',
    validation: r.validation,
    auc: r.auc,
    folds: r.folds,
    scope: r.scope ? (JSON.parse(r.scope) as PhotoFilter) : null,
    createdAt: r.created_at,
  };
}

/** Inserts or replaces the model `m.name` for `m.modelId`. */
export function saveTasteModel(db: DB, m: StoredTasteModel): void {
  if (m.weights.length !== m.dim) throw new Error(`Taste model "${m.name}": ${m.weights.length} weights for dimension ${m.dim}.`);
  db.prepare(
    `INSERT OR REPLACE INTO taste_models
      (name, model_id, kind, dim, weights, bias, lambda, examples, picks, rejects, rated, metric, validation, auc, folds, scope, created_at)
     VALUES (@name, @modelId, @kind, @dim, @weights, @bias, @lambda, @examples, @picks, @rejects, @rated, @metric, @validation, @auc, @folds, @scope, @createdAt)`,
  ).run({
    ...m,
    weights: encodeF32(m.weights),
    scope: m.scope ? JSON.stringify(m.scope) : null,
  });
}

export function getTasteModel(db: DB, name: string, modelId: string): StoredTasteModel | null {
  const r = db.prepare<[string, string], Row>('SELECT * FROM taste_models WHERE name = ? AND model_id = ?').get(name, modelId);
  if (!r) return null;
  const weights = decodeF32(r.weights);
  if (weights.length !== r.dim) throw new UserError(`Taste model "${name}" is damaged: ${weights.length} weights for dimension ${r.dim}. Fit it again.`);
  return { ...info(r), weights };
}

/** Every taste model of `modelId` (or of every CLIP model), by name. */
export function listTasteModels(db: DB, modelId?: string): TasteModelInfo[] {
  const rows = modelId
    ? db.prepare<[string], Row>('SELECT * FROM taste_models WHERE model_id = ? ORDER BY name').all(modelId)
    : db.prepare<[], Row>('SELECT * FROM taste_models ORDER BY name, model_id').all();
  return rows.map(info);
}

/** Removes a taste model; returns whether one was there. */
export function deleteTasteModel(db: DB, name: string, modelId: string): boolean {
  return db.prepare('DELETE FROM taste_models WHERE name = ? AND model_id = ?').run(name, modelId).changes > 0;
}
