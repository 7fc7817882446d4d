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

  /** An edit the library has made: into the records and the undo history; the taste model may refit. */
  record(ids: number[], change: CullingChange, previous: PreviousCulling[]): void {
    if (!ids.length) return;
    this.apply(ids.map((id) => ({ id, ...change })));
    this.history.push({ ids, change, previous });
    this.sync();
    if (change.flag !== undefined || change.rating !== undefined) taste.scheduleRefit();
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
        edit.previous = await session.api.setCulling(edit.ids, edit.change);
        this.apply(edit.ids.map((id) => ({ id, ...edit.change })));
        this.refocus(edit);
      } catch (err) {
        this.history.revert('redo');
        toasts.show(err, 'Redo failed');
      }
      this.sync();
    });
  }

  private apply(changes: CullingPatch[]): void {
    library.patch(changes);
    grid.culled();
  }

  /** Undo shows what it changed: focus the edited photo again when it is still in the grid. */
  private refocus(edit: CullingEdit): void {
    if (views.view === 'grid' && edit.ids.length === 1 && grid.indexOf.has(edit.ids[0])) selection.focus(edit.ids[0]);
  }

  private sync(): void {
    this.canUndo = this.history.canUndo;
    this.canRedo = this.history.canRedo;
  }
}

export const culling = new Culling();
