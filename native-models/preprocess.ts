// Image decoding for CLIP with sharp. Reproduces Hugging Face's CLIPImageProcessor (PIL bicubic
// resize of the shortest side, centre crop, rescale, normalise) with EXIF orientation applied.
//
// Resampling: sharp's 'cubic' kernel is Catmull-Rom, the a = -0.5 cubic of PIL's BICUBIC, and like
// PIL it widens the kernel when shrinking (antialiasing). Measured against a port of Pillow's
// resampler on 30 real photos (test/preprocess.test.ts), in normalised units (one 8-bit level is
// ~0.015): mean |Δ| 0.005, max 0.36. decodePhoto's CLIP pixels (from its 512 px intermediate)
// differ from preprocessForClip's by a similar 0.006 mean / 0.36 max. transformers.js on Node is
// not the reference: its affine bicubic resize is corner-aligned and not antialiased.
import fs from 'node:fs/promises';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { ImageDecodeError } from './errors.ts';
import { decodeHeif, isHeifBrand, isoBrands, notHeifError, readHead, type HeifRaster } from './heif.ts';
import type { DecodedPhoto, PreprocessSpec } from './types.ts';

/** sharp's default pixel limit (0x3FFF²): about 268 MP, beyond any camera but not a pixel bomb. */
export const MAX_INPUT_PIXELS = 268_402_689;

export type ImageInput = string | Buffer;

export interface DecodeOptions {
  maxPixels?: number;
}

/** Decodes `input` into CLIP's CHW float32 input of spec.imageSize². */
export async function preprocessForClip(input: ImageInput, spec: PreprocessSpec, opts: DecodeOptions = {}): Promise<Float32Array> {
  const maxPixels = opts.maxPixels ?? MAX_INPUT_PIXELS;
  const info = await probe(input, maxPixels);
  const { width, height } = info;
  return guard(async () => clipPixels(await orientedRgb(input, info, maxPixels), width, height, width, height, spec));
}

/** A working-size image for analyzers: oriented sRGB, 3 channels, uint8 HWC rows of `width`. */
export interface Raster {
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
}

/** What one decode of a photo should yield (decodeImage). */
export interface DecodeRequest extends DecodeOptions {
  /** CLIP input pixels for this spec. */
  clip?: PreprocessSpec;
  /** Thumbnail long side (default 512); also a lower bound of the intermediate the CLIP pixels come from. */
  thumbSize?: number;
  /** Encode the JPEG thumbnail (default true). Off, the intermediate keeps the same size, so CLIP pixels do not change. */
  thumbnail?: boolean;
  /** Long sides of working rasters for analyzers (never enlarged: a smaller photo gives its own size). */
  working?: number[];
}

export interface DecodeResult {
  /** Oriented dimensions of the original image. */
  width: number;
  height: number;
  pixels: Float32Array | null; // when `clip` was asked
  thumbnail: Buffer | null; // when `thumbnail` was not false and `clip` or the thumbnail was asked
  working: Raster[]; // one per `working` entry, in that order
  /**
   * The ICC profile the file embeds, and whether the rasters' pixels were converted from it to sRGB
   * (sharp does) or are still in it (libheif-js decodes HEVC without converting); null: none.
   */
  profile: { icc: Buffer; converted: boolean } | null;
}

/**
 * Decodes a photo once for indexing: one (shrink-on-load) decode to an intermediate image big
 * enough for both outputs, then the JPEG thumbnail (long side `thumbSize`) and the CLIP pixels
 * are derived from it. The intermediate keeps the shortest side >= 1.5 × imageSize so the CLIP
 * resize from it is still a proper antialiased reduction.
 */
export async function decodePhoto(
  input: ImageInput,
  spec: PreprocessSpec,
  opts: DecodeOptions & { thumbSize?: number; working?: number[] } = {},
): Promise<DecodedPhoto & { working: Raster[] }> {
  const r = await decodeImage(input, { ...opts, clip: spec, thumbnail: true });
  return { pixels: r.pixels!, thumbnail: r.thumbnail!, width: r.width, height: r.height, working: r.working };
}

/**
 * decodePhoto's general form, for the indexer's analyzers. Still one decode: the file is decoded
 * (with shrink-on-load) straight to the largest size anything asked for — the CLIP/thumbnail
 * intermediate, or a larger working raster — and every smaller output is a resize of that buffer
 * in memory. With no working raster (or one no larger than the intermediate) the CLIP pixels and
 * thumbnail are exactly decodePhoto's of before; a larger working raster puts one more reduction
 * in their chain (original → working → intermediate), a resampling difference of the size the
 * header describes for the intermediate itself.
 */
export async function decodeImage(input: ImageInput, req: DecodeRequest): Promise<DecodeResult> {
  const maxPixels = req.maxPixels ?? MAX_INPUT_PIXELS;
  const thumbSize = req.thumbSize ?? 512;
  const makeThumb = req.thumbnail !== false;
  const spec = req.clip;
  const info = await probe(input, maxPixels);
  const { width, height } = info;
  const long = Math.max(width, height);
  const size = (scale: number): [number, number] => [Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))];

  const wantMid = spec !== undefined || makeThumb;
  const midScale = Math.min(1, Math.max(thumbSize / long, spec ? (1.5 * spec.imageSize) / Math.min(width, height) : 0));
  const workScales = (req.working ?? []).map((side) => Math.min(1, Math.max(1, side) / long));
  const topScale = Math.max(wantMid ? midScale : 0, ...workScales);
  const [tw, th] = size(topScale);

  return guard(async () => {
    let src = await orientedRgb(input, info, maxPixels);
    // JPEG shrink-on-load: sharp decodes at 1/2, 1/4 or 1/8 scale and resizes the rest. With
    // fastShrinkOnLoad off it leaves at least a factor 2 to the resize (closer to PIL, which the CLIP
    // pixels follow), so a 6000 px photo going to 1200 px would be decoded at 1/2 (3000 px: 4× the
    // pixels to colour-convert and resize). When a working raster sets the size, on: it is then
    // decoded at 1/4 (1500 px, the scale the CLIP intermediate alone decodes at) and resized by
    // 1.25. (sharp still halves a factor k when the shrink is under k + 1, for libjpeg's rounding:
    // a 1500 px raster of a 6000 px photo, a shrink of 4, decodes at 1/2 either way.)
    const workingOnTop = tw > (wantMid ? size(midScale)[0] : 0);
    if (tw !== width || th !== height) src = src.resize(tw, th, { kernel: 'cubic', fit: 'fill', fastShrinkOnLoad: workingOnTop });
    const top = await src.raw().toBuffer();
    /** `top` reduced to w×h (itself when that is its size). */
    const reduce = async (w: number, h: number): Promise<Buffer> =>
      w === tw && h === th ? top : rawInput(top, tw, th).resize(w, h, { kernel: 'cubic', fit: 'fill' }).raw().toBuffer();

    const working = Promise.all(
      workScales.map(async (s): Promise<Raster> => {
        const [w, h] = size(s);
        return { data: await reduce(w, h), width: w, height: h, channels: 3 };
      }),
    );
    let pixels: Promise<Float32Array | null> = Promise.resolve(null);
    let thumbnail: Promise<Buffer | null> = Promise.resolve(null);
    if (wantMid) {
      const [iw, ih] = size(midScale);
      const mid = await reduce(iw, ih);
      const fromMid = () => rawInput(mid, iw, ih);
      if (makeThumb) {
        const t = Math.min(1, thumbSize / Math.max(iw, ih));
        const thumb = t < 1 ? fromMid().resize(Math.max(1, Math.round(iw * t)), Math.max(1, Math.round(ih * t)), { fit: 'fill' }) : fromMid();
        // Standard Huffman tables, not ones optimised for the image (sharp's default): the same
        // pixels, ~3 % more bytes, half the encoding CPU (3.8 → 1.9 ms a 512 px thumbnail).
        thumbnail = thumb.jpeg({ quality: 82, mozjpeg: false, optimiseCoding: false }).toBuffer();
      }
      // Target size from the original dimensions, so the geometry is exactly preprocessForClip's.
      if (spec) pixels = clipPixels(fromMid(), iw, ih, width, height, spec);
    }
    const [p, t, w] = await Promise.all([pixels, thumbnail, working]);
    const profile = info.icc ? { icc: info.icc, converted: !info.raw } : null;
    return { width, height, pixels: p, thumbnail: t, working: w, profile };
  });
}

/** HF get_resize_output_image_size(default_to_square=False): shortest side → size, long side floored. */
export function clipResizeTarget(width: number, height: number, size: number): [number, number] {
  return width <= height ? [size, Math.floor((size * height) / width)] : [Math.floor((size * width) / height), size];
}

interface Probe {
  width: number; // oriented
  height: number;
  hasAlpha: boolean;
  icc?: Buffer;
  /** HEIF that sharp cannot decode (HEVC): already decoded by libheif-js, oriented RGB. */
  raw?: HeifRaster;
}

/** Reads the header only: oriented size, alpha, and the pixel-bomb guard before any decoding. */
async function probe(input: ImageInput, maxPixels: number): Promise<Probe> {
  const bytes = typeof input === 'string' ? await fs.stat(input).then((s) => s.size, () => null) : input.length;
  if (bytes === 0) throw new ImageDecodeError('not-image', 'empty file (0 bytes)');
  const brands = bytes === null ? null : isoBrands(await readHead(input).catch(() => Buffer.alloc(0)));
  if (brands && !isHeifBrand(brands)) throw notHeifError(brands);
  let meta: Metadata | null = null;
  if (brands) {
    // sharp reads HEIF containers and decodes AV1 (AVIF), but not HEVC: those go to libheif-js.
    meta = await sharp(input, { limitInputPixels: false }).metadata().catch(() => null);
    if (meta?.compression !== 'av1' && !(meta === null && /^avi[fs]$/.test(brands.major))) {
      try {
        return await heifProbe(input, maxPixels, meta);
      } catch (err) {
        // libvips names a mif1-branded AVIF 'hevc'; libheif-js, which has no AV1, says what it is: sharp decodes it.
        if (!(meta && err instanceof ImageDecodeError && err.kind === 'unsupported' && /\bAV1\b/.test(err.message))) throw err;
      }
    }
  }
  meta ??= await guard(() => sharp(input, { limitInputPixels: false }).metadata());
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new ImageDecodeError('not-image', 'not an image (unsupported or corrupt file)');
  if (width * height > maxPixels) {
    throw new ImageDecodeError('too-large', `image too large (${width} × ${height} pixels, limit ${formatPixels(maxPixels)})`);
  }
  return { width, height, hasAlpha: meta.hasAlpha === true, icc: meta.icc };
}

/** HEIC/HEIF with HEVC: the pixel limit from the header when sharp could read it, then the decode (which checks it again). */
async function heifProbe(input: ImageInput, maxPixels: number, meta: Metadata | null): Promise<Probe> {
  if (meta?.width && meta.height && meta.width * meta.height > maxPixels) {
    throw new ImageDecodeError('too-large', `image too large (${meta.width} × ${meta.height} pixels, limit ${formatPixels(maxPixels)})`);
  }
  const bytes = typeof input === 'string' ? await guard(() => fs.readFile(input)) : input;
  const raw = await decodeHeif(bytes, maxPixels);
  return { width: raw.width, height: raw.height, hasAlpha: false, raw, icc: meta?.icc };
}

/** Above this many pixels, alpha is stripped by a streamed pipeline instead of in memory (see orientedRgb). */
const STREAMED_ALPHA_PIXELS = 16_000_000;

/** Oriented sRGB, 3 channels. Alpha is dropped without compositing, like PIL's convert('RGB'). */
async function orientedRgb(input: ImageInput, info: Probe, maxPixels: number): Promise<Sharp> {
  if (info.raw) return rawInput(info.raw.data, info.raw.width, info.raw.height); // oriented by libheif (irot/imir), no EXIF rotation on top
  const img = sharp(input, { failOn: 'error', limitInputPixels: maxPixels }).autoOrient().toColourspace('srgb');
  if (!info.hasAlpha) return img;
  if (info.width * info.height > STREAMED_ALPHA_PIXELS) {
    // Large (or hostile: a tiny zlib bomb declaring 12000² RGBA) images would need a full-size raw
    // RGBA buffer plus its RGB copy, 7 bytes per pixel. Without a resize in the pipeline removeAlpha
    // does not premultiply, so streaming through a lossless PNG gives the same pixels in bounded memory.
    const png = await img.removeAlpha().png({ compressionLevel: 1 }).toBuffer();
    return sharp(png, { failOn: 'error', limitInputPixels: maxPixels });
  }
  // sharp premultiplies alpha while resizing (transparent pixels turn black), so strip it first.
  const { data, info: out } = await img.raw().toBuffer({ resolveWithObject: true });
  const n = out.width * out.height;
  const rgb = Buffer.allocUnsafe(n * 3);
  for (let i = 0, s = 0, d = 0; i < n; i++, s += out.channels, d += 3) {
    rgb[d] = data[s];
    rgb[d + 1] = data[s + 1];
    rgb[d + 2] = data[s + 2];
  }
  return sharp(rgb, { raw: { width: out.width, height: out.height, channels: 3 } });
}

/**
 * Resize (shortest side), centre crop and normalise. `src` is `sw`×`sh`; `width`×`height` is the
 * geometry to reproduce (the original's, when `src` is a smaller intermediate of the same image).
 */
async function clipPixels(src: Sharp, sw: number, sh: number, width: number, height: number, spec: PreprocessSpec): Promise<Float32Array> {
  const size = spec.imageSize;
  const [tw, th] = clipResizeTarget(width, height, size);
  let data: Buffer;
  let rowWidth: number;
  if (tw > sw) {
    ({ data, width: rowWidth } = await upscale(await src.raw().toBuffer(), sw, sh, tw, th));
  } else {
    // One pipeline, so a JPEG is decoded with shrink-on-load (fastShrinkOnLoad off: closer to PIL).
    const out = await src.resize(tw, th, { kernel: 'cubic', fit: 'fill', fastShrinkOnLoad: false }).raw().toBuffer({ resolveWithObject: true });
    ({ data, info: { width: rowWidth } } = out);
  }
  if (data.length < rowWidth * th * 3 || rowWidth < tw) throw new ImageDecodeError('failed', 'unexpected decoded image layout');
  return normalise(data, rowWidth, Math.floor((tw - size) / 2), Math.floor((th - size) / 2), spec);
}

const rawInput = (data: Buffer, width: number, height: number) => sharp(data, { raw: { width, height, channels: 3 } });

/**
 * Images smaller than the model input. sharp's resize enlarges with a fixed, corner-aligned
 * interpolator (~0.1 mean off PIL); an affine bicubic with PIL's centre alignment over
 * edge-replicated borders lands within ~0.002 of it.
 */
async function upscale(data: Buffer, w: number, h: number, tw: number, th: number): Promise<{ data: Buffer; width: number }> {
  const pad = 3;
  const padded = await rawInput(data, w, h).extend({ top: pad, bottom: pad, left: pad, right: pad, extendWith: 'copy' }).raw().toBuffer();
  const sx = tw / w;
  const sy = th / h;
  const out = await rawInput(padded, w + 2 * pad, h + 2 * pad)
    .affine([sx, 0, 0, sy], { interpolator: 'bicubic', idx: -pad, idy: -pad, odx: (sx - 1) / 2, ody: (sy - 1) / 2 })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: out.data, width: out.info.width };
}

/** Crops imageSize² at (left, top) from HWC uint8 rows of `rowWidth`, to CHW (v/255 - mean) / std. */
function normalise(hwc: Buffer, rowWidth: number, left: number, top: number, { imageSize, mean, std }: PreprocessSpec): Float32Array {
  const plane = imageSize * imageSize;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = (v / 255 - mean[c]) / std[c];
    for (let y = 0; y < imageSize; y++) {
      const row = ((top + y) * rowWidth + left) * 3 + c;
      const o = c * plane + y * imageSize;
      for (let x = 0; x < imageSize; x++) out[o + x] = lut[hwc[row + x * 3]];
    }
  }
  return out;
}

/**
 * libvips keeps one error buffer per process: when two decodes fail at the same moment, one can
 * clear the other's message and sharp reports "Unknown error". Such a failure is tried once more,
 * so the photo gets its real reason ("truncated or corrupt …") rather than one that says nothing.
 */
const lostMessage = (err: unknown) => /^Unknown error$/.test(err instanceof Error ? err.message.trim() : String(err));

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ImageDecodeError) throw err;
      if (attempt < 3 && lostMessage(err)) continue;
      throw decodeError(err);
    }
  }
}

/** sharp/libvips messages → the reasons a user reads next to the photo. */
function decodeError(err: unknown): ImageDecodeError {
  const msg = err instanceof Error ? err.message : String(err);
  // libvips messages span lines ("corrupt header:\nvipspng: ..."): keep them readable on one.
  const first = [...new Set(msg.split('\n').map((l) => l.trim()).filter(Boolean))].join(' ').replace(/:$/, '').slice(0, 200);
  const e = (kind: ConstructorParameters<typeof ImageDecodeError>[0], text: string) => new ImageDecodeError(kind, text, { cause: err });
  if (/Input file is missing|ENOENT/i.test(msg)) return e('missing', 'file not found');
  if (/exceeds pixel limit/i.test(msg)) return e('too-large', 'image too large (over the pixel limit)');
  if (/unsupported image format|Input Buffer is empty|empty/i.test(msg)) return e('not-image', 'not an image (unsupported or corrupt file)');
  const codec = /compression format has not been built in: ([^(\n]+)|Unsupported (?:feature|codec)[^\n]*|Unsupported JPEG data precision \d+/i.exec(msg);
  if (codec) {
    return e('unsupported', `unsupported format or codec (${(codec[1] ?? codec[0]).trim()}): the decoder Cull uses cannot read it; the file is probably fine (${first})`);
  }
  if (/premature end|truncat|corrupt|read error|unable to parse|not a|invalid|bad |out of order|unexpected end|damaged/i.test(msg)) {
    return e('corrupt', `damaged file: truncated or corrupt image data (${first})`);
  }
  return e('failed', `could not decode image: ${first}`);
}

function formatPixels(n: number): string {
  return n >= 1e6 ? `${Math.round(n / 1e6)} MP` : `${n} pixels`;
}
