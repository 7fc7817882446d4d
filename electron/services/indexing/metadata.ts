// Photo metadata via exifr: capture time, camera, lens, orientation. Never throws: junk, missing
// or unreadable EXIF gives nulls. Capture times are EXIF wall-clock times ("2021:06:15 14:30:05",
// no zone) read as local time, consistently for every photo, so sorting and day filters behave.
import exifr from 'exifr';
import type { CaptureSettings } from '../../../common/types.ts';

export interface PhotoMetadata {
  takenAt: number | null; // ms since epoch
  camera: string | null;
  lens: string | null;
  orientation: number | null; // EXIF 1..8
  /** Shutter, aperture, ISO, focal length, exposure compensation; null when the file has none. */
  capture: CaptureSettings | null;
}

const NONE: PhotoMetadata = { takenAt: null, camera: null, lens: null, orientation: null, capture: null };

const EXIFR_OPTIONS: Parameters<typeof exifr.parse>[1] = {
  tiff: true,
  exif: true,
  ifd1: false,
  gps: false,
  interop: false,
  makerNote: false,
  userComment: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  pick: [
    'Make',
    'Model',
    'Orientation',
    'DateTimeOriginal',
    'CreateDate',
    'SubSecTimeOriginal',
    'SubSecTimeDigitized',
    'LensModel',
    'ExposureTime',
    'FNumber',
    'ISO',
    'ISOSpeedRatings',
    'FocalLength',
    'ExposureCompensation',
    'ExposureBiasValue',
  ],
  reviveValues: false,
  translateValues: false,
  translateKeys: true,
  mergeOutput: true,
};

/** What the bytes say the file is (magic numbers), or null when it is no image format we know. */
export function sniffImageType(head: Uint8Array): string | null {
  const b = Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 32));
  const ascii = (from: number, to: number) => b.toString('latin1', from, to);
  if (b.length < 4) return null;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'png';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'tiff'; // also CR2, NEF, ARW, DNG
  if (ascii(0, 4) === 'IIRO' || ascii(0, 4) === 'IIRS' || ascii(0, 4) === 'MMOR') return 'orf';
  if (ascii(0, 4) === 'IIU\0') return 'rw2';
  if (ascii(0, 8) === 'FUJIFILM') return 'raf';
  if (ascii(4, 8) === 'ftyp') return 'isobmff'; // HEIC, HEIF, AVIF, CR3
  return null;
}

/** "2021:06:15 14:30:05" (+ optional sub-seconds) as local time, or null for blank/invalid dates. */
export function parseExifDate(value: unknown, subSec?: unknown): number | null {
  if (typeof value !== 'string') return null;
  const m = /^\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0));
  if (y < 1800 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const digits = String(subSec ?? '').trim();
  const ms = /^\d+$/.test(digits) ? Math.floor(Number(`0.${digits}`) * 1000) : 0;
  return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
}

function clean(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const s = value.replace(/\0+$/, '').trim().replace(/\s+/g, ' ');
  return s || null;
}

/** "Canon" + "Canon EOS R5" → "Canon EOS R5"; "NIKON CORPORATION" + "NIKON D850" → "NIKON D850". */
export function cameraName(make: unknown, model: unknown): string | null {
  const mk = clean(make);
  const md = clean(model);
  if (!mk || !md) return md ?? mk;
  const brand = mk.split(' ')[0].toLowerCase();
  if (md.toLowerCase().startsWith(mk.toLowerCase()) || md.toLowerCase().startsWith(brand)) return md;
  return `${mk} ${md}`;
}

/** WebP keeps EXIF in a RIFF "EXIF" chunk, which exifr does not read: hand it the TIFF inside. */
function webpExif(buf: Buffer): Buffer | null {
  for (let p = 12; p + 8 <= buf.length; ) {
    const id = buf.toString('latin1', p, p + 4);
    const len = buf.readUInt32LE(p + 4);
    if (id === 'EXIF') {
      const chunk = buf.subarray(p + 8, p + 8 + len);
      return chunk.toString('latin1', 0, 6) === 'Exif\0\0' ? chunk.subarray(6) : chunk;
    }
    p += 8 + len + (len & 1);
  }
  return null;
}

/** Canon CR3 keeps IFD0 (Make, Model, Orientation) as a TIFF in a CMT1 box, which exifr does not read: hand it that TIFF. */
function cr3Ifd0(buf: Buffer): Buffer | null {
  if (buf.toString('latin1', 8, 12) !== 'crx ') return null;
  const at = buf.subarray(0, 1 << 18).indexOf('CMT1', 0, 'latin1');
  if (at < 4) return null;
  const size = buf.readUInt32BE(at - 4);
  const tiff = buf.subarray(at + 4, Math.min(buf.length, at - 4 + size));
  return /^(II\*\0|MM\0\*)/.test(tiff.toString('latin1', 0, 4)) ? tiff : null;
}

export async function readMetadata(content: Buffer, file?: string): Promise<PhotoMetadata> {
  try {
    const type = sniffImageType(content);
    const input = type === 'webp' ? webpExif(content) : type === 'isobmff' ? (cr3Ifd0(content) ?? content) : content;
    if (!input || !type) return { ...NONE };
    let tags = (await exifr.parse(input, EXIFR_OPTIONS)) as Record<string, unknown> | undefined;
    // `content` may be only the head of a large file (a RAW read by offset): TIFF-based files can
    // keep their IFDs anywhere (phone DNGs at the end), so exifr then reads the file itself, in
    // chunks, as far as the IFDs point.
    const found = (t: Record<string, unknown> | undefined) => !!t && Object.keys(t).some((k) => k !== 'errors');
    if (!found(tags) && file && type === 'tiff') tags = (await exifr.parse(file, EXIFR_OPTIONS)) as Record<string, unknown> | undefined;
    if (!tags || !found(tags)) return { ...NONE };
    const orientation = Number(tags.Orientation);
    return {
      takenAt:
        parseExifDate(tags.DateTimeOriginal, tags.SubSecTimeOriginal) ??
        parseExifDate(tags.CreateDate, tags.SubSecTimeDigitized),
      camera: cameraName(tags.Make, tags.Model),
      lens: clean(tags.LensModel),
      orientation: Number.isInteger(orientation) && orientation >= 1 && orientation <= 8 ? orientation : null,
      capture: captureSettings(tags),
    };
  } catch {
    return { ...NONE };
  }
}

/** A finite number within [lo, hi] from an EXIF value (a number, a [num, den] rational or its first of many), else null. */
function num(value: unknown, lo: number, hi: number): number | null {
  let v = value;
  if (Array.isArray(v)) v = v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' && v[1] !== 0 ? v[0] / v[1] : v[0];
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= lo && n <= hi ? n : null;
}

/** The capture settings in EXIF tags, or null when there are none. */
export function captureSettings(tags: Record<string, unknown>): CaptureSettings | null {
  const c: CaptureSettings = {
    exposureTime: num(tags.ExposureTime, 1e-6, 36_000),
    fNumber: num(tags.FNumber, 0.5, 256),
    iso: num(tags.ISO ?? tags.ISOSpeedRatings, 1, 10_000_000),
    focalLength: num(tags.FocalLength, 0.5, 20_000),
    exposureBias: num(tags.ExposureCompensation ?? tags.ExposureBiasValue, -20, 20),
  };
  if (c.iso !== null) c.iso = Math.round(c.iso);
  return Object.values(c).some((v) => v !== null) ? c : null;
}

export function hasMetadata(m: PhotoMetadata): boolean {
  return m.takenAt !== null || m.camera !== null || m.lens !== null || m.orientation !== null;
}
