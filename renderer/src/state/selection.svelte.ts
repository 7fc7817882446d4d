// Owns the focus and the selection in the grid: clicks and keys move them, and `targets` says
// which photos a culling key applies to (the compared photo, the loupe's, or the selection).
import type { PhotoRecord } from '../../../common/types.ts';
import { moveIndex, type MoveDirection } from '../lib/virtual-grid.ts';
import { grid } from './grid.svelte.ts';
import { views } from './views.svelte.ts';

class Selection {
  focusId = $state<number | null>(null);
  selected = $state.raw<Set<number>>(new Set());
  private anchorId: number | null = null;
  /** The focus was put on the first photo by the window, not chosen (a reload may move it to the new first). */
  automatic = false;

  focusIndex = $derived(this.focusId === null ? -1 : (grid.indexOf.get(this.focusId) ?? -1));
  focused = $derived(this.focusIndex >= 0 ? grid.visible[this.focusIndex] : null);

  focus(id: number, mode: 'single' | 'toggle' | 'range' = 'single'): void {
    if (mode === 'toggle') {
      const next = new Set(this.selected);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      this.selected = next;
      this.anchorId = id;
    } else if (mode === 'range' && this.anchorId !== null && grid.indexOf.has(this.anchorId)) {
      const a = grid.indexOf.get(this.anchorId)!;
      const b = grid.indexOf.get(id) ?? a;
      const [lo, hi] = a < b ? [a, b] : [b, a];
      this.selected = new Set(grid.visible.slice(lo, hi + 1).map((p) => p.id));
    } else {
      this.selected = new Set([id]);
      this.anchorId = id;
    }
    this.focusId = id;
    this.automatic = false;
  }

  /** Focus (and select) the first photo of the grid. */
  focusFirst(): void {
    const first = grid.visible[0];
    this.focusId = first ? first.id : null;
    this.selected = first ? new Set([first.id]) : new Set();
    this.anchorId = this.focusId;
    this.automatic = true;
  }

  /**
   * The focused photo left the view (`before` is the view it was at `at` in): focus the next photo
   * of that view that is still shown, else the one before it.
   */
  focusNearest(before: PhotoRecord[], at: number): void {
    for (let i = at + 1; i < before.length; i++) if (grid.indexOf.has(before[i].id)) return this.focus(before[i].id);
    for (let i = Math.min(at, before.length) - 1; i >= 0; i--) if (grid.indexOf.has(before[i].id)) return this.focus(before[i].id);
  }

  move(dir: MoveDirection, extend = false): void {
    if (views.view === 'faces' && views.facesIds.length) {
      // Frame against frame: the arrows pick the frame the culling keys act on.
      const n = views.facesIds.length;
      if (dir === 'left' || dir === 'prev' || dir === 'up') views.facesActive = Math.max(0, views.facesActive - 1);
      if (dir === 'right' || dir === 'next' || dir === 'down') views.facesActive = Math.min(n - 1, views.facesActive + 1);
      return;
    }
    if (views.view === 'compare') {
      const n = views.compareIds.length;
      if (dir === 'left' || dir === 'prev') views.compareActive = Math.max(0, views.compareActive - 1);
      if (dir === 'right' || dir === 'next') views.compareActive = Math.min(n - 1, views.compareActive + 1);
      return;
    }
    const cols = views.view === 'grid' ? grid.layout.columns : 1;
    const idx = moveIndex(this.focusIndex, dir, cols, grid.visible.length, grid.layout.pageRows);
    if (idx < 0) return;
    this.focus(grid.visible[idx].id, extend ? 'range' : 'single');
  }

  selectAll(): void {
    this.selected = new Set(grid.visible.map((p) => p.id));
  }

  /** Photos a culling key applies to: the compared photo (or faces view frame), the loupe photo, or the grid selection. */
  targets(): PhotoRecord[] {
    this.automatic = false; // a key acted on the focused photo: it is the photographer's now
    if (views.view === 'compare' || (views.view === 'faces' && views.facesIds.length)) {
      const id = views.view === 'compare' ? views.compareIds[views.compareActive] : views.facesIds[views.facesActive];
      const p = id === undefined ? undefined : grid.photoById(id);
      return p ? [p] : [];
    }
    const focused = this.focused;
    if (views.view === 'grid' && this.selected.size > 1 && focused && this.selected.has(focused.id)) {
      return grid.visible.filter((p) => this.selected.has(p.id));
    }
    return focused ? [focused] : [];
  }
}

export const selection = new Selection();
