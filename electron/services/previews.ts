// What the loupe shows of a photo, in two sizes, and what they are:
//  - the full preview: the original when a browser shows it as it is (JPEG, PNG, WebP, GIF, AVIF:
//    served from the file, untouched), the JPEG a camera embedded in a RAW (its own bytes, read
//    by offset: raw-preview.ts), or a JPEG decoded from anything else (HEIC/HEIF through libheif-js,
//    TIFF: native-models decodeImage, EXIF orientation applied, encoded at quality 92);
//  - a screen-sized rendition of that full preview for the fit view (`fit`: the long side wanted, in
//    device pixels), decoded by sharp with JPEG shrink-on-load at 1/2, 1/4 or 1/8 scale — a fraction
//    of the cost of decoding all 24 MP, in the browser or here. Most fit views never get here: the
//    standard preview written at index time (indexing/standard-preview.ts) is served instead when it
//    is large enough (electron/transport/images.ts); renditions are for larger screens, photos
//    indexed before it existed and wide-gamut photos.
// Everything made here (embedded previews, decoded JPEGs, renditions) is kept in one memory cache,
// bounded in bytes, least recently used out first, keyed by file, size and modification time (a
// changed file is made again). Memory, not disk: a RAW's preview costs a read by offset (ms) and a
// rendition 0.1–0.5 s (docs/performance.md), so only HEIC (≈1–3 s of WebAssembly) would gain from surviving a restart,
// and a disk cache of full-size previews would cost gigabytes beside the library plus its own
// eviction; the photographer moves through neighbouring frames, which the memory cache holds.
// Files are paths the caller has already checked (library photos only: electron/transport/images.ts).
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { PreviewInfo } from '../../common/types.ts';
import { readHead } from '../../native-models/heif.ts';
import { decodeImage } from '../../native-models/preprocess.ts';
import { readMetadata } from './indexing/metadata.ts';
import { extractRawPreviewFromFile, RAW_HEAD_BYTES, tiffSensorSize } from './indexing/raw-preview.ts';
import { rasterJpeg } from './indexing/standard-preview.ts';
import { isRawFile } from './indexing/walk.ts';

type PreviewSource = Exclude<PreviewInfo['source'], 'thumbnail'>;

/** Formats browsers display as they are; other originals are shown through a JPEG made here. */
export const BROWSER_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.bmp': 'image/bmp',
};

/** An image to send: a file to stream, or bytes made here. */
export type PreviewImage = { contentType: string; tag: string } & ({ file: string; bytes?: never } | { bytes: Buffer; file?: never });

/** Renditions are asked for between these long sides (device pixels). */
export const FIT_MIN = 64;
export const FIT_MAX = 8192;
/** The cache's bound: full previews of a few dozen neighbouring frames plus their renditions. */
const CACHE_BYTES = 192 << 20;

interface Full {
  info: PreviewInfo & { source: PreviewSource };
  image: PreviewImage;
  /** Renditions are WebP (transparency kept) rather than JPEG. */
  alpha: boolean;
  /** Animated (GIF, WebP): no rendition, the browser plays the original. */
  animated: boolean;
}

class ByteLru<V> {
  private map = new Map<string, { value: V; bytes: number }>();
  private total = 0;
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key); // most recently used last
    this.map.set(key, hit);
    return hit.value;
  }
  set(key: string, value: V, bytes: number): void {
    const old = this.map.get(key);
    if (old) this.total -= old.bytes;
    this.map.delete(key);
    if (bytes > this.max) return;
    this.map.set(key, { value, bytes });
    this.total += bytes;
    for (const [k, v] of this.map) {
      if (this.total <= this.max) break;
      this.map.delete(k);
      this.total -= v.bytes;
    }
  }
}

const cache = new ByteLru<Full | PreviewImage>(CACHE_BYTES);
/** Work in flight by key, so the loupe's request and its prefetch share one decode. */
const pending = new Map<string, Promise<Full | PreviewImage>>();

function cached<T extends Full | PreviewImage>(key: string, make: () => Promise<T>, bytesOf: (v: T) => number): Promise<T> {
  const hit = cache.get(key) ?? pending.get(key);
  if (hit) return Promise.resolve(hit as T);
  const p = make().then(
    (v) => {
      pending.delete(key);
      cache.set(key, v, bytesOf(v) + 512);
      return v;
    },
    (err: unknown) => {
      pending.delete(key);
      throw err;
    },
  );
  pending.set(key, p);
  return p;
}

/** What the header says: the oriented size, transparency, frames. */
async function header(input: string | Buffer): Promise<{ width: number; height: number; alpha: boolean; animated: boolean }> {
  const m = await sharp(input, { limitInputPixels: false }).metadata();
  const width = m.autoOrient?.width ?? m.width;
  const height = m.autoOrient?.height ?? m.height;
  if (!width || !height) throw new Error('not an image');
  return { width, height, alpha: m.hasAlpha === true, animated: (m.pages ?? 1) > 1 };
}

async function makeFull(file: string, tag: string): Promise<Full> {
  const type = BROWSER_TYPES[path.extname(file).toLowerCase()];
  if (type) {
    const { width, height, alpha, animated } = await header(file);
    return { info: { source: 'original', width, height, sensor: null }, image: { file, contentType: type, tag }, alpha, animated };
  }
  if (isRawFile(file)) {
    // As the indexer reads it: the RAW's orientation given to a preview that carries none.
    const head = await readHead(file, RAW_HEAD_BYTES);
    const meta = await readMetadata(head, file);
    const jpeg = Buffer.from(await extractRawPreviewFromFile(file, { orientation: meta.orientation, head }));
    const { width, height } = await header(jpeg);
    const info: Full['info'] = { source: 'embedded', width, height, sensor: tiffSensorSize(head) };
    return { info, image: { bytes: jpeg, contentType: 'image/jpeg', tag }, alpha: false, animated: false };
  }
  const long = 1 << 30; // a working raster of the photo's own size: one full decode, oriented RGB
  const d = await decodeImage(file, { thumbnail: false, working: [long] });
  const r = d.working[0];
  // In the colour profile its pixels are in: a HEIC's container profile (an iPhone's Display P3), which
  // sharp reads even where libheif-js decoded the pixels; sRGB where sharp converted them (a TIFF).
  const bytes = (await rasterJpeg(r, d.profile, { quality: 92, chroma: '4:4:4' }))!;
  return { info: { source: 'decoded', width: r.width, height: r.height, sensor: null }, image: { bytes, contentType: 'image/jpeg', tag }, alpha: false, animated: false };
}

async function identity(file: string): Promise<string> {
  const st = await fs.promises.stat(file);
  return `${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}`;
}

function full(file: string, id: string): Promise<Full> {
  return cached(`${file}\0${id}`, () => makeFull(file, id), (f) => f.image.bytes?.length ?? 0);
}

/**
 * Whether the standard preview `file` (written at index time: indexing/standard-preview.ts) is
 * large enough for a fit view of `fit` device pixels; its long side is read from its header.
 */
export async function standardPreviewFits(file: string, fit: number): Promise<boolean> {
  const { width, height } = await header(file);
  return Math.max(width, height) >= fit;
}

/** What the full preview of `file` is and its size (made once, then from the cache). */
export async function previewInfo(file: string): Promise<PreviewInfo> {
  return (await full(file, await identity(file))).info;
}

/**
 * The full preview of `file`, or with `fit` a rendition whose long side is the smallest JPEG
 * shrink-on-load scale (1/2, 1/4, 1/8) of the full preview still at least `fit` device pixels (the
 * full preview itself when even 1/2 is smaller). Both keep the original's colour profile (ICC) for
 * the browser to apply (a decoded HEIC/TIFF: the profile its container holds).
 */
export async function previewImage(file: string, fit?: number): Promise<PreviewImage> {
  const id = await identity(file);
  const f = await full(file, id);
  const long = Math.max(f.info.width, f.info.height);
  let k = 0;
  while (k < 3 && fit !== undefined && long / 2 ** (k + 1) >= fit) k++;
  if (k === 0 || f.animated) return f.image;
  const side = Math.ceil(long / 2 ** k);
  return cached(
    `${file}\0${id}\0fit${side}`,
    async (): Promise<PreviewImage> => {
      // The original's colour profile travels with the rendition (libvips does not convert by default), so the
      // browser shows an Adobe RGB or Display P3 photo in the same colours at fit as at 100 %.
      const img = sharp(f.image.file ?? f.image.bytes, { failOn: 'none' }).autoOrient().resize(side, side, { fit: 'inside' }).keepIccProfile();
      const bytes = await (f.alpha ? img.webp({ quality: 88 }) : img.jpeg({ quality: 88 })).toBuffer();
      return { bytes, contentType: f.alpha ? 'image/webp' : 'image/jpeg', tag: `${id}-${side}` };
    },
    (v) => v.bytes?.length ?? 0,
  );
}
