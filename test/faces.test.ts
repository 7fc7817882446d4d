// The faces analyzer's plumbing without ../shared (no face can be generated here, so these photos
// have none): the model files are checked by SHA-256 and a changed one is refused; frames without
// faces — generated patterns, greyscale, 16-bit TIFF, CMYK JPEG, tiny and huge images — give no
// face and no error; a library indexed before the analyzer existed gets it by the ledger backfill
// without re-embedding; @eyes-open is neutral (1) on frames without faces, @face-focus has no
// value there, and both combine with typed attributes. Real faces: test/faces-judgement.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexProgress } from '../common/types.ts';
import { openDatabase } from '../db/database.ts';
import { facesOf } from '../db/faces.ts';
import { FacesAnalyzer } from '../electron/services/indexing/analyzers/faces.ts';
import { ClipAnalyzer, TechnicalAnalyzer } from '../electron/services/indexing/analyzers/index.ts';
import { indexLibrary } from '../electron/services/indexing/indexer.ts';
import { Library } from '../electron/services/library.ts';
import { describeFaces, eyesOpenScore } from '../electron/services/signals/faces.ts';
import type { FaceRow } from '../db/faces.ts';
import { defaultFaceModelDirs, FACE_MODEL_FILES, FaceModelError, openFaceModel, readVerifiedModelFiles } from '../native-models/faces.ts';
import { decodeImage } from '../native-models/preprocess.ts';
import type { ClipModel } from '../native-models/types.ts';
import { imageBuffer, writePhotoSet } from './helpers/fixtures.ts';
import { closeTinyModel, countingModel, openTinyModel } from './helpers/tiny-model.ts';

let tmp: string;
let model: ClipModel;

beforeAll(async () => {
  ({ tmp, model } = await openTinyModel('cull-faces-', 7));
});

afterAll(() => closeTinyModel({ tmp, model }));

describe('the face model files', () => {
  it('are the pinned ones', () => {
    const files = readVerifiedModelFiles(defaultFaceModelDirs().models);
    expect([...files.keys()].sort()).toEqual(Object.keys(FACE_MODEL_FILES).sort());
  });

  it('a changed or missing file is refused, naming it', async () => {
    const { models } = defaultFaceModelDirs();
    const copy = path.join(tmp, 'face-models');
    fs.mkdirSync(copy);
    for (const name of Object.keys(FACE_MODEL_FILES)) fs.copyFileSync(path.join(models, name), path.join(copy, name));
    const bin = path.join(copy, 'facemesh.bin');
    const bytes = fs.readFileSync(bin);
    bytes[1000] ^= 0xff; // one bit pattern changed in the weights
    fs.writeFileSync(bin, bytes);
    const err = await openFaceModel({ models: copy }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceModelError);
    expect((err as Error).message).toMatch(/facemesh\.bin is damaged or was changed .*refusing to load it/);
    fs.rmSync(path.join(copy, 'iris.json'));
    fs.copyFileSync(path.join(models, 'facemesh.bin'), bin);
    await expect(openFaceModel({ models: copy })).rejects.toThrow(/iris\.json is missing/);
  });
});

describe('frames without faces', () => {
  const analyzer = new FacesAnalyzer();
  const facesIn = async (input: Buffer) => {
    const d = await decodeImage(input, { working: [analyzer.needs.working.longSide], thumbnail: false });
    const [faces] = await analyzer.analyze([{ path: 'x', width: d.width, height: d.height, working: d.working[0] }]);
    return { faces, working: d.working[0] };
  };

  it('find no face and fail on none: patterns, greyscale, 16-bit TIFF, CMYK JPEG, tiny and huge images', async () => {
    const pattern = await imageBuffer({ width: 900, height: 600, seed: 11 });
    const cases: [string, Buffer][] = [
      ['pattern', pattern],
      ['greyscale', await sharp(pattern).greyscale().jpeg().toBuffer()],
      ['16-bit TIFF', await sharp(pattern).toColourspace('rgb16').tiff().toBuffer()],
      ['CMYK JPEG', await sharp(pattern).toColourspace('cmyk').jpeg().toBuffer()],
      ['tiny', await sharp(pattern).resize(3, 2).png().toBuffer()],
      ['flat grey', await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer()],
      ['huge', await sharp({ create: { width: 12000, height: 8000, channels: 3, background: { r: 90, g: 140, b: 200 } } }).jpeg().toBuffer()],
    ];
    for (const [name, input] of cases) {
      const { faces, working } = await facesIn(input);
      expect(faces, name).toEqual([]);
      expect(Math.max(working.width, working.height), name).toBeLessThanOrEqual(1500);
    }
    expect(fs.existsSync(path.join(tmp, 'x'))).toBe(false);
  }, 120_000);

  it('"no faces found" is said in words, and @eyes-open stays neutral', () => {
    expect(describeFaces(true, [])).toBe('no faces found (neutral for @eyes-open)');
    expect(describeFaces(false, [])).toMatch(/not analysed yet/);
  });
});

describe('@eyes-open and its words', () => {
  const face = (state: FaceRow['eyes']['state'], reason?: string): FaceRow => ({
    index: 0, box: { x: 0, y: 0, w: 0.1, h: 0.1 }, confidence: 0.9, eyes: { state, left: null, right: null, ...(reason ? { reason } : {}) }, sharpness: 0.8, smile: null, px: 200,
  });
  it('the worst face decides; more blinks rank lower; faces it cannot tell are not counted as closed', () => {
    const five = [face('closed'), face('closed'), face('open'), face('open'), face('unknown', 'face too small to tell')];
    expect(describeFaces(true, five)).toBe('eyes closed: 2 of 5 faces; 1 face too small to tell; sharpest face in focus');
    expect(describeFaces(true, [face('open'), face('unknown', 'eyes half closed (squinting or laughing?)'), face('unknown', 'face turned away (profile)'), face('unknown', 'face turned away (profile)')]))
      .toBe('eyes open: 1 of 4 faces; 1 face: eyes half closed (squinting or laughing?); 2 faces turned away (profile); sharpest face in focus');
    const one = [face('closed'), face('open'), face('open'), face('open'), face('open')];
    expect(eyesOpenScore(one)).toBeGreaterThan(eyesOpenScore(five.slice(0, 4)));
    expect(eyesOpenScore(five.slice(0, 4))).toBeGreaterThan(eyesOpenScore([face('closed')]));
    expect(eyesOpenScore([face('unknown', 'face turned away (profile)')])).toBe(1);
    expect(eyesOpenScore([face('open')])).toBe(1);
    expect(eyesOpenScore([])).toBe(1);
  });
});

describe('a library indexed before the faces analyzer', () => {
  it('gets faces by the backfill, nothing embedded again; @eyes-open is neutral and combines with typed attributes', async () => {
    const root = path.join(tmp, 'photos');
    const files = await writePhotoSet(root, 5, { seed: 60, size: 500 });
    const dbPath = path.join(tmp, 'library.db');
    const thumbsDir = path.join(tmp, 'thumbs');
    const db = openDatabase(dbPath);
    const spy = countingModel(model);
    await indexLibrary({ db, model: spy.model, analyzers: [new ClipAnalyzer(spy.model), new TechnicalAnalyzer()], roots: [root], thumbsDir });
    expect(spy.embedded).toBe(files.length);

    const lib = await Library.open({ dbPath, model: model.info, threads: 1, thumbsDir });
    try {
      const id = (await lib.photos())[0].id;
      expect(await lib.photoFaces({ id })).toEqual({ analyzed: false, faces: [] });
      expect(await lib.score('@eyes-open')).toEqual([]); // not analysed: no value, ranks nowhere
      expect((await lib.explainAll(id))['eyes open (faces)']).toBeNaN();

      // The next index (the default analyzers) runs only the faces analyzer, with progress.
      spy.embedded = 0;
      const progress: IndexProgress[] = [];
      const summary = await indexLibrary({ db, model: spy.model, roots: [root], thumbsDir, onProgress: (p) => progress.push(p) });
      expect(summary).toMatchObject({ failed: 0, cancelled: false });
      expect(spy.embedded).toBe(0);
      const last = progress.at(-1)!.analyzers!.find((a) => a.label === 'Faces')!;
      expect(last).toMatchObject({ done: files.length, total: files.length });

      for (const p of await lib.photos()) expect(facesOf(db, p.id)).toEqual({ analyzed: true, faces: [] });
      expect(await lib.photoFaces({ id })).toEqual({ analyzed: true, faces: [] });
      const ranked = await lib.score('@eyes-open');
      expect(ranked.map((r) => r.score)).toEqual(files.map(() => 1)); // no faces: neutral
      expect(await lib.score('@face-focus')).toEqual([]); // no face to measure: no value
      const combined = await lib.score('@eyes-open + sharp vs blurry');
      expect(combined).toHaveLength(files.length);
      expect(Object.keys(combined[0].parts!)).toEqual(['eyes open (faces)', 'sharp vs blurry']);
      const explained = await lib.explainAll(id);
      expect(explained['eyes open (faces)']).toBe(1);
      expect(explained['face focus (faces)']).toBeNaN();
    } finally {
      await lib.close();
      db.close();
    }
  }, 180_000);
});
