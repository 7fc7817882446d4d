// Undo / redo of culling edits. Each entry keeps the change and what setCulling reported as
// the previous state, so undo is api.restoreCulling(previous) and redo re-applies the change.
import type { CullingChange, PhotoRecord } from '../../../common/types.ts';
import type { PreviousCulling } from '../../../common/api-types.ts';

export interface CullingEdit {
  ids: number[];
  change: CullingChange;
  previous: PreviousCulling[];
  /** Made automatically ("keep the best", K): redone as automatic, so "my taste" still ignores it. */
  auto?: boolean;
}

/** What is kept of the history across a reload of the window (localStorage), newest last. */
export interface SavedHistory {
  done: CullingEdit[];
  undone: CullingEdit[];
}

export class UndoStack {
  private done: CullingEdit[] = [];
  private undone: CullingEdit[] = [];
  constructor(private readonly limit = 500) {}

  push(edit: CullingEdit): void {
    this.done.push(edit);
    if (this.done.length > this.limit) this.done.shift();
    this.undone = []; // a new edit forks history: the redo branch is gone
  }
  /** The edit to revert (moved to the redo stack), or undefined when there is nothing to undo. */
  undo(): CullingEdit | undefined {
    const e = this.done.pop();
    if (e) this.undone.push(e);
    return e;
  }
  redo(): CullingEdit | undefined {
    const e = this.undone.pop();
    if (e) this.done.push(e);
    return e;
  }
  /** Puts back an edit whose undo/redo failed to apply, so it is not lost. */
  revert(kind: 'undo' | 'redo'): void {
    if (kind === 'undo') {
      const e = this.undone.pop();
      if (e) this.done.push(e);
    } else {
      const e = this.done.pop();
      if (e) this.undone.push(e);
    }
  }
  get canUndo(): boolean {
    return this.done.length > 0;
  }
  get canRedo(): boolean {
    return this.undone.length > 0;
  }
  get size(): number {
    return this.done.length;
  }
  clear(): void {
    this.done = [];
    this.undone = [];
  }
  /** The history as plain JSON, at most `keep` edits each way (the newest). */
  save(keep = 200): SavedHistory {
    return { done: this.done.slice(-keep), undone: this.undone.slice(-keep) };
  }
  /**
   * Puts back a saved history, keeping only well-formed edits whose photos all still `exist`
   * (an edit of a photo gone from the library cannot be undone).
   */
  load(saved: unknown, exists: (id: number) => boolean): void {
    const ok = (e: unknown): e is CullingEdit => {
      const x = e as CullingEdit | null;
      return (
        !!x &&
        Array.isArray(x.ids) &&
        Array.isArray(x.previous) &&
        typeof x.change === 'object' &&
        x.change !== null &&
        x.ids.every((id) => Number.isSafeInteger(id) && exists(id)) &&
        x.previous.every((p) => p && Number.isSafeInteger(p.id) && exists(p.id))
      );
    };
    const s = saved as Partial<SavedHistory> | null;
    this.done = Array.isArray(s?.done) ? s.done.filter(ok).slice(-this.limit) : [];
    this.undone = Array.isArray(s?.undone) ? s.undone.filter(ok).slice(-this.limit) : [];
  }
}

/** Returns a new array with `change` applied to the given ids (other records kept as-is). */
export function applyChange(photos: PhotoRecord[], ids: Iterable<number>, change: CullingChange): PhotoRecord[] {
  const set = new Set(ids);
  return photos.map((p) => (set.has(p.id) ? { ...p, ...pickChange(change) } : p));
}

export function applyPrevious(photos: PhotoRecord[], previous: PreviousCulling[]): PhotoRecord[] {
  const byId = new Map(previous.map((p) => [p.id, p]));
  return photos.map((p) => {
    const prev = byId.get(p.id);
    return prev ? { ...p, rating: prev.rating, flag: prev.flag, label: prev.label as PhotoRecord['label'] } : p;
  });
}

function pickChange(change: CullingChange): Partial<PhotoRecord> {
  const out: Partial<PhotoRecord> = {};
  if (change.rating !== undefined) out.rating = change.rating;
  if (change.flag !== undefined) out.flag = change.flag;
  if (change.label !== undefined) out.label = change.label;
  return out;
}

/** Label keys toggle (Lightroom): setting the label every target already has clears it. */
export function labelChange(targets: PhotoRecord[], label: NonNullable<PhotoRecord['label']>): CullingChange {
  const all = targets.length > 0 && targets.every((p) => p.label === label);
  return { label: all ? null : label };
}
