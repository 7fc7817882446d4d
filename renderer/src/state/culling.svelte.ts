// Owns culling edits and their undo history: flags, stars and labels are sent to the library one
// after another in key order, patched into the records in place, and each is one undoable edit
// (also "keep the best", which the stacks send through `enqueue` and `record`).
import type { CullingChange, Label, PhotoRecord } from '../../../common/types.ts';
import type { PreviousCulling } from '../../../common/api-types.ts';
import { UndoStack, labelChange, type CullingEdit } from '../lib/undo.ts';
import { grid } from './grid.svelte.ts';
import { library, type CullingPatch } from './library.svelte.ts';
import { selection } from './selection.svelte.ts';
import { session } from './session.svelte.ts';
import { taste } from './taste.svelte.ts';
import { toasts } from './toasts.svelte.ts';
import { views } from './views.svelte.ts';

class Culling {
  canUndo = $state(false);
  canRedo = $state(false);
  private history = new UndoStack();
  /**
   * Edits, undo and redo run one after another in key order: an undo pressed before the previous
   * edit's answer arrived must undo that edit, not the one before it.
   */
  private queue: Promise<void> = Promise.resolve();

  enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => {});
    return next;
  }

  /** `change` may be a function of the targets, evaluated once the edits before it have landed. */
  cull(change: CullingChange | ((targets: PhotoRecord[]) => CullingChange)): Promise<void> {
    // Targets are taken now (the photos under the focus when the key was pressed).
    const targets = selection.targets();
    const ids = targets.map((p) => p.id);
    if (!ids.length) return Promise.resolve();
    return this.enqueue(async () => {
      const c = typeof change === 'function' ? change(targets) : change;
      try {
        const previous = await session.api.setCulling(ids, c);
        this.record(ids, c, previous);
      } catch (err) {
        toasts.show(err, 'Cannot save the rating');
      }
    });
  }

  label(label: Label): Promise<void> {
    // Toggle against the labels as they are after any edit still in flight.
    return this.cull((targets) => labelChange(targets, label));
  }

  /**
   * An edit the library has made: into the records and the undo history; the taste model may
   * refit. `auto`: made by "keep the best" (K), not the photographer's own decision.
   */
  record(ids: number[], change: CullingChange, previous: PreviousCulling[], auto = false): void {
    if (!ids.length) return;
    this.apply(ids.map((id) => ({ id, ...change, ...(auto ? { flagAuto: true } : {}) })));
    this.history.push(auto ? { ids, change, previous, auto } : { ids, change, previous });
    this.sync();
    if (!auto && (change.flag !== undefined || change.rating !== undefined)) taste.scheduleRefit();
  }

  /** Where the history is kept across reloads of the window: one per library (its folders). */
  private storageKey(): string {
    return `cull.undo:${[...library.roots].sort().join('\n')}`;
  }

  /** The library (re)opened: the undo history saved before a reload of the window comes back. */
  restoreHistory(): void {
    try {
      const raw = localStorage.getItem(this.storageKey());
      const known = new Set(library.photos.map((p) => p.id));
      this.history.load(raw ? JSON.parse(raw) : null, (id) => known.has(id));
    } catch {
      this.history.clear();
    }
    this.sync(false);
  }

  undo(): Promise<void> {
    return this.enqueue(async () => {
      const edit = this.history.undo();
      if (!edit) return;
      try {
        await session.api.restoreCulling(edit.previous);
        this.apply(edit.previous);
        this.refocus(edit);
      } catch (err) {
        this.history.revert('undo');
        toasts.show(err, 'Undo failed');
      }
      this.sync();
    });
  }

  redo(): Promise<void> {
    return this.enqueue(async () => {
      const edit = this.history.redo();
      if (!edit) return;
      try {
        if (edit.auto) {
          // An automatic reject is redone as automatic: put back the states it had made.
          const now = edit.ids.map((id) => grid.photoById(id)).filter((p) => p !== undefined);
          const previous = now.map((p) => ({ id: p.id, rating: p.rating, flag: p.flag, label: p.label, ...(p.flagAuto ? { flagAuto: true } : {}) }));
          const target = now.map((p) => ({ ...previous.find((q) => q.id === p.id)!, ...edit.change, flagAuto: true }));
          await session.api.restoreCulling(target);
          edit.previous = previous;
          this.apply(target);
        } else {
          edit.previous = await session.api.setCulling(edit.ids, edit.change);
          this.apply(edit.ids.map((id) => ({ id, ...edit.change })));
        }
        this.refocus(edit);
      } catch (err) {
        this.history.revert('redo');
        toasts.show(err, 'Redo failed');
      }
      this.sync();
    });
  }

  /**
   * Into the records. When the edit takes the focused photo out of the view (a pick in
   * "Unflagged"), the focus moves to the next photo that remains — the loupe stays open on it.
   */
  private apply(changes: CullingPatch[]): void {
    const before = grid.visible;
    const focusId = selection.focusId;
    const at = selection.focusIndex;
    library.patch(changes);
    grid.culled();
    if (focusId !== null && at >= 0 && !grid.indexOf.has(focusId)) selection.focusNearest(before, at);
  }

  /** Undo shows what it changed: focus the edited photo again when it is still in the grid. */
  private refocus(edit: CullingEdit): void {
    if (views.view === 'grid' && edit.ids.length === 1 && grid.indexOf.has(edit.ids[0])) selection.focus(edit.ids[0]);
  }

  private sync(save = true): void {
    this.canUndo = this.history.canUndo;
    this.canRedo = this.history.canRedo;
    if (!save) return;
    try {
      localStorage.setItem(this.storageKey(), JSON.stringify(this.history.save()));
    } catch {
      // Storage full or disabled: the history still works until the window reloads.
    }
  }
}

export const culling = new Culling();
