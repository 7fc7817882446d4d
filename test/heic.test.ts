// HEIC/HEIF (HEVC) photos, which sharp's prebuilt libvips cannot decode: made at run time with
// heif-enc (8-bit, 10-bit, embedded thumbnail, iPhone-style EXIF Orientation 6 + irot 270), decoded
// through libheif-js, compared with their source PNG, and indexed with the real indexer.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import type { PhotoRow } from '../db/photos.ts';
import { indexLibrary } from '../electron/services/indexing/indexer.ts';
import { lookupImage } from '../electron/transport/images.ts';
import type { LibraryApi } from '../electron/transport/methods.ts';
import { ImageDecodeError } from '../native-models/errors.ts';
import { loadModelFolder } from '../native-models/folder.ts';
import { decodeImage } from '../native-models/preprocess.ts';
import { openClipModel } from '../native-models/runtime.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import type { ClipModel } from '../native-models/types.ts';
import { tempDir, truncatedJpeg } from './helpers/fixtures.ts';
import { addIrot, heifEnc, heifEncMissing, withItemType } from './helpers/heif.ts';

const missing = heifEncMissing();
if (missing) console.warn(`test/heic.test.ts: generated-HEIC tests skipped: ${missing}`);

const W = 640;
const H = 480;

/** A picture with structure in both axes and an asymmetric corner marker, so rotations and flips show. */
function source(): Buffer {
  const b = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 3;
      b[i] = Math.round((x * 255) / (W - 1));
      b[i + 1] = Math.round((y * 255) / (H - 1));
      b[i + 2] = x < 120 && y < 80 ? 255 : 60 + ((x >> 5) & 1) * 80;
    }
  }
  return b;
}

const meanAbsDiff = (a: Buffer, b: Buffer) => {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
};

/** Full-size oriented RGB of an image through decodeImage's working raster. */
async function decodedRgb(file: string | Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const r = await decodeImage(typeof file === 'string' ? fs.readFileSync(file) : file, { thumbnail: false, working: [100_000] });
  return { data: r.working[0].data, width: r.width, height: r.height };
}

describe.skipIf(missing !== null)('HEIC made with heif-enc', () => {
  let tmp: string;
  let dir: string;
  let rgb: Buffer;
  let rotated: Buffer; // the source turned 90° clockwise, as an iPhone portrait is shown
  let modelDir: string;
  let model: ClipModel;
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    tmp = tempDir('cull-heic-');
    dir = path.join(tmp, 'photos');
    fs.mkdirSync(dir, { recursive: true });
    rgb = source();
    const png = path.join(tmp, 'src.png');
    const png16 = path.join(tmp, 'src16.png');
    const jpeg6 = path.join(tmp, 'src-o6.jpg');
    const raw = () => sharp(rgb, { raw: { width: W, height: H, channels: 3 } });
    await raw().png().toFile(png);
    await raw().toColourspace('rgb16').png().toFile(png16);
    await raw().jpeg({ quality: 98 }).withMetadata({ orientation: 6 }).toFile(jpeg6);
    rotated = await raw().rotate(90).raw().toBuffer();

    heifEnc(png, file('8bit.heic'), ['-q', '90']);
    heifEnc(png16, file('10bit.HIF'), ['-b', '10', '-q', '90']);
    heifEnc(png, file('thumb.heic'), ['-q', '90', '-t', '160']);
    // iPhone portrait: pixels stored landscape, EXIF Orientation 6 and irot 270 (anticlockwise) both say "turn 90° clockwise".
    heifEnc(jpeg6, path.join(tmp, 'o6.heic'), ['-q', '90']);
    fs.writeFileSync(file('iphone-portrait.heic'), addIrot(fs.readFileSync(path.join(tmp, 'o6.heic')), 270));
    // EXIF Orientation 6 without irot: HEIF readers (libheif, Apple, libvips) show the stored pixels.
    fs.copyFileSync(path.join(tmp, 'o6.heic'), file('exif-only.heic'));

    modelDir = path.join(tmp, 'model');
    await makeTestModel({ out: modelDir, size: 'tiny', seed: 3 });
    model = await openClipModel(loadModelFolder(modelDir), { threads: 1 });
  }, 120_000);

  afterAll(async () => {
    await model?.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('decodes 8-bit and 10-bit HEVC to the source pixels (sharp alone cannot)', async () => {
    await expect(sharp(file('8bit.heic')).raw().toBuffer()).rejects.toThrow(/compression format|HEVC/i);
    const eight = await decodedRgb(file('8bit.heic'));
    expect([eight.width, eight.height]).toEqual([W, H]);
    const d8 = meanAbsDiff(eight.data, rgb);
    const ten = await decodedRgb(file('10bit.HIF'));
    expect([ten.width, ten.height]).toEqual([W, H]);
    const d10 = meanAbsDiff(ten.data, rgb);
    console.log(`HEIC vs source PNG, mean |Δ| in 8-bit levels: 8-bit ${d8.toFixed(2)}, 10-bit ${d10.toFixed(2)}`);
    expect(d8).toBeLessThan(3);
    expect(d10).toBeLessThan(3);
    // The pixel limit holds for HEIC too, checked before the WebAssembly decode.
    const err = await decodeImage(fs.readFileSync(file('8bit.heic')), { maxPixels: 100_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageDecodeError);
    expect([(err as ImageDecodeError).kind, (err as Error).message]).toEqual(['too-large', 'image too large (640 × 480 pixels, limit 100000 pixels)']);
  });

  it('applies irot once (EXIF Orientation is not applied on top) and leaves EXIF-only orientation alone', async () => {
    const portrait = await decodedRgb(file('iphone-portrait.heic'));
    expect([portrait.width, portrait.height]).toEqual([H, W]);
    expect(meanAbsDiff(portrait.data, rotated)).toBeLessThan(4);
    const exifOnly = await decodedRgb(file('exif-only.heic'));
    expect([exifOnly.width, exifOnly.height]).toEqual([W, H]);
    expect(meanAbsDiff(exifOnly.data, rgb)).toBeLessThan(4);
  });

  it('decodes the primary image, not the embedded thumbnail', async () => {
    const r = await decodedRgb(file('thumb.heic'));
    expect([r.width, r.height]).toEqual([W, H]);
    expect(meanAbsDiff(r.data, rgb)).toBeLessThan(3);
  });

  it('keeps the main thread responsive while a HEIC decodes', async () => {
    const big = path.join(tmp, 'big.heic');
    await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).resize(2400, 1800).png().toFile(path.join(tmp, 'big.png'));
    heifEnc(path.join(tmp, 'big.png'), big, ['-q', '80', '-p', 'preset=ultrafast']);
    const elu = performance.eventLoopUtilization();
    const t0 = performance.now();
    const r = await decodeImage(fs.readFileSync(big), { thumbnail: true });
    const total = performance.now() - t0;
    const busy = performance.eventLoopUtilization(elu).active; // this thread's busy time, not the machine's load
    expect([r.width, r.height]).toEqual([2400, 1800]);
    console.log(`4.3 MP HEIC: ${total.toFixed(0)} ms to decode, main thread busy ${busy.toFixed(0)} ms of it`);
    // The WebAssembly decode runs in a worker; what is left on this thread is the hand-off to sharp.
    expect(busy).toBeLessThan(Math.max(100, total / 4));
  });

  it('says "damaged" for a truncated HEIC or JPEG and "unsupported" for a codec or container it cannot read', async () => {
    const heic = fs.readFileSync(file('8bit.heic'));
    const cases: [string, Buffer, ImageDecodeError['kind'], RegExp][] = [
      ['cut.heic', heic.subarray(0, Math.floor(heic.length * 0.5)), 'corrupt', /^damaged file: truncated or corrupt HEIF/],
      ['cut.jpg', await truncatedJpeg(), 'corrupt', /^damaged file: truncated or corrupt image data/],
      ['jpeg-coded.heic', withItemType(heic, 'jpeg'), 'unsupported', /^unsupported format or codec: a HEIF image compressed with JPEG.*heif-convert/],
      ['uncompressed.heif', withItemType(heic, 'unci'), 'unsupported', /^unsupported format or codec: .*uncompressed/],
      ['movie.heic', Buffer.concat([Buffer.from('\0\0\0\x18ftypmp42\0\0\0\0isommp42', 'latin1'), Buffer.alloc(2000)]), 'unsupported', /^unsupported format: an MP4 video \(a video player opens it\)/],
      ['odd.heif', Buffer.concat([Buffer.from('\0\0\0\x14ftypabcd\0\0\0\0abcd', 'latin1'), Buffer.alloc(2000)]), 'unsupported', /^unsupported format: an ISO media file of brand 'abcd'/],
    ];
    for (const [name, bytes, kind, message] of cases) {
      const err = await decodeImage(bytes, { thumbnail: true }).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(ImageDecodeError);
      expect([name, (err as ImageDecodeError).kind]).toEqual([name, kind]);
      expect((err as Error).message, name).toMatch(message);
    }

    // Through the indexer: the reason recorded next to each file.
    const bad = path.join(tmp, 'bad');
    fs.mkdirSync(bad, { recursive: true });
    for (const [name, bytes] of cases) fs.writeFileSync(path.join(bad, name), bytes);
    const db = openDatabase(path.join(tmp, 'bad.db'));
    try {
      const summary = await indexLibrary({ db, model, roots: [bad], thumbsDir: path.join(tmp, 'bad-thumbs') });
      expect(summary.failed).toBe(cases.length);
      for (const [name, , , message] of cases) {
        const row = db.prepare('SELECT status, error FROM photos WHERE path = ?').get(path.join(bad, name)) as Pick<PhotoRow, 'status' | 'error'>;
        expect(row.status, name).toBe('failed');
        expect(row.error, name).toMatch(message);
      }
    } finally {
      db.close();
    }
  });

  it('indexes HEIC photos with the real indexer: oriented size, embedding, and a JPEG thumbnail the loupe shows', async () => {
    const db: DB = openDatabase(path.join(tmp, 'library.db'));
    const thumbsDir = path.join(tmp, 'thumbs');
    try {
      const summary = await indexLibrary({ db, model, roots: [dir], thumbsDir });
      expect(summary).toMatchObject({ indexed: 5, failed: 0, errors: [] });
      const rows = db.prepare('SELECT * FROM photos ORDER BY path').all() as PhotoRow[];
      const byName = new Map(rows.map((r) => [path.basename(r.path), r]));
      expect(byName.get('iphone-portrait.heic')).toMatchObject({ status: 'ok', width: H, height: W });
      for (const name of ['8bit.heic', '10bit.HIF', 'thumb.heic', 'exif-only.heic']) expect(byName.get(name), name).toMatchObject({ status: 'ok', width: W, height: H });
      expect(db.prepare('SELECT COUNT(*) FROM embeddings').pluck().get()).toBe(5);

      for (const r of rows) {
        const thumb = path.join(thumbsDir, r.thumb!);
        const t = await sharp(thumb).metadata();
        expect(t.format).toBe('jpeg');
        expect([t.width, t.height]).toEqual(r.width! > r.height! ? [512, 384] : [384, 512]);
        const expected = await sharp(r.width! > r.height! ? rgb : rotated, { raw: { width: r.width!, height: r.height!, channels: 3 } })
          .resize(t.width!, t.height!)
          .raw()
          .toBuffer();
        expect(meanAbsDiff(await sharp(thumb).raw().toBuffer(), expected), r.path).toBeLessThan(4);
      }

      // The loupe's /image/<id>: a browser cannot show HEIC, so the photo is decoded in full (upright)
      // and served as a JPEG of its own size, not the 512 px thumbnail; ?fit= gives a smaller rendition.
      const portrait = byName.get('iphone-portrait.heic')!;
      const lib = {
        imagePath: async () => portrait.path,
        thumbPath: async () => path.join(thumbsDir, portrait.thumb!),
        standardPreviewPath: async () => null, // the rendition from the original (test/standard-preview.test.ts: the other way)
        isInsideLibrary: async () => true,
      } as unknown as LibraryApi;
      const found = await lookupImage(lib, 'image', String(portrait.id));
      expect(found).toMatchObject({ ok: true, contentType: 'image/jpeg' });
      const full = found.ok ? found.bytes! : Buffer.alloc(0);
      expect(await sharp(full).metadata()).toMatchObject({ format: 'jpeg', width: H, height: W });
      expect(meanAbsDiff(await sharp(full).raw().toBuffer(), rotated)).toBeLessThan(4);
      const fit = await lookupImage(lib, 'image', String(portrait.id), '200');
      expect(fit.ok && (await sharp(fit.bytes!).metadata())).toMatchObject({ width: H / 2, height: W / 2 });
    } finally {
      db.close();
    }
  }, 120_000);
});
