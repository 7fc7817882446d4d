// Owns which view fills the main area — the grid, the loupe (one photo, fit or 100 %), compare
// (2–4 photos side by side) or the faces view (every face at 100 %, frame against frame) — and the
// overlays over it (keyboard help, the export dialog; the focus map and face boxes on the photo).
import type { View } from '../lib/keyboard.ts';
import { grid } from './grid.svelte.ts';
import { selection } from './selection.svelte.ts';
import { stacks } from './stacks.svelte.ts';
import { toasts } from './toasts.svelte.ts';

function readFlag(key: string, fallback = false): boolean {
  try {
    const v = globalThis.localStorage?.getItem(key);
    return v === null || v === undefined ? fallback : v === '1';
  } catch {
    return fallback;
  }
}

function writeFlag(key: string, on: boolean): void {
  try {
    localStorage.setItem(key, on ? '1' : '0');
  } catch {
    // storage disabled: for this window only
  }
}

export interface Question {
  title: string;
  message: string;
  /** The confirm button's words, e.g. "Reject 237". */
  confirm: string;
  run: () => void;
}

class Views {
  view = $state<View>('grid');
  compareIds = $state.raw<number[]>([]);
  compareActive = $state(0);
  zoom100 = $state(false);
  /**
   * Where the loupe looks at 100 %: the image point (0…1 of its width and height) at the stage's
   * centre. Kept when moving to the next frame, to check focus frame by frame through a burst.
   */
  zoomCenter = $state.raw<{ x: number; y: number }>({ x: 0.5, y: 0.5 });
  /** The loupe's last rendition size (device pixels; 0 before it opened): the grid warms the focused photo's at this size. */
  loupeFit = $state(0);
  /** Full-screen loupe (L): the photo and the filmstrip fill the window. */
  fullscreen = $state(false);
  /** Tab in the loupe: the side panels (library, filters, the photo's info) hide. */
  panelsHidden = $state(false);
  helpOpen = $state(false);
  exportOpen = $state(false);
  /** After a flag, star or label, move on to the next photo (Lightroom's Caps Lock); remembered. */
  autoAdvance = $state(readFlag('cull.autoAdvance'));

  setAutoAdvance(on: boolean): void {
    this.autoAdvance = on;
    writeFlag('cull.autoAdvance', on);
  }

  /** M: the focus map over the photo in the loupe and over each frame of a survey; remembered. */
  focusMap = $state(readFlag('cull.focusMap'));
  /** B: face boxes with eye state over the photo in the loupe and the survey (on unless turned off); remembered. */
  faceBoxes = $state(readFlag('cull.faceBoxes', true));
  /** The faces view's frames (F): a survey's or a stack's, or [] to follow the focused photo. */
  facesIds = $state.raw<number[]>([]);
  /** The faces view's frame the culling keys act on (an index into facesIds; ←/→ move it). */
  facesActive = $state(0);
  /** Where F was pressed: F or Esc goes back there. */
  private facesFrom: View = 'loupe';

  setFocusMap(on: boolean): void {
    this.focusMap = on;
    writeFlag('cull.focusMap', on);
  }

  setFaceBoxes(on: boolean): void {
    this.faceBoxes = on;
    writeFlag('cull.faceBoxes', on);
  }

  /** F: the faces view of the survey's frames, of the focused photo's stack, or of the focused photo. */
  toggleFaces(): void {
    if (this.view === 'faces') {
      this.view = this.facesFrom;
      return;
    }
    if (this.view === 'compare') this.facesIds = this.compareIds;
    else {
      const id = selection.focusId;
      if (id === null) return;
      const stack = stacks.stackOf(id);
      this.facesIds = stack && stack.group.ids.length > 1 ? stack.group.ids : [];
    }
    const active = this.view === 'compare' ? (this.compareIds[this.compareActive] ?? -1) : (selection.focusId ?? -1);
    this.facesActive = Math.max(0, this.facesIds.indexOf(active));
    this.facesFrom = this.view === 'grid' ? 'loupe' : this.view;
    if (this.view === 'grid') this.openLoupe();
    this.view = 'faces';
  }

  /** A question before a large step (K on a big stack): Enter confirms, Esc cancels. */
  asking = $state.raw<Question | null>(null);
  modal = $derived(this.helpOpen || this.exportOpen || this.asking !== null);

  ask(q: Question): void {
    this.asking = q;
  }

  openLoupe(): void {
    if (selection.focused) {
      this.view = 'loupe';
      this.zoom100 = false;
      this.zoomCenter = { x: 0.5, y: 0.5 };
    }
  }

  openCompare(): void {
    const sel = grid.visible.filter((p) => selection.selected.has(p.id)).map((p) => p.id);
    // Survey: every selected photo (no cap); the cells shrink to fit.
    let ids = sel;
    if (ids.length < 2) {
      // Nothing multi-selected: compare the focused photo with the next one.
      const i = Math.max(0, selection.focusIndex);
      ids = grid.visible.slice(i, i + 2).map((p) => p.id);
    }
    if (ids.length < 2) {
      toasts.show({ code: 'invalid-argument', message: 'Survey needs at least two photos.', hint: 'Select them with Shift+← / → or Ctrl/⌘-click, then press C.' });
      return;
    }
    this.compareIds = ids;
    this.zoom100 = false;
    this.zoomCenter = { x: 0.5, y: 0.5 };
    this.compareActive = Math.max(0, ids.indexOf(selection.focusId ?? -1));
    this.view = 'compare';
  }

  /** L: full-screen loupe on / off (from the grid it opens the loupe full-screen). */
  toggleFullscreen(): void {
    if (this.view !== 'loupe') {
      this.openLoupe();
      // (openLoupe may refuse — no photo — so ask again; the cast undoes TypeScript's narrowing,
      // which does not know the call changed this.view.)
      if ((this.view as View) === 'loupe') this.fullscreen = true;
      return;
    }
    this.fullscreen = !this.fullscreen;
  }

  closeView(): void {
    if (this.view === 'faces') {
      this.view = this.facesFrom;
      return;
    }
    this.fullscreen = false;
    if (this.view === 'compare') {
      const id = this.compareIds[this.compareActive];
      if (id !== undefined && grid.indexOf.has(id)) selection.focus(id);
    }
    this.view = 'grid';
  }
}

export const views = new Views();
