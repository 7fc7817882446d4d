// The loupe's previews (electron/services/previews.ts) and their gate (electron/transport/images.ts):
// what is served for an original a browser shows, a RAW and a rendition; a changed file is made
// again; malformed `fit` and photos outside the library are refused. The browser side is
// test/e2e/raw-loupe.test.ts and test/e2e/loupe.test.ts.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { previewImage, previewInfo } from '../electron/services/previews.ts';
import { lookupImage } from '../electron/transport/images.ts';
import type { LibraryApi } from '../electron/transport/methods.ts';
import { imageBuffer, REPO_DIR, tempDir, tiffRaw } from './helpers/fixtures.ts';

const IPHONE = path.join(REPO_DIR, '..', 'shared', 'camera-files', 'heic', 'exiv2_2021-02-13-1929.heic'); // iPhone XR, 12 MP grid, irot
if (!fs.existsSync(IPHONE)) console.warn(`test/previews.test.ts: the iPhone HEIC check is skipped: no ${IPHONE} (../shared/camera-files)`);

let tmp: string;
beforeAll(() => {
  tmp = tempDir('cull-previews-');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('loupe previews', () => {
  it('serves an original a browser shows as the file itself, and a rendition at a shrink-on-load scale, upright', async () => {
    const file = path.join(tmp, 'portrait.jpg');
    fs.writeFileSync(file, await imageBuffer({ width: 4000, height: 3000, exif: { orientation: 6 } }));
    expect(await previewInfo(file)).toEqual({ source: 'original', width: 3000, height: 4000, sensor: null });
    expect((await previewImage(file)).file).toBe(file);
    // 700 px wanted: 4000 / 4 = 1000 is the smallest JPEG scale still at least 700.
    const fit = await previewImage(file, 700);
    const m = await sharp(fit.bytes!).metadata();
    expect([m.format, m.width, m.height, m.orientation]).toEqual(['jpeg', 750, 1000, undefined]);
    // Asking for more than half the size: the full preview itself.
    expect((await previewImage(file, 2500)).file).toBe(file);

    // A Display P3 photo's rendition keeps its profile, so the browser shows the same colours at fit as at 100 %.
    const p3 = path.join(tmp, 'p3.jpg');
    await sharp(await imageBuffer({ width: 1600, height: 1200, seed: 7 })).withIccProfile('p3').jpeg().toFile(p3);
    const icc = (await sharp(p3).metadata()).icc!;
    expect((await sharp((await previewImage(p3, 400)).bytes!).metadata()).icc?.equals(icc)).toBe(true);
  });

  it("serves a RAW's embedded preview as its own bytes, with the sensor size, and makes it again when the file changes", async () => {
    const small = await imageBuffer({ width: 160, height: 120, seed: 3 });
    const large = await imageBuffer({ width: 1500, height: 1000, seed: 4 });
    const file = path.join(tmp, 'IMG_0001.dng');
    fs.writeFileSync(file, tiffRaw({ small, large, sensor: { width: 6000, height: 4000, preview: { width: 1500, height: 1000 } } }));
    expect(await previewInfo(file)).toEqual({ source: 'embedded', width: 1500, height: 1000, sensor: { width: 6000, height: 4000 } });
    expect((await previewImage(file)).bytes!.equals(large)).toBe(true);

    const other = await imageBuffer({ width: 1200, height: 800, seed: 5 });
    fs.writeFileSync(file, tiffRaw({ small, large: other }));
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect((await previewImage(file)).bytes!.equals(other)).toBe(true);
    expect(await previewInfo(file)).toMatchObject({ source: 'embedded', width: 1200, height: 800 });
  });

  it.skipIf(!fs.existsSync(IPHONE))("decodes an iPhone HEIC in full, upright, with its Display P3 profile (../shared/camera-files)", async () => {
    const full = await previewImage(IPHONE);
    const m = await sharp(full.bytes!).metadata();
    expect([m.format, m.width, m.height]).toEqual(['jpeg', 3024, 4032]); // a portrait (irot)
    expect(m.icc?.equals((await sharp(IPHONE).metadata()).icc!)).toBe(true);
    expect((await sharp((await previewImage(IPHONE, 800)).bytes!).metadata()).icc?.length).toBe(m.icc!.length);
  }, 60_000);

  it('refuses a malformed fit, and a photo whose file lies outside the library (never its thumbnail instead)', async () => {
    const file = path.join(tmp, 'portrait.jpg');
    const thumb = path.join(tmp, 'thumb.jpg');
    fs.writeFileSync(thumb, await imageBuffer({ width: 512, height: 384 }));
    const lib = (inside: boolean) =>
      ({ imagePath: async () => file, thumbPath: async () => thumb, standardPreviewPath: async () => null, isInsideLibrary: async (p: string) => inside || p === thumb }) as unknown as LibraryApi;
    for (const fit of ['abc', '0', '99999', '-5', '1e3', '']) {
      expect(await lookupImage(lib(true), 'image', '1', fit), fit).toMatchObject({ ok: false, status: 400 });
    }
    expect(await lookupImage(lib(true), 'image', '1', '800')).toMatchObject({ ok: true, contentType: 'image/jpeg' });
    expect(await lookupImage(lib(false), 'image', '1')).toMatchObject({ ok: false, status: 403 });
    expect(await lookupImage(lib(false), 'thumb', '1')).toMatchObject({ ok: true, file: thumb });
  });
});
