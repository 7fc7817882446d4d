// Analyzers in the indexer: a second analyzer (mean luminance of a working raster, defined in
// test/helpers/luma-analyzer.ts) beside the CLIP embedder of a real tiny generated model.
// Adding it to a library indexed with CLIP alone, or raising its version, runs just it over the
// photos (decoded once more, nothing re-embedded); the backfill resumes after an abort or a
// SIGKILL without redoing stored photos; progress carries per-analyzer counts.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import { luminance } from '../electron/services/indexing/analyzers/analyzer.ts';
import { ClipAnalyzer, FacesAnalyzer } from '../electron/services/indexing/analyzers/index.ts';
import { indexLibrary, type IndexOptions } from '../electron/services/indexing/indexer.ts';
import type { IndexProgress } from '../common/types.ts';
import { openFaceModel } from '../native-models/faces.ts';
import { decodeImage, decodePhoto } from '../native-models/preprocess.ts';
import type { ClipModel } from '../native-models/types.ts';
import { REPO_DIR, writeImage, writePhotoSet } from './helpers/fixtures.ts';
import { LUMA_SIDE, LumaAnalyzer } from './helpers/luma-analyzer.ts';
import { closeTinyModel, countingModel, openTinyModel } from './helpers/tiny-model.ts';
import { killOnceStored } from './helpers/kill-child.ts';
import { ANNEX_K_DC_LUMA, dcLumaCounts } from './helpers/jpeg.ts';

let tmp: string;
let modelDir: string;
let model: ClipModel;

beforeAll(async () => ({ tmp, modelDir, model } = await openTinyModel('cull-analyzers-', 3)));
afterAll(() => closeTinyModel({ tmp, model }));

interface Library {
  db: DB;
  dbPath: string;
  thumbsDir: string;
  root: string;
  decoded: string[];
  embedded: number;
  progress: IndexProgress[];
  run(extra?: Partial<IndexOptions> & { luma?: LumaAnalyzer | null }): ReturnType<typeof indexLibrary>;
}

function library(name: string, root: string): Library {
  const dir = path.join(tmp, name);
  const dbPath = path.join(dir, 'library.db');
  const db = openDatabase(dbPath);
  const lib: Library = {
    db,
    dbPath,
    root,
    thumbsDir: path.join(dir, 'thumbs'),
    decoded: [],
    embedded: 0,
    progress: [],
    run: async ({ luma, ...extra } = {}) => {
      lib.decoded = [];
      lib.progress = [];
      const spy = countingModel(model);
      const analyzers = luma ? [new ClipAnalyzer(spy.model), luma] : undefined; // undefined: the default list
      try {
        return await indexLibrary({
          db,
          model: spy.model,
          analyzers,
          roots: [root],
          thumbsDir: lib.thumbsDir,
          onDecode: (p) => lib.decoded.push(p),
          onProgress: (p) => lib.progress.push(p),
          ...extra,
        });
      } finally {
        lib.embedded = spy.embedded;
      }
    },
  };
  return lib;
}

const count = (db: DB, sql: string, ...params: unknown[]) => db.prepare(sql).pluck().get(...params) as number;
const ledger = (db: DB, version = 1) => count(db, "SELECT COUNT(*) FROM analyses WHERE analyzer = 'test-luma' AND version >= ?", version);
const lumaRows = (db: DB) =>
  db.prepare('SELECT p.path, l.mean, l.width, l.height, l.version FROM test_luma l JOIN photos p ON p.id = l.photo_id ORDER BY p.path').all() as {
    path: string;
    mean: number;
    width: number;
    height: number;
    version: number;
  }[];
const photoState = (db: DB) => db.prepare('SELECT id, path, thumb, indexed_at, fingerprint FROM photos ORDER BY path').all();
const analyzerCounts = (p: IndexProgress) => Object.fromEntries((p.analyzers ?? []).map((a) => [a.id, [a.done, a.total]]));

describe('adding an analyzer to a library indexed with CLIP alone', () => {
  let lib: Library;
  let files: string[];
  const clipId = () => `clip:${model.info.id}`;

  beforeAll(async () => {
    const root = path.join(tmp, 'photos');
    files = await writePhotoSet(root, 18, { seed: 100 });
    files.push(await writeImage(path.join(root, 'wide.jpg'), { width: 1200, height: 400, seed: 101 }));
    files.sort();
    lib = library('lib', root);
    const first = await lib.run();
    expect(first).toMatchObject({ indexed: files.length, failed: 0 });
    expect(lib.embedded).toBe(files.length);
  });

  it('runs only the new analyzer on every photo: one decode each, nothing embedded again, rows untouched', async () => {
    const before = photoState(lib.db);
    const luma = new LumaAnalyzer(1);
    const summary = await lib.run({ luma });
    expect(summary).toMatchObject({ indexed: files.length, skipped: 0, failed: 0, cancelled: false });
    expect([...lib.decoded].sort()).toEqual(files);
    expect(lib.embedded).toBe(0);
    expect(luma.calls.flat().sort()).toEqual(files);
    expect(luma.calls.every((c) => c.length <= luma.batchSize)).toBe(true);
    expect(photoState(lib.db)).toEqual(before); // a backfill leaves the rows (and indexed_at) as they were

    const stored = lumaRows(lib.db);
    expect(stored.map((r) => r.path)).toEqual(files);
    expect(ledger(lib.db)).toBe(files.length);
    // The working raster: long side LUMA_SIDE (never enlarged), aspect kept, real pixel values.
    for (const r of stored) expect(Math.max(r.width, r.height)).toBe(LUMA_SIDE);
    const wide = stored.find((r) => r.path.endsWith('wide.jpg'))!;
    expect([wide.width, wide.height]).toEqual([96, 32]);
    const data = await sharp(path.join(lib.root, 'wide.jpg')).resize(96, 32, { fit: 'fill' }).raw().toBuffer();
    const direct = luminance({ data, width: 96, height: 32, channels: 3 });
    expect(wide.mean).toBeCloseTo(direct.reduce((a, b) => a + b, 0) / direct.length, -0.5); // within ~1.5 levels

    // Progress: the embedder had nothing to do, the new analyzer every photo.
    const last = lib.progress.at(-1)!;
    expect(last.phase).toBe('done');
    expect(last.analyzers).toEqual([
      { id: clipId(), label: 'Embedding', done: 0, total: 0 },
      { id: 'test-luma', label: 'Mean luminance', done: files.length, total: files.length },
    ]);

    // And now everything is done: no decode at all.
    const again = await lib.run({ luma: new LumaAnalyzer(1) });
    expect(again).toMatchObject({ indexed: 0, skipped: files.length });
    expect(lib.decoded).toEqual([]);
  });

  it('raising its version reruns only it', async () => {
    const luma = new LumaAnalyzer(2);
    const summary = await lib.run({ luma });
    expect(summary).toMatchObject({ indexed: files.length, skipped: 0, failed: 0 });
    expect(lib.decoded).toHaveLength(files.length);
    expect(lib.embedded).toBe(0);
    expect(luma.calls.flat()).toHaveLength(files.length);
    expect(lumaRows(lib.db).every((r) => r.version === 2)).toBe(true);
    expect(ledger(lib.db, 2)).toBe(files.length);
    expect(analyzerCounts(lib.progress.at(-1)!)).toEqual({ [clipId()]: [0, 0], 'test-luma': [files.length, files.length] });

    // An older build on the same library does not redo (nor undo) the newer results.
    const older = new LumaAnalyzer(1);
    await lib.run({ luma: older });
    expect(older.calls).toEqual([]);
    expect(lib.decoded).toEqual([]);
  });

  it('a changed photo gets every analyzer, a new model only the embedder', async () => {
    const file = files[3];
    await writeImage(file, { width: 300, height: 200, seed: 555 });
    const luma = new LumaAnalyzer(2);
    const summary = await lib.run({ luma });
    expect(summary).toMatchObject({ indexed: 1, skipped: files.length - 1 });
    expect(lib.decoded).toEqual([file]);
    expect(lib.embedded).toBe(1);
    expect(luma.calls.flat()).toEqual([file]);
    expect(analyzerCounts(lib.progress.at(-1)!)).toEqual({ [clipId()]: [1, 1], 'test-luma': [1, 1] });

    // Another model id: its embeddings are missing everywhere, the luminance is not.
    const other: ClipModel = { ...model, info: { ...model.info, id: model.info.id + '-other' }, embedImages: (p, n) => model.embedImages(p, n) };
    const luma2 = new LumaAnalyzer(2);
    const switched = await indexLibrary({
      db: lib.db,
      model: other,
      analyzers: [new ClipAnalyzer(other), luma2],
      roots: [lib.root],
      thumbsDir: lib.thumbsDir,
    });
    expect(switched).toMatchObject({ indexed: files.length, failed: 0 });
    expect(luma2.calls).toEqual([]);
    expect(count(lib.db, 'SELECT COUNT(*) FROM embeddings WHERE model_id = ?', other.info.id)).toBe(files.length);
  });
});

describe('progress', () => {
  it('carries per-analyzer counts on a fresh library, totals known from the start', async () => {
    const root = path.join(tmp, 'progress-photos');
    const files = await writePhotoSet(root, 20, { seed: 300 });
    const lib = library('progress-lib', root);
    await lib.run({ luma: new LumaAnalyzer(1), batchSize: 4 });
    const indexing = lib.progress.filter((p) => p.phase !== 'walking');
    const ids = [`clip:${model.info.id}`, 'test-luma'];
    for (const p of indexing) {
      expect(p.analyzers!.map((a) => a.id)).toEqual(ids);
      for (const a of p.analyzers!) expect(a.total).toBe(files.length);
    }
    expect(analyzerCounts(indexing[0])).toEqual({ [ids[0]]: [0, files.length], [ids[1]]: [0, files.length] });
    expect(analyzerCounts(indexing.at(-1)!)).toEqual({ [ids[0]]: [files.length, files.length], [ids[1]]: [files.length, files.length] });
    // Snapshots, not one shared object.
    expect(indexing[0].analyzers).not.toBe(indexing.at(-1)!.analyzers);
  });
});

describe('opening what an analyzer needs (prepare)', () => {
  it('starts before the first decode when the run has photos for the analyzer; not on a run with none', async () => {
    const root = path.join(tmp, 'prepare-photos');
    await writePhotoSet(root, 6, { seed: 400 });
    const lib = library('prepare-lib', root);
    const events: string[] = [];
    const luma = () => new LumaAnalyzer(1, { onPrepare: () => events.push('prepare'), onAnalyze: () => events.push('analyze') });
    await lib.run({ luma: luma(), onDecode: () => events.push('decode') });
    expect(events[0]).toBe('prepare');
    expect(events.filter((e) => e === 'prepare')).toHaveLength(1);
    expect(events).toContain('analyze');
    events.length = 0;
    await lib.run({ luma: luma(), onDecode: () => events.push('decode') }); // every photo done: nothing to open
    expect(events).toEqual([]);
  });

  it('the faces analyzer opens its model once, prepared or not; a failed open is reported again by analyze', async () => {
    let opens = 0;
    const faces = new FacesAnalyzer(undefined, () => (opens++, openFaceModel()));
    await Promise.all([faces.prepare(), faces.prepare()]);
    const working = (await decodeImage(await sharp({ create: { width: 64, height: 48, channels: 3, background: '#888' } }).png().toBuffer(), { working: [64] })).working[0];
    expect(await faces.analyze([{ path: 'grey.png', width: 64, height: 48, working }])).toEqual([[]]);
    expect(opens).toBe(1);
    const missing = { models: path.join(tmp, 'no-face-models') };
    let tries = 0;
    const broken = new FacesAnalyzer(undefined, () => (tries++, openFaceModel(missing)));
    await expect(broken.prepare()).rejects.toThrow(/is missing/);
    await expect(broken.analyze([{ path: 'grey.png', width: 64, height: 48, working }])).rejects.toThrow(/is missing/);
    expect(tries).toBe(2);
  });
});

describe('resuming a backfill', () => {
  it('after an abort: the next run does only the photos not stored', async () => {
    const root = path.join(tmp, 'abort-photos');
    const files = await writePhotoSet(root, 30, { seed: 400 });
    const lib = library('abort-lib', root);
    await lib.run();
    const abort = new AbortController();
    // Abort during the first stored batch (8 photos, two calls of 4): that batch is stored, nothing after it.
    const first = new LumaAnalyzer(1, { onAnalyze: () => abort.abort() });
    const stopped = await lib.run({ luma: first, signal: abort.signal });
    expect(stopped.cancelled).toBe(true);
    expect(ledger(lib.db)).toBe(8);
    expect(lumaRows(lib.db)).toHaveLength(8);
    const done = new Set(lumaRows(lib.db).map((r) => r.path));

    const luma = new LumaAnalyzer(1);
    const resumed = await lib.run({ luma });
    expect(resumed).toMatchObject({ cancelled: false, indexed: files.length - 8, skipped: 8, failed: 0 });
    expect(lib.decoded).toHaveLength(files.length - 8);
    expect(lib.decoded.some((p) => done.has(p))).toBe(false);
    expect(lib.embedded).toBe(0);
    expect(ledger(lib.db)).toBe(files.length);
  });

  it('after SIGKILL: the database is intact and the next run finishes each photo once', async () => {
    const root = path.join(tmp, 'kill-photos');
    const files = await writePhotoSet(root, 48, { seed: 500 });
    const lib = library('kill-lib', root);
    await lib.run(); // CLIP only
    lib.db.close();

    const script = path.join(tmp, 'backfill-child.mts');
    const mod = (p: string) => JSON.stringify(path.join(REPO_DIR, p));
    fs.writeFileSync(
      script,
      `import { openDatabase } from ${mod('db/database.ts')};
import { loadModelFolder } from ${mod('native-models/folder.ts')};
import { openClipModel } from ${mod('native-models/runtime.ts')};
import { indexLibrary } from ${mod('electron/services/indexing/indexer.ts')};
import { ClipAnalyzer } from ${mod('electron/services/indexing/analyzers/index.ts')};
import { LumaAnalyzer } from ${mod('test/helpers/luma-analyzer.ts')};
const [dbPath, modelDir, thumbsDir, root] = process.argv.slice(2);
const model = await openClipModel(loadModelFolder(modelDir), { threads: 1 });
const db = openDatabase(dbPath);
// Each analyzer call waits 150 ms, so there is a window between batches to kill it in.
const analyzers = [new ClipAnalyzer(model), new LumaAnalyzer(1, { delayMs: 150 })];
await indexLibrary({ db, model, analyzers, roots: [root], thumbsDir, batchSize: 8 });
db.close();
await model.dispose();
`,
    );
    const { stored, stderr } = await killOnceStored(script, [lib.dbPath, modelDir, lib.thumbsDir, root], lib.dbPath, (probe) => count(probe, "SELECT COUNT(*) FROM analyses WHERE analyzer = 'test-luma'"), { atLeast: 8, everyMs: 25 });
    expect(stderr).toBe('');
    expect(stored).toBeGreaterThanOrEqual(8);

    const db = openDatabase(lib.dbPath);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const before = ledger(db);
    expect(before).toBeLessThan(files.length); // killed mid-backfill, not after it
    expect(before % 8).toBe(0); // whole batches only
    expect(count(db, 'SELECT COUNT(*) FROM test_luma')).toBe(before); // results and ledger in one transaction
    const done = new Set((db.prepare("SELECT p.path FROM analyses a JOIN photos p ON p.id = a.photo_id WHERE a.analyzer = 'test-luma'").pluck().all() as string[]));

    const decoded: string[] = [];
    const spy = countingModel(model);
    const luma = new LumaAnalyzer(1);
    const summary = await indexLibrary({ db, model: spy.model, analyzers: [new ClipAnalyzer(spy.model), luma], roots: [root], thumbsDir: lib.thumbsDir, onDecode: (p) => decoded.push(p) });
    expect(summary).toMatchObject({ indexed: files.length - before, skipped: before, failed: 0 });
    expect(decoded.some((p) => done.has(p))).toBe(false);
    expect(luma.calls.flat()).toHaveLength(files.length - before);
    expect(spy.embedded).toBe(0);
    expect(ledger(db)).toBe(files.length);
    expect(count(db, 'SELECT COUNT(*) FROM embeddings')).toBe(files.length);
    db.close();
  });
});

describe('decodeImage working rasters', () => {
  const spec = () => model.info.preprocess;

  it('come from the same decode: oriented, long side as asked, never enlarged, CLIP pixels and thumbnail as before', async () => {
    // 1600 × 1000 stored, EXIF orientation 6: 1000 × 1600 upright.
    const file = await writeImage(path.join(tmp, 'decode/rotated.jpg'), { width: 1600, height: 1000, seed: 7, exif: { orientation: 6 } });
    const plain = await decodePhoto(file, spec());
    expect(plain.working).toEqual([]);
    const small = await decodePhoto(file, spec(), { working: [256] }); // smaller than the intermediate
    expect(small.pixels).toEqual(plain.pixels);
    expect(small.thumbnail.equals(plain.thumbnail)).toBe(true);
    expect([small.working[0].width, small.working[0].height]).toEqual([160, 256]);

    const r = await decodeImage(file, { clip: spec(), working: [1200, 4000, 300] });
    expect(r.working.map((w) => [w.width, w.height])).toEqual([[750, 1200], [1000, 1600], [188, 300]]);
    for (const w of r.working) expect(w.data.length).toBe(w.width * w.height * 3);
    // A larger working raster adds one reduction before the intermediate: CLIP pixels stay close.
    let sum = 0;
    for (let i = 0; i < plain.pixels.length; i++) sum += Math.abs(r.pixels![i] - plain.pixels[i]);
    expect(sum / plain.pixels.length).toBeLessThan(0.02);
    // Upright: the stored image's top-left corner is at the top-right once rotated 90° clockwise.
    const full = r.working[1];
    const stored = await sharp(file).raw().toBuffer();
    const at = (b: Buffer, w: number, x: number, y: number) => [...b.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
    const corner = at(stored, 1600, 2, 2);
    const rotated = at(full.data, full.width, full.width - 3, 2);
    expect(rotated.every((v, i) => Math.abs(v - corner[i]) < 40)).toBe(true);
  });

  it('the thumbnail is encoded with the standard Huffman tables (half the encoding CPU; only the entropy coding differs)', async () => {
    const file = await writeImage(path.join(tmp, 'decode/thumb.jpg'), { width: 1600, height: 1200, seed: 9 });
    const { thumbnail } = await decodeImage(file, { clip: spec() });
    expect(dcLumaCounts(thumbnail!)).toEqual(ANNEX_K_DC_LUMA);
    const optimised = await sharp(thumbnail!).jpeg({ quality: 82 }).toBuffer(); // sharp's default: tables optimised for the image
    expect(dcLumaCounts(optimised)).not.toEqual(ANNEX_K_DC_LUMA);
  });

  it('skips what is not asked: no CLIP pixels, no thumbnail', async () => {
    const file = await writeImage(path.join(tmp, 'decode/plain.jpg'), { width: 400, height: 300, seed: 8 });
    const r = await decodeImage(file, { thumbnail: false, working: [100] });
    expect(r).toMatchObject({ width: 400, height: 300, pixels: null, thumbnail: null });
    expect([r.working[0].width, r.working[0].height]).toEqual([100, 75]);
  });
});
