// Keyboard culling, Lightroom / Photo Mechanic style: a pure mapping from a key event to an
// action, so the bindings are tested without a browser and listed in the help overlay.
import type { Flag, Label } from '../../../common/types.ts';
import type { MoveDirection } from './virtual-grid.ts';

export type View = 'grid' | 'loupe' | 'compare' | 'faces';

export type Action =
  | { type: 'flag'; flag: Flag }
  | { type: 'rating'; rating: number }
  | { type: 'label'; label: Label }
  | { type: 'move'; dir: MoveDirection; extend: boolean }
  | { type: 'zoom' }
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'loupe' }
  | { type: 'grid' }
  | { type: 'compare' }
  | { type: 'help' }
  | { type: 'escape' }
  | { type: 'selectAll' }
  | { type: 'focusQuery' }
  | { type: 'toggleStack' } // S: expand / collapse the focused photo's stack
  | { type: 'toggleStacks' } // Shift+S: stacks on / off
  | { type: 'confirmStack' } // K: keep the proposed best of the stack, reject the others
  | { type: 'filter'; flag: 'any' | 'picks' | 'unflagged' | 'rejects' } // Alt+A / P / U / X: show all / picks / unflagged / rejects
  | { type: 'issueFilter'; issue: 'outOfFocus' | 'closedEyes' } // Alt+F / Alt+E: show the out-of-focus / closed-eyes frames (again: all)
  | { type: 'focusMap' } // M: the focus map over the photo on / off
  | { type: 'faceBoxes' } // B: face boxes with eye state over the photo on / off
  | { type: 'faces' } // F: every face at 100 % (across the frames of a stack or survey)
  | { type: 'export' } // Ctrl/⌘+Shift+E
  | { type: 'captions' } // I: capture settings under the tiles on / off
  | { type: 'fullscreen' } // L: full-screen loupe (F is kept for the faces view)
  | { type: 'panels' } // Tab in the loupe: hide / show the side panels
  | { type: 'autoAdvance' }; // A or Caps Lock: move to the next photo after each decision, on / off

export interface KeyInput {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  shiftKey?: boolean;
  altKey?: boolean;
  /** The physical key ("KeyP"), for Alt shortcuts whose `key` is a special character. */
  code?: string;
}

export interface KeyContext {
  view: View;
  /** A modal (help, export dialog) is open: only Esc and ? reach the app. */
  modal: boolean;
  /** Focus is in a text field: culling keys must not fire. */
  typing: boolean;
}

export const LABEL_KEYS: Record<string, Label> = { '6': 'red', '7': 'yellow', '8': 'green', '9': 'blue' };

const MOVE_KEYS: Record<string, MoveDirection> = {
  ArrowLeft: 'left',
  ArrowRight: 'right',
  ArrowUp: 'up',
  ArrowDown: 'down',
  PageUp: 'pageUp',
  PageDown: 'pageDown',
  Home: 'home',
  End: 'end',
};

export function keyToAction(e: KeyInput, ctx: KeyContext): Action | null {
  if (ctx.typing) return null;
  const mod = !!(e.ctrlKey || e.metaKey);
  if (e.key === 'Escape') return { type: 'escape' };
  if (ctx.modal) return e.key === '?' ? { type: 'help' } : null;

  if (mod && !e.altKey) {
    const k = e.key.toLowerCase();
    if (k === 'z') return e.shiftKey ? { type: 'redo' } : { type: 'undo' };
    if (k === 'y') return { type: 'redo' };
    if (k === 'a' && ctx.view === 'grid') return { type: 'selectAll' };
    if (k === 'e' && e.shiftKey) return { type: 'export' };
    return null; // leave every other Ctrl/Cmd shortcut to the browser / OS
  }
  if (e.altKey) {
    // Alt+P / U / X / A: show picks / unflagged / rejects / all (by the key's place: macOS's Alt+P types "π").
    const letter = /^Key([A-Z])$/.exec(e.code ?? '')?.[1]?.toLowerCase() ?? e.key.toLowerCase();
    if (!e.shiftKey && (letter === 'f' || letter === 'e')) return { type: 'issueFilter', issue: letter === 'f' ? 'outOfFocus' : 'closedEyes' };
    const show = ({ a: 'any', p: 'picks', u: 'unflagged', x: 'rejects' } as const)[letter as 'a' | 'p' | 'u' | 'x'];
    return show && !e.shiftKey ? { type: 'filter', flag: show } : null;
  }

  const move = MOVE_KEYS[e.key];
  if (move) {
    // In loupe and compare, up/down would be meaningless: treat them like left/right.
    if (ctx.view !== 'grid' && (move === 'up' || move === 'down')) {
      return { type: 'move', dir: move === 'up' ? 'prev' : 'next', extend: false };
    }
    return { type: 'move', dir: move, extend: !!e.shiftKey };
  }
  if (e.key === ' ' || e.key === 'Spacebar') return { type: 'move', dir: e.shiftKey ? 'prev' : 'next', extend: false };

  if (/^[0-5]$/.test(e.key)) return { type: 'rating', rating: Number(e.key) };

  if (e.key === 's' || e.key === 'S') {
    if (e.shiftKey) return ctx.view === 'grid' ? { type: 'toggleStacks' } : null;
    return ctx.view === 'grid' ? { type: 'toggleStack' } : null;
  }
  if (e.key === 'k' || e.key === 'K') return e.shiftKey ? null : { type: 'confirmStack' };
  if (e.key === 'Tab') return ctx.view === 'loupe' && !e.shiftKey ? { type: 'panels' } : null;
  if ((e.key === 'i' || e.key === 'I') && !e.shiftKey) return { type: 'captions' };
  if (e.key === 'l' || e.key === 'L') return e.shiftKey ? null : { type: 'fullscreen' };
  if (e.key === 'm' || e.key === 'M') return e.shiftKey ? null : { type: 'focusMap' };
  if (e.key === 'b' || e.key === 'B') return e.shiftKey ? null : { type: 'faceBoxes' };
  if (e.key === 'f' || e.key === 'F') return e.shiftKey ? null : { type: 'faces' };
  if (e.key === 'CapsLock' || ((e.key === 'a' || e.key === 'A') && !e.shiftKey)) return { type: 'autoAdvance' };
  const label = LABEL_KEYS[e.key];
  if (label) return { type: 'label', label };

  switch (e.key.toLowerCase()) {
    case 'p':
      return { type: 'flag', flag: 1 };
    case 'x':
      return { type: 'flag', flag: -1 };
    case 'u':
      return { type: 'flag', flag: 0 };
    case 'z':
      return { type: 'zoom' };
    case 'e':
      return { type: 'loupe' };
    case 'g':
      return { type: 'grid' };
    case 'c':
      return { type: 'compare' };
    case '?':
      return { type: 'help' };
    case '/':
      return { type: 'focusQuery' };
  }
  if (e.key === 'Enter') return ctx.view === 'loupe' ? { type: 'grid' } : { type: 'loupe' };
  return null;
}

interface TargetLike {
  tagName?: string;
  type?: string;
  isContentEditable?: boolean;
}

const NON_TEXT_INPUTS = new Set(['checkbox', 'radio', 'range', 'button', 'submit', 'reset', 'color', 'file', 'image']);

/** True when keys typed now belong to a text field (so P, X, digits… must not cull). */
export function isTypingTarget(el: TargetLike | null | undefined): boolean {
  if (!el) return false;
  if (el.isContentEditable) return true;
  const tag = (el.tagName ?? '').toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag === 'INPUT') return !NON_TEXT_INPUTS.has((el.type ?? 'text').toLowerCase());
  return false;
}

export interface Shortcut {
  keys: string[];
  description: string;
}

/** What the help overlay (?) lists; kept next to the mapping so the two cannot drift apart. */
export const SHORTCUTS: { group: string; items: Shortcut[] }[] = [
  {
    group: 'Culling',
    items: [
      { keys: ['P'], description: 'Pick' },
      { keys: ['X'], description: 'Reject' },
      { keys: ['U'], description: 'Unflag' },
      { keys: ['0', '–', '5'], description: 'Star rating (0 clears)' },
      { keys: ['6'], description: 'Red label (press again to clear)' },
      { keys: ['7'], description: 'Yellow label' },
      { keys: ['8'], description: 'Green label' },
      { keys: ['9'], description: 'Blue label' },
      { keys: ['A'], description: 'Auto-advance on / off: next photo after each flag, star or label (also Caps Lock)' },
      { keys: ['Ctrl/⌘', 'Z'], description: 'Undo (kept when the window reloads)' },
      { keys: ['Ctrl/⌘', 'Shift', 'Z'], description: 'Redo' },
    ],
  },
  {
    group: 'Stacks',
    items: [
      { keys: ['Shift', 'S'], description: 'Stacks on / off (bursts and near-duplicates)' },
      { keys: ['S'], description: 'Expand / collapse the stack' },
      { keys: ['K'], description: 'Keep the proposed best, reject the others (picks stay; asks above 20)' },
    ],
  },
  {
    group: 'Showing',
    items: [
      { keys: ['Alt', 'P'], description: 'Show the picks' },
      { keys: ['Alt', 'U'], description: 'Show the unflagged photos' },
      { keys: ['Alt', 'X'], description: 'Show the rejects' },
      { keys: ['Alt', 'A'], description: 'Show all photos (also ends the out-of-focus or closed-eyes filter)' },
      { keys: ['Alt', 'F'], description: 'Show the out-of-focus photos (again: all)' },
      { keys: ['Alt', 'E'], description: 'Show the photos with closed eyes (again: all)' },
      { keys: ['Ctrl/⌘', 'Shift', 'E'], description: 'Export…' },
      { keys: ['Esc'], description: 'Leave any field or menu: the keys act on the photos again' },
    ],
  },
  {
    group: 'Moving',
    items: [
      { keys: ['←', '→', '↑', '↓'], description: 'Previous / next photo, row up / down' },
      { keys: ['Space'], description: 'Next photo (Shift: previous)' },
      { keys: ['Shift', '←/→'], description: 'Extend the selection' },
      { keys: ['Ctrl/⌘', 'A'], description: 'Select all' },
      { keys: ['Home', 'End'], description: 'First / last photo' },
    ],
  },
  {
    group: 'Views',
    items: [
      { keys: ['Enter'], description: 'Loupe (Enter again: back to grid)' },
      { keys: ['E'], description: 'Loupe' },
      { keys: ['G'], description: 'Grid' },
      { keys: ['C'], description: 'Compare (survey) every selected photo side by side: Z zooms all, they pan together; M and B draw each frame\'s focus map and faces' },
      { keys: ['Z'], description: 'Loupe: fit / 100 % (or click where to look; kept from frame to frame)' },
      { keys: ['I'], description: 'Capture settings under the thumbnails on / off' },
      { keys: ['L'], description: 'Full-screen loupe with filmstrip (L again or Esc: back)' },
      { keys: ['M'], description: 'Focus map over the photo on / off, in the loupe and on every frame of a survey: green sharp, amber fair, red soft, clear: too little detail' },
      { keys: ['B'], description: 'Face boxes with eye state (open / closed / can\'t tell) on / off, in the loupe and on every frame of a survey' },
      { keys: ['F'], description: 'Faces at 100 %: every face of the photo; of every frame in a survey or stack, side by side (F or Esc: back)' },
      { keys: ['Tab'], description: 'Loupe: hide / show the side panels, the attribute bar and the toolbar' },
      { keys: ['/'], description: 'Type an attribute' },
      { keys: ['?'], description: 'This help' },
      { keys: ['Esc'], description: 'Close overlay / back to grid' },
    ],
  },
];
