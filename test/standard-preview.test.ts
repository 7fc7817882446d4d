// Standard previews (electron/services/indexing/standard-preview.ts): indexing a camera-sized photo
// writes a screen-sized JPEG beside its thumbnail, upright, from the decode the indexer already does,
// and the loupe's `?fit=` request it can satisfy is served from that file (electron/transport/images.ts)
// instead of a rendition made from the original. Larger fits, small photos and wide-gamut photos (whose
// decoded raster was converted to sRGB) still get the on-demand rendition.
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TECHNICAL_WORKING_SIDE } from '../electron/services/indexing/analyzers/technical.ts';
import { rasterJpeg } from '../electron/services/indexing/standard-preview.ts';
import { Library } from '../electron/services/library.ts';
import type { Raster } from '../native-models/preprocess.ts';
import { lookupImage } from '../electron/transport/images.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { imageBuffer, tempDir } from './helpers/fixtures.ts';
import { ANNEX_K_DC_LUMA, dcLumaCounts } from './helpers/jpeg.ts';

let tmp: string;
let library: Library;
const ids: Record<string, number> = {};
const thumbs = () => path.join(tmp, 'thumbs');
// The standard preview is the working raster's size (the technical analyzer's): a 3000×4000 portrait gives W×H.
const H = TECHNICAL_WORKING_SIDE;
const W = Math.round((H * 3) / 4);
const stdFiles = () => fs.readdirSync(thumbs()).filter((n) => n.endsWith('.std.jpg'));

beforeAll(async () => {
  tmp = tempDir('cull-std-preview-');
  const photos = path.join(tmp, 'photos');
  fs.mkdirSync(photos);
  // 4000×3000 stored, EXIF orientation 6: a 3000×4000 portrait.
  fs.writeFileSync(path.join(photos, 'portrait.jpg'), await imageBuffer({ width: 4000, height: 3000, seed: 2, exif: { orientation: 6 } }));
  fs.writeFileSync(path.join(photos, 'small.jpg'), await imageBuffer({ width: 800, height: 600, seed: 3 }));
  await sharp(await imageBuffer({ width: 3000, height: 2000, seed: 4 })).withIccProfile('p3').jpeg().toFile(path.join(photos, 'p3.jpg'));
  await makeTestModel({ out: path.join(tmp, 'model'), size: 'tiny', seed: 1 });
  library = await Library.open({ dbPath: path.join(tmp, 'library.db'), modelDir: path.join(tmp, 'model'), thumbsDir: thumbs(), threads: 1 });
  await library.addRoot(photos);
  await library.index(undefined);
  for (const p of await library.photos()) ids[path.basename(p.path)] = p.id;
}, 120_000);
afterAll(async () => {
  await library?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('standard previews', () => {
  it('are written with the standard Huffman tables (half the encoding CPU): the same pixels as tables optimised for the image', async () => {
    const file = (await library.standardPreviewPath(ids['portrait.jpg']))!;
    expect(dcLumaCounts(fs.readFileSync(file))).toEqual(ANNEX_K_DC_LUMA);
    const { data, info } = await sharp(await imageBuffer({ width: 1200, height: 900, seed: 5 })).raw().toBuffer({ resolveWithObject: true });
    const r: Raster = { data, width: info.width, height: info.height, channels: 3 };
    const standard = (await rasterJpeg(r, null, { quality: 88, optimiseCoding: false }))!;
    const optimised = (await rasterJpeg(r, null, { quality: 88 }))!;
    expect(dcLumaCounts(optimised)).not.toEqual(ANNEX_K_DC_LUMA);
    const pixels = (b: Buffer) => sharp(b).raw().toBuffer();
    expect((await pixels(standard)).equals(await pixels(optimised))).toBe(true);
  });

  it('are written at index time beside the thumbnail: upright, the working size on the long side, the photo in its colours', async () => {
    expect(stdFiles()).toHaveLength(1); // the small photo needs none; the Display P3 one keeps its on-demand rendition
    const file = (await library.standardPreviewPath(ids['portrait.jpg']))!;
    expect(fs.realpathSync(path.dirname(file))).toBe(fs.realpathSync(thumbs()));
    const m = await sharp(file).metadata();
    expect([m.format, m.width, m.height, m.orientation]).toEqual(['jpeg', W, H, undefined]);
    // The same picture as the original turned upright (not a sideways or blank one): mean colours agree.
    const original = await sharp(path.join(tmp, 'photos', 'portrait.jpg')).autoOrient().resize(W, H).stats();
    const std = await sharp(file).stats();
    for (let c = 0; c < 3; c++) expect(Math.abs(std.channels[c].mean - original.channels[c].mean)).toBeLessThan(3);
    // Its top rows are the original's top rows once upright (orientation 6 rotates the stored left column to the top).
    const top = (img: Sharp) => img.extract({ left: 0, top: 0, width: W, height: 100 }).stats();
    const [a, b] = await Promise.all([top(sharp(file)), top(sharp(path.join(tmp, 'photos', 'portrait.jpg')).autoOrient().resize(W, H))]);
    expect(Math.abs(a.channels[0].mean - b.channels[0].mean)).toBeLessThan(4);
  });

  it('serves a fit view it can fill from that file, and a larger fit, the small photo and the wide-gamut one as before', async () => {
    const id = ids['portrait.jpg'];
    const file = (await library.standardPreviewPath(id))!;
    const fit = await lookupImage(library, 'image', String(id), String(H - 100));
    expect(fit.ok && fit.file).toBe(file);
    expect(fit.ok && fit.size).toBe(fs.statSync(file).size);
    // Bigger than the preview (a high-DPI screen): the rendition made from the original, 2000 px.
    const big = await lookupImage(library, 'image', String(id), '1800');
    expect(big.ok && big.bytes !== undefined).toBe(true);
    expect((await sharp(big.ok ? big.bytes! : Buffer.alloc(0)).metadata()).height).toBe(2000);
    // 100 %: the original.
    const full = await lookupImage(library, 'image', String(id));
    expect(full.ok && full.file).toBe(fs.realpathSync(path.join(tmp, 'photos', 'portrait.jpg')));
    // No standard preview: the rendition (keeping the Display P3 profile), the small original as it is.
    const p3 = await lookupImage(library, 'image', String(ids['p3.jpg']), '700');
    const p3icc = (await sharp(path.join(tmp, 'photos', 'p3.jpg')).metadata()).icc!;
    expect((await sharp(p3.ok ? p3.bytes! : Buffer.alloc(0)).metadata()).icc?.equals(p3icc)).toBe(true);
    const small = await lookupImage(library, 'image', String(ids['small.jpg']), '700');
    expect(small.ok && small.file).toBe(fs.realpathSync(path.join(tmp, 'photos', 'small.jpg')));
  });
});
