// Issue #5 (B): hostile and broken input beyond test/bad-input.test.ts. One indexing run in a child
// process (as uid "nobody" when the tests run as root, so chmod 000 really locks) over a folder of
// generated hostile files beside valid photos of unusual kinds: every bad file is reported with its
// path and a clear reason, every valid photo is indexed, and the child's peak RSS stays bounded
// (a 560 KB zlib-bomb PNG that decodes to 12000² RGBA included). A second, in-process run has
// folders disappear during the walk and after it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../../db/database.ts';
import type { PhotoRow } from '../../db/photos.ts';
import { indexLibrary } from '../../electron/services/indexing/indexer.ts';
import type { IndexProgress, IndexSummary } from '../../common/types.ts';
import { fsPath } from '../../electron/services/indexing/walk.ts';
import { loadModelFolder } from '../../native-models/folder.ts';
import { decodePhoto } from '../../native-models/preprocess.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import { makeTestModel } from '../../native-models/testmodel/index.ts';
import {
  animatedImage,
  badFiles,
  imageBuffer,
  junk,
  pattern,
  pixelBombTiff,
  REPO_DIR,
  tempDir,
  tiffRaw,
  writeImage,
  writeIndexScript,
  writePhotoSet,
  zlibBombPng,
} from '../helpers/fixtures.ts';

const isRoot = process.getuid?.() === 0;
/** Peak resident memory allowed for the indexing child (tiny model, threads 1). */
const MAX_RSS_MB = 400;

interface Bad {
  rel: string;
  reason: RegExp;
  kind: string;
}

let tmp: string;
let root: string;
let modelDir: string;
const good: string[] = []; // stored paths
const bad: Bad[] = [];
let summary: IndexSummary & { maxRssKb: number };
let db: DB;

async function put(rel: string, content: Buffer | Promise<Buffer>): Promise<string> {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await content);
  return file;
}

beforeAll(async () => {
  tmp = tempDir('cull-hostile-');
  root = path.join(tmp, 'photos');
  modelDir = path.join(tmp, 'model');
  await makeTestModel({ out: modelDir, size: 'tiny', seed: 21 });

  // Valid photos, several of them unusual.
  good.push(...(await writePhotoSet(path.join(root, 'normal'), 6, { seed: 4000, size: 96 })));
  const w = 120;
  const h = 90;
  const u16 = new Uint16Array(w * h * 3).map((_, i) => (i * 997) % 65536);
  const valid: [string, Buffer | Promise<Buffer>][] = [
    ['odd/deep-16bit.tif', sharp(Buffer.from(u16.buffer), { raw: { width: w, height: h, channels: 3, depth: 'ushort' } as never }).toColourspace('rgb16').tiff({ compression: 'lzw' }).toBuffer()],
    ['odd/cmyk.jpg', pattern(w, h, 4001).toColourspace('cmyk').jpeg().toBuffer()],
    ['odd/grey.jpg', pattern(w, h, 4002).toColourspace('b-w').jpeg().toBuffer()],
    ['odd/grey.png', pattern(w, h, 4003).toColourspace('b-w').png().toBuffer()],
    ['odd/alpha.png', pattern(w, h, 4004).ensureAlpha(0.5).png().toBuffer()],
    ['odd/animated.gif', animatedImage('gif', 3, 4005)],
    ['odd/animated.webp', animatedImage('webp', 3, 4006)],
    [`odd/${'n'.repeat(251)}.jpg`, imageBuffer({ seed: 4007 })], // a 255-byte name, the most Linux allows
    ['odd/zlib-bomb-rgba.png', zlibBombPng(12_000, 4)], // ~560 KB, 576 MB of pixels when decoded
  ];
  for (const [rel, content] of valid) good.push(await put(rel, content));
  // A non-UTF-8 folder holding a non-UTF-8 file name (raw bytes through Buffer paths).
  const latinDir = Buffer.concat([Buffer.from(path.join(root, 'Ordner-')), Buffer.from([0xe4])]);
  fs.mkdirSync(latinDir);
  fs.writeFileSync(Buffer.concat([latinDir, Buffer.from('/Bild-'), Buffer.from([0xfc]), Buffer.from('.jpg')]), await imageBuffer({ seed: 4008 }));
  good.push(path.join(root, 'Ordner-\uefe4', 'Bild-\ueffc.jpg'));

  // Broken and hostile files.
  const jpeg = await imageBuffer({ width: 400, height: 300, seed: 4100 });
  const png = await imageBuffer({ width: 400, height: 300, seed: 4101, format: 'png' });
  const tif = await imageBuffer({ width: 400, height: 300, seed: 4102, format: 'tiff' });
  const corruptHeader = Buffer.from(jpeg);
  junk(300, 4103).copy(corruptHeader, 20);
  const small = await imageBuffer({ width: 64, height: 48, seed: 4104 });
  const raw = tiffRaw({ small, large: await imageBuffer({ width: 320, height: 240, seed: 4105 }) });
  const broken: [string, Buffer, RegExp, string][] = [
    ['bad/truncated.png', png.subarray(0, Math.floor(png.length * 0.6)), /truncated or corrupt/, 'truncated PNG'],
    ['bad/truncated.tif', tif.subarray(0, Math.floor(tif.length * 0.6)), /not an image|corrupt/, 'truncated TIFF'],
    ['bad/corrupt-header.jpg', corruptHeader, /corrupt/, 'corrupt JPEG'],
    ['bad/truncated.cr2', raw.subarray(0, 3008 + (small.length >> 1)), /no embedded preview/, 'truncated RAW'],
    ['bad/bomb.tif', pixelBombTiff(100_000), /too large \(100000 × 100000 pixels/, 'TIFF pixel bomb (100000²)'],
    ['bad/empty.png', Buffer.alloc(0), /empty file/, 'zero-byte PNG'],
    ['bad/empty.tif', Buffer.alloc(0), /empty file/, 'zero-byte TIFF'],
    ['bad/empty.cr2', Buffer.alloc(0), /empty file/, 'zero-byte RAW'],
  ];
  for (const ext of ['jpg', 'png', 'tif', 'webp', 'gif', 'heic', 'avif']) {
    broken.push([`bad/random.${ext}`, junk(4096, 4200 + ext.length), /not an image/, `random bytes .${ext}`]);
  }
  broken.push(['bad/random.dng', junk(4096, 4210), /no embedded preview/, 'random bytes .dng']);
  for (const [rel, content, reason, kind] of broken) {
    await put(rel, content);
    bad.push({ rel, reason, kind });
  }
  // Links: a file link to itself, a dangling one, and a folder link back up (a loop).
  fs.symlinkSync('self.jpg', path.join(root, 'bad', 'self.jpg'));
  bad.push({ rel: 'bad/self.jpg', reason: /^symbolic link loop$/, kind: 'symlink loop (file)' });
  fs.symlinkSync('nowhere.jpg', path.join(root, 'bad', 'dangling.jpg'));
  bad.push({ rel: 'bad/dangling.jpg', reason: /^broken symbolic link$/, kind: 'dangling symlink' });
  fs.symlinkSync('..', path.join(root, 'odd', 'loop'));
  // No read permission: a file and a folder.
  await writeImage(path.join(root, 'locked', 'locked.jpg'), { seed: 4300 });
  fs.chmodSync(path.join(root, 'locked', 'locked.jpg'), 0o000);
  bad.push({ rel: 'locked/locked.jpg', reason: /^permission denied$/, kind: 'unreadable file' });
  await writeImage(path.join(root, 'private', 'inside.jpg'), { seed: 4301 });
  fs.chmodSync(path.join(root, 'private'), 0o000);
  bad.push({ rel: 'private', reason: /^permission denied$/, kind: 'unreadable folder' });

  // Index in a child process: its peak RSS is the figure; as root it runs as nobody.
  const lib = path.join(tmp, 'lib');
  fs.mkdirSync(lib);
  const script = writeIndexScript(lib);
  const dbPath = path.join(lib, 'library.db');
  const asNobody = isRoot ? { uid: 65534, gid: 65534 } : {};
  if (isRoot) {
    for (const p of [tmp, modelDir, path.join(modelDir, 'onnx'), root]) fs.chmodSync(p, 0o755);
    fs.chmodSync(lib, 0o777);
  }
  const child = spawnSync(process.execPath, ['--import', 'tsx', script, dbPath, modelDir, path.join(lib, 'thumbs'), '0', root], {
    cwd: REPO_DIR,
    ...asNobody,
    env: { ...process.env, HOME: lib },
    encoding: 'utf8',
  });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  summary = JSON.parse(child.stdout);
  db = openDatabase(dbPath, { readonly: true });
}, 180_000);

afterAll(() => {
  db?.close();
  if (tmp) {
    fs.chmodSync(path.join(root, 'private'), 0o755);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

const rowOf = (p: string) => db.prepare('SELECT * FROM photos WHERE path = ?').get(p) as PhotoRow | undefined;
const embedded = (id: number) => db.prepare('SELECT COUNT(*) FROM embeddings WHERE photo_id = ?').pluck().get(id) as number;

describe('hostile and broken input', () => {
  it('indexes every valid photo, including 16-bit, CMYK, greyscale, alpha, animated, 255-byte and non-UTF-8 names', () => {
    for (const g of good) {
      const r = rowOf(g);
      expect(r, g).toMatchObject({ status: 'ok', error: null });
      expect(embedded(r!.id), g).toBe(1);
    }
    expect(rowOf(path.join(root, 'odd', 'zlib-bomb-rgba.png'))).toMatchObject({ width: 12_000, height: 12_000 });
    expect(rowOf(path.join(root, 'odd', 'animated.gif'))).toMatchObject({ width: 96, height: 64 }); // first frame
    expect(summary.indexed).toBe(good.length);
    // The folder link back up is walked once: no photo twice, nothing under odd/loop.
    const paths = db.prepare('SELECT path FROM photos').pluck().all() as string[];
    expect(paths.filter((p) => p.includes(`${path.sep}loop${path.sep}`))).toEqual([]);
    expect(new Set(paths).size).toBe(paths.length);
  });

  it('reports each bad file or folder with its path and a clear reason, and nothing else', () => {
    for (const b of bad) {
      const p = path.join(root, b.rel);
      const reported = summary.errors.filter((e) => e.path === p);
      expect(reported, `${b.kind} (${b.rel}) reported once`).toHaveLength(1);
      expect(reported[0].reason, b.kind).toMatch(b.reason);
    }
    expect(summary.errors).toHaveLength(bad.length);
    expect(summary.failed).toBe(bad.filter((b) => !['symlink loop (file)', 'dangling symlink', 'unreadable folder'].includes(b.kind)).length);
    expect(summary.cancelled).toBe(false);
    const kinds = bad.map((b) => b.kind);
    console.log(`hostile inputs: ${bad.length} bad (${kinds.join(', ')}) + ${good.length} valid; indexed ${summary.indexed}, failed ${summary.failed}, reported ${summary.errors.length}`);
  });

  it(`keeps the indexing process's peak RSS below ${MAX_RSS_MB} MB`, () => {
    const mb = summary.maxRssKb / 1024;
    console.log(`hostile-input indexing child: peak RSS ${mb.toFixed(0)} MB (bound ${MAX_RSS_MB} MB)`);
    expect(mb, 'a Node process with onnxruntime and sharp loaded (units: the figure is kilobytes)').toBeGreaterThan(50);
    expect(mb).toBeLessThan(MAX_RSS_MB);
  });
});

describe('many broken files decoding at once', () => {
  // libvips has one error buffer per process: concurrent failures used to lose each other's
  // messages, and photos were recorded as "could not decode image: Unknown error".
  it('each keeps its real reason', async () => {
    const spec = loadModelFolder(modelDir).preprocess;
    const broken = (await badFiles()).filter((b) => !b.name.endsWith('.nef'));
    const reasons: string[] = [];
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        [...broken, ...broken].map((b) =>
          decodePhoto(b.content, spec, { thumbSize: 64 }).then(
            () => reasons.push(`${b.name}: decoded?!`),
            (e: Error) => {
              expect(e.message, b.name).toMatch(b.reason);
              reasons.push(e.message);
            },
          ),
        ),
      );
    }
    expect(reasons.filter((r) => /Unknown error|decoded\?!/.test(r))).toEqual([]);
    expect(reasons).toHaveLength(20 * broken.length);
  });
});

describe('folders that disappear mid-run', () => {
  it('ignores a folder gone during the walk, reports photos gone after it, indexes the rest', async () => {
    const dir = tempDir('cull-vanish-');
    const model = await openClipModel(loadModelFolder(modelDir), { threads: 1 });
    const vdb = openDatabase(path.join(dir, 'lib.db'));
    try {
      const photos = path.join(dir, 'photos');
      const a = await writePhotoSet(path.join(photos, 'a'), 3, { seed: 4400, size: 64 });
      const b = await writePhotoSet(path.join(photos, 'b'), 3, { seed: 4410, size: 64 });
      await writePhotoSet(path.join(photos, 'z'), 3, { seed: 4420, size: 64 });
      let walkHit = false;
      let decodeHit = false;
      const result = await indexLibrary({
        db: vdb,
        model,
        roots: [photos],
        thumbsDir: path.join(dir, 'thumbs'),
        decodeConcurrency: 1,
        onProgress: (p: IndexProgress) => {
          if (p.phase === 'walking' && !walkHit) {
            walkHit = true; // the walk has just started (in a/): z/ goes before it is read
            fs.rmSync(path.join(photos, 'z'), { recursive: true });
          }
        },
        onDecode: () => {
          if (!decodeHit) {
            decodeHit = true; // walked, now decoding a/: b/ goes before its photos are read
            fs.rmSync(path.join(photos, 'b'), { recursive: true });
          }
        },
      });
      expect(walkHit && decodeHit).toBe(true);
      expect(result.indexed).toBe(a.length);
      // z/ is simply not there. b/'s photos were listed, then vanished: not photos that failed to
      // decode; if mentioned at all, then as "not found", by path.
      for (const e of result.errors) {
        expect(b).toContain(e.path);
        expect(e.reason).toBe('not found');
      }
      const stored = vdb.prepare("SELECT path FROM photos WHERE status = 'ok'").pluck().all();
      expect(stored).toEqual(a);
      // The next run sees them gone: missing, not failed.
      const next = await indexLibrary({ db: vdb, model, roots: [photos], thumbsDir: path.join(dir, 'thumbs') });
      expect(next).toMatchObject({ indexed: 0, skipped: a.length, failed: 0, errors: [] });
      expect(vdb.prepare("SELECT COUNT(*) FROM photos WHERE status = 'ok'").pluck().get()).toBe(a.length);
      expect(fs.existsSync(fsPath(a[0]))).toBe(true);
    } finally {
      vdb.close();
      await model.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
