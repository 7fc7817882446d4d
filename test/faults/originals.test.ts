// Issue #5 (C): originals are sacred. Every original's SHA-256, size and mtime are compared before
// and after each operation of the real library facade (index, score, search, rate, export by copy
// and by hard link, XMP sidecars). Export never overwrites; exporting into a folder inside the
// library does not get the copies indexed; names from the library cannot leave the destination.
import { withoutXmpApp1 } from '../../electron/services/culling/xmp-write.ts';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Library } from '../../electron/services/library.ts';
import { EXPORT_MARKER, fsPath } from '../../electron/services/indexing/walk.ts';
import { makeTestModel } from '../../native-models/testmodel/index.ts';
import { imageBuffer, sha256File, snapshotFiles, tempDir, tiffRaw, writePhotoSet, type FileState } from '../helpers/fixtures.ts';

let tmp: string;
let root: string;
let shoot: string;
let lib: Library;
let modelDir: string;
/** Stored paths (non-UTF-8 bytes escaped, as the library keeps them). */
const originals: string[] = [];
let before: FileState[];
const LONG = `${'L'.repeat(240)}.jpg`; // 244 bytes: "(2)" must shorten the stem to stay within 255
const LATIN1 = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.jpg')]);
const checked: string[] = [];

const current = () => snapshotFiles(originals.map(fsPath));
function expectOriginalsIntact(after: string) {
  expect(current(), `originals after ${after}`).toEqual(before);
  checked.push(after);
}

beforeAll(async () => {
  tmp = tempDir('cull-originals-');
  root = path.join(tmp, 'library');
  shoot = path.join(root, 'shoot');
  modelDir = path.join(tmp, 'model');
  await makeTestModel({ out: modelDir, size: 'tiny', seed: 11 });
  originals.push(...(await writePhotoSet(shoot, 12, { seed: 3100, size: 96 })));
  const small = await imageBuffer({ width: 64, height: 48, seed: 3200 });
  const large = await imageBuffer({ width: 320, height: 240, seed: 3201 });
  for (const name of ['DSC_0001.NEF', 'IMG_0002.CR2']) {
    fs.writeFileSync(path.join(shoot, name), tiffRaw({ small, large }));
    originals.push(path.join(shoot, name));
  }
  fs.writeFileSync(path.join(shoot, 'IMG_0002.JPG'), await imageBuffer({ seed: 3202 })); // RAW+JPEG pair
  originals.push(path.join(shoot, 'IMG_0002.JPG'));
  fs.writeFileSync(path.join(shoot, LONG), await imageBuffer({ seed: 3203 }));
  originals.push(path.join(shoot, LONG));
  fs.writeFileSync(Buffer.concat([Buffer.from(shoot + path.sep), LATIN1]), await imageBuffer({ seed: 3204 }));
  originals.push(path.join(shoot, 'caf\uefe9.jpg'));
  // On Linux a backslash is an ordinary character: ONE file called `evil..\..\escape.jpg` (a leading dot would make it hidden).
  fs.writeFileSync(path.join(shoot, 'evil..\\..\\escape.jpg'), await imageBuffer({ seed: 3205 }));
  originals.push(path.join(shoot, 'evil..\\..\\escape.jpg'));
  const old = new Date('2018-01-02T03:04:05Z');
  for (const p of originals) fs.utimesSync(fsPath(p), old, old);
  before = current();
  lib = await Library.open({ dbPath: path.join(tmp, 'library.db'), modelDir, thumbsDir: path.join(tmp, 'thumbs'), threads: 1 });
}, 120_000);

afterAll(async () => {
  await lib?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('originals are never modified', () => {
  it('index, score, search and rate leave every original byte-identical with the same mtime', async () => {
    await lib.addRoot(root);
    const summary = await lib.index(undefined);
    const indexedPaths = (await lib.photos()).map((p) => p.path);
    expect(originals.filter((p) => !indexedPaths.includes(p))).toEqual([]);
    expect(summary).toMatchObject({ indexed: originals.length, failed: 0 });
    expectOriginalsIntact('index');
    const ranked = await lib.score('sharp vs blurry');
    expect(ranked).toHaveLength(originals.length);
    await lib.search('a red block');
    expectOriginalsIntact('score and search');
    const ids = (await lib.photos()).map((p) => p.id);
    await lib.setCulling(ids, { rating: 4, flag: 1, label: 'green' });
    await lib.setCulling(ids.slice(0, 3), { flag: -1 });
    expectOriginalsIntact('rate');
    const again = await lib.index(undefined);
    expect(again).toMatchObject({ indexed: 0, skipped: originals.length });
    expectOriginalsIntact('re-index');
  });

  /**
   * A copy is the original's bytes; a JPEG copy may carry the photo's decisions in an XMP APP1
   * segment of its own (issue #12), every other byte identical.
   */
  function sameImageBytes(copy: string, from: string): boolean {
    const [a, b] = [fs.readFileSync(fsPath(copy)), fs.readFileSync(fsPath(from))];
    if (!/\.jpe?g$/i.test(copy)) return a.equals(b);
    return withoutXmpApp1(a)!.equals(withoutXmpApp1(b)!);
  }

  it('export by copy with XMP sidecars and a report: exact copies, originals untouched', async () => {
    const ids = (await lib.photos()).map((p) => p.id);
    const dest = path.join(tmp, 'out-copy');
    const res = await lib.exportPhotos({ photoIds: ids, to: dest, mode: 'copy', xmp: true, report: 'picks.csv' });
    expect(res.failed).toEqual([]);
    expect(res.xmpWritten).toBe(originals.length);
    expectOriginalsIntact('export (copy) + XMP');
    for (const e of res.exported) {
      const st = fs.statSync(fsPath(e.to));
      expect(sameImageBytes(e.to, e.from), e.to).toBe(true);
      expect(st.mtimeMs).toBe(fs.statSync(fsPath(e.from)).mtimeMs);
      expect(st.ino).not.toBe(fs.statSync(fsPath(e.from)).ino);
      expect(path.dirname(e.to)).toBe(dest); // nothing outside the destination
    }
    // The non-UTF-8 name is copied with its exact bytes, the sidecars too.
    expect(fs.existsSync(Buffer.concat([Buffer.from(dest + path.sep), LATIN1]))).toBe(true);
    expect(fs.existsSync(Buffer.concat([Buffer.from(shoot + path.sep), Buffer.from('caf\xe9.xmp', 'latin1')]))).toBe(true);
    // The backslash name stays one file inside the destination.
    expect(res.exported.map((e) => path.basename(e.to))).toContain('escape.jpg');
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('out-'))).toEqual(['out-copy']); // nothing written beside it
    for (const up of [tmp, path.dirname(tmp), shoot, root]) expect(fs.existsSync(path.join(up, 'escape.jpg')), up).toBe(false);
    // Sidecar naming for the RAW+JPEG pair: the RAW keeps IMG_0002.xmp, the JPEG gets IMG_0002.JPG.xmp.
    expect(fs.existsSync(path.join(shoot, 'IMG_0002.xmp'))).toBe(true);
    expect(fs.existsSync(path.join(shoot, 'IMG_0002.JPG.xmp'))).toBe(true);

    // Writing the sidecars again (ratings changed) merges them; originals still untouched.
    await lib.setCulling(ids, { rating: 2 });
    const twice = await lib.exportPhotos({ photoIds: ids, to: dest, mode: 'copy', xmp: true });
    expect(twice.alreadyExported).toBe(originals.length); // nothing duplicated
    expectOriginalsIntact('second export + XMP merge');
  });

  it('export by hard link: same inode, originals untouched', async () => {
    const ids = (await lib.photos()).map((p) => p.id);
    const dest = path.join(tmp, 'out-link');
    const res = await lib.exportPhotos({ photoIds: ids, to: dest, mode: 'link' });
    expect(res.failed).toEqual([]);
    expect(res.copiedInsteadOfLinked).toBe(0);
    for (const e of res.exported) expect(fs.statSync(fsPath(e.to)).ino).toBe(fs.statSync(fsPath(e.from)).ino);
    expectOriginalsIntact('export (link)');
    const again = await lib.exportPhotos({ photoIds: ids, to: dest, mode: 'link' });
    expect(again.alreadyExported).toBe(originals.length);
    expect(fs.readdirSync(dest).filter((f) => f !== EXPORT_MARKER)).toHaveLength(originals.length);
  });

  it('never overwrites: a foreign file keeps its name, the photo gets a new one within 255 bytes', async () => {
    const long = (await lib.photos()).find((p) => p.path.endsWith(LONG))!;
    const dest = path.join(tmp, 'out-collide');
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, LONG), 'a different file');
    const res = await lib.exportPhotos({ photoIds: [long.id], to: dest, mode: 'copy' });
    expect(res.failed).toEqual([]);
    const name = path.basename(res.exported[0].to);
    expect(name).toMatch(/^L+ \(2\)\.jpg$/);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(fs.readFileSync(path.join(dest, LONG), 'utf8')).toBe('a different file');
    expect(sameImageBytes(res.exported[0].to, long.path)).toBe(true);
    expectOriginalsIntact('export with collisions');
  });

  it('report cells from file names or score names cannot run as spreadsheet formulas', async () => {
    const dir = path.join(tmp, 'formulas');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '=HYPERLINK("x.example"),1).jpg'), await imageBuffer({ seed: 3400 }));
    fs.writeFileSync(path.join(dir, '@SUM(1+1).jpg'), await imageBuffer({ seed: 3401 }));
    const other = await Library.open({ dbPath: path.join(tmp, 'formulas.db'), modelDir, thumbsDir: path.join(tmp, 'thumbs-f'), threads: 1 });
    try {
      expect((await other.index([dir])).indexed).toBe(2);
      const ids = (await other.photos()).map((p) => p.id);
      const scores = { [ids[0]]: { '=cmd|calc': -0.5 } };
      const res = await other.exportPhotos({ photoIds: ids, to: path.join(tmp, 'out-formulas'), mode: 'copy', report: 'r.csv', scores });
      const csv = fs.readFileSync(res.report!, 'utf8');
      const cells = csv.split(/\r\n/).flatMap((l) => l.split(','));
      expect(cells.filter((c) => /^"?[=+@-]/.test(c))).toEqual(['-0.5']); // only the number
      expect(csv).toContain("'=cmd|calc");
      expect(csv).toContain("'@SUM(1+1).jpg");
    } finally {
      await other.close();
    }
  });

  it('a report path cannot climb out of the destination; one in a subfolder stays inside', async () => {
    const ids = (await lib.photos()).map((p) => p.id).slice(0, 2);
    const dest = path.join(tmp, 'out-report');
    await expect(lib.exportPhotos({ photoIds: ids, to: dest, mode: 'copy', report: '../evil.csv' })).rejects.toThrow(/outside the destination/);
    expect(fs.existsSync(dest)).toBe(false); // refused before anything was written
    expect(fs.existsSync(path.join(tmp, 'evil.csv'))).toBe(false);
    const ok = await lib.exportPhotos({ photoIds: ids, to: dest, mode: 'copy', report: 'reports/run.json' });
    expect(ok.report).toBe(path.join(dest, 'reports', 'run.json'));
  });
});

describe('a destination inside the library', () => {
  it('is not indexed again: the copies are listed in its .cull-export marker and skipped', async () => {
    const ids = (await lib.photos()).map((p) => p.id);
    const picks = path.join(shoot, 'picks');
    const res = await lib.exportPhotos({ photoIds: ids, to: picks, mode: 'copy', xmp: true, report: 'picks.csv' });
    expect(res.exported).toHaveLength(originals.length);
    // A photo the user puts there themselves is still a new photo.
    fs.writeFileSync(path.join(picks, 'mine.jpg'), await imageBuffer({ seed: 3300 }));
    const summary = await lib.index(undefined);
    expect(summary).toMatchObject({ indexed: 1, failed: 0, skipped: originals.length, missing: 0 });
    const paths = (await lib.photos()).map((p) => p.path);
    expect(paths.filter((p) => p.startsWith(picks + path.sep))).toEqual([path.join(picks, 'mine.jpg')]);
    expectOriginalsIntact('export into the library + re-index');
    // A copy replaced by a different file (other size) under the same name is a new photo too.
    const first = res.exported.find((e) => e.to.endsWith('p000.jpg'))!;
    fs.rmSync(first.to);
    fs.writeFileSync(first.to, await imageBuffer({ seed: 3301, width: 200, height: 100 }));
    expect(await lib.index(undefined)).toMatchObject({ indexed: 1, failed: 0 });
  });

  it('exporting a folder into itself copies nothing: every photo is already there', async () => {
    const inShoot = (await lib.photos()).filter((p) => path.dirname(p.path) === shoot);
    const res = await lib.exportPhotos({ photoIds: inShoot.map((p) => p.id), to: shoot, mode: 'copy' });
    // All but the photo whose name is not a safe file name: that one is copied as "escape.jpg".
    const unsafe = inShoot.filter((p) => p.path.includes('\\'));
    expect(unsafe).toHaveLength(1);
    expect(res.alreadyExported).toBe(inShoot.length - 1);
    expect(res.exported.map((e) => e.to)).toEqual(inShoot.map((p) => (p === unsafe[0] ? path.join(shoot, 'escape.jpg') : p.path)));
    expect((await lib.index(undefined)).indexed).toBe(0); // and the copy is not indexed
    expect(fs.readdirSync(shoot).filter((f) => / \(\d+\)/.test(f))).toEqual([]);
    expectOriginalsIntact('export into its own folder');
  });

  it('a folder the user adds as a root is indexed even when it holds exported copies', async () => {
    const other = await Library.open({ dbPath: path.join(tmp, 'picks.db'), modelDir, thumbsDir: path.join(tmp, 'thumbs2'), threads: 1 });
    try {
      const s = await other.index([path.join(shoot, 'picks')]);
      expect(s.indexed).toBe(originals.length + 1);
    } finally {
      await other.close();
    }
    expectOriginalsIntact('indexing the export folder as its own library');
    console.log(`originals checked: ${originals.length} files (SHA-256 + size + mtime) after ${checked.length} operations: ${checked.join(', ')}`);
  });
});
