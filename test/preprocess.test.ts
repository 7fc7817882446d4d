// CLIP preprocessing parity. Two references:
//  1. PIL: Hugging Face's CLIPImageProcessor (and OpenAI's CLIP) resize with PIL's BICUBIC. A port
//     of Pillow's Resample.c (below) applied to the full-resolution decode is the exact reference.
//  2. transformers.js' CLIPImageProcessor, loaded offline. On Node it resizes with sharp's affine
//     bicubic interpolator WITHOUT antialiasing, so on large downscales it aliases and differs
//     per pixel from PIL (measured on the 30 sample photos: mean |Δ| 0.076, max 3.3 normalised
//     units). Compared per pixel on smooth images, and on 8×8 block means on photos (aliasing
//     averages out there, while a wrong crop, orientation, channel order or normalisation does not).
//
// Tolerances (normalised units, i.e. after (x/255 - mean)/std; one 8-bit level is ~0.015),
// measured with sharp 0.35 on the 30 sample photos:
//  - preprocessForClip vs PIL: mean |Δ| 0.0048 over the set, worst photo 0.020, max |Δ| 0.36
//  - decodePhoto vs preprocessForClip: mean 0.0057, worst photo 0.020, max 0.36
//  - vs transformers.js on 8×8 block means: worst photo 0.047, max 0.30
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { AutoProcessor, RawImage, env } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipResizeTarget, decodePhoto, preprocessForClip } from '../native-models/preprocess.ts';
import { ImageDecodeError } from '../native-models/errors.ts';
import { clipPreprocessorConfig } from '../native-models/testmodel/index.ts';
import type { PreprocessSpec } from '../native-models/types.ts';

const PHOTOS = path.resolve(__dirname, '../../shared/photos/sample-shoot');
const SPEC: PreprocessSpec = { imageSize: 224, mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] };
const S = SPEC.imageSize;
const MEASURE = !!process.env.CULL_MEASURE; // print the statistics behind the tolerances

// ---- Pillow's Resample.c, 8-bit path: separable (horizontal pass first), BICUBIC a = -0.5,
// support scaled by the reduction factor, 22-bit fixed-point coefficients, uint8 clamp between passes.
const PRECISION_BITS = 32 - 8 - 2;
function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}
function pilCoeffs(inSize: number, outSize: number) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 2 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const k = new Int32Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const w = new Float64Array(xmax);
    let ww = 0;
    for (let x = 0; x < xmax; x++) ww += w[x] = bicubic((x + xmin - center + 0.5) / filterscale);
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, k };
}
const clip8 = (v: number) => Math.min(255, Math.max(0, Math.floor(v / (1 << PRECISION_BITS))));
function pilResize(src: Uint8Array, w: number, h: number, ow: number, oh: number): Uint8Array {
  let cur = src;
  if (ow !== w) {
    const { ksize, bounds, k } = pilCoeffs(w, ow);
    const out = new Uint8Array(ow * h * 3);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let c = 0; c < 3; c++) {
          let ss = 1 << (PRECISION_BITS - 1);
          for (let x = 0; x < bounds[xx * 2 + 1]; x++) ss += cur[(y * w + x + bounds[xx * 2]) * 3 + c] * k[xx * ksize + x];
          out[(y * ow + xx) * 3 + c] = clip8(ss);
        }
    cur = out;
  }
  if (oh !== h) {
    const { ksize, bounds, k } = pilCoeffs(h, oh);
    const out = new Uint8Array(ow * oh * 3);
    for (let yy = 0; yy < oh; yy++)
      for (let x = 0; x < ow; x++)
        for (let c = 0; c < 3; c++) {
          let ss = 1 << (PRECISION_BITS - 1);
          for (let y = 0; y < bounds[yy * 2 + 1]; y++) ss += cur[((y + bounds[yy * 2]) * ow + x) * 3 + c] * k[yy * ksize + y];
          out[(yy * ow + x) * 3 + c] = clip8(ss);
        }
    cur = out;
  }
  return cur;
}

/** HF CLIPImageProcessor with PIL: convert('RGB') (alpha dropped), resize, crop (floor), normalise. */
async function pilReference(file: string): Promise<Float32Array> {
  const { data, info } = await sharp(file).autoOrient().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * info.channels + c];
  const [tw, th] = clipResizeTarget(info.width, info.height, S);
  const resized = pilResize(rgb, info.width, info.height, tw, th);
  const top = Math.floor((th - S) / 2);
  const left = Math.floor((tw - S) / 2);
  const out = new Float32Array(3 * S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++)
      for (let c = 0; c < 3; c++) out[c * S * S + y * S + x] = (resized[((y + top) * tw + x + left) * 3 + c] / 255 - SPEC.mean[c]) / SPEC.std[c];
  return out;
}

function diff(a: Float32Array, b: Float32Array) {
  expect(a.length).toBe(b.length);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

/** Mean over 8×8 blocks per channel: insensitive to aliasing, sensitive to geometry and colour. */
function blockMeans(x: Float32Array): Float32Array {
  const B = 8;
  const n = S / B;
  const out = new Float32Array(3 * n * n);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < S; y++)
      for (let xx = 0; xx < S; xx++) out[c * n * n + Math.floor(y / B) * n + Math.floor(xx / B)] += x[c * S * S + y * S + xx] / (B * B);
  return out;
}

let tmp = '';
let processor: (img: RawImage) => Promise<{ pixel_values: { data: Float32Array; dims: number[] } }>;
async function transformersJs(file: string): Promise<Float32Array> {
  const out = await processor(await RawImage.read(file));
  expect(out.pixel_values.dims).toEqual([1, 3, S, S]);
  return out.pixel_values.data;
}

/**
 * RGB test pattern as raw HWC: waves (a different phase per channel) scaled to the image size,
 * like one scene at different resolutions, plus optional per-pixel noise. (Fixed-frequency detail
 * near the Nyquist limit of the 224 px output would measure resampler aliasing, not preprocessing.)
 */
function pattern(w: number, h: number, noise = 0, seed = 1): Buffer {
  const buf = Buffer.alloc(w * h * 3);
  const k = 1000 / Math.max(w, h);
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) - 0.5;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const [u, t] = [x * k, y * k];
        const v = 128 + 90 * Math.sin(u / (23 + 11 * c) + t / (41 - 7 * c) + c) + 30 * Math.cos((u * t) / 9000) + noise * rnd();
        buf[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return buf;
}

interface Generated {
  name: string;
  file: string;
  /** Shortest side already 224: transformers.js does not resample, so it must agree exactly. */
  noResize: boolean;
}
const generated: Generated[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-pre-'));
  fs.mkdirSync(path.join(tmp, 'clip'));
  fs.writeFileSync(path.join(tmp, 'clip', 'preprocessor_config.json'), JSON.stringify(clipPreprocessorConfig(S)));
  env.allowRemoteModels = false;
  env.localModelPath = tmp;
  processor = (await AutoProcessor.from_pretrained('clip')) as unknown as typeof processor;

  const raw = (w: number, h: number, noise = 0) => sharp(pattern(w, h, noise), { raw: { width: w, height: h, channels: 3 } });
  const add = async (name: string, noResize: boolean, img: Sharp, ext: string) => {
    const file = path.join(tmp, `${name}.${ext}`);
    await img.toFile(file);
    generated.push({ name, file, noResize });
  };
  await add('landscape-1001x667', false, raw(1001, 667).jpeg({ quality: 95 }), 'jpg');
  await add('portrait-479x853-noise', false, raw(479, 853, 80).png(), 'png');
  // Large JPEG: exercises shrink-on-load. Moderate pixel noise, like a high-ISO photo.
  await add('large-3001x2003', false, raw(3001, 2003, 16).jpeg({ quality: 90 }), 'jpg');
  await add('small-upscale-150x97', false, raw(150, 97).png(), 'png');
  await add('exif-orientation-3', false, raw(500, 333).jpeg({ quality: 95 }).withMetadata({ orientation: 3 }), 'jpg');
  await add('exact-224x301', true, raw(224, 301, 60).png(), 'png');
  await add('exact-301x224', true, raw(301, 224, 60).jpeg({ quality: 90 }), 'jpg');
  await add('exact-exif-orientation-6', true, raw(301, 224, 60).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }), 'jpg');
  await add('exact-greyscale-224x250', true, raw(224, 250, 30).extractChannel(1).png(), 'png');
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('preprocessForClip on generated images (always runs)', () => {
  it('matches the PIL reference (HF CLIPImageProcessor) closely on every image', async () => {
    for (const g of generated) {
      const ours = await preprocessForClip(g.file, SPEC);
      expect(ours).toBeInstanceOf(Float32Array);
      expect(ours.length).toBe(3 * S * S);
      const d = diff(ours, await pilReference(g.file));
      if (MEASURE) console.log('vs PIL', g.name, d);
      // Measured: mean <= 0.0032 (0.0016 on the 150×97 upscale) except the large noisy JPEG
      // (0.019: JPEG shrink-on-load averages 8×8 blocks where PIL applies its wide cubic); max <= 0.11.
      expect(d.mean, g.name).toBeLessThan(0.03);
      expect(d.max, g.name).toBeLessThan(0.25);
    }
  });

  it('matches transformers.js exactly when no resampling is involved (crop, orientation, channels, normalisation)', async () => {
    for (const g of generated.filter((x) => x.noResize)) {
      const d = diff(await preprocessForClip(g.file, SPEC), await transformersJs(g.file));
      if (MEASURE) console.log('vs transformers.js, no resize', g.name, d);
      expect(d.max, g.name).toBeLessThan(1e-5);
    }
  });

  it('matches transformers.js on 8×8 block means when it resamples', async () => {
    // transformers.js' affine resize is corner-aligned and not antialiased: a sub-pixel shift and
    // aliasing, so only low frequencies compare. Measured block mean |Δ| 0.03-0.05 on downscales,
    // 0.10 (max 0.35) on the 150×97 upscale where the shift is largest; ours is within 0.002 of PIL.
    for (const g of generated.filter((x) => !x.noResize)) {
      const b = diff(blockMeans(await preprocessForClip(g.file, SPEC)), blockMeans(await transformersJs(g.file)));
      if (MEASURE) console.log('vs transformers.js blocks', g.name, b);
      expect(b.mean, g.name).toBeLessThan(0.15);
      expect(b.max, g.name).toBeLessThan(0.5);
    }
  });

  it('applies EXIF orientation (a red quadrant ends where the viewer sees it)', async () => {
    // Stored 640×427 with the top-left quadrant red; orientation 6 = rotate 90° clockwise to view,
    // so the viewer sees a 427×640 portrait with red in the top-right quadrant.
    const w = 640;
    const h = 427;
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px.set(x < w / 2 && y < h / 2 ? [230, 20, 20] : [20, 20, 230], (y * w + x) * 3);
    const file = path.join(tmp, 'quadrant.jpg');
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(file);
    const out = await preprocessForClip(file, SPEC);
    const red = (x: number, y: number) => out[y * S + x] * SPEC.std[0] + SPEC.mean[0]; // back to 0..1
    // Resized to 224×335, crop top 55: red covers x >= 112, y < 160·335/640 - 55 ≈ 113.
    expect(red(180, 40)).toBeGreaterThan(0.8);
    expect(red(40, 40)).toBeLessThan(0.2);
    expect(red(180, 200)).toBeLessThan(0.2);
    const { width, height } = await decodePhoto(file, SPEC);
    expect([width, height]).toEqual([427, 640]);
  });

  it('drops alpha without compositing, like PIL convert("RGB")', async () => {
    const w = 224;
    const h = 280;
    const px = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) px.set([200, (i * 7) % 256, 60, i % w < w / 2 ? 0 : 255], i * 4);
    const file = path.join(tmp, 'alpha.png');
    await sharp(px, { raw: { width: w, height: h, channels: 4 } }).png().toFile(file);
    const out = await preprocessForClip(file, SPEC);
    // The transparent left half keeps its stored colour, not black.
    const at = (c: number, x: number, y: number) => Math.round((out[c * S * S + y * S + x] * SPEC.std[c] + SPEC.mean[c]) * 255);
    expect([at(0, 10, 100), at(2, 10, 100)]).toEqual([200, 60]);
    expect(diff(out, await transformersJs(file)).max).toBeLessThan(1e-5);
    const photo = await decodePhoto(file, SPEC);
    expect(diff(photo.pixels, out).max).toBeLessThan(1e-5);
  });

  it('uses the HF resize geometry (shortest side to 224, long side floored)', () => {
    expect(clipResizeTarget(1001, 667, 224)).toEqual([336, 224]); // 224·1001/667 = 336.17
    expect(clipResizeTarget(479, 853, 224)).toEqual([224, 398]); // 398.9
    expect(clipResizeTarget(150, 97, 224)).toEqual([346, 224]);
    expect(clipResizeTarget(300, 300, 224)).toEqual([224, 224]);
  });
});

describe('decodePhoto (always runs)', () => {
  it('returns oriented size, a JPEG thumbnail and CLIP pixels close to preprocessForClip', async () => {
    for (const g of generated) {
      const meta = await sharp(g.file).metadata();
      const [ow, oh] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
      const photo = await decodePhoto(g.file, SPEC);
      expect([photo.width, photo.height], g.name).toEqual([ow, oh]);

      const t = await sharp(photo.thumbnail).metadata();
      expect(t.format).toBe('jpeg');
      expect(Math.max(t.width, t.height), g.name).toBe(Math.min(512, Math.max(ow, oh))); // never enlarged
      expect(Math.abs(t.width / t.height - ow / oh), g.name).toBeLessThan(0.01);
      expect(t.orientation ?? 1).toBe(1); // orientation baked in

      const d = diff(photo.pixels, await preprocessForClip(g.file, SPEC));
      if (MEASURE) console.log('decodePhoto vs preprocessForClip', g.name, d);
      expect(d.mean, g.name).toBeLessThan(0.015);
      expect(d.max, g.name).toBeLessThan(0.5);
    }
  });

  it('honours thumbSize', async () => {
    const photo = await decodePhoto(generated[0].file, SPEC, { thumbSize: 256 });
    const t = await sharp(photo.thumbnail).metadata();
    expect(Math.max(t.width, t.height)).toBe(256);
  });
});

describe('decode errors carry a human reason', () => {
  const reject = async (input: string | Buffer, kind: string, message: RegExp) => {
    for (const run of [() => preprocessForClip(input, SPEC), () => decodePhoto(input, SPEC)]) {
      const err = await run().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ImageDecodeError);
      expect((err as ImageDecodeError).kind).toBe(kind);
      expect((err as Error).message).toMatch(message);
    }
  };

  it('rejects a 100000 × 100000 pixel bomb from its header, before decoding', async () => {
    const chunk = (type: string, data: Buffer) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(zlib.crc32(body) >>> 0);
      return Buffer.concat([len, body, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(100000, 0);
    ihdr.writeUInt32BE(100000, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    await reject(png, 'too-large', /^image too large \(100000 × 100000 pixels, limit 268 MP\)$/);
    // A smaller explicit limit applies too.
    await expect(preprocessForClip(generated[0].file, SPEC, { maxPixels: 1000 })).rejects.toThrow(/image too large \(1001 × 667 pixels, limit 1000 pixels\)/);
  });

  it('rejects truncated JPEG and PNG data instead of returning grey', async () => {
    const jpeg = await sharp(pattern(400, 300, 60), { raw: { width: 400, height: 300, channels: 3 } }).jpeg().toBuffer();
    await reject(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'corrupt', /^damaged file: truncated or corrupt image data/);
    const png = await sharp(pattern(400, 300, 60), { raw: { width: 400, height: 300, channels: 3 } }).png().toBuffer();
    await reject(png.subarray(0, Math.floor(png.length / 2)), 'corrupt', /^damaged file: truncated or corrupt image data/);
  });

  it('rejects files that are not images, empty files and missing files', async () => {
    await reject(Buffer.from('this is not an image, just text'), 'not-image', /^not an image \(unsupported or corrupt file\)$/);
    await reject(Buffer.alloc(0), 'not-image', /^empty file \(0 bytes\)$/);
    const empty = path.join(tmp, 'empty.jpg');
    fs.writeFileSync(empty, '');
    await reject(empty, 'not-image', /^empty file/);
    const txt = path.join(tmp, 'notes.jpg');
    fs.writeFileSync(txt, 'plain text with a .jpg name');
    await reject(txt, 'not-image', /^not an image/);
    await reject(path.join(tmp, 'does-not-exist.jpg'), 'missing', /^file not found$/);
  });
});

const photosPresent = fs.existsSync(PHOTOS);
if (!photosPresent) console.log(`preprocess.test: ${PHOTOS} absent, skipping the real-photo parity checks`);

describe.skipIf(!photosPresent)('preprocessing parity on the real sample photos', () => {
  const files = photosPresent ? fs.readdirSync(PHOTOS).filter((f) => /\.(jpe?g|png)$/i.test(f)).map((f) => path.join(PHOTOS, f)) : [];

  it('matches the PIL reference: mean |Δ| < 0.008 over the set, < 0.03 and max < 0.5 per photo', async () => {
    let total = 0;
    for (const file of files) {
      const d = diff(await preprocessForClip(file, SPEC), await pilReference(file));
      if (MEASURE) console.log('photo vs PIL', path.basename(file), d);
      expect(d.mean, file).toBeLessThan(0.03);
      expect(d.max, file).toBeLessThan(0.5);
      total += d.mean;
    }
    expect(total / files.length).toBeLessThan(0.008);
  });

  it('matches transformers.js on 8×8 block means (its per-pixel aliasing averages out)', async () => {
    for (const file of files) {
      const ours = await preprocessForClip(file, SPEC);
      const b = diff(blockMeans(ours), blockMeans(await transformersJs(file)));
      if (MEASURE) console.log('photo vs transformers.js blocks', path.basename(file), b);
      expect(b.mean, file).toBeLessThan(0.05);
      expect(b.max, file).toBeLessThan(0.6);
    }
  });

  it('decodePhoto stays within 0.03 mean / 0.5 max of preprocessForClip', async () => {
    for (const file of files) {
      const photo = await decodePhoto(file, SPEC);
      const d = diff(photo.pixels, await preprocessForClip(file, SPEC));
      if (MEASURE) console.log('photo decodePhoto vs preprocessForClip', path.basename(file), d);
      expect(d.mean, file).toBeLessThan(0.03);
      expect(d.max, file).toBeLessThan(0.5);
    }
  });
});
