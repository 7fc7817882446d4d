// Pure UI logic of the renderer (renderer/src/lib): virtual-grid window math, the keyboard map,
// sorting / filtering, histogram binning, export selection, undo, chips and formatting.
import { describe, expect, it } from 'vitest';
import type { AttributeQuery, PhotoRecord, ScoredPhoto } from '../common/types.ts';
import { chipsFromQuery, clampWeight, combineChips, describeChips, describeTerm, isSignalTerm, markPresets, mergeChips, tasteChip } from '../renderer/src/lib/attributes.ts';
import { explainRows, noValue } from '../renderer/src/lib/explain.ts';
import { buildStackView, groupIndexOf, nextStackIndex } from '../renderer/src/lib/stacks.ts';
import { tasteLabel, tasteNameOf, tasteQuality, tasteQuery, tasteSignal } from '../renderer/src/lib/taste.ts';
import { describeRule, selectForExport } from '../renderer/src/lib/export-selection.ts';
import { dateInputToMs, describePreview, fitBucket, formatDuration, formatRate, formatScore, toUiError } from '../renderer/src/lib/format.ts';
import { countAtLeast, domainFraction, histogram, scoreDomain } from '../renderer/src/lib/histogram.ts';
import { SHORTCUTS, isTypingTarget, keyToAction, type KeyContext } from '../renderer/src/lib/keyboard.ts';
import {
  DEFAULT_FILTER,
  applyView,
  folderList,
  isInFolder,
  makeRanking,
  matchesFilter,
  sortPhotos,
  type ViewFilter,
} from '../renderer/src/lib/sort-filter.ts';
import { UndoStack, applyChange, applyPrevious, labelChange } from '../renderer/src/lib/undo.ts';
import { gridMetrics, moveIndex, scrollToReveal, tilePosition, visibleRange } from '../renderer/src/lib/virtual-grid.ts';

function photo(id: number, over: Partial<PhotoRecord> = {}): PhotoRecord {
  return {
    id,
    path: `/p/a/IMG_${id}.jpg`,
    folder: '/p/a',
    name: `IMG_${id}.jpg`,
    size: 1000,
    mtimeMs: 1_000_000 + id,
    width: 60,
    height: 40,
    takenAt: 2_000_000 + id * 1000,
    camera: null,
    lens: null,
    thumb: null,
    status: 'ok',
    error: null,
    rating: 0,
    flag: 0,
    label: null,
    ...over,
  };
}

describe('virtual grid', () => {
  it('fits columns to the width and stretches tiles to fill the row', () => {
    const m = gridMetrics({ containerWidth: 1000, count: 95, tileSize: 180, gap: 8, padding: 12, captionHeight: 26, frameAspect: 1 });
    // inner 976: (976+8)/(188) = 5.23 → 5 columns of (976 - 32)/5 = 188 px
    expect(m.columns).toBe(5);
    expect(m.tileWidth).toBe(188);
    expect(m.tileHeight).toBe(214);
    expect(m.rows).toBe(19);
    expect(m.totalHeight).toBe(24 + 19 * 222 - 8);
    expect(gridMetrics({ containerWidth: 50, count: 3, tileSize: 180 }).columns).toBe(1);
    // Default image area: 0.8 of the width (landscape photos letterboxed with a small margin).
    const d = gridMetrics({ containerWidth: 1000, count: 10, tileSize: 180, gap: 8, padding: 12, captionHeight: 26 });
    expect(d.frameHeight).toBe(150);
    expect(d.tileHeight).toBe(176);
    expect(gridMetrics({ containerWidth: 1000, count: 0, tileSize: 180 }).totalHeight).toBe(0);
  });

  it('renders only the rows in view plus overscan, also at 100 000 photos', () => {
    const m = gridMetrics({ containerWidth: 1000, count: 100_000, tileSize: 180, gap: 8, padding: 12, captionHeight: 26, frameAspect: 1 });
    const top = visibleRange(m, 0, 800, 2);
    expect(top.firstRow).toBe(0);
    expect(top.start).toBe(0);
    // rows 0..3 visible (800/222), +2 overscan → rows 0..5
    expect(top.lastRow).toBe(5);
    expect(top.end).toBe(30);
    const mid = visibleRange(m, 222 * 1000 + 12, 800, 2);
    expect(mid.firstRow).toBe(998);
    expect(mid.lastRow).toBe(1005);
    expect(mid.end - mid.start).toBe(8 * 5);
    const bottom = visibleRange(m, m.totalHeight - 800, 800, 2);
    expect(bottom.end).toBe(100_000);
    expect(bottom.end - bottom.start).toBeLessThan(60);
    expect(visibleRange(gridMetrics({ containerWidth: 1000, count: 0, tileSize: 180 }), 0, 800)).toEqual({ firstRow: 0, lastRow: -1, start: 0, end: 0 });
  });

  it('positions tiles and scrolls just enough to reveal one', () => {
    const m = gridMetrics({ containerWidth: 1000, count: 100, tileSize: 180, gap: 8, padding: 12, captionHeight: 26, frameAspect: 1 });
    expect(tilePosition(m, 0)).toEqual({ x: 12, y: 12 });
    expect(tilePosition(m, 6)).toEqual({ x: 12 + 196, y: 12 + 222 });
    expect(scrollToReveal(m, 0, 500, 800)).toBe(0);
    expect(scrollToReveal(m, 6, 0, 800)).toBe(0); // already visible
    // row 10 starts at y = 12 + 2220; its bottom (incl. padding) must reach the viewport bottom
    expect(scrollToReveal(m, 50, 0, 800)).toBe(12 + 2220 + 214 + 12 - 800);
    expect(scrollToReveal(m, 5, 2000, 800)).toBe(222);
  });

  it('moves the focus with arrows, pages and home/end, clamped', () => {
    expect(moveIndex(0, 'left', 5, 23)).toBe(0);
    expect(moveIndex(0, 'right', 5, 23)).toBe(1);
    expect(moveIndex(7, 'up', 5, 23)).toBe(2);
    expect(moveIndex(2, 'up', 5, 23)).toBe(2);
    expect(moveIndex(7, 'down', 5, 23)).toBe(12);
    expect(moveIndex(19, 'down', 5, 23)).toBe(22); // last full row → the last photo
    expect(moveIndex(22, 'down', 5, 23)).toBe(22);
    expect(moveIndex(3, 'pageDown', 5, 23, 3)).toBe(18);
    expect(moveIndex(18, 'pageUp', 5, 23, 3)).toBe(3);
    expect(moveIndex(10, 'end', 5, 23)).toBe(22);
    expect(moveIndex(10, 'home', 5, 23)).toBe(0);
    expect(moveIndex(22, 'next', 5, 23)).toBe(22);
    expect(moveIndex(-1, 'right', 5, 23)).toBe(1);
    expect(moveIndex(0, 'right', 5, 0)).toBe(-1);
  });
});

describe('keyboard map', () => {
  const grid: KeyContext = { view: 'grid', modal: false, typing: false };

  it('maps Lightroom-style culling keys', () => {
    expect(keyToAction({ key: 'p' }, grid)).toEqual({ type: 'flag', flag: 1 });
    expect(keyToAction({ key: 'P', shiftKey: true }, grid)).toEqual({ type: 'flag', flag: 1 });
    expect(keyToAction({ key: 'x' }, grid)).toEqual({ type: 'flag', flag: -1 });
    expect(keyToAction({ key: 'u' }, grid)).toEqual({ type: 'flag', flag: 0 });
    for (let n = 0; n <= 5; n++) expect(keyToAction({ key: String(n) }, grid)).toEqual({ type: 'rating', rating: n });
    expect(keyToAction({ key: '6' }, grid)).toEqual({ type: 'label', label: 'red' });
    expect(keyToAction({ key: '7' }, grid)).toEqual({ type: 'label', label: 'yellow' });
    expect(keyToAction({ key: '8' }, grid)).toEqual({ type: 'label', label: 'green' });
    expect(keyToAction({ key: '9' }, grid)).toEqual({ type: 'label', label: 'blue' });
  });

  it('maps A and Caps Lock to auto-advance, not while typing', () => {
    const grid = { view: 'grid' as const, modal: false, typing: false };
    expect(keyToAction({ key: 'a' }, grid)).toEqual({ type: 'autoAdvance' });
    expect(keyToAction({ key: 'CapsLock' }, { ...grid, view: 'loupe' })).toEqual({ type: 'autoAdvance' });
    expect(keyToAction({ key: 'a', ctrlKey: true }, grid)).toEqual({ type: 'selectAll' });
    expect(keyToAction({ key: 'a' }, { ...grid, typing: true })).toBeNull();
  });

  it('maps Alt+P / U / X / A to the flag filters, by the physical key', () => {
    const grid = { view: 'grid' as const, modal: false, typing: false };
    expect(keyToAction({ key: 'π', code: 'KeyP', altKey: true }, grid)).toEqual({ type: 'filter', flag: 'picks' });
    expect(keyToAction({ key: 'u', code: 'KeyU', altKey: true }, grid)).toEqual({ type: 'filter', flag: 'unflagged' });
    expect(keyToAction({ key: 'x', code: 'KeyX', altKey: true }, grid)).toEqual({ type: 'filter', flag: 'rejects' });
    expect(keyToAction({ key: 'a', code: 'KeyA', altKey: true }, grid)).toEqual({ type: 'filter', flag: 'any' });
    expect(keyToAction({ key: 'E', ctrlKey: true, shiftKey: true }, grid)).toEqual({ type: 'export' });
  });

  it('maps navigation, views, undo and help', () => {
    expect(keyToAction({ key: 'ArrowDown' }, grid)).toEqual({ type: 'move', dir: 'down', extend: false });
    expect(keyToAction({ key: 'ArrowRight', shiftKey: true }, grid)).toEqual({ type: 'move', dir: 'right', extend: true });
    expect(keyToAction({ key: ' ' }, grid)).toEqual({ type: 'move', dir: 'next', extend: false });
    expect(keyToAction({ key: ' ', shiftKey: true }, grid)).toEqual({ type: 'move', dir: 'prev', extend: false });
    // In the loupe, up/down step through photos like left/right.
    expect(keyToAction({ key: 'ArrowDown' }, { ...grid, view: 'loupe' })).toEqual({ type: 'move', dir: 'next', extend: false });
    expect(keyToAction({ key: 'z' }, grid)).toEqual({ type: 'zoom' });
    expect(keyToAction({ key: 'z', ctrlKey: true }, grid)).toEqual({ type: 'undo' });
    expect(keyToAction({ key: 'z', metaKey: true }, grid)).toEqual({ type: 'undo' });
    expect(keyToAction({ key: 'Z', ctrlKey: true, shiftKey: true }, grid)).toEqual({ type: 'redo' });
    expect(keyToAction({ key: 'y', ctrlKey: true }, grid)).toEqual({ type: 'redo' });
    expect(keyToAction({ key: 'Enter' }, grid)).toEqual({ type: 'loupe' });
    expect(keyToAction({ key: 'Enter' }, { ...grid, view: 'loupe' })).toEqual({ type: 'grid' });
    expect(keyToAction({ key: 'e' }, grid)).toEqual({ type: 'loupe' });
    expect(keyToAction({ key: 'g' }, grid)).toEqual({ type: 'grid' });
    expect(keyToAction({ key: 'c' }, grid)).toEqual({ type: 'compare' });
    expect(keyToAction({ key: '?' }, grid)).toEqual({ type: 'help' });
    expect(keyToAction({ key: 'Escape' }, grid)).toEqual({ type: 'escape' });
    expect(keyToAction({ key: 'a', ctrlKey: true }, grid)).toEqual({ type: 'selectAll' });
  });

  it('leaves other shortcuts to the browser and ignores keys while typing or in a modal', () => {
    expect(keyToAction({ key: 'p', ctrlKey: true }, grid)).toBeNull();
    expect(keyToAction({ key: '3', altKey: true }, grid)).toBeNull();
    expect(keyToAction({ key: 'F5' }, grid)).toBeNull();
    const typing = { ...grid, typing: true };
    for (const key of ['p', 'x', '3', '6', 'ArrowLeft', ' ', 'Enter', 'Escape']) expect(keyToAction({ key }, typing)).toBeNull();
    expect(keyToAction({ key: 'z', ctrlKey: true }, typing)).toBeNull(); // the text field's own undo
    const modal = { ...grid, modal: true };
    expect(keyToAction({ key: 'p' }, modal)).toBeNull();
    expect(keyToAction({ key: 'Escape' }, modal)).toEqual({ type: 'escape' });
    expect(keyToAction({ key: '?' }, modal)).toEqual({ type: 'help' });
  });

  it('knows which focused elements are text fields', () => {
    expect(isTypingTarget({ tagName: 'INPUT', type: 'text' })).toBe(true);
    expect(isTypingTarget({ tagName: 'input', type: 'search' })).toBe(true);
    expect(isTypingTarget({ tagName: 'INPUT', type: 'number' })).toBe(true);
    expect(isTypingTarget({ tagName: 'INPUT' })).toBe(true);
    expect(isTypingTarget({ tagName: 'TEXTAREA' })).toBe(true);
    expect(isTypingTarget({ tagName: 'SELECT' })).toBe(true);
    expect(isTypingTarget({ tagName: 'DIV', isContentEditable: true })).toBe(true);
    expect(isTypingTarget({ tagName: 'INPUT', type: 'checkbox' })).toBe(false);
    expect(isTypingTarget({ tagName: 'INPUT', type: 'range' })).toBe(false);
    expect(isTypingTarget({ tagName: 'BUTTON' })).toBe(false);
    expect(isTypingTarget({ tagName: 'BODY' })).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
  });

  it('lists every culling key in the help overlay', () => {
    const listed = SHORTCUTS.flatMap((g) => g.items.flatMap((i) => i.keys));
    for (const k of ['P', 'X', 'U', '0', '5', '6', '7', '8', '9', 'Z', 'C', 'G', 'E', '?', 'Esc', 'Enter', 'Space']) expect(listed).toContain(k);
  });
});

describe('sorting and filtering', () => {
  const photos = [
    photo(1, { name: 'b10.jpg', rating: 3, flag: 1, label: 'red', takenAt: 5000 }),
    photo(2, { name: 'b2.jpg', rating: 5, flag: 0, takenAt: 1000, folder: '/p/b', path: '/p/b/b2.jpg' }),
    photo(3, { name: 'a.jpg', rating: 0, flag: -1, takenAt: null, mtimeMs: 3000 }),
    photo(4, { name: 'c.jpg', rating: 3, flag: 0, label: 'blue', takenAt: 4000, folder: '/p/bc', path: '/p/bc/c.jpg' }),
  ];
  const results: ScoredPhoto[] = [
    { id: 4, path: '', score: 0.9, parts: { x: 0.9 } },
    { id: 1, path: '', score: 0.7 },
    { id: 2, path: '', score: 0.7 },
  ];
  const ranking = makeRanking('attributes', 'x', results);
  const ids = (ps: PhotoRecord[]) => ps.map((p) => p.id);

  it('sorts by score in exactly the library order, unscored photos last', () => {
    expect(ids(sortPhotos(photos, 'score', 'desc', ranking))).toEqual([4, 1, 2, 3]);
    expect(ids(sortPhotos(photos, 'score', 'asc', ranking))).toEqual([2, 1, 4, 3]);
    expect(ranking.parts.get(4)).toEqual({ x: 0.9 });
  });

  it('sorts by date (mtime when no capture date), name (natural), folder and rating', () => {
    expect(ids(sortPhotos(photos, 'date', 'asc', null))).toEqual([2, 3, 4, 1]);
    expect(ids(sortPhotos(photos, 'date', 'desc', null))).toEqual([1, 4, 3, 2]);
    expect(ids(sortPhotos(photos, 'name', 'asc', null))).toEqual([3, 2, 1, 4]); // b2 before b10
    expect(ids(sortPhotos(photos, 'folder', 'asc', null))).toEqual([3, 1, 2, 4]);
    // rating desc; ties: pick first
    expect(ids(sortPhotos(photos, 'rating', 'desc', null))).toEqual([2, 1, 4, 3]);
    expect(photos.map((p) => p.id)).toEqual([1, 2, 3, 4]); // input untouched
  });

  it('filters by flag, rating, label, folder (segment-aware), dates and score threshold', () => {
    const f = (patch: Partial<ViewFilter>) => ids(photos.filter((p) => matchesFilter(p, { ...DEFAULT_FILTER, ...patch }, ranking)));
    expect(f({})).toEqual([1, 2, 3, 4]);
    expect(f({ flag: 'picks' })).toEqual([1]);
    expect(f({ flag: 'rejects' })).toEqual([3]);
    expect(f({ flag: 'unflagged' })).toEqual([2, 4]);
    expect(f({ flag: 'notRejected' })).toEqual([1, 2, 4]);
    expect(f({ minRating: 3 })).toEqual([1, 2, 4]);
    expect(f({ label: 'red' })).toEqual([1]);
    expect(f({ label: 'none' })).toEqual([2, 3]);
    expect(f({ folder: '/p/b' })).toEqual([2]); // not /p/bc
    expect(f({ folder: '/p' })).toEqual([1, 2, 3, 4]);
    expect(f({ from: 3000, to: 5000 })).toEqual([3, 4]); // 3 by mtime; `to` is exclusive
    expect(f({ minScore: 0.8 })).toEqual([4]);
    expect(f({ minScore: 0.7 })).toEqual([1, 2, 4]);
    expect(ids(applyView(photos, { ...DEFAULT_FILTER, minScore: 0.7 }, 'score', 'desc', ranking))).toEqual([4, 1, 2]);
  });

  it('handles folders on both path styles and lists them', () => {
    expect(isInFolder('/a/b/c', '/a/b')).toBe(true);
    expect(isInFolder('/a/b', '/a/b/')).toBe(true);
    expect(isInFolder('/a/bc', '/a/b')).toBe(false);
    expect(isInFolder('/a', '/')).toBe(true);
    expect(isInFolder('C:\\x\\y', 'C:\\x')).toBe(true);
    expect(isInFolder('C:\\xy', 'C:\\x')).toBe(false);
    expect(folderList(photos)).toEqual(['/p/a', '/p/b', '/p/bc']);
  });
});

describe('histogram', () => {
  it('bins scores on a fixed 0..1 scale with the maximum in the last bin', () => {
    const h = histogram([0, 0.01, 0.5, 0.99, 1, 1], 4);
    expect(h.min).toBe(0);
    expect(h.max).toBe(1);
    expect(h.counts).toEqual([2, 0, 1, 3]);
    expect(h.maxCount).toBe(3);
    expect(h.total).toBe(6);
    expect(histogram([0.2, 0.3], 40).counts).toHaveLength(40);
  });

  it('uses the data range for other scales, ignores non-finite values', () => {
    expect(scoreDomain([0.1, 0.3, 0.2])).toEqual([0, 1]);
    expect(scoreDomain([-0.2, 0.35])).toEqual([-0.2, 0.35]);
    expect(scoreDomain([3, 7.5])).toEqual([3, 7.5]);
    expect(scoreDomain([4, 4])).toEqual([3.5, 4.5]);
    expect(scoreDomain([])).toEqual([0, 1]);
    const h = histogram([2, 4, NaN, 6], 2);
    expect(h.counts).toEqual([1, 2]);
    expect(domainFraction(h, 5)).toBe(0.75);
    expect(domainFraction(h, 100)).toBe(1);
  });

  it('counts what passes the threshold', () => {
    expect(countAtLeast([0.1, 0.5, 0.7], 0.5)).toBe(2);
    expect(countAtLeast([0.1, 0.5, 0.7], null)).toBe(3);
  });
});

describe('export selection', () => {
  const ordered = [photo(5, { flag: 1, rating: 2 }), photo(3, { rating: 4 }), photo(9, { flag: 1, rating: 5 }), photo(1), photo(2, { flag: -1 })];

  it('takes top N / top % in the current order', () => {
    expect(selectForExport(ordered, { kind: 'topN', n: 2 })).toEqual([5, 3]);
    expect(selectForExport(ordered, { kind: 'topN', n: 99 })).toEqual([5, 3, 9, 1, 2]);
    expect(selectForExport(ordered, { kind: 'topN', n: 0 })).toEqual([]);
    expect(selectForExport(ordered, { kind: 'topPercent', percent: 40 })).toEqual([5, 3]);
    expect(selectForExport(ordered, { kind: 'topPercent', percent: 1 })).toEqual([5]); // rounds up
    expect(selectForExport(ordered, { kind: 'topPercent', percent: 0 })).toEqual([]);
    expect(selectForExport(ordered, { kind: 'topPercent', percent: 250 })).toHaveLength(5);
  });

  it('takes picks, ratings or the selection, keeping the order', () => {
    expect(selectForExport(ordered, { kind: 'picks' })).toEqual([5, 9]);
    expect(selectForExport(ordered, { kind: 'minRating', stars: 4 })).toEqual([3, 9]);
    expect(selectForExport(ordered, { kind: 'selected', ids: [1, 9] })).toEqual([9, 1]);
    expect(selectForExport(ordered, { kind: 'all' })).toEqual([5, 3, 9, 1, 2]);
    expect(describeRule({ kind: 'topN', n: 5 })).toContain('top 5');
  });
});

describe('capture settings and names', () => {
  it('writes shutter, aperture, ISO, focal length and compensation as photographers do', async () => {
    const f = await import('../renderer/src/lib/format.ts');
    expect(f.formatShutter(0.004)).toBe('1/250 s');
    expect(f.formatShutter(1 / 8)).toBe('1/8 s');
    expect(f.formatShutter(0.3)).toBe('0.3 s');
    expect(f.formatShutter(2)).toBe('2 s');
    expect(f.formatEv(-2 / 3)).toBe('−2/3 EV');
    expect(f.formatEv(1)).toBe('+1 EV');
    expect(f.formatEv(4 / 3)).toBe('+1 1/3 EV');
    expect(f.formatEv(0.5)).toBe('+0.5 EV');
    expect(f.captureLine({ exposureTime: 0.004, fNumber: 2.8, iso: 800, focalLength: 85, exposureBias: -2 / 3 })).toBe('1/250 s · f/2.8 · ISO 800 · 85 mm · −2/3 EV');
    expect(f.captureLine({ exposureTime: null, fNumber: null, iso: 100, focalLength: null, exposureBias: 0 })).toBe('ISO 100');
    expect(f.formatCaptureTime(new Date(2024, 6, 1, 10, 0, 5, 250).getTime())).toBe('2024-07-01 10:00:05.25');
    expect(f.formatCaptureTime(new Date(2024, 6, 1, 10, 0, 5).getTime())).toBe('2024-07-01 10:00:05');
    expect(f.frameNumber('IMG_5102.CR3')).toBe('5102');
    expect(f.frameNumber('DSC_0042-2.jpg')).toBe('0042');
    expect(f.frameNumber('holiday.jpg')).toBe('');
    expect(f.middleEllipsis('Wedding_Ceremony_Smith_IMG_5102.jpg', 20)).toBe('Wedding_…MG_5102.jpg');
    expect(f.middleEllipsis('IMG_5102.jpg', 20)).toBe('IMG_5102.jpg');
    expect(f.middleEllipsis('DSC_1001.jpg', 8)).toBe('…1001.jpg'); // the frame number is never cut
  });
});

describe('undo', () => {
  it('undoes and redoes in order, and a new edit drops the redo branch', () => {
    const s = new UndoStack();
    expect(s.undo()).toBeUndefined();
    const e1 = { ids: [1], change: { flag: 1 as const }, previous: [{ id: 1, rating: 0, flag: 0 as const, label: null }] };
    const e2 = { ids: [2], change: { rating: 3 }, previous: [{ id: 2, rating: 1, flag: 0 as const, label: null }] };
    s.push(e1);
    s.push(e2);
    expect(s.undo()).toBe(e2);
    expect(s.canRedo).toBe(true);
    expect(s.redo()).toBe(e2);
    expect(s.undo()).toBe(e2);
    expect(s.undo()).toBe(e1);
    expect(s.canUndo).toBe(false);
    s.revert('undo'); // e1's undo failed: it is back on the undo stack
    expect(s.canUndo).toBe(true);
    s.push(e2);
    expect(s.canRedo).toBe(false);
    expect(s.size).toBe(2);
  });

  it('saves and loads its history as JSON, dropping edits of photos no longer there', () => {
    const s = new UndoStack();
    s.push({ ids: [1], change: { flag: 1 }, previous: [{ id: 1, rating: 0, flag: 0, label: null }] });
    s.push({ ids: [2, 3], change: { flag: -1 }, previous: [{ id: 2, rating: 0, flag: 0, label: null }], auto: true });
    s.push({ ids: [4], change: { rating: 2 }, previous: [{ id: 4, rating: 0, flag: 0, label: null }] });
    s.undo();
    const json = JSON.parse(JSON.stringify(s.save()));
    const t = new UndoStack();
    t.load(json, (id) => id !== 1);
    expect(t.size).toBe(1);
    expect(t.canRedo).toBe(true);
    expect(t.undo()).toMatchObject({ ids: [2, 3], auto: true });
    t.load('not a history', () => true);
    expect(t.canUndo || t.canRedo).toBe(false);
    t.load({ done: [{ ids: ['x'], change: {}, previous: [] }, null] }, () => true);
    expect(t.canUndo).toBe(false);
  });

  it('caps its size', () => {
    const s = new UndoStack(3);
    for (let i = 0; i < 5; i++) s.push({ ids: [i], change: { rating: 1 }, previous: [] });
    expect(s.size).toBe(3);
    expect(s.undo()!.ids).toEqual([4]);
  });

  it('applies changes and previous states to records', () => {
    const ps = [photo(1), photo(2, { rating: 2, label: 'red' })];
    const changed = applyChange(ps, [2], { flag: -1, label: null });
    expect(changed[1]).toMatchObject({ flag: -1, label: null, rating: 2 });
    expect(changed[0]).toBe(ps[0]);
    expect(ps[1].flag).toBe(0); // not mutated
    const back = applyPrevious(changed, [{ id: 2, rating: 2, flag: 0, label: 'red' }]);
    expect(back[1]).toMatchObject({ flag: 0, label: 'red', rating: 2 });
  });

  it('toggles colour labels like Lightroom', () => {
    expect(labelChange([photo(1, { label: 'red' })], 'red')).toEqual({ label: null });
    expect(labelChange([photo(1, { label: 'red' }), photo(2)], 'red')).toEqual({ label: 'red' });
    expect(labelChange([photo(1, { label: 'blue' })], 'red')).toEqual({ label: 'red' });
  });
});

describe('attribute chips', () => {
  const q = {
    attributes: [
      { label: 'sharp vs blurry', positive: { prompts: ['Sharp photo.'] }, negative: { prompts: ['Blurry photo.'] } },
      { label: 'bright vs dark', positive: { prompts: ['Bright photo.'] }, negative: { prompts: ['Dark photo.'] }, weight: 0.5 },
    ],
  };

  it('turns a parsed query into weighted chips and back', () => {
    const chips = chipsFromQuery(q);
    expect(chips.map((c) => c.weight)).toEqual([1, 0.5]);
    expect(new Set(chips.map((c) => c.key)).size).toBe(2);
    expect(combineChips(chips)).toEqual({
      attributes: [
        { ...q.attributes[0], weight: 1 },
        { ...q.attributes[1], weight: 0.5 },
      ],
    });
    expect(describeChips(chips)).toBe('sharp vs blurry + 0.5×bright vs dark');
    // weight 0 keeps the chip but leaves it out of the score
    expect(combineChips([{ ...chips[0], weight: 0 }])).toBeNull();
    expect(combineChips([])).toBeNull();
  });

  it('replaces a chip typed again instead of duplicating it', () => {
    const a = chipsFromQuery(q);
    const b = chipsFromQuery({ attributes: [{ ...q.attributes[0], weight: 2 }] });
    const merged = mergeChips(a, b);
    expect(merged.map((c) => [c.term.label, c.weight])).toEqual([
      ['bright vs dark', 0.5],
      ['sharp vs blurry', 2],
    ]);
    expect(clampWeight(-1)).toBe(0);
    expect(clampWeight(NaN)).toBe(1);
    expect(clampWeight(0.333)).toBe(0.33);
    expect(clampWeight(99)).toBe(10);
  });
});

describe('formatting', () => {
  it('formats durations, rates and scores', () => {
    expect(formatDuration(5.4)).toBe('5 s');
    expect(formatDuration(83)).toBe('1 min 23 s');
    expect(formatDuration(3725)).toBe('1 h 02 min');
    expect(formatDuration(null)).toBe('–');
    expect(formatRate(0)).toBe('–');
    expect(formatRate(3.25)).toBe('3.3/s');
    expect(formatRate(42.4)).toBe('42/s');
    expect(formatScore(0.8234)).toBe('0.82');
    expect(formatScore(0.28341, 'search')).toBe('0.283');
    expect(formatScore(6.71)).toBe('6.7');
    expect(formatScore(undefined)).toBe('');
  });

  it('parses date inputs as local days, `to` being exclusive', () => {
    expect(dateInputToMs('2024-06-01')).toBe(new Date(2024, 5, 1).getTime());
    expect(dateInputToMs('2024-06-01', true)).toBe(new Date(2024, 5, 2).getTime());
    expect(dateInputToMs('')).toBeNull();
  });

  it('turns API errors into a message and what to do', () => {
    const e = toUiError({ code: 'busy', message: 'Indexing is already running.' }, 'Cannot index');
    expect(e).toEqual({ code: 'busy', message: 'Cannot index: Indexing is already running.', hint: expect.stringMatching(/wait|cancel/i) });
    expect(toUiError(new Error('boom')).code).toBe('internal');
    expect(toUiError({ code: 'weird', message: 'x' }).code).toBe('internal');
    expect(toUiError(new TypeError('Failed to fetch')).hint).toMatch(/npm run serve/);
    expect(toUiError('plain').message).toBe('plain');
  });
});

describe('stacks', () => {
  const list = (ids: number[]) => ids.map((id) => ({ id }));
  // Groups as api.groups gives them: best first.
  const groups = [
    { ids: [5, 3, 4], bestId: 5 },
    { ids: [8, 7], bestId: 8 },
    { ids: [10, 11], bestId: 10 },
  ];

  it('folds each group into its best photo, at the place of its first member in the current order', () => {
    const v = buildStackView(list([1, 2, 3, 4, 5, 6, 7, 8, 9]), groups, new Set());
    expect(v.photos.map((p) => p.id)).toEqual([1, 2, 5, 6, 8, 9]);
    expect(v.stacks).toBe(2); // group 3 has no member in view
    expect(v.hidden).toBe(3);
    expect(v.info.get(5)).toEqual({ group: 0, key: 5, size: 3, pos: 0, expanded: false, best: true });
    expect(v.info.has(3)).toBe(false);
    expect(v.info.get(1)).toBeUndefined();
    // Another order moves the stack with its first member.
    const rev = buildStackView(list([9, 8, 7, 6, 5, 4, 3, 2, 1]), groups, new Set());
    expect(rev.photos.map((p) => p.id)).toEqual([9, 8, 6, 5, 2, 1]);
  });

  it('expands a stack in the group order: best first, then the candidates', () => {
    const v = buildStackView(list([1, 2, 3, 4, 5, 6, 7, 8, 9]), groups, new Set([5]));
    expect(v.photos.map((p) => p.id)).toEqual([1, 2, 5, 3, 4, 6, 8, 9]);
    expect([5, 3, 4].map((id) => v.info.get(id)!.pos)).toEqual([0, 1, 2]);
    expect([5, 3, 4].map((id) => v.info.get(id)!.best)).toEqual([true, false, false]);
    expect(v.info.get(3)!.expanded).toBe(true);
    expect(v.hidden).toBe(1);
  });

  it('follows the filter: filtered members do not count, the first shown member stands in for a hidden best', () => {
    const v = buildStackView(list([1, 3, 4, 7, 8]), groups, new Set());
    expect(v.photos.map((p) => p.id)).toEqual([1, 3, 8]); // the best (8) is on top even though 7 comes first
    expect(v.info.get(3)).toMatchObject({ size: 2, pos: 0, best: false, key: 5 });
    expect(v.info.get(8)).toMatchObject({ size: 2, pos: 0, best: true, key: 8 });
    // One member left: no stack at all.
    const single = buildStackView(list([1, 4, 8]), groups, new Set());
    expect(single.photos.map((p) => p.id)).toEqual([1, 4, 8]);
    expect(single.stacks).toBe(0);
    expect(single.info.size).toBe(0);
  });

  it('works on large views in one pass (the virtual grid only gets the shorter list)', () => {
    const n = 100_000;
    const photos = list(Array.from({ length: n }, (_, i) => i + 1));
    const big = Array.from({ length: n / 4 }, (_, k) => ({ ids: [4 * k + 4, 4 * k + 3, 4 * k + 2, 4 * k + 1], bestId: 4 * k + 4 }));
    const v = buildStackView(photos, big, new Set());
    expect(v.photos).toHaveLength(n / 4);
    expect(v.photos[0].id).toBe(4);
    expect(v.hidden).toBe((3 * n) / 4);
  });

  it('finds the next stack and a photo\'s group', () => {
    const v = buildStackView(list([1, 2, 3, 4, 5, 6, 7, 8, 9]), groups, new Set([5]));
    // From inside the expanded first stack, the next stack is the 8-7 one.
    expect(nextStackIndex(v, v.photos.findIndex((p) => p.id === 3))).toBe(v.photos.findIndex((p) => p.id === 8));
    expect(nextStackIndex(v, v.photos.findIndex((p) => p.id === 8))).toBe(-1);
    expect(nextStackIndex(v, -1)).toBe(2);
    expect(groupIndexOf(groups, 7)).toBe(1);
    expect(groupIndexOf(groups, 1)).toBe(-1);
  });
});

describe('taste', () => {
  const model = (examples: number, validation: number | null, auc: number | null = null) => ({ examples, validation, auc });

  it('says "not learned yet" without a model, with few decisions or a low validation score', () => {
    expect(tasteQuality(null, 3)).toMatchObject({ level: 'none', headline: 'Not learned yet' });
    expect(tasteQuality(null, 3).detail).toMatch(/at least 10/);
    expect(tasteQuality(null, 12).detail).toMatch(/Fit/);
    expect(tasteQuality(model(12, 0.9))).toMatchObject({ level: 'none', headline: 'Not learned yet' });
    expect(tasteQuality(model(12, 0.9)).detail).toMatch(/Only 12 decisions/);
    expect(tasteQuality(model(80, 0.05)).level).toBe('none');
    expect(tasteQuality(model(80, null)).level).toBe('none');
    expect(tasteQuality(model(80, -0.4)).level).toBe('none');
  });

  it('grades the cross-validated agreement in words above that', () => {
    expect(tasteQuality(model(80, 0.2))).toMatchObject({ level: 'weak', headline: 'Weak' });
    expect(tasteQuality(model(80, 0.35))).toMatchObject({ level: 'fair', headline: 'Fair' });
    expect(tasteQuality(model(80, 0.7))).toMatchObject({ level: 'good', headline: 'Good' });
  });

  it('names a taste model as a signal and back, and labels it for the window', () => {
    expect(tasteSignal('my taste')).toBe('taste');
    expect(tasteSignal('weddings')).toBe('taste:weddings');
    expect(tasteNameOf('taste')).toBe('my taste');
    expect(tasteNameOf('taste:Client A')).toBe('Client A');
    expect(tasteNameOf(tasteSignal('my taste'))).toBe('my taste');
    expect(tasteNameOf('quality')).toBeNull();
    expect(tasteNameOf('tasteful')).toBeNull();
    expect(tasteQuery('my taste')).toBe('@taste');
    expect(tasteQuery('weddings')).toBe('@taste:weddings');
    expect(tasteLabel('my taste')).toBe('My taste');
    expect(tasteLabel('Client A')).toBe('Taste: Client A');
  });
});

describe('query terms as chips', () => {
  // What api.parseQuery gives for "@taste:weddings + 0.5*sharp vs blurry + 2*@quality".
  const parsed: AttributeQuery = {
    attributes: [
      { label: 'taste: weddings', signal: 'taste:weddings' },
      { label: 'sharp vs blurry', positive: { prompts: ['Sharp photo.'] }, negative: { prompts: ['Blurry photo.'] }, weight: 0.5 },
      { label: 'quality: good vs bad', signal: 'quality', weight: 2 },
    ],
  };

  it('turns every kind of parsed term into a chip; a taste term gets the window\'s label for its model', () => {
    const chips = chipsFromQuery(parsed);
    expect(chips.map((c) => [c.term.label, c.weight, c.taste])).toEqual([
      ['Taste: weddings', 1, 'weddings'],
      ['sharp vs blurry', 0.5, undefined],
      ['quality: good vs bad', 2, undefined],
    ]);
    expect(chips[0].term).toEqual({ label: 'Taste: weddings', signal: 'taste:weddings' });
    expect(chips[2].term).toEqual({ label: 'quality: good vs bad', signal: 'quality' });
    expect(chipsFromQuery({ attributes: [{ label: 'taste', signal: 'taste' }] })[0]).toMatchObject({ taste: 'my taste', term: { label: 'My taste', signal: 'taste' } });
    // A preset's terms remember the preset (its button shows as on).
    expect(chipsFromQuery({ attributes: [parsed.attributes[2]] }, 'quality')[0].preset).toBe('quality');
    // …and so does a preset typed as "@quality" (not a taste model, nor a typed attribute).
    expect(markPresets(chips, ['quality', 'taste:weddings', 'sharp vs blurry']).map((c) => c.preset)).toEqual([undefined, undefined, 'quality']);
    expect(chips.map((c) => isSignalTerm(c.term))).toEqual([true, false, true]);
    expect(describeTerm(chips[0])).toMatch(/Taste model "weddings"/);
    expect(describeTerm(chips[1])).toBe('Sharp photo.  vs  Blurry photo.');
    expect(describeTerm(chips[2])).toBe('@quality');
  });

  it('sends every chip, taste and presets included, as one query with its weights (weight 0 left out)', () => {
    const chips = [...chipsFromQuery(parsed), tasteChip('my taste', 3)];
    expect(combineChips(chips)).toEqual({
      attributes: [
        { label: 'Taste: weddings', signal: 'taste:weddings', weight: 1 },
        { ...parsed.attributes[1], weight: 0.5 },
        { label: 'quality: good vs bad', signal: 'quality', weight: 2 },
        { label: 'My taste', signal: 'taste', weight: 3 },
      ],
    });
    expect(combineChips([{ ...chips[3], weight: 0 }])).toBeNull();
    expect(describeChips(chips)).toBe('Taste: weddings + 0.5×sharp vs blurry + 2×quality: good vs bad + 3×My taste');
    // Toggling a taste model again replaces its chip (same label) instead of adding a second.
    const again = mergeChips(chips, [tasteChip('weddings', 0.5)]);
    expect(again.filter((c) => c.taste === 'weddings').map((c) => c.weight)).toEqual([0.5]);
  });
});

describe('explain rows', () => {
  it('lists the active chips, then taste models, then presets, with bars scaled to 0…1', () => {
    const chips = [...chipsFromQuery({ attributes: [{ label: 'a vs b', positive: { prompts: ['A'] }, negative: { prompts: ['B'] } }] }), tasteChip('my taste')];
    // Before api.explain answers for the taste term, its score comes from explainAll.
    const rows = explainRows(chips, { 'a vs b': 0.7 }, { presets: { 'quality: good vs bad': 0.4, 'LAION aesthetic (1–10)': 6.5 }, taste: { 'my taste': 0.3 } });
    expect(rows.map((r) => [r.section, r.label, r.value])).toEqual([
      ['active', 'a vs b', 0.7],
      ['active', 'My taste', 0.3],
      ['taste', 'My taste', 0.3],
      ['preset', 'quality: good vs bad', 0.4],
      ['preset', 'LAION aesthetic (1–10)', 6.5],
    ]);
    expect(rows[4].fraction).toBeCloseTo(0.65, 12);
    expect(explainRows(chips, null, null)).toEqual([]);
    // The explanation keys each term's part by its label, the taste term's too.
    const explained = explainRows(chips, { 'a vs b': 0.7, 'My taste': 0.35 }, null);
    expect(explained.map((r) => [r.label, r.value, r.taste])).toEqual([
      ['a vs b', 0.7, false],
      ['My taste', 0.35, true],
    ]);
  });
});

describe('stack keys and best-of-groups export', () => {
  const grid: KeyContext = { view: 'grid', modal: false, typing: false };
  it('S expands, Shift+S toggles stacks, K confirms; none while typing or in a modal', () => {
    expect(keyToAction({ key: 's' }, grid)).toEqual({ type: 'toggleStack' });
    expect(keyToAction({ key: 'S', shiftKey: true }, grid)).toEqual({ type: 'toggleStacks' });
    expect(keyToAction({ key: 'k' }, grid)).toEqual({ type: 'confirmStack' });
    expect(keyToAction({ key: 'k' }, { ...grid, view: 'loupe' })).toEqual({ type: 'confirmStack' });
    expect(keyToAction({ key: 's' }, { ...grid, view: 'loupe' })).toBeNull();
    expect(keyToAction({ key: 'k' }, { ...grid, typing: true })).toBeNull();
    expect(keyToAction({ key: 's' }, { ...grid, modal: true })).toBeNull();
    expect(keyToAction({ key: 's', ctrlKey: true }, grid)).toBeNull();
    const listed = SHORTCUTS.flatMap((g) => g.items.map((i) => i.keys.join('+')));
    for (const k of ['S', 'Shift+S', 'K']) expect(listed).toContain(k);
  });

  it('exports the best of each group in the current order, only those shown', () => {
    const ordered = [photo(3), photo(1), photo(2), photo(4)];
    expect(selectForExport(ordered, { kind: 'bestOfGroups', ids: [1, 2, 9] })).toEqual([1, 2]);
    expect(describeRule({ kind: 'bestOfGroups', ids: [] })).toBe('the best of each group');
  });
});

describe('what the loupe says it shows', () => {
  it('names a RAW preview smaller than the sensor (or of unknown sensor) on the 100 % badge, not a full-size one', () => {
    expect(describePreview({ source: 'embedded', width: 1620, height: 1080, sensor: { width: 6000, height: 4000 } })).toMatchObject({
      short: 'embedded preview, 1620×1080 (sensor 6000×4000)',
      badge: 'embedded preview, 1620×1080',
    });
    expect(describePreview({ source: 'embedded', width: 1620, height: 1080, sensor: null }).badge).toBe('embedded preview, 1620×1080');
    expect(describePreview({ source: 'embedded', width: 6000, height: 4000, sensor: { width: 6024, height: 4024 } })).toMatchObject({ short: 'embedded preview, 6000×4000', badge: null });
    expect(describePreview({ source: 'original', width: 6000, height: 4000, sensor: null }).badge).toBeNull();
    expect(describePreview({ source: 'thumbnail', width: 512, height: 341, sensor: null }).badge).toBe('thumbnail, 512×341');
  });

  it('asks for renditions in steps of 256 device pixels', () => {
    expect([fitBucket(0), fitBucket(NaN), fitBucket(100), fitBucket(940), fitBucket(1024), fitBucket(1025), fitBucket(99999)]).toEqual([0, 0, 256, 1024, 1024, 1280, 8192]);
  });
});

describe('a signal without a value in the score bars', () => {
  it('says "no face" for a face signal of a photo the faces analyzer has seen, else "not measured yet"', () => {
    expect(noValue('face focus (faces)', true)).toBe('no face');
    expect(noValue('face focus (faces)', false)).toBe('not measured yet');
    expect(noValue('focus (measured)', true)).toBe('not measured yet');
  });
});
