// Issue #12 item 1: ratings, labels and picks other applications wrote are read at index — from
// sidecars (IMG.xmp, IMG.JPG.xmp) and from XMP embedded in the photo — recorded with their source,
// taken by the rule "a decision made in Cull wins; an outside change after Cull's last write is
// taken", shown in stats and explain, and left out of taste training on request. A malformed
// sidecar is reported by path and the photo still indexed. Plus the "done when" on the
// sample shoot: four applications' sidecars read, three ratings changed in Cull, ExifTool shows
// exactly those three changed; exported JPEG copies carry ratings and labels and decode to the
// same pixels.
import { execFile, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import { setCulling } from '../db/culling.ts';
import { libraryCounts } from '../db/library-queries.ts';
import { getPhoto, listPhotos, photoQueries } from '../db/photos.ts';
import { indexLibrary } from '../electron/services/indexing/indexer.ts';
import { jpegWithXmp } from '../electron/services/culling/xmp-write.ts';
import type { ClipModel } from '../native-models/types.ts';
import { REPO_DIR, tempDir, writeImage } from './helpers/fixtures.ts';
import { closeTinyModel, openTinyModel } from './helpers/tiny-model.ts';

const run = promisify(execFile);
const CULL = path.join(REPO_DIR, 'bin', 'cull.js');
const FIXTURES = path.join(REPO_DIR, 'test', 'fixtures', 'xmp');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const HAVE_EXIFTOOL = spawnSync('exiftool', ['-ver']).status === 0;
const SHOOT = path.join(REPO_DIR, '..', 'shared', 'photos', 'sample-shoot');
const HAVE_SHOOT = fs.existsSync(SHOOT);
if (!HAVE_EXIFTOOL) console.warn('SKIPPED (sample shoot round trip): ExifTool is missing (apt-get install libimage-exiftool-perl).');
if (!HAVE_SHOOT) console.warn(`SKIPPED (sample shoot round trip): ${SHOOT} is absent (see ../shared/README.md).`);

let dir: string;
let model: ClipModel;
let modelDir: string;

beforeAll(async () => ({ tmp: dir, modelDir, model } = await openTinyModel('cull-outside-', 5)));
afterAll(() => closeTinyModel({ tmp: dir, model }));

describe('decisions from other applications, read at index', () => {
  let db: DB;
  let shoot: string;
  const id = (name: string) => photoQueries(db).byPath(path.join(shoot, name))!.id;
  const index = () => indexLibrary({ db, model, roots: [shoot], thumbsDir: path.join(dir, 'thumbs') });

  beforeAll(async () => {
    shoot = path.join(dir, 'shoot');
    fs.mkdirSync(shoot);
    for (const [i, n] of ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'f.jpg'].entries()) await writeImage(path.join(shoot, n), { width: 64, height: 48, seed: 10 + i });
    const e = await sharp(fs.readFileSync(path.join(shoot, 'a.jpg'))).negate().jpeg().toBuffer();
    fs.writeFileSync(path.join(shoot, 'e.jpg'), jpegWithXmp(e, { rating: 5, label: 'red' }));
    fs.writeFileSync(path.join(shoot, 'a.xmp'), fixture('lightroom.xmp')); // 2 stars, blue
    fs.writeFileSync(path.join(shoot, 'b.jpg.xmp'), fixture('darktable.xmp')); // 1 star, green
    fs.writeFileSync(path.join(shoot, 'c.xmp'), fixture('captureone.xmp')); // 4 stars, red, MetadataDate 2024-06-01
    fs.writeFileSync(path.join(shoot, 'd.xmp'), fixture('lightroom.xmp').replace('</dc:subject>', '')); // malformed
    fs.writeFileSync(path.join(shoot, 'f.xmp'), fixture('digikam.xmp')); // 3 stars, blue, accepted
    db = openDatabase(path.join(dir, 'lib.db'));
  });
  afterAll(() => db.close());

  it('reads sidecars and embedded XMP, with their source; a malformed sidecar is reported by path, its photo indexed', async () => {
    const summary = await index();
    expect(summary.indexed).toBe(6);
    expect(summary.failed).toBe(0);
    const bad = summary.errors.filter((e) => e.path.endsWith('d.xmp'));
    expect(bad).toHaveLength(1);
    expect(bad[0].path).toBe(path.join(shoot, 'd.xmp'));
    expect(bad[0].reason).toMatch(/XMP sidecar skipped \(the photo is indexed\): .*does not close/);
    expect(getPhoto(db, id('d.jpg'))).toMatchObject({ status: 'ok', rating: 0, label: null });

    expect(getPhoto(db, id('a.jpg'))).toMatchObject({ rating: 2, label: 'blue', flag: 0 });
    expect(getPhoto(db, id('a.jpg'))!.outside).toMatchObject({ source: 'sidecar', path: path.join(shoot, 'a.xmp'), rating: 2, label: 'Blue', taken: { rating: true, label: true } });
    expect(getPhoto(db, id('b.jpg'))).toMatchObject({ rating: 1, label: 'green' });
    expect(getPhoto(db, id('c.jpg'))).toMatchObject({ rating: 4, label: 'red' });
    expect(getPhoto(db, id('f.jpg'))).toMatchObject({ rating: 3, label: 'blue', flag: 1 });
    expect(getPhoto(db, id('e.jpg'))).toMatchObject({ rating: 5, label: 'red' });
    expect(getPhoto(db, id('e.jpg'))!.outside).toMatchObject({ source: 'embedded', path: path.join(shoot, 'e.jpg') });
    const counts = libraryCounts(db, model.info.id);
    expect(counts.stars).toEqual({ '1': 1, '2': 1, '3': 1, '4': 1, '5': 1 });
    expect(counts.labels).toEqual({ blue: 2, green: 1, red: 2 });
    expect(counts.outside).toEqual({ photos: 5, sidecar: 4, embedded: 1, taken: 5 });
    // Taste can leave them out.
    expect(listPhotos(db, { outside: false }).map((p) => path.basename(p.path))).toEqual(['d.jpg']);
  });

  it('a decision made in Cull wins; an outside change after it is taken', async () => {
    // Cull rates c (Capture One's sidecar says 4, written 2024-06-01).
    setCulling(db, [id('c.jpg')], { rating: 1 });
    // Capture One's sidecar is touched again but its xmp:MetadataDate is older than Cull's decision.
    const c = path.join(shoot, 'c.xmp');
    fs.writeFileSync(c, fixture('captureone.xmp').replace('<xmp:Rating>4</xmp:Rating>', '<xmp:Rating>3</xmp:Rating>'));
    await index();
    expect(getPhoto(db, id('c.jpg'))!.rating).toBe(1);
    expect(getPhoto(db, id('c.jpg'))!.outside).toMatchObject({ rating: 3, taken: { rating: true } }); // recorded (and earlier taken)
    // Later, Lightroom rates a 5 (MetadataDate now): taken; the photo's decisions are no longer Cull's.
    setCulling(db, [id('a.jpg')], { rating: 4 });
    await new Promise((r) => setTimeout(r, 20));
    const later = new Date(Date.now() + 1000).toISOString();
    fs.writeFileSync(
      path.join(shoot, 'a.xmp'),
      fixture('lightroom.xmp').replace('xmp:Rating="2"', 'xmp:Rating="5"').replace('xmp:MetadataDate="2024-05-04T10:11:12+02:00"', `xmp:MetadataDate="${later}"`),
    );
    await index();
    expect(getPhoto(db, id('a.jpg'))!.rating).toBe(5);
    // A reject from outside (Rating -1) after Cull's pick.
    setCulling(db, [id('b.jpg')], { flag: 1 });
    const b = path.join(shoot, 'b.jpg.xmp');
    fs.writeFileSync(b, fixture('darktable.xmp').replace('xmp:Rating="1"', 'xmp:Rating="-1"'));
    const future = new Date(Date.now() + 5000);
    fs.utimesSync(b, future, future);
    await index();
    expect(getPhoto(db, id('b.jpg'))!.flag).toBe(-1);
    // Unchanged sidecars are not read again (and not reported again as changes).
    setCulling(db, [id('a.jpg')], { rating: 3 });
    await index();
    expect(getPhoto(db, id('a.jpg'))!.rating).toBe(3);
  });
});

describe.skipIf(!HAVE_EXIFTOOL || !HAVE_SHOOT)('done when: the sample shoot round trip with four applications', () => {
  const exif = (file: string) => {
    const r = spawnSync('exiftool', ['-j', '-a', '-G1', '-n', '-struct', '-XMP:all', file], { encoding: 'utf8' });
    const [o] = JSON.parse(r.stdout) as Record<string, unknown>[];
    delete o.SourceFile;
    return o;
  };
  const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');

  it('reads four applications\' sidecars, writes exactly three changed ratings, exports copies carrying them', async () => {
    const shoot = path.join(dir, 'sample');
    fs.cpSync(SHOOT, shoot, { recursive: true });
    const env = { ...process.env, CULL_MODEL_DIR: modelDir, CULL_DATA_DIR: path.join(dir, 'data') };
    const db = path.join(dir, 'sample.db');
    const cull = async (...args: string[]) => (await run(process.execPath, [CULL, '--db', db, ...args], { env, cwd: shoot, maxBuffer: 1 << 24 })).stdout;
    const forms: [string, string][] = [
      ['Aqua.jpg', 'lightroom.xmp'],
      ['Dune.jpg', 'captureone.xmp'],
      ['Storm.jpg', 'darktable.xmp'],
      ['Wood.jpg', 'digikam.xmp'],
    ];
    const sidecar = (photo: string) => path.join(shoot, `${path.parse(photo).name}.xmp`);
    for (const [photo, form] of forms) fs.writeFileSync(sidecar(photo), fixture(form));
    const originals = new Map(fs.readdirSync(shoot).map((n) => [n, sha(path.join(shoot, n))]));
    const before = new Map(forms.map(([p]) => [p, exif(sidecar(p))]));

    await cull('index', shoot);
    const stats = JSON.parse(await cull('--json', 'stats'));
    expect(stats.stars).toMatchObject({ '1': 1, '2': 1, '3': 1, '4': 1 });
    expect(stats.labels).toMatchObject({ blue: 2, red: 1, green: 1 });
    expect(stats.outside).toMatchObject({ photos: 4, sidecar: 4 });
    const explain = JSON.parse(await cull('--json', 'explain', 'Dune.jpg'));
    expect(explain.outside).toMatchObject({ source: 'sidecar', rating: 4, label: 'Red' });
    expect(await cull('explain', 'Dune.jpg')).toMatch(/From another application: sidecar Dune\.xmp, 2024-06-01: ★★★★, label Red — taken/);

    // Cull changes three ratings; the fourth photo keeps the rating digiKam gave it.
    const changed: Record<string, number> = { 'Aqua.jpg': 5, 'Dune.jpg': 1, 'Storm.jpg': 3 };
    for (const [photo, stars] of Object.entries(changed)) await cull('rate', photo, '--stars', String(stars));
    const dest = path.join(dir, 'picks');
    await cull('export', '--min-rating', '1', '--to', dest, '--xmp');
    for (const [photo] of forms) {
      const after = exif(sidecar(photo));
      const was = before.get(photo)!;
      if (photo in changed) {
        expect(after['XMP-xmp:Rating'], photo).toBe(changed[photo]);
        expect({ ...after, 'XMP-xmp:Rating': was['XMP-xmp:Rating'] }, photo).toEqual(was);
        // Byte for byte: only the rating's digit differs.
        const form = forms.find(([p]) => p === photo)![1];
        const text = fs.readFileSync(sidecar(photo), 'utf8');
        const orig = fixture(form);
        expect(text.length).toBe(orig.length);
        expect([...text].filter((ch, i) => ch !== orig[i])).toEqual([String(changed[photo])]);
      } else {
        expect(fs.readFileSync(sidecar(photo), 'utf8'), photo).toBe(fixture('digikam.xmp'));
      }
    }
    // No sidecar for any photo Cull did not decide, and the originals are untouched.
    expect(fs.readdirSync(shoot).filter((n) => n.endsWith('.xmp')).sort()).toEqual(forms.map(([p]) => path.basename(sidecar(p))).sort());
    for (const [n, h] of originals) if (!n.endsWith('.xmp')) expect(sha(path.join(shoot, n)), n).toBe(h);

    // The exported copies carry ratings and labels in their own XMP and decode to the same pixels.
    const expected: Record<string, [number, string]> = { 'Aqua.jpg': [5, 'Blue'], 'Dune.jpg': [1, 'Red'], 'Storm.jpg': [3, 'Green'], 'Wood.jpg': [3, 'Blue'] };
    for (const [photo, [rating, label]] of Object.entries(expected)) {
      const copy = path.join(dest, photo);
      const x = exif(copy);
      expect(x['XMP-xmp:Rating'], photo).toBe(rating);
      expect(x['XMP-xmp:Label'], photo).toBe(label);
      const [a, b] = await Promise.all([sharp(copy).raw().toBuffer(), sharp(path.join(shoot, photo)).raw().toBuffer()]);
      expect(a.equals(b), `${photo}: same pixels`).toBe(true);
    }
    expect(exif(path.join(dest, 'Wood.jpg'))['XMP-dc:Subject']).toEqual(['Pick']); // digiKam's accepted → a pick
  }, 180_000);
});
