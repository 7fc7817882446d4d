import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import { addRoot, getPhoto, listPhotos, listRoots, photoQueries, removeRoot, type PhotoRow } from '../db/photos.ts';
import { decodeF16 } from '../db/vectors.ts';
import { indexLibrary, type IndexOptions } from '../electron/services/indexing/indexer.ts';
import { cameraName, parseExifDate, readMetadata } from '../electron/services/indexing/metadata.ts';
import type { IndexProgress } from '../common/types.ts';
import type { ClipModel } from '../native-models/types.ts';
import { imageBuffer, tiffRaw, writeImage, writeIndexScript, writePhotoSet } from './helpers/fixtures.ts';
import { closeTinyModel, hookedModel, openTinyModel } from './helpers/tiny-model.ts';
import { killOnceStored } from './helpers/kill-child.ts';

let tmp: string;
let modelDir: string;
let model: ClipModel;

beforeAll(async () => ({ tmp, modelDir, model } = await openTinyModel('cull-indexer-', 3)));
afterAll(() => closeTinyModel({ tmp, model }));

interface Library {
  db: DB;
  thumbsDir: string;
  root: string;
  decoded: string[];
  run(extra?: Partial<IndexOptions>): ReturnType<typeof indexLibrary>;
}

function library(name: string, root: string): Library {
  const dir = path.join(tmp, name);
  const db = openDatabase(path.join(dir, 'library.db'));
  const lib: Library = {
    db,
    root,
    thumbsDir: path.join(dir, 'thumbs'),
    decoded: [],
    run: (extra = {}) => {
      lib.decoded = [];
      return indexLibrary({ db, model, roots: [root], thumbsDir: lib.thumbsDir, onDecode: (p) => lib.decoded.push(p), ...extra });
    },
  };
  return lib;
}

const rows = (db: DB): PhotoRow[] => db.prepare('SELECT * FROM photos ORDER BY path').all() as PhotoRow[];
const row = (db: DB, p: string) => db.prepare('SELECT * FROM photos WHERE path = ?').get(p) as PhotoRow | undefined;
const embeddingCount = (db: DB) => (db.prepare('SELECT COUNT(*) FROM embeddings').pluck().get() as number);
const embedding = (db: DB, id: number) =>
  decodeF16(db.prepare('SELECT vec FROM embeddings WHERE photo_id = ? AND model_id = ?').pluck().get(id, model.info.id) as Buffer);

describe('indexLibrary', () => {
  let lib: Library;
  let root: string;
  let count: number;

  beforeAll(async () => {
    root = path.join(tmp, 'photos');
    const set = await writePhotoSet(root, 20);
    // Photos whose metadata and geometry the first run must get right.
    await writeImage(path.join(root, 'special/rotated.jpg'), {
      width: 300,
      height: 200,
      seed: 50,
      exif: { make: 'Canon', model: 'Canon EOS R5', lens: 'RF24-105mm F4 L IS USM', dateTimeOriginal: '2021:06:15 14:30:05', orientation: 6 },
    });
    await writeImage(path.join(root, 'special/digitized.jpg'), { seed: 51, exif: { make: 'FUJIFILM', model: 'X-T4', createDate: '2020:01:02 03:04:05' } });
    await writeImage(path.join(root, 'special/big.jpg'), { width: 1600, height: 1000, seed: 52 });
    const large = await imageBuffer({ width: 640, height: 480, seed: 53 });
    const small = await imageBuffer({ width: 160, height: 120, seed: 54 });
    fs.writeFileSync(path.join(root, 'special/camera.NEF'), tiffRaw({ small, large, orientation: 6 }));
    count = set.length + 4;
    lib = library('lib', root);
  });

  it('indexes every photo with metadata, thumbnail and a unit-norm embedding', async () => {
    const progress: IndexProgress[] = [];
    const summary = await lib.run({ onProgress: (p) => progress.push(p) });
    expect(summary).toMatchObject({ indexed: count, skipped: 0, failed: 0, missing: 0, renamed: 0, errors: [], cancelled: false });
    expect(lib.decoded).toHaveLength(count);

    const all = rows(lib.db);
    expect(all).toHaveLength(count);
    expect(embeddingCount(lib.db)).toBe(count);
    for (const r of all) {
      expect(r.status).toBe('ok');
      expect(r.error).toBeNull();
      expect(r.fingerprint).toMatch(/^[0-9a-f]{64}$/);
      expect(r.thumb).toBe(`${r.fingerprint}.jpg`);
      const thumb = await sharp(path.join(lib.thumbsDir, r.thumb!)).metadata();
      expect(Math.max(thumb.width!, thumb.height!)).toBeLessThanOrEqual(512);
      const vec = embedding(lib.db, r.id);
      expect(vec).toHaveLength(model.info.dim);
      expect(Math.hypot(...vec)).toBeCloseTo(1, 2);
    }
    expect(fs.readdirSync(lib.thumbsDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const p = (rel: string) => row(lib.db, path.join(root, rel))!;
    expect(p('special/rotated.jpg')).toMatchObject({
      width: 200, // oriented: the EXIF says rotate 90°
      height: 300,
      taken_at: new Date(2021, 5, 15, 14, 30, 5).getTime(),
      camera: 'Canon EOS R5',
      lens: 'RF24-105mm F4 L IS USM',
      folder: path.join(root, 'special'),
    });
    expect(p('special/digitized.jpg')).toMatchObject({ taken_at: new Date(2020, 0, 2, 3, 4, 5).getTime(), camera: 'FUJIFILM X-T4', lens: null });
    expect(p('special/big.jpg')).toMatchObject({ width: 1600, height: 1000, taken_at: null, camera: null });
    const bigThumb = await sharp(path.join(lib.thumbsDir, p('special/big.jpg').thumb!)).metadata();
    expect([bigThumb.width, bigThumb.height]).toEqual([512, 320]);
    // RAW: the large embedded preview, rotated as the RAW says, camera from the RAW's own EXIF.
    expect(p('special/camera.NEF')).toMatchObject({ width: 480, height: 640, camera: 'NIKON D850' });
    expect(p('p000.jpg')).toMatchObject({ taken_at: new Date(2023, 4, 1, 10).getTime(), camera: 'Canon EOS R5', width: 160, height: 120 });

    const last = progress.at(-1)!;
    expect(last).toMatchObject({ phase: 'done', total: count, done: count, indexed: count, failed: 0 });
    expect(progress.some((e) => e.phase === 'walking')).toBe(true);
  });

  it('skips everything on a second run without decoding', async () => {
    const before = rows(lib.db).map((r) => [r.id, r.indexed_at]);
    const summary = await lib.run();
    expect(summary).toMatchObject({ indexed: 0, skipped: count, failed: 0, renamed: 0 });
    expect(lib.decoded).toEqual([]);
    expect(rows(lib.db).map((r) => [r.id, r.indexed_at])).toEqual(before);
  });

  it('re-embeds only a modified file', async () => {
    const file = path.join(root, 'p001.jpg');
    const old = row(lib.db, file)!;
    const oldVec = embedding(lib.db, old.id);
    await writeImage(file, { width: 200, height: 100, seed: 999 });
    const summary = await lib.run();
    expect(summary).toMatchObject({ indexed: 1, skipped: count - 1 });
    expect(lib.decoded).toEqual([file]);
    const now = row(lib.db, file)!;
    expect(now.id).toBe(old.id);
    expect(now.fingerprint).not.toBe(old.fingerprint);
    expect([now.width, now.height, now.camera]).toEqual([200, 100, null]);
    expect(Array.from(embedding(lib.db, now.id))).not.toEqual(Array.from(oldVec));
    expect(embeddingCount(lib.db)).toBe(count);
  });

  it('recognises a renamed and moved photo: same row, rating kept, no decode', async () => {
    const from = path.join(root, 'p002.jpg');
    const to = path.join(root, 'moved/renamed.jpg');
    const old = row(lib.db, from)!;
    lib.db.prepare("UPDATE photos SET rating = 4, flag = 1, label = 'green' WHERE id = ?").run(old.id);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.renameSync(from, to);
    const summary = await lib.run();
    expect(summary).toMatchObject({ renamed: 1, indexed: 0, missing: 0, failed: 0 });
    expect(lib.decoded).toEqual([]);
    expect(row(lib.db, from)).toBeUndefined();
    expect(row(lib.db, to)).toMatchObject({ id: old.id, rating: 4, flag: 1, label: 'green', status: 'ok', folder: path.dirname(to), fingerprint: old.fingerprint });
    expect(rows(lib.db)).toHaveLength(count);
  });

  it('marks a deleted photo missing (rating kept) and restores it when it reappears', async () => {
    const file = path.join(root, 'p004.webp');
    const old = row(lib.db, file)!;
    lib.db.prepare('UPDATE photos SET rating = 5 WHERE id = ?').run(old.id);
    const content = fs.readFileSync(file);
    const { mtime } = fs.statSync(file);
    fs.rmSync(file);

    const gone = await lib.run();
    expect(gone).toMatchObject({ missing: 1, indexed: 0, skipped: count - 1 });
    expect(row(lib.db, file)).toMatchObject({ id: old.id, status: 'missing', rating: 5 });
    expect(listPhotos(lib.db).map((p) => p.id)).not.toContain(old.id);
    expect(listPhotos(lib.db, { status: 'missing' }).map((p) => p.id)).toEqual([old.id]);

    fs.writeFileSync(file, content);
    fs.utimesSync(file, mtime, mtime);
    const back = await lib.run();
    expect(back).toMatchObject({ missing: 0, indexed: 0, skipped: count });
    expect(lib.decoded).toEqual([]);
    expect(row(lib.db, file)).toMatchObject({ id: old.id, status: 'ok', rating: 5 });
  });

  it('maps rows to PhotoRecords and filters them', () => {
    const file = path.join(root, 'special/rotated.jpg');
    const id = row(lib.db, file)!.id;
    const rec = getPhoto(lib.db, id)!;
    expect(rec).toMatchObject({ id, path: file, name: 'rotated.jpg', folder: path.join(root, 'special'), width: 200, height: 300, status: 'ok', rating: 0, flag: 0, label: null });
    expect(getPhoto(lib.db, 999_999)).toBeNull();

    expect(listPhotos(lib.db)).toHaveLength(count);
    const special = listPhotos(lib.db, { folder: path.join(root, 'special') });
    expect(special.map((p) => p.name).sort()).toEqual(['big.jpg', 'camera.NEF', 'digitized.jpg', 'rotated.jpg']);
    expect(listPhotos(lib.db, { folder: path.join(root, 'spec') })).toEqual([]); // a prefix is not a folder
    expect(listPhotos(lib.db, { minRating: 4 }).map((p) => p.name).sort()).toEqual(['p004.webp', 'renamed.jpg']);
    expect(listPhotos(lib.db, { flag: 1 }).map((p) => p.name)).toEqual(['renamed.jpg']);
    expect(listPhotos(lib.db, { label: 'green' }).map((p) => p.name)).toEqual(['renamed.jpg']);
    expect(listPhotos(lib.db, { label: 'none' })).toHaveLength(count - 1);
    const june2021 = listPhotos(lib.db, { takenAfter: new Date(2021, 5, 1).getTime(), takenBefore: new Date(2021, 6, 1).getTime() });
    expect(june2021.map((p) => p.name)).toEqual(['rotated.jpg']);
    // Capture order: 2020 before 2021 before 2023.
    const dated = listPhotos(lib.db).filter((p) => p.takenAt !== null);
    expect(dated.map((p) => p.takenAt)).toEqual([...dated.map((p) => p.takenAt)].sort((a, b) => a! - b!));
    expect(photoQueries(lib.db).countByStatus()).toEqual({ ok: count, missing: 0, failed: 0 });
  });

  it('keeps the root list', () => {
    expect(listRoots(lib.db)).toEqual([]);
    expect(addRoot(lib.db, root + '/')).toEqual([root]);
    expect(addRoot(lib.db, root)).toEqual([root]);
    expect(addRoot(lib.db, path.join(tmp, 'other'))).toEqual([root, path.join(tmp, 'other')].sort());
    expect(removeRoot(lib.db, path.join(tmp, 'other'))).toEqual([root]);
  });
});

describe('cancelling and resuming', () => {
  it('stops after the current batch on abort and resumes without duplicates', async () => {
    const root = path.join(tmp, 'resume');
    const files = await writePhotoSet(root, 30, { seed: 3000 });
    const lib = library('resume-lib', root);
    const abort = new AbortController();
    // Abort while the first batch is being embedded: that batch is still stored, nothing after it.
    const aborting = hookedModel(model, { after: () => abort.abort() });
    const first = await lib.run({ batchSize: 8, signal: abort.signal, model: aborting });
    expect(first.cancelled).toBe(true);
    expect(first.indexed).toBe(8);
    expect(embeddingCount(lib.db)).toBe(8);
    // Photos decoded while that batch was embedded are listed already (row and thumbnail, no
    // embedding): the window shows them "not scored yet". At most what the pipeline holds: the
    // batch being embedded, one more batch and the decodes in flight.
    const listed = rows(lib.db);
    expect(listed.length).toBeGreaterThan(8);
    expect(listed.length).toBeLessThanOrEqual(8 + 8 + 3);
    for (const r of listed) expect(r.status === 'ok' && fs.existsSync(path.join(lib.thumbsDir, r.thumb!))).toBe(true);

    const second = await lib.run({ batchSize: 8 });
    expect(second).toMatchObject({ cancelled: false, indexed: files.length - 8, skipped: 8, failed: 0 });
    expect(lib.decoded).toHaveLength(files.length - 8);
    expect(rows(lib.db).map((r) => r.path)).toEqual([...files].sort());
    expect(embeddingCount(lib.db)).toBe(files.length);
  });

  it('survives SIGKILL mid-run: the database is intact and the next run completes each photo once', async () => {
    const root = path.join(tmp, 'kill');
    const files = await writePhotoSet(root, 60, { seed: 5000 });
    const dir = path.join(tmp, 'kill-lib');
    fs.mkdirSync(dir);
    const dbPath = path.join(dir, 'library.db');
    const thumbsDir = path.join(dir, 'thumbs');
    const script = writeIndexScript(dir);
    // Each model call waits 300 ms in the child, so there is a window between batches to kill it in.
    const { stored, stderr } = await killOnceStored(script, [dbPath, modelDir, thumbsDir, '300', root], dbPath, (probe) => probe.prepare('SELECT COUNT(*) FROM embeddings').pluck().get() as number, { atLeast: 8, everyMs: 50 });
    expect(stderr).toBe('');
    expect(stored).toBeGreaterThanOrEqual(8);
    expect(stored).toBeLessThan(files.length); // killed mid-run, not after it finished

    const db = openDatabase(dbPath);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const before = embeddingCount(db);
    expect(before % 8).toBe(0); // whole batches of embeddings only
    // Listed photos (row and whole thumbnail, embedding to come) may be ahead of the embedded ones.
    expect(rows(db).length).toBeGreaterThanOrEqual(before);
    for (const r of rows(db)) expect(fs.existsSync(path.join(thumbsDir, r.thumb!))).toBe(true);
    const summary = await indexLibrary({ db, model, roots: [root], thumbsDir, batchSize: 8 });
    expect(summary).toMatchObject({ indexed: files.length - before, skipped: before, failed: 0 });
    expect(rows(db).map((r) => r.path)).toEqual([...files].sort());
    expect(embeddingCount(db)).toBe(files.length);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});

describe('model failures', () => {
  it('rejects the run when the model fails, keeping stored batches and marking no photo failed', async () => {
    const root = path.join(tmp, 'model-error');
    await writePhotoSet(root, 20, { seed: 7000 });
    const lib = library('model-error-lib', root);
    let calls = 0;
    const flaky = hookedModel(model, {
      before: () => {
        if (++calls === 2) throw new Error('onnxruntime exploded');
      },
    });
    await expect(lib.run({ model: flaky, batchSize: 8 })).rejects.toThrow('onnxruntime exploded');
    expect(embeddingCount(lib.db)).toBe(8);
    // The photos decoded by then stay listed (not failed): the next run embeds them.
    expect(rows(lib.db).length).toBeGreaterThan(8);
    expect(rows(lib.db).every((r) => r.status === 'ok')).toBe(true);
    const resumed = await lib.run({ batchSize: 8 });
    expect(resumed).toMatchObject({ indexed: 12, skipped: 8, failed: 0 });
  });
});

describe('metadata', () => {
  it('dedupes camera names', () => {
    expect(cameraName('Canon', 'Canon EOS R5')).toBe('Canon EOS R5');
    expect(cameraName('NIKON CORPORATION', 'NIKON D850')).toBe('NIKON D850');
    expect(cameraName('FUJIFILM', 'X-T4')).toBe('FUJIFILM X-T4');
    expect(cameraName('  SONY\0', 'ILCE-7M3 ')).toBe('SONY ILCE-7M3');
    expect(cameraName(undefined, 'Pixel 7')).toBe('Pixel 7');
    expect(cameraName('Apple', '')).toBe('Apple');
    expect(cameraName(null, 42)).toBeNull();
  });

  it('reads EXIF dates as local time and rejects blanks', () => {
    expect(parseExifDate('2021:06:15 14:30:05')).toBe(new Date(2021, 5, 15, 14, 30, 5).getTime());
    expect(parseExifDate('2021:06:15 14:30:05', '25')).toBe(new Date(2021, 5, 15, 14, 30, 5, 250).getTime());
    expect(parseExifDate('2021-06-15T14:30')).toBe(new Date(2021, 5, 15, 14, 30).getTime());
    for (const blank of ['0000:00:00 00:00:00', '    :  :     :  :  ', '', 'yesterday', 20210615, undefined]) expect(parseExifDate(blank)).toBeNull();
  });

  it('never throws on junk', async () => {
    const empty = { takenAt: null, camera: null, lens: null, orientation: null, capture: null };
    expect(await readMetadata(Buffer.alloc(0))).toEqual(empty);
    expect(await readMetadata(Buffer.from('not an image at all'))).toEqual(empty);
    expect(await readMetadata(Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 0x45, 0x78, 0x69, 0x66, 0, 0, 0x49, 0x49]))).toEqual(empty);
    const webp = await imageBuffer({ format: 'webp', exif: { make: 'Canon', model: 'Canon EOS R6', lens: 'RF50mm', dateTimeOriginal: '2022:02:02 02:02:02', orientation: 8 } });
    expect(await readMetadata(webp)).toEqual({ takenAt: new Date(2022, 1, 2, 2, 2, 2).getTime(), camera: 'Canon EOS R6', lens: 'RF50mm', orientation: 8, capture: null });
  });
});
