// Standard previews (as Lightroom calls them): a screen-sized JPEG of each photo written at index
// time beside its thumbnail, so the loupe's fit view of a photo opened cold is a file read instead
// of a decode of the original (0.3–0.6 s for a 24 MP JPEG: docs/performance.md). Made from the
// largest raster the indexer's one decode already yields (the technical analyzer's working raster,
// 1500 px on the long side), never from a second decode; named by the photo's content fingerprint
// like the thumbnail, in the same folder, written the same crash-safe way (thumbnails.ts).
// Also: the JPEG encoding of a decoded raster with the colour profile its pixels are in, shared with
// the loupe's full preview of a decoded HEIC/TIFF (services/previews.ts).
import sharp from 'sharp';
import type { Raster } from '../../../native-models/preprocess.ts';
import { thumbFileName, writeThumbnail } from './thumbnails.ts';

/** Below this long side a raster is no screen preview (the thumbnail already serves small views). */
export const STANDARD_PREVIEW_MIN_SIDE = 1024;
/** As the loupe's on-demand renditions (services/previews.ts), so both look alike. */
const QUALITY = 88;
/**
 * Written for every photo indexed, so with libjpeg's standard Huffman tables rather than tables
 * optimised for the image (sharp's default): the same pixels once decoded (only the entropy coding
 * differs), ~3–6 % more bytes, and less than half the encoding CPU — 11.6 → 5.0 ms a 1200 × 800
 * preview (docs/performance.md, "Index overhead").
 */
const OPTIMISE_CODING = false;

export function standardPreviewName(fingerprint: string): string {
  return `${fingerprint}.std.jpg`;
}

/** The standard preview's name beside a thumbnail's (both named by the photo's fingerprint). */
export function standardPreviewBeside(thumbName: string): string | null {
  const ext = thumbFileName('');
  return thumbName.endsWith(ext) ? standardPreviewName(thumbName.slice(0, -ext.length)) : null;
}

/** The profile a decode reports (native-models decodeImage): the file's, and whether sharp converted the pixels from it to sRGB. */
export type DecodedProfile = { icc: Buffer; converted: boolean } | null;

const isRgbProfile = (icc: Buffer) => icc.toString('latin1', 16, 20) === 'RGB ';
/** An sRGB profile by its description (ASCII in ICC v2 'desc', UTF-16BE in v4 'mluc'). */
const isSrgbProfile = (icc: Buffer) => isRgbProfile(icc) && (icc.includes('sRGB', 0, 'latin1') || icc.includes('sRGB', 0, 'utf16le') || icc.includes(Buffer.from('\0s\0R\0G\0B', 'latin1')));

/**
 * A raster's JPEG in the colours of the original: pixels still in the file's RGB profile (libheif-js)
 * carry it as APP2 segments; pixels sharp converted to sRGB carry none (sRGB is what a browser assumes).
 * `sRgbOnly`: null instead when the conversion may have clipped colours (a wide-gamut profile such as
 * Adobe RGB or Display P3), where only a decode of the original keeps the photo's own gamut.
 */
export async function rasterJpeg(
  r: Raster,
  profile: DecodedProfile,
  opts: { quality: number; chroma?: '4:4:4'; sRgbOnly?: boolean; optimiseCoding?: boolean },
): Promise<Buffer | null> {
  if (opts.sRgbOnly && profile?.converted && isRgbProfile(profile.icc) && !isSrgbProfile(profile.icc)) return null;
  const jpeg = await sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels } })
    .jpeg({ quality: opts.quality, optimiseCoding: opts.optimiseCoding ?? true, ...(opts.chroma ? { chromaSubsampling: opts.chroma } : {}) })
    .toBuffer();
  return profile && !profile.converted && isRgbProfile(profile.icc) ? withIccProfile(jpeg, profile.icc) : jpeg;
}

/**
 * Writes the standard preview of a decoded photo (`width`×`height`: the decoded image's own size)
 * from the largest of its rasters, when that is screen-sized and smaller than the image (else the
 * original or its on-demand rendition serves as well). Returns what was written, or null.
 */
export async function writeStandardPreview(
  thumbsDir: string,
  fingerprint: string,
  rasters: Raster[],
  size: { width: number; height: number },
  profile: DecodedProfile,
): Promise<{ name: string; bytes: number; long: number } | null> {
  const r = rasters.reduce<Raster | null>((a, b) => (a && a.width * a.height >= b.width * b.height ? a : b), null);
  if (!r) return null;
  const long = Math.max(r.width, r.height);
  if (long < STANDARD_PREVIEW_MIN_SIDE || long >= Math.max(size.width, size.height)) return null;
  const jpeg = await rasterJpeg(r, profile, { quality: QUALITY, sRgbOnly: true, optimiseCoding: OPTIMISE_CODING });
  if (!jpeg) return null;
  const name = await writeThumbnail(thumbsDir, fingerprint, jpeg, standardPreviewName(fingerprint));
  return { name, bytes: jpeg.length, long };
}

/** Inserts an ICC profile into a JPEG as APP2 ICC_PROFILE segments after SOI (no re-encode). */
export function withIccProfile(jpeg: Buffer, icc: Buffer): Buffer {
  const CHUNK = 65_519; // 65535 - 2 (length) - 12 ("ICC_PROFILE\0") - 2 (sequence, count)
  const count = Math.ceil(icc.length / CHUNK);
  if (count === 0 || count > 255) return jpeg;
  const segments = Array.from({ length: count }, (_, i) => {
    const part = icc.subarray(i * CHUNK, (i + 1) * CHUNK);
    const head = Buffer.alloc(18);
    head.writeUInt16BE(0xffe2, 0);
    head.writeUInt16BE(2 + 14 + part.length, 2);
    head.write('ICC_PROFILE\0', 4, 'latin1');
    head[16] = i + 1;
    head[17] = count;
    return Buffer.concat([head, part]);
  });
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}
