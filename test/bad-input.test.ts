import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import { getPhoto, type PhotoRow } from '../db/photos.ts';
import { indexLibrary } from '../electron/services/indexing/indexer.ts';
import type { IndexProgress, IndexSummary } from '../common/types.ts';
import { fsPath } from '../electron/services/indexing/walk.ts';
import type { ClipModel } from '../native-models/types.ts';
import { badFiles, bmffRawWithJpegs, imageBuffer, tempDir, writeImage, writeIndexScript, type BadFile } from './helpers/fixtures.ts';
import { isRoot, runAsNobody } from './helpers/nobody.ts';
import { closeTinyModel, openTinyModel } from './helpers/tiny-model.ts';


let tmp: string;
let modelDir: string;
let model: ClipModel;

beforeAll(async () => ({ tmp, modelDir, model } = await openTinyModel('cull-bad-', 5)));
afterAll(() => closeTinyModel({ tmp, model }));

const rowOf = (db: DB, p: string) => db.prepare('SELECT * FROM photos WHERE path = ?').get(p) as PhotoRow | undefined;
const embedded = (db: DB, id: number) => db.prepare('SELECT COUNT(*) FROM embeddings WHERE photo_id = ?').pluck().get(id) as number;

describe('bad input', () => {
  let root: string;
  let db: DB;
  let thumbsDir: string;
  let bad: BadFile[];
  let good: string[];
  let summary: IndexSummary;
  const progress: IndexProgress[] = [];
  const latin1Name = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' au lait.jpg')]);

  beforeAll(async () => {
    root = path.join(tmp, 'mixed');
    bad = await badFiles();
    for (const b of bad) {
      fs.mkdirSync(root, { recursive: true });
      fs.writeFileSync(path.join(root, b.name), b.content);
    }
    good = [];
    for (const [i, name] of ['good 1.jpg', 'good-2.png', 'emoji 📷.jpg', 'line\nbreak.webp', 'ünïcödé.jpg'].entries()) {
      good.push(await writeImage(path.join(root, name), { seed: 700 + i, format: name.endsWith('.png') ? 'png' : name.endsWith('.webp') ? 'webp' : 'jpeg' }));
    }
    // A non-UTF-8 (Latin-1) name, created through a byte path.
    fs.writeFileSync(Buffer.concat([Buffer.from(root + path.sep), latin1Name]), await imageBuffer({ seed: 720 }));
    good.push(path.join(root, 'caf\uefe9 au lait.jpg'));
    // A CR3-like RAW whose preview is only found by scanning.
    fs.writeFileSync(path.join(root, 'scan.cr3'), bmffRawWithJpegs(await imageBuffer({ width: 400, height: 300, seed: 721 })));
    good.push(path.join(root, 'scan.cr3'));

    db = openDatabase(path.join(tmp, 'bad.db'));
    thumbsDir = path.join(tmp, 'thumbs');
    summary = await indexLibrary({ db, model, roots: [root], thumbsDir, onProgress: (p) => progress.push(p) });
  });

  afterAll(() => db?.close());

  it('indexes every good file and finishes normally', () => {
    expect(summary.cancelled).toBe(false);
    expect(summary.indexed).toBe(good.length);
    expect(summary.failed).toBe(bad.length);
    expect(summary.errors).toHaveLength(bad.length);
    for (const g of good) {
      const r = rowOf(db, g);
      expect(r, g).toMatchObject({ status: 'ok', error: null });
      expect(embedded(db, r!.id)).toBe(1);
      expect(fs.existsSync(fsPath(g))).toBe(true);
    }
    expect(rowOf(db, path.join(root, 'scan.cr3'))).toMatchObject({ width: 400, height: 300 });
    expect(getPhoto(db, rowOf(db, good.at(-2)!)!.id)!.name).toBe('caf\uefe9 au lait.jpg');
  });

  it('records each bad file as failed with a reason that says what is wrong', () => {
    for (const b of bad) {
      const p = path.join(root, b.name);
      const reported = summary.errors.find((e) => e.path === p);
      expect(reported, `${b.name} reported`).toBeDefined();
      expect(reported!.reason, b.name).toMatch(b.reason);
      const r = rowOf(db, p)!;
      expect(r, b.name).toMatchObject({ status: 'failed', error: reported!.reason, size: b.content.length });
      expect(embedded(db, r.id)).toBe(0);
    }
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ phase: 'done', failed: bad.length, indexed: good.length, done: bad.length + good.length });
    expect(summary.errors.map((e) => e.path)).toContain(last.lastError!.path);
    expect(getPhoto(db, rowOf(db, path.join(root, 'zero-byte.jpg'))!.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/empty/) });
  });

  it('does not retry failed files until they change', async () => {
    const decoded: string[] = [];
    const again = await indexLibrary({ db, model, roots: [root], thumbsDir, onDecode: (p) => decoded.push(p) });
    expect(again).toMatchObject({ indexed: 0, failed: 0, errors: [], skipped: good.length + bad.length });
    expect(decoded).toEqual([]);

    // Fixing a file (new content, so new size and mtime) gets it indexed.
    const fixed = path.join(root, 'zero-byte.jpg');
    await writeImage(fixed, { seed: 800 });
    const third = await indexLibrary({ db, model, roots: [root], thumbsDir, onDecode: (p) => decoded.push(p) });
    expect(decoded).toEqual([fixed]);
    expect(third).toMatchObject({ indexed: 1, failed: 0 });
    expect(rowOf(db, fixed)).toMatchObject({ status: 'ok', error: null });
  });

  // root reads chmod-000 files anyway, so then the case runs in a child process as "nobody".
  it('reports an unreadable file and carries on', async () => {
    const dir = tempDir('cull-bad-perm-');
    try {
      const photos = path.join(dir, 'photos');
      await writeImage(path.join(photos, 'readable.jpg'), { seed: 900 });
      await writeImage(path.join(photos, 'locked.jpg'), { seed: 901 });
      fs.chmodSync(path.join(photos, 'locked.jpg'), 0o000);
      const dbPath = path.join(dir, 'lib.db');
      let result: IndexSummary;
      if (!isRoot) {
        const own = openDatabase(dbPath);
        result = await indexLibrary({ db: own, model, roots: [photos], thumbsDir: path.join(dir, 'thumbs') });
        own.close();
      } else {
        console.log('running as root: indexing as uid 65534 (nobody) so the chmod 000 file is really unreadable');
        for (const p of [dir, photos, path.join(photos, 'readable.jpg')]) fs.chmodSync(p, p === dir ? 0o777 : 0o755);
        for (const p of [tmp, modelDir, path.join(modelDir, 'onnx')]) fs.chmodSync(p, 0o755); // let nobody read the model
        const script = writeIndexScript(dir);
        const child = runAsNobody(script, [dbPath, modelDir, path.join(dir, 'thumbs'), '0', photos], dir);
        expect(child.stderr).toBe('');
        expect(child.status).toBe(0);
        result = JSON.parse(child.stdout);
      }
      expect(result).toMatchObject({ indexed: 1, failed: 1, errors: [{ path: path.join(photos, 'locked.jpg'), reason: 'permission denied' }] });
      const check = openDatabase(dbPath);
      const locked = path.join(photos, 'locked.jpg');
      expect(rowOf(check, locked)).toMatchObject({ status: 'failed', error: 'permission denied', fingerprint: '' });
      // Fixing the permissions changes neither size nor mtime, yet the next run retries the file.
      fs.chmodSync(locked, 0o644);
      const decoded: string[] = [];
      const retry = await indexLibrary({ db: check, model, roots: [photos], thumbsDir: path.join(dir, 'thumbs2'), onDecode: (p) => decoded.push(p) });
      expect(retry).toMatchObject({ indexed: 1, skipped: 1, failed: 0 });
      expect(decoded).toEqual([locked]);
      expect(rowOf(check, locked)).toMatchObject({ status: 'ok', error: null, fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) });
      check.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
