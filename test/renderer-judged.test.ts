// The window's pure logic for focus and faces (renderer/src/lib/judged.ts), the issue filters
// (lib/sort-filter.ts) and their keys (lib/keyboard.ts), under Node as test/renderer-logic.test.ts.
import { describe, expect, it } from 'vitest';
import type { FocusMapInfo, PhotoFace, PhotoRecord } from '../common/types.ts';
import { eyeLook, faceCrop, faceRows, faceTag, facesWords, focusBand, focusCells, focusLevel, focusWords, judgedCaption } from '../renderer/src/lib/judged.ts';
import { SHORTCUTS, keyToAction, type KeyContext } from '../renderer/src/lib/keyboard.ts';
import { DEFAULT_FILTER, applyView, matchesFilter } from '../renderer/src/lib/sort-filter.ts';

const face = (x: number, y: number, state: PhotoFace['eyes']['state'] = 'open', size = 0.1): PhotoFace => ({
  index: 0,
  box: { x, y, w: size, h: size },
  confidence: 0.9,
  eyes: { state, left: null, right: null },
  sharpness: 0.7,
  smile: null,
});

describe('focus map overlay', () => {
  it('maps tile sharpness onto the @focus scale and leaves tiles without detail clear', () => {
    expect(focusLevel(0.2)).toBe(0);
    expect(focusLevel(0.85)).toBe(1);
    expect(focusLevel(0.525)).toBeCloseTo(0.5);
    expect([focusBand(0.1), focusBand(0.45), focusBand(0.9)]).toEqual(['soft', 'fair', 'sharp']);
    const tiles: (number | null)[] = new Array(16 * 16).fill(null);
    tiles[0] = 0.1; // top-left: soft
    tiles[16 * 3 + 5] = 0.9; // column 5, row 3: sharp
    const cells = focusCells({ grid: 16, tiles, focus: 0.8 });
    expect(cells).toHaveLength(2);
    expect(cells[0]).toMatchObject({ x: 0, y: 0, band: 'soft', fill: 'hsl(0 85% 48%)' });
    expect(cells[1]).toMatchObject({ x: 5, y: 3, band: 'sharp', fill: 'hsl(120 85% 48%)' });
  });

  it('says in words how sharp the sharpest region is, against the filter threshold', () => {
    const map = (focus: number | null): FocusMapInfo => ({ grid: 16, tiles: [], focus });
    expect(focusWords(null, 0.45)).toMatch(/not measured yet/);
    expect(focusWords(map(null), 0.45)).toMatch(/too little detail to tell/);
    expect(focusWords(map(0.3), 0.45)).toBe('sharpest region soft (focus 0.30): out of focus');
    expect(focusWords(map(0.5), 0.45)).toBe('sharpest region fair (focus 0.50)');
    expect(focusWords(map(0.9), 0.45)).toBe('sharpest region sharp (focus 0.90)');
  });
});

describe('faces in words', () => {
  it('names every eye state in words, never colour alone', () => {
    expect(eyeLook('open').text).toBe('eyes open');
    expect(eyeLook('closed').text).toBe('eyes closed');
    expect(eyeLook('unknown').text).toBe("eyes: can't tell");
  });

  it('counts closed eyes among the faces, and tells "not looked at" from "no face"', () => {
    expect(facesWords(null)).toMatch(/not looked at yet/);
    expect(facesWords({ analyzed: false, faces: [] })).toMatch(/not looked at yet/);
    expect(facesWords({ analyzed: true, faces: [] })).toBe('no faces found');
    const five = [face(0, 0, 'closed'), face(0.2, 0, 'closed'), face(0.4, 0), face(0.6, 0), face(0.8, 0)];
    expect(facesWords({ analyzed: true, faces: five })).toBe('eyes closed: 2 of 5 faces');
    expect(facesWords({ analyzed: true, faces: [face(0, 0)] })).toBe('eyes open: the one face');
    expect(facesWords({ analyzed: true, faces: [face(0, 0), face(0.5, 0)] })).toBe('eyes open: all 2 faces');
    expect(facesWords({ analyzed: true, faces: [face(0, 0), face(0.5, 0, 'unknown')] })).toBe("eyes open: 1 of 2 faces; can't tell: 1 of 2 faces");
    expect(facesWords({ analyzed: true, faces: [face(0, 0, 'unknown')] })).toBe("can't tell: 1 of 1 face");
  });
});

describe('face box labels and survey captions', () => {
  it('says a face box\'s eye state in words, never a smile (the estimate is not measured against labels)', () => {
    // A stored face carries its smile estimate; the box's words must not use it.
    const tag = (eyes: PhotoFace['eyes'], smile: number | null) => {
      const stored = { eyes, smile };
      return faceTag(stored);
    };
    expect(tag({ state: 'open', left: 0.3, right: 0.3 }, 0.9)).toBe('◉ eyes open');
    expect(tag({ state: 'closed', left: 0.08, right: 0.08 }, 0.93)).toBe('✕ eyes closed'); // a neutral face with shut eyes read 0.93
    expect(tag({ state: 'open', left: 0.3, right: 0.3 }, 0.4)).toBe('◉ eyes open');
    expect(tag({ state: 'unknown', left: null, right: null, reason: 'face too small to tell' }, null)).toBe("? eyes: can't tell (face too small to tell)");
  });

  it('captions a survey cell with the loupe\'s own grades and sentences, shorter', () => {
    const map = (focus: number | null): FocusMapInfo => ({ grid: 16, tiles: [], focus });
    const three = { analyzed: true, faces: [face(0, 0, 'closed'), face(0.3, 0), face(0.6, 0)] };
    expect(judgedCaption(map(0.9), three, 0.45).text).toBe('sharpest region sharp · eyes closed: 1 of 3 faces');
    expect(judgedCaption(map(0.3), { analyzed: true, faces: [face(0, 0)] }, 0.45).text).toBe('sharpest region soft · eyes open: the one face');
    expect(judgedCaption(map(0.5), { analyzed: true, faces: [] }, 0.45).text).toBe('sharpest region fair · no faces found');
    expect(judgedCaption(null, null, 0.45).text).toBe('focus not measured yet · faces not looked at yet');
    expect(judgedCaption(map(null), { analyzed: false, faces: [] }, 0.45).text).toBe("focus: can't tell · faces not looked at yet");
    // The tooltip: the loupe's full sentences.
    expect(judgedCaption(map(0.3), three, 0.45).title).toBe(`${focusWords(map(0.3), 0.45)}\n${facesWords(three)}`);
  });
});

describe('faces view', () => {
  it('crops a face with a margin at 100 %, inside the photo, at most maxSide', () => {
    const img = { w: 6000, h: 4000 };
    expect(faceCrop(face(0.5, 0.5, 'open', 0.05), img, 1000)).toEqual({ left: 2925, top: 1950, width: 450, height: 300 });
    // At the corner: kept inside the photo.
    expect(faceCrop(face(0, 0, 'open', 0.05), img, 1000)).toMatchObject({ left: 0, top: 0 });
    // A face larger than maxSide: the crop is maxSide, centred a little above the middle (the eyes).
    const big = faceCrop(face(0.25, 0.25, 'open', 0.5), img, 800);
    expect(big).toEqual({ left: 2600, top: 1400, width: 800, height: 800 });
  });

  it('lines the same face up across frames by position, a row per person', () => {
    const a = [face(0.1, 0.1), face(0.6, 0.1, 'closed')];
    const b = [face(0.61, 0.12), face(0.12, 0.1)]; // same people, other order
    const c = [face(0.1, 0.11)]; // the second person left the frame
    const rows = faceRows([a, b, c]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual([a[0], b[1], c[0]]);
    expect(rows[1]).toEqual([a[1], b[0], null]);
    // A face no row claimed gets its own row.
    const d = [face(0.4, 0.7)];
    expect(faceRows([a, d])).toEqual([
      [a[0], null],
      [a[1], null],
      [null, d[0]],
    ]);
  });
});

describe('issue filters and their keys', () => {
  const photo = (id: number): PhotoRecord =>
    ({ id, name: `IMG_${id}.jpg`, folder: '/p', path: `/p/IMG_${id}.jpg`, flag: 0, rating: 0, label: null, takenAt: id, mtimeMs: id }) as PhotoRecord;
  const photos = [1, 2, 3, 4].map(photo);
  const sets = { outOfFocus: new Set([2, 3]), closedEyes: new Set([3, 4]) };

  it('shows exactly the judged photos, combined with the other filters', () => {
    const ids = (issue: 'any' | 'outOfFocus' | 'closedEyes', flag: 'any' | 'picks' = 'any') =>
      applyView(photos, { ...DEFAULT_FILTER, issue, flag }, 'date', 'asc', null, sets).map((p) => p.id);
    expect(ids('any')).toEqual([1, 2, 3, 4]);
    expect(ids('outOfFocus')).toEqual([2, 3]);
    expect(ids('closedEyes')).toEqual([3, 4]);
    photos[2].flag = 1;
    expect(ids('closedEyes', 'picks')).toEqual([3]);
    // Before the library has judged: nothing, not everything.
    expect(matchesFilter(photos[1], { ...DEFAULT_FILTER, issue: 'outOfFocus' }, null, null)).toBe(false);
  });

  it('binds Alt+F, Alt+E, M, B and F, and lists each in the help overlay', () => {
    const ctx: KeyContext = { view: 'loupe', modal: false, typing: false };
    expect(keyToAction({ key: 'ƒ', altKey: true, code: 'KeyF' }, ctx)).toEqual({ type: 'issueFilter', issue: 'outOfFocus' });
    expect(keyToAction({ key: 'e', altKey: true, code: 'KeyE' }, ctx)).toEqual({ type: 'issueFilter', issue: 'closedEyes' });
    expect(keyToAction({ key: 'm' }, ctx)).toEqual({ type: 'focusMap' });
    expect(keyToAction({ key: 'b' }, ctx)).toEqual({ type: 'faceBoxes' });
    expect(keyToAction({ key: 'f' }, ctx)).toEqual({ type: 'faces' });
    expect(keyToAction({ key: 'f' }, { ...ctx, view: 'faces' })).toEqual({ type: 'faces' });
    expect(keyToAction({ key: 'f' }, { ...ctx, typing: true })).toBeNull();
    // In the faces view the arrows step through the frames as in the loupe.
    expect(keyToAction({ key: 'ArrowDown' }, { ...ctx, view: 'faces' })).toEqual({ type: 'move', dir: 'next', extend: false });
    const listed = SHORTCUTS.flatMap((g) => g.items.map((i) => i.keys.join('+')));
    // Each listed once: no clash with another binding.
    for (const k of ['Alt+F', 'Alt+E', 'M', 'B', 'F']) expect(listed.filter((x) => x === k)).toHaveLength(1);
  });
});
