// "Eyes covered" (electron/services/indexing/analyzers/eye-cover.ts) on generated rasters, through
// measureFaces as the analyzer calls it: a drawn face whose mesh says the lids are shut is 'closed'
// while the raster shows a lash line, and "can't tell: eyes covered" once sunglasses or a skin patch
// (test/judgement/occlude.ts, as the judgement paints them on real faces) hide the eyes; open eyes
// stay open. Without the rule, the covered faces come out 'closed' (the mesh's lids are a guess).
// A coarse-grained skin patch that is not flat enough for "eyes covered" but shows no lash line, and
// mirrored lenses showing a horizon across the lids, are "can't tell: no lash line at the lids" (the
// lash-line rule; the horizon lens was 'closed' before the line was looked for at the lids). Fingers
// laid level across shut eyes, their gaps where the lids are, show "lines like fingers" — through
// the nose bridge and again below the lash line — and are "can't tell" ('closed' on the old code).
// Real faces: test/faces-judgement.test.ts.
import { describe, expect, it } from 'vitest';
import { bridgeLine, eyeCover, eyesCovered, COVER_FLAT, FINGER_CONTRAST, LASH_CONTRAST, LASH_DEPTH, lashLines, linesLikeFingers, noLashLine } from '../electron/services/indexing/analyzers/eye-cover.ts';
import { EYES_COVERED, LINE_ACROSS, measureFaces, NO_LASH_LINE } from '../electron/services/indexing/analyzers/face-measures.ts';
import { describeFaces } from '../electron/services/signals/faces.ts';
import type { RawFace } from '../native-models/faces.ts';
import type { Raster } from '../native-models/preprocess.ts';
import { occlude } from './judgement/occlude.ts';
import { occludeHeldOut } from './judgement/occlude-heldout.ts';

const W = 400, H = 400, EYE_W = 40;
const EYE_X = [140, 260], EYE_Y = 170;

/** A face mesh (478 points) with the eye corners, lids (opening × eye width apart) and cheek points set. */
function mesh(opening: number): [number, number, number][] {
  const m: [number, number, number][] = Array.from({ length: 478 }, () => [200, 220, 0]);
  const eyes = [
    { cx: EYE_X[0], corners: [33, 133], upper: [160, 159, 158], lower: [144, 145, 153], cheek: 205 },
    { cx: EYE_X[1], corners: [362, 263], upper: [385, 386, 387], lower: [380, 374, 373], cheek: 425 },
  ];
  for (const e of eyes) {
    m[e.corners[0]] = [e.cx - EYE_W / 2, EYE_Y, 0];
    m[e.corners[1]] = [e.cx + EYE_W / 2, EYE_Y, 0];
    [-10, 0, 10].forEach((dx, k) => {
      m[e.upper[k]] = [e.cx + dx, EYE_Y - (opening * EYE_W) / 2, 0];
      m[e.lower[k]] = [e.cx + dx, EYE_Y + (opening * EYE_W) / 2, 0];
    });
    m[e.cheek] = [e.cx, EYE_Y + 55, 0];
  }
  return m;
}

/** Skin with a little deterministic grain, and each eye drawn open (white, iris) or shut (a lash line). */
function face(eyes: 'open' | 'shut', grain = 10): Raster {
  const data = Buffer.alloc(W * H * 3);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * grain;
  for (let i = 0; i < W * H; i++) {
    const g = rnd();
    data[i * 3] = 200 + g, data[i * 3 + 1] = 160 + g, data[i * 3 + 2] = 140 + g;
  }
  const put = (x: number, y: number, rgb: number[]) => rgb.forEach((v, k) => (data[(y * W + x) * 3 + k] = v));
  for (const cx of EYE_X) {
    for (let y = EYE_Y - 12; y <= EYE_Y + 12; y++) {
      for (let x = cx - EYE_W / 2; x <= cx + EYE_W / 2; x++) {
        const dx = (x - cx) / (EYE_W / 2), dy = y - EYE_Y;
        if (eyes === 'open' && dx * dx + (dy / 8) ** 2 <= 1) put(x, y, Math.hypot(x - cx, dy) <= 7 ? [70, 45, 30] : [235, 235, 230]);
        // Shut: the lashes, a dark band a few pixels thick along the closed lids, curving down a little.
        if (eyes === 'shut' && Math.abs(dx) <= 1 && Math.abs(dy - 3 * (1 - dx * dx)) <= 2.5) put(x, y, [60, 40, 35]);
      }
    }
  }
  return { data, width: W, height: H, channels: 3 };
}

const raw = (opening: number): RawFace => ({
  box: { x: 80, y: 90, w: 240, h: 260 }, boxScore: 0.95, meshScore: 0.95, mesh: mesh(opening), smile: 0.1, yaw: 0, pitch: 0, roll: 0,
});
const verdict = (r: Raster, opening: number) => measureFaces([raw(opening)], r, 1)[0].eyes;

describe('eyes covered', () => {
  it('shut eyes with lashes are closed; behind sunglasses or a hand they are "can\'t tell: eyes covered"', () => {
    const shut = face('shut');
    expect(verdict(shut, 0.08)).toEqual({ state: 'closed', left: 0.08, right: 0.08 });
    for (const cover of ['sunglasses', 'hand'] as const) {
      const covered = occlude(shut, [mesh(0.08)], cover);
      const flat = eyeCover(covered, mesh(0.08))!;
      expect(flat.every((e) => e.flat < COVER_FLAT), cover).toBe(true);
      expect(verdict(covered, 0.08), cover).toMatchObject({ state: 'unknown', reason: EYES_COVERED });
      // What explain and the loupe's "why" say about it.
      expect(describeFaces(true, measureFaces([raw(0.08)], covered, 1))).toMatch(/^1 face: eyes covered \(sunglasses or a hand\?\)/);
    }
  });

  it('open eyes stay open and are not called covered; one covered eye alone is not "eyes covered"', () => {
    const open = face('open');
    expect(verdict(open, 0.35)).toMatchObject({ state: 'open' });
    expect(eyesCovered(eyeCover(open, mesh(0.35)))).toBe(false);
    const m = mesh(0.35);
    // Sunglasses, then the photo's right half restored: one lens over one eye, the other eye seen.
    const oneLens = occlude(open, [m], 'sunglasses');
    for (let y = 0; y < H; y++) open.data.copy(oneLens.data, (y * W + W / 2) * 3, (y * W + W / 2) * 3, (y + 1) * W * 3);
    const [left, right] = eyeCover(oneLens, m)!;
    expect(left.flat).toBeLessThan(COVER_FLAT);
    expect(right.flat).toBeGreaterThan(COVER_FLAT);
    expect(eyesCovered([left, right])).toBe(false);
  });

  it('shut lids on skin with no lash line (a coarse-grained hand the flatness rule misses) are "can\'t tell", not closed', () => {
    // Skin with a coarse grain: under the painted hand each eye patch spreads more than COVER_FLAT
    // (so "eyes covered" does not fire), yet no thin dark line crosses the lids.
    const shut = face('shut', 90);
    expect(verdict(shut, 0.08)).toMatchObject({ state: 'closed' }); // the lash line is seen: a blink
    const seen = lashLines(shut, mesh(0.08))!;
    expect(seen.every((e) => e.lash.contrast >= LASH_CONTRAST && e.lash.depth >= LASH_DEPTH)).toBe(true);
    const covered = occlude(shut, [mesh(0.08)], 'hand');
    expect(eyeCover(covered, mesh(0.08))!.every((e) => e.flat >= COVER_FLAT)).toBe(true);
    expect(noLashLine(lashLines(covered, mesh(0.08)))).toBe(true);
    expect(verdict(covered, 0.08)).toMatchObject({ state: 'unknown', reason: NO_LASH_LINE });
    // Open eyes on the same skin: the rule never touches an open verdict.
    expect(verdict(face('open', 90), 0.35)).toMatchObject({ state: 'open' });
  });

  it('mirrored lenses with a horizon across the lids: an edge, not a lash line — "can\'t tell", not closed', () => {
    // Sky above, dark ground below, the edge near where the lids are: the lens is far from flat and
    // its dark half is darker than any lash line, so the flatness and darkest-tenth rules said 'closed'.
    const covered = occludeHeldOut(face('shut'), [mesh(0.08)], 'horizon');
    expect(eyesCovered(eyeCover(covered, mesh(0.08)))).toBe(false);
    expect(lashLines(covered, mesh(0.08))!.every((e) => e.lash.contrast < LASH_CONTRAST)).toBe(true);
    expect(verdict(covered, 0.08)).toMatchObject({ state: 'unknown', reason: NO_LASH_LINE });
    // A lid line the mesh puts across a thin dark line with skin on both sides still reads closed.
    expect(verdict(face('shut'), 0.08)).toMatchObject({ state: 'closed' });
  });

  it('fingers across shut eyes: lines through the bridge and below the "lash line" — "can\'t tell", not closed', () => {
    const shut = face('shut');
    expect(linesLikeFingers(lashLines(shut, mesh(0.08)), bridgeLine(shut, mesh(0.08)))).toBe(false); // a real lash line has skin below it and none across the nose
    const covered = occludeHeldOut(shut, [mesh(0.08)], 'palm');
    const m = lashLines(covered, mesh(0.08))!;
    expect(eyesCovered(eyeCover(covered, mesh(0.08))) || noLashLine(m)).toBe(false); // a gap between fingers passes for a lash line…
    expect(bridgeLine(covered, mesh(0.08))!.contrast).toBeGreaterThanOrEqual(FINGER_CONTRAST); // …but it runs on across the nose
    expect(m.every((e) => e.below.contrast >= FINGER_CONTRAST)).toBe(true); // and the next finger's gap lies just below
    expect(verdict(covered, 0.08)).toMatchObject({ state: 'unknown', reason: LINE_ACROSS });
  });

  it('no mesh, no measure', () => {
    expect(eyeCover(face('open'), [])).toBeNull();
    expect(eyesCovered(null)).toBe(false);
  });
});
