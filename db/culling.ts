// Culling state (star rating, pick/reject flag, colour label), changed for many photos at once with undo.
import type { PreviousCulling } from '../common/api-types.ts';
import { LABELS, type CullingChange, type Flag, type Label } from '../common/types.ts';
import type { ApiErrorCode } from '../common/api-types.ts';
import { UserError } from '../common/errors.ts';
import type { DB } from './database.ts';
import { noteCullDecision } from './xmp-sync.ts';

/** A culling change the schema would refuse ('invalid-argument'), or a photo that is not there ('not-found'). */
export class CullingError extends UserError {
  constructor(message: string, code: ApiErrorCode = 'invalid-argument') {
    super(message, code);
    this.name = 'CullingError';
  }
}

/** Throws a readable error for anything the schema's CHECK constraints would reject. */
export function validateCulling(change: CullingChange): void {
  const keys = Object.keys(change).filter((k) => (change as Record<string, unknown>)[k] !== undefined);
  if (!keys.length) throw new CullingError('Nothing to change: give a rating, a flag or a label.');
  const unknown = keys.filter((k) => k !== 'rating' && k !== 'flag' && k !== 'label');
  if (unknown.length) throw new CullingError(`Unknown culling field(s): ${unknown.join(', ')}.`);
  if (change.rating !== undefined && !(Number.isInteger(change.rating) && change.rating >= 0 && change.rating <= 5)) {
    throw new CullingError(`Rating must be a whole number from 0 to 5, not ${JSON.stringify(change.rating)}.`);
  }
  if (change.flag !== undefined && !([-1, 0, 1] as unknown[]).includes(change.flag)) {
    throw new CullingError(`Flag must be -1 (reject), 0 (none) or 1 (pick), not ${JSON.stringify(change.flag)}.`);
  }
  if (change.label !== undefined && change.label !== null && !(LABELS as readonly unknown[]).includes(change.label)) {
    throw new CullingError(`Label must be one of ${LABELS.join(', ')} or none, not ${JSON.stringify(change.label)}.`);
  }
}

function checkIds(ids: number[]): number[] {
  const bad = ids.find((id) => !Number.isSafeInteger(id));
  if (bad !== undefined) throw new CullingError(`Invalid photo id ${JSON.stringify(bad)}.`);
  return [...new Set(ids)];
}

/**
 * Applies `change` to every photo in `ids` in one transaction and returns their previous states
 * (for undo). Unknown ids make the whole call fail, so nothing is half-applied.
 */
export function setCulling(db: DB, ids: number[], change: CullingChange, opts: { source?: 'auto' } = {}): PreviousCulling[] {
  validateCulling(change);
  const unique = checkIds(ids);
  const sets: string[] = [];
  const values: (number | string | null)[] = [];
  if (change.rating !== undefined) (sets.push('rating = ?'), values.push(change.rating));
  if (change.flag !== undefined) {
    // Who set the flag: an automatic reject ("keep the best") is not the photographer's decision.
    sets.push('flag = ?', 'flag_source = ?');
    values.push(change.flag, opts.source === 'auto' ? 'auto' : null);
  }
  if (change.label !== undefined) (sets.push('label = ?'), values.push(change.label));
  const read = db.prepare('SELECT id, rating, flag, label, flag_source FROM photos WHERE id = ?');
  const write = db.prepare(`UPDATE photos SET ${sets.join(', ')} WHERE id = ?`);
  return db.transaction(() => {
    const previous: PreviousCulling[] = [];
    for (const id of unique) {
      const row = read.get(id) as (PreviousCulling & { flag_source: string | null }) | undefined;
      if (!row) throw new CullingError(`Photo ${id} is not in the library.`, 'not-found');
      previous.push({ id: row.id, rating: row.rating, flag: row.flag, label: row.label, ...(row.flag_source === 'auto' ? { flagAuto: true } : {}) });
      write.run(...values, id);
      noteCullDecision(db, id, row, { rating: change.rating ?? row.rating, flag: change.flag ?? row.flag, label: change.label !== undefined ? change.label : row.label });
    }
    return previous;
  }).immediate();
}

/** Puts back states returned by `setCulling` (undo), in one transaction. */
export function restoreCulling(db: DB, previous: PreviousCulling[]): void {
  for (const p of previous) {
    validateCulling({ rating: p.rating, flag: p.flag as Flag, label: p.label as Label | null });
    checkIds([p.id]);
  }
  const write = db.prepare('UPDATE photos SET rating = ?, flag = ?, label = ?, flag_source = ? WHERE id = ?');
  const read = db.prepare('SELECT rating, flag, label FROM photos WHERE id = ?');
  db.transaction(() => {
    for (const p of previous) {
      const now = read.get(p.id) as PreviousCulling | undefined;
      write.run(p.rating, p.flag, p.label, p.flagAuto ? 'auto' : null, p.id);
      if (now) noteCullDecision(db, p.id, now, p); // an undo is a decision made in Cull too
    }
  }).immediate();
}

/** Current culling state of some photos (for sidecars and reports). */
export function getCulling(db: DB, ids: number[]): Map<number, { rating: number; flag: Flag; label: Label | null }> {
  const out = new Map<number, { rating: number; flag: Flag; label: Label | null }>();
  const rows = db
    .prepare('SELECT id, rating, flag, label FROM photos WHERE id IN (SELECT value FROM json_each(?))')
    .all(JSON.stringify(checkIds(ids))) as { id: number; rating: number; flag: Flag; label: Label | null }[];
  for (const r of rows) out.set(r.id, { rating: r.rating, flag: r.flag, label: r.label });
  return out;
}

/** The photos among `ids` flagged as picks. */
export function pickedAmong(db: DB, ids: number[]): Set<number> {
  return new Set(db.prepare('SELECT id FROM photos WHERE flag = 1 AND id IN (SELECT value FROM json_each(?))').pluck().all(JSON.stringify(ids)) as number[]);
}
