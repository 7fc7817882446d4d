// Real files from phones and cameras (../shared/camera-files, described file by file in its
// SOURCES.tsv; never copied into this repository): every HEIC/HEIF/HIF/AVIF indexes with the right
// oriented size, or fails as damaged when SOURCES.tsv says it is cut short or stripped; every RAW's
// embedded preview is extracted and indexed, or the file fails with the "no embedded preview" reason
// when SOURCES.tsv lists no usable JPEG preview. Skips, saying so, when the folder is absent.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.ts';
import type { PhotoRow } from '../db/photos.ts';
import { indexLibrary } from '../electron/services/indexing/indexer.ts';
import { readMetadata } from '../electron/services/indexing/metadata.ts';
import { extractRawPreview, MIN_PREVIEW_SIDE, NO_PREVIEW } from '../electron/services/indexing/raw-preview.ts';
import { isPhotoFile } from '../electron/services/indexing/walk.ts';
import { decodeImage } from '../native-models/preprocess.ts';
import type { ClipModel } from '../native-models/types.ts';
import { REPO_DIR } from './helpers/fixtures.ts';
import { closeTinyModel, openTinyModel } from './helpers/tiny-model.ts';

const CAMERA_FILES = process.env.CULL_CAMERA_FILES ?? path.resolve(REPO_DIR, '..', 'shared', 'camera-files');
const present = fs.existsSync(path.join(CAMERA_FILES, 'SOURCES.tsv'));
if (!present) console.warn(`test/camera-files.test.ts skipped: no ${CAMERA_FILES}/SOURCES.tsv (real phone and camera files; set CULL_CAMERA_FILES)`);

interface Source {
  file: string; // heic/… or raw/…
  preview: string; // largest_embedded_preview
  note: string;
}

function sources(): Source[] {
  const [head, ...lines] = fs.readFileSync(path.join(CAMERA_FILES, 'SOURCES.tsv'), 'utf8').trim().split(/\r?\n/);
  const cols = head.split('\t');
  return lines.map((l) => {
    const f = l.split('\t');
    const at = (name: string) => f[cols.indexOf(name)] ?? '';
    return { file: at('file'), preview: at('largest_embedded_preview'), note: at('note') };
  });
}

let tmp: string;
let model: ClipModel;
beforeAll(async () => {
  if (!present) return;
  ({ tmp, model } = await openTinyModel('cull-camera-files-', 3));
}, 60_000);
afterAll(() => closeTinyModel({ tmp, model }));

/** Indexes copies of `files` (in a temporary folder) with the real indexer; rows by file name. */
async function indexCopies(name: string, files: string[]): Promise<Map<string, PhotoRow>> {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) fs.copyFileSync(path.join(CAMERA_FILES, f), path.join(dir, path.basename(f)));
  const db = openDatabase(path.join(tmp, `${name}.db`));
  try {
    await indexLibrary({ db, model, roots: [dir], thumbsDir: path.join(tmp, `${name}-thumbs`) });
    const rows = db.prepare('SELECT * FROM photos').all() as PhotoRow[];
    return new Map(rows.map((r) => [path.basename(r.path), r]));
  } finally {
    db.close();
  }
}

describe.skipIf(!present)('real HEIC/HEIF/HIF/AVIF files', () => {
  it('each indexes at its oriented size (irot applied, EXIF not on top), or fails as damaged as SOURCES.tsv predicts', async () => {
    const heic = sources().filter((s) => s.file.startsWith('heic/'));
    expect(heic.length).toBeGreaterThan(10);
    const t0 = performance.now();
    const rows = await indexCopies('heic', heic.map((s) => s.file));
    console.log(`${heic.length} real HEIF files indexed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const s of heic) {
      const name = path.basename(s.file);
      const row = rows.get(name);
      expect(row, name).toBeDefined();
      if (/data=TRUNCATED|STRIPPED/.test(s.note)) {
        expect([name, row!.status]).toEqual([name, 'failed']);
        expect(row!.error, name).toMatch(/^damaged file: truncated or corrupt/);
        continue;
      }
      expect([name, row!.status, row!.error]).toEqual([name, 'ok', null]);
      const primary = /primary=\S+ (\d+)x(\d+)/.exec(s.note);
      const irot = Number(/irot=(\d+)/.exec(s.note)?.[1] ?? 0);
      if (primary) {
        const [w, h] = [Number(primary[1]), Number(primary[2])];
        expect([name, row!.width, row!.height]).toEqual([name, ...(irot % 180 === 90 ? [h, w] : [w, h])]);
      }
      const thumb = await sharp(path.join(tmp, 'heic-thumbs', row!.thumb!)).metadata();
      expect(thumb.format).toBe('jpeg');
      expect(Math.sign(thumb.width! - thumb.height!), name).toBe(Math.sign(row!.width! - row!.height!));
    }
  }, 900_000);
});

describe.skipIf(!present)('real RAW files', () => {
  /** A JPEG preview SOURCES.tsv lists as complete and large enough to judge, as [w, h] before orientation. */
  const jpegPreview = (s: Source): [number, number] | null => {
    const m = /^(\d+)x(\d+) \(([^,)]+)/.exec(s.preview);
    if (!m || /TIFF/.test(m[3]) || Math.max(Number(m[1]), Number(m[2])) < MIN_PREVIEW_SIDE) return null;
    return [Number(m[1]), Number(m[2])];
  };
  /** Where the file itself says more than SOURCES.tsv's preview column. */
  const OVERRIDES: Record<string, [number, number] | null> = {
    // SOURCES.tsv lists no preview, but IFD0 holds the DNG's own complete 160×120 JPEG thumbnail.
    'file-type_fixture-Leica-M10.dng': [160, 120],
    // A JPEG named .nef: the largest JPEG in it is the photo itself.
    'mde-images_Issue_247-1.nef': [2000, 3008],
  };
  const turned = (s: Source) => /Orientation=Rotate (90|270)/.test(s.note);

  it("each RAW's embedded preview is extracted and decoded, or it fails naming the missing preview, as SOURCES.tsv predicts", async () => {
    const raws = sources().filter((s) => s.file.startsWith('raw/'));
    expect(raws.length).toBeGreaterThan(10);
    let found = 0;
    for (const s of raws) {
      const name = path.basename(s.file);
      const expected = name in OVERRIDES ? OVERRIDES[name] : jpegPreview(s);
      const buf = fs.readFileSync(path.join(CAMERA_FILES, s.file));
      const meta = await readMetadata(buf);
      const got = await extractRawPreview(buf, { orientation: meta.orientation }).then(
        async (jpeg) => decodeImage(jpeg, { thumbnail: true }),
        (err: Error) => err,
      );
      if (!expected) {
        expect(got, name).toBeInstanceOf(Error);
        expect((got as Error).message, name).toMatch(new RegExp(`^${NO_PREVIEW}.*RAW developer`));
        continue;
      }
      found++;
      expect(got, name).not.toBeInstanceOf(Error);
      const r = got as Awaited<ReturnType<typeof decodeImage>>;
      const [w, h] = turned(s) ? [expected[1], expected[0]] : expected;
      expect([name, r.width, r.height]).toEqual([name, w, h]);
      expect(r.thumbnail!.length, name).toBeGreaterThan(500);
    }
    expect(found).toBeGreaterThanOrEqual(10);
  }, 120_000);

  it('the indexer indexes the RAWs it walks through their previews, and records the reason for the others', async () => {
    const raws = sources().filter((s) => s.file.startsWith('raw/') && isPhotoFile(s.file));
    const rows = await indexCopies('raw', raws.map((s) => s.file));
    for (const s of raws) {
      const name = path.basename(s.file);
      const row = rows.get(name)!;
      const expected = name in OVERRIDES ? OVERRIDES[name] : jpegPreview(s);
      if (expected) {
        const [w, h] = turned(s) ? [expected[1], expected[0]] : expected;
        expect([name, row.status, row.width, row.height]).toEqual([name, 'ok', w, h]);
      } else {
        expect([name, row.status]).toEqual([name, 'failed']);
        expect(row.error, name).toMatch(/^no embedded preview in RAW file.*unsupported.*RAW developer/);
      }
    }
  }, 300_000);
});
