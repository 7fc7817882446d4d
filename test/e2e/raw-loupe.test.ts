// End-to-end, issue 15 item 1: a RAW's loupe at 100 % shows the pixels of the JPEG preview the
// camera embedded, not the 512 px thumbnail. Debian's Chromium against the real server and a real
// library. The RAW files are DNG-like containers made here (a 3000×2000 preview of a 6000×4000
// sensor; a portrait one whose orientation only the RAW states); the reference is the preview as
// ExifTool extracts it (`exiftool -b -PreviewImage`), decoded by sharp, compared with the pixels the
// page draws from the loupe's own image into a canvas. A HEIC (when heif-enc is installed) is shown
// decoded at its own size. When ../shared/camera-files is present, the real RAW files there are
// walked through at 100 % the same way (read in place, never copied).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Library } from '../../electron/services/library.ts';
import { imageBuffer, REPO_DIR, tiffRaw } from '../helpers/fixtures.ts';
import { heifEnc, heifEncMissing } from '../helpers/heif.ts';
import { chromiumStatus, closeAll, prepareApp, startApp, type RunningApp } from './helpers.ts';

const chromium = chromiumStatus();
const exiftool = (() => {
  try {
    execFileSync('exiftool', ['-ver'], { stdio: 'pipe' });
    return true;
  } catch {
    console.warn('[e2e] test/e2e/raw-loupe.test.ts skipped: ExifTool not found (apt-get install libimage-exiftool-perl), the independent reference');
    return false;
  }
})();
const heifMissing = heifEncMissing();
const CAMERA_RAW = path.join(process.env.CULL_CAMERA_FILES ?? path.resolve(REPO_DIR, '..', 'shared', 'camera-files'), 'raw');
const realRaw = fs.existsSync(CAMERA_RAW);
if (!realRaw) console.warn(`[e2e] test/e2e/raw-loupe.test.ts: the real-RAW check is skipped: no ${CAMERA_RAW} (../shared/camera-files; set CULL_CAMERA_FILES)`);

/** A picture with detail everywhere (noise over gradients), so sampled pixels tell previews apart. */
async function detailed(width: number, height: number, seed: number): Promise<Buffer> {
  const noise = await sharp({ create: { width: width / 10, height: height / 10, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 110 + seed * 7, sigma: 60 } } })
    .png()
    .toBuffer();
  // 4:4:4: no chroma upsampling, where JPEG decoders (Chromium's, libvips') differ most.
  return sharp(noise).resize(width, height, { kernel: 'cubic' }).jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer();
}

/** The largest JPEG ExifTool finds in a RAW (PreviewImage, JpgFromRaw, OtherImage), turned as the RAW says when it carries no orientation of its own. */
async function exiftoolPreview(file: string): Promise<{ pixels: Buffer; width: number; height: number } | null> {
  let best: { jpeg: Buffer; px: number } | null = null;
  for (const tag of ['PreviewImage', 'JpgFromRaw', 'OtherImage']) {
    const jpeg = execFileSync('exiftool', ['-b', `-${tag}`, file], { maxBuffer: 256 << 20 });
    const m = jpeg.length ? await sharp(jpeg).metadata().catch(() => null) : null;
    if (m?.width && m.height && (!best || m.width * m.height > best.px)) best = { jpeg, px: m.width * m.height };
  }
  if (!best || Math.sqrt(best.px) < 30) return null;
  const own = (await sharp(best.jpeg).metadata()).orientation;
  const rawOrientation = Number(execFileSync('exiftool', ['-s3', '-n', '-Orientation', file], { encoding: 'utf8' }).trim()) || 1;
  // Turned by the preview's own orientation, else by the RAW's (never re-encoded).
  const turn: Record<number, number> = { 1: 0, 3: 180, 6: 90, 8: 270 };
  const angle = own ? null : turn[rawOrientation];
  if (angle === undefined) throw new Error(`${file}: orientation ${rawOrientation} is not handled by this test`);
  const img = angle === null ? sharp(best.jpeg).autoOrient() : sharp(best.jpeg).rotate(angle);
  const { data, info } = await img.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { pixels: data, width: info.width, height: info.height };
}

/** In the page: the loupe's shown 100 % image, its natural size and `n`×`n` sampled RGB pixels (drawn into a canvas). */
function loupePixels(page: Page, n: number) {
  return page.evaluate((n) => {
    const loupe = document.querySelector<HTMLElement>('[data-testid="loupe"]')!;
    const img = loupe.querySelector<HTMLImageElement>('img.full')!;
    const w = img.naturalWidth;
    const h = img.naturalHeight;
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(img, 0, 0);
    const samples: number[] = [];
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const x = Math.floor(((i + 0.5) / n) * w);
        const y = Math.floor(((j + 0.5) / n) * h);
        const d = ctx.getImageData(x, y, 1, 1).data;
        samples.push(d[0], d[1], d[2]);
      }
    }
    const canvas = loupe.querySelector<HTMLElement>('.canvas')!.getBoundingClientRect();
    return {
      id: Number(loupe.dataset.id),
      source: loupe.dataset.source,
      width: w,
      height: h,
      devicePixelsWide: canvas.width * window.devicePixelRatio,
      samples,
      badge: document.querySelector('[data-testid="zoom-badge"]')!.textContent ?? '',
      shown: document.querySelector('[data-testid="loupe-info"] [data-field="shown"]')?.textContent ?? '',
    };
  }, n);
}

/** Mean |Δ| between the page's samples and the same points of a reference raster. */
function sampleDiff(samples: number[], ref: { pixels: Buffer; width: number; height: number }, n: number): number {
  let sum = 0;
  for (let j = 0, k = 0; j < n; j++) {
    for (let i = 0; i < n; i++, k += 3) {
      const x = Math.floor(((i + 0.5) / n) * ref.width);
      const y = Math.floor(((j + 0.5) / n) * ref.height);
      const at = (y * ref.width + x) * 3;
      for (let ch = 0; ch < 3; ch++) sum += Math.abs(samples[k + ch] - ref.pixels[at + ch]);
    }
  }
  return sum / (n * n * 3);
}

describe.skipIf(!chromium.available || !exiftool)('The loupe shows a RAW embedded preview at 100 % (Chromium, real server)', () => {
  let app: RunningApp;
  let page: Page;
  let library: Library;
  const pageErrors: string[] = [];
  const files: Record<string, string> = {};
  const N = 12;

  beforeAll(async () => {
    const folder = await prepareApp('cull-e2e-raw-', async (tmp) => {
      const dir = path.join(tmp, 'Photos', 'RAW');
      fs.mkdirSync(dir, { recursive: true });
      const small = await imageBuffer({ width: 160, height: 120, seed: 3 });
      files.landscape = path.join(dir, 'DSC_0001.dng');
      fs.writeFileSync(files.landscape, tiffRaw({ small, large: await detailed(3000, 2000, 1), make: 'Canon', model: 'Canon EOS 6D', sensor: { width: 6000, height: 4000, preview: { width: 3000, height: 2000 } } }));
      files.portrait = path.join(dir, 'DSC_0002.dng');
      fs.writeFileSync(files.portrait, tiffRaw({ small, large: await detailed(1800, 1200, 2), orientation: 6, sensor: { width: 1800, height: 1200, preview: { width: 1800, height: 1200 } } }));
      if (!heifMissing) {
        const png = path.join(tmp, 'heic-source.png');
        await sharp(await detailed(1600, 1200, 3)).png().toFile(png);
        files.heic = path.join(dir, 'IMG_0003.heic');
        heifEnc(png, files.heic, ['-q', '92']);
      } else console.warn(`[e2e] raw-loupe: the HEIC part is skipped: ${heifMissing}`);
      return dir;
    });
    // The real RAW files are read in place: indexing writes only to the library and its thumbnails.
    app = await startApp(folder, pageErrors, { roots: realRaw ? [folder.made, CAMERA_RAW] : [folder.made], timeout: 60_000, viewport: { width: 1280, height: 720 } });
    ({ page, library } = app);
    await page.waitForSelector('.grid .tile');
  }, 300_000);

  afterAll(() => closeAll(app));

  /** Opens the loupe on photo `id` at 100 % and waits for its full preview. */
  async function open100(id: number): Promise<void> {
    if ((await page.locator('[data-testid="loupe"]').count()) === 0) {
      await page.keyboard.press('Home');
      await page.keyboard.press('Enter');
    }
    const ids = (await library.photos()).map((p) => p.id);
    for (let k = 0; k <= ids.length && Number(await page.getAttribute('[data-testid="loupe"]', 'data-id')) !== id; k++) await page.keyboard.press('ArrowRight');
    if (Number(await page.getAttribute('[data-testid="loupe"]', 'data-id')) !== id) {
      await page.keyboard.press('Home');
      for (let k = 0; k <= ids.length && Number(await page.getAttribute('[data-testid="loupe"]', 'data-id')) !== id; k++) await page.keyboard.press('ArrowRight');
    }
    expect(Number(await page.getAttribute('[data-testid="loupe"]', 'data-id'))).toBe(id);
    if ((await page.getAttribute('[data-testid="loupe"]', 'data-zoom')) !== '100') await page.keyboard.press('z');
    await page.waitForSelector(`[data-testid="loupe"][data-id="${id}"][data-zoom="100"][data-full="1"]`);
  }

  const idOf = async (file: string) => (await library.photos()).find((p) => p.path === file)!.id;

  it("shows the RAW's embedded preview pixel for pixel at 100 %, says so, and not the thumbnail", async () => {
    for (const [name, expected] of [
      ['landscape', { width: 3000, height: 2000, badge: 'embedded preview, 3000×2000', shown: 'embedded preview, 3000×2000 (sensor 6000×4000)' }],
      ['portrait', { width: 1200, height: 1800, badge: null, shown: 'embedded preview, 1200×1800' }],
    ] as const) {
      const file = files[name];
      const id = await idOf(file);
      await open100(id);
      const seen = await loupePixels(page, N);
      const ref = (await exiftoolPreview(file))!;
      expect([ref.width, ref.height], name).toEqual([expected.width, expected.height]);
      expect({ source: seen.source, width: seen.width, height: seen.height }, name).toEqual({ source: 'embedded', width: ref.width, height: ref.height });
      expect(seen.devicePixelsWide, name).toBeCloseTo(ref.width, 0); // 100 % = one preview pixel per device pixel
      const diff = sampleDiff(seen.samples, ref, N);
      // The thumbnail scaled up would not pass: the same check against it is far off.
      const thumb = await sharp(path.join(app.tmp, 'thumbs', (await library.photo(id))!.thumb!)).resize(ref.width, ref.height, { fit: 'fill' }).raw().toBuffer();
      const thumbDiff = sampleDiff(seen.samples, { pixels: thumb, width: ref.width, height: ref.height }, N);
      console.log(`[e2e] ${path.basename(file)} at 100 %: ${seen.width}×${seen.height}, mean |Δ| ${diff.toFixed(2)} against ExifTool's preview decoded by sharp (${thumbDiff.toFixed(1)} against the thumbnail enlarged)`);
      expect(diff, name).toBeLessThan(1.5);
      expect(thumbDiff, name).toBeGreaterThan(diff + 5);
      expect(seen.shown, name).toBe(expected.shown);
      if (expected.badge) expect(seen.badge, name).toContain(`100 % of the ${expected.badge}`);
      else expect(seen.badge, name).not.toContain('embedded');
    }
  }, 120_000);

  it.skipIf(!!heifMissing)('shows a HEIC decoded at its own size at 100 %, not its 512 px thumbnail', async () => {
    const id = await idOf(files.heic);
    await open100(id);
    const seen = await loupePixels(page, N);
    expect({ source: seen.source, width: seen.width, height: seen.height }).toEqual({ source: 'decoded', width: 1600, height: 1200 });
    const src = await sharp(path.join(app.tmp, 'heic-source.png')).removeAlpha().raw().toBuffer();
    const diff = sampleDiff(seen.samples, { pixels: src, width: 1600, height: 1200 }, N);
    console.log(`[e2e] HEIC at 100 %: ${seen.width}×${seen.height}, mean |Δ| ${diff.toFixed(2)} against the picture it was encoded from`);
    expect(diff).toBeLessThan(8);
    expect(seen.shown).toBe('decoded original, 1600×1200');
  }, 120_000);

  it.skipIf(!realRaw)('walks the real RAW files of ../shared/camera-files at 100 %: each shows its largest embedded preview', async () => {
    const photos = (await library.photos()).filter((p) => p.path.startsWith(CAMERA_RAW + path.sep) && p.status === 'ok');
    let checked = 0;
    for (const p of photos) {
      const ref = await exiftoolPreview(p.path);
      if (!ref || Math.max(ref.width, ref.height) < 1000) continue; // stripped files: a thumbnail-sized preview, nothing to judge focus by
      await open100(p.id);
      const seen = await loupePixels(page, N);
      const diff = sampleDiff(seen.samples, ref, N);
      console.log(`[e2e] real RAW ${p.name}: loupe at 100 % ${seen.width}×${seen.height} (${seen.source}), ExifTool's preview ${ref.width}×${ref.height}, mean |Δ| ${diff.toFixed(2)}`);
      expect({ source: seen.source, width: seen.width, height: seen.height }, p.name).toEqual({ source: 'embedded', width: ref.width, height: ref.height });
      expect(diff, p.name).toBeLessThan(1.5);
      checked++;
    }
    console.log(`[e2e] real RAW files with a preview of 1000 px or more checked in the loupe: ${checked} of ${photos.length} indexed`);
    expect(checked).toBeGreaterThan(0);
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
