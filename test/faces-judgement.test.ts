// The faces analyzer on real labelled photos (../shared/faces; skipped when absent): the floors
// below which a change is a regression, on the same figures docs/judgement.md publishes (computed
// by test/judgement/faces-judge.ts, as `npx tsx test/judgement/faces.ts` does). Also: a crowd of
// hundreds of faces (one of the labelled group photos tiled 4 × 4, in memory) is capped, not a stall.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { Library } from '../electron/services/library.ts';
import { describeFaces } from '../electron/services/signals/faces.ts';
import type { FaceRow } from '../db/faces.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { tempDir } from './helpers/fixtures.ts';
import { FacesAnalyzer } from '../electron/services/indexing/analyzers/faces.ts';
import { MAX_FACES } from '../native-models/faces.ts';
import { decodeImage } from '../native-models/preprocess.ts';
import { HELD_OUT_COVERS } from './judgement/occlude-heldout.ts';
import { coveredFaces, coveredFigures, FACES_DIR, faceFigures, faceFocusPairs, measureFacesDir, smileFigures } from './judgement/faces-judge.ts';

const present = fs.existsSync(path.join(FACES_DIR, 'SOURCES.tsv'));
if (!present) console.warn(`faces-judgement: ../shared/faces not found at ${FACES_DIR}: real-face figures not checked (skipped).`);

describe.skipIf(!present)('faces on ../shared/faces', () => {
  const tmp = tempDir('cull-faces-real-');
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a library of real photos: photoFaces, @eyes-open ranks the blink last, explain says why', async () => {
    // Copies in a temporary folder (outside the repository), indexed with a generated CLIP model.
    const root = path.join(tmp, 'shoot');
    fs.mkdirSync(root);
    const picks = { 'closed.jpg': 'closed/luna__closed_eyes.jpg', 'open.jpg': 'open/luna__girl_front_face.jpg', 'cast.jpg': 'open/luna__crowd1.jpg' };
    for (const [to, from] of Object.entries(picks)) fs.copyFileSync(path.join(FACES_DIR, from), path.join(root, to));
    await makeTestModel({ out: path.join(tmp, 'model'), size: 'tiny', seed: 9 });
    const lib = await Library.open({ dbPath: path.join(tmp, 'library.db'), modelDir: path.join(tmp, 'model'), threads: 1 });
    try {
      await lib.addRoot(root);
      expect(await lib.index(undefined)).toMatchObject({ failed: 0, indexed: 3 });
      const byName = new Map((await lib.photos()).map((p) => [path.basename(p.path), p.id]));
      const closed = await lib.photoFaces({ id: byName.get('closed.jpg')! });
      expect(closed.analyzed).toBe(true);
      expect(closed.faces.map((f) => f.eyes.state)).toEqual(['closed']);
      expect(closed.faces[0].smile).toBeGreaterThanOrEqual(0); // the smile estimate, stored and read back
      expect(closed.faces[0].smile).toBeLessThanOrEqual(1);
      const cast = await lib.photoFaces({ id: byName.get('cast.jpg')! });
      expect(cast.faces.length).toBeGreaterThanOrEqual(7);
      expect(cast.faces.filter((f) => f.eyes.state === 'closed')).toEqual([]);
      const ranked = await lib.score('@eyes-open');
      expect(ranked.at(-1)!.id).toBe(byName.get('closed.jpg'));
      expect(ranked.at(-1)!.score).toBe(0);
      expect(describeFaces(true, closed.faces as FaceRow[])).toMatch(/^eyes closed: 1 of 1 face\b/);
      const combined = await lib.score('@eyes-open + sharp vs blurry');
      expect(combined.at(-1)!.id).toBe(byName.get('closed.jpg')); // 0 for the blink outweighs any typed pair's spread here
    } finally {
      await lib.close();
    }
  }, 300_000);

  it('closed-eye precision, recall and the hard cases stay above their floors', async () => {
    const all = await measureFacesDir();
    const f = faceFigures(all);
    // Measured (docs/judgement.md): recall 31/42, precision 31/31, 0/45 open flagged, 1/9 hard
    // no-blink photos flagged. Floors leave room for a face or two, not for a broken rule.
    expect(f.closed.photos).toBeGreaterThanOrEqual(40);
    expect(f.recall).toBeGreaterThanOrEqual(0.65);
    expect(f.precision).toBeGreaterThanOrEqual(0.9);
    expect(f.open.flagged).toBeLessThanOrEqual(2);
    expect(f.hard.wronglyClosed.length).toBeLessThanOrEqual(2);
    expect(f.hard.cantTell).toBeGreaterThanOrEqual(4); // hard cases get "can't tell", not a guess
    expect(f.faces.found).toBeGreaterThanOrEqual(0.85 * f.faces.expected);
    for (const p of all) {
      for (const face of p.faces) {
        for (const v of [face.box.x, face.box.y, face.box.w, face.box.h, face.box.x + face.box.w, face.box.y + face.box.h]) {
          expect(v).toBeGreaterThanOrEqual(0), expect(v).toBeLessThanOrEqual(1);
        }
        if (face.eyes.state === 'unknown') expect(face.eyes.reason, p.file).toBeTruthy();
      }
      const sizes = p.faces.map((x) => x.px);
      expect(sizes, p.file).toEqual([...sizes].sort((a, b) => b - a)); // largest first
    }
    // Smile (the set is not labelled for smiles, only a few notes say "laughing" / "smiling"):
    // each of those photos has a smiling face, and on average they score above the other open/
    // photos (many of which smile too). Measured: 0.44–0.99, mean 0.79 against 0.53.
    const maxSmile = (p: (typeof all)[number]) => Math.max(0, ...p.faces.map((x) => x.smile ?? 0));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const laughing = all.filter((p) => /laugh|smil/i.test(p.note) && p.faces.length);
    const others = all.filter((p) => p.label === 'open' && !/laugh|smil/i.test(p.note) && p.faces.length);
    expect(laughing.length).toBeGreaterThanOrEqual(5);
    for (const p of laughing) expect(maxSmile(p), p.file).toBeGreaterThanOrEqual(0.35);
    expect(mean(laughing.map(maxSmile))).toBeGreaterThan(mean(others.map(maxSmile)) + 0.1);
    // The smile rule that was not adopted stays not adopted for a reason: at every threshold it loses blinks.
    for (const r of smileFigures(all).rules) expect(r.closedFlagged, `smile ≥ ${r.minSmile}`).toBeLessThan(f.closed.flagged);
  }, 600_000);

  it('covered eyes (sunglasses, a hand and twelve held-out covers painted over the open/ and closed/ faces) are "can\'t tell", not closed', async () => {
    const rounds = [1, 2, 3, 4] as const;
    const { byCover, plain } = coveredFigures(await coveredFaces(FACES_DIR, () => {}, ['sunglasses', 'hand', ...rounds.flatMap((k) => HELD_OUT_COVERS[k])]));
    const by = (cover: string) => byCover.find((c) => c.cover === cover)!;
    // Measured (docs/judgement.md, "Covered eyes"): covered faces still called closed with the
    // rules. Each round of held-out covers was written after the rules before it were fixed; round 4
    // after all of them. The previous rules (flatness and the darkest tenth) left 2, 2 | 14, 5, 14 |
    // 0, 19, 24 | … (docs/judgement.md); without any rule 16, 17 | 26, 13, 18 | 1, 32, 28 | 31, 5, 23 | 0, 7, 32.
    const ceiling: Record<string, number> = {
      sunglasses: 0, hand: 0,
      mirrored: 2, tinted: 0, fingers: 0,
      round: 0, horizon: 2, palm: 2,
      hands: 8, visor: 1, gradient: 9,
      sleeve: 0, 'clip-on': 0, 'side-lit': 3,
    };
    expect(byCover.map((c) => c.cover).sort()).toEqual(Object.keys(ceiling).sort());
    for (const c of byCover) {
      expect(c.faces, c.cover).toBeGreaterThanOrEqual(80);
      expect(c.closedAfter, c.cover).toBeLessThanOrEqual(ceiling[c.cover]);
    }
    // The mesh guesses lids behind the cover: without the rules many covered faces read closed.
    for (const c of ['sunglasses', 'hand', 'mirrored', 'horizon', 'palm', 'hands', 'side-lit']) expect(by(c).closedBefore, c).toBeGreaterThanOrEqual(10);
    expect(by('sunglasses').saidCovered).toBeGreaterThanOrEqual(55);
    expect(by('hand').saidCovered).toBeGreaterThanOrEqual(25);
    expect(by('horizon').saidNoLash + by('mirrored').saidNoLash).toBeGreaterThanOrEqual(30);
    expect(by('palm').saidLineAcross + by('hands').saidLineAcross + by('side-lit').saidLineAcross).toBeGreaterThanOrEqual(25);
    expect(plain.changed).toEqual([]);
  }, 900_000);

  it('@face-focus: a face scores higher than the same face blurred (σ 2 working pixels)', async () => {
    const r = await faceFocusPairs(FACES_DIR, 2);
    expect(r.pairs).toBeGreaterThanOrEqual(40); // measured: 45 / 45, none without a value
    expect(r.right / r.pairs).toBeGreaterThanOrEqual(0.95);
  }, 600_000);

  it('frames of one scene one after the other get their own eye states (open, closed, open)', async () => {
    const analyzer = new FacesAnalyzer();
    const file = (f: string) => path.join(FACES_DIR, f);
    const order = ['open/karth__awake.0619cbfa-a697-11ee-ac33-b206fbf79ce9.jpg', 'closed/karth__drowsy.1b8ce42c-a697-11ee-ac33-b206fbf79ce9.jpg', 'open/karth__awake.089053fe-a697-11ee-ac33-b206fbf79ce9.jpg'];
    const inputs = [];
    for (const f of order) {
      const d = await decodeImage(file(f), { working: [analyzer.needs.working.longSide], thumbnail: false });
      inputs.push({ path: f, width: d.width, height: d.height, working: d.working[0] });
    }
    const results = await analyzer.analyze(inputs); // one batch: the same webcam, the same person, within seconds
    expect(results.map((faces) => faces.map((f) => f.eyes.state))).toEqual([['open'], ['closed'], ['open']]);
  }, 120_000);

  it('hundreds of faces: at most MAX_FACES, the rest of the frame does not stall', async () => {
    const one = await sharp(path.join(FACES_DIR, 'hard', 'human__solvay1927.jpg')).resize(1500).toBuffer();
    const tile = await sharp(one).metadata();
    const [w, h] = [tile.width!, tile.height!];
    const crowd = await sharp({ create: { width: w * 4, height: h * 4, channels: 3, background: '#000' } })
      .composite([...Array(16).keys()].map((i) => ({ input: one, left: (i % 4) * w, top: Math.floor(i / 4) * h })))
      .jpeg()
      .toBuffer();
    const analyzer = new FacesAnalyzer();
    const d = await decodeImage(crowd, { working: [analyzer.needs.working.longSide], thumbnail: false });
    const [faces] = await analyzer.analyze([{ path: 'crowd', width: d.width, height: d.height, working: d.working[0] }]);
    expect(faces.length).toBeLessThanOrEqual(MAX_FACES);
    expect(faces.every((f) => f.eyes.state !== 'closed')).toBe(true); // ~450 faces of 20 px each: nothing to tell
  }, 120_000);
});
