// The largest embedded JPEG preview of a camera RAW file. Cameras store a full- or near-full-size
// JPEG next to the sensor data; decoding it is ~100x cheaper than demosaicing and what CLIP needs.
//  1. TIFF-based RAWs (CR2, NEF, ARW, DNG, ORF, RW2): walk the IFDs (IFD chain + SubIFDs) for
//     JPEGInterchangeFormat, single-strip JPEG-compressed images and RW2's JpgFromRaw tag.
//  2. RAF: the header holds the JPEG's offset and length at bytes 84/88.
//  3. Anything else (CR3's PRVW box, maker-note previews, unknown containers): scan for JPEG
//     start-of-image markers and parse each candidate's segments up to its end-of-image.
// Candidates are ranked by pixel count; only baseline/progressive JPEGs count (CR2/DNG sensor
// data is lossless JPEG, which is not a preview), and the winner must pass sharp's header check.
import fs from 'node:fs';
import sharp from 'sharp';

export const NO_PREVIEW = 'no embedded preview in RAW file';

interface Candidate {
  start: number;
  end: number;
  width: number;
  height: number;
}

/** Parses a JPEG from `start` (SOI) to its EOI; null unless it is a baseline/progressive image. */
export function jpegExtent(buf: Uint8Array, start: number, limit = buf.length): Candidate | null {
  if (buf[start] !== 0xff || buf[start + 1] !== 0xd8) return null;
  let p = start + 2;
  let frame: { sof: number; width: number; height: number } | null = null;
  const u16 = (at: number) => (buf[at] << 8) | buf[at + 1];
  while (p + 1 < limit) {
    if (buf[p] !== 0xff) return null;
    const marker = buf[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd9) {
      const ok = frame && [0xc0, 0xc1, 0xc2].includes(frame.sof) && frame.width > 0 && frame.height > 0;
      return ok ? { start, end: p + 2, width: frame!.width, height: frame!.height } : null;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2;
      continue;
    }
    if (marker < 0xc0 || marker === 0xd8 || p + 3 >= limit) return null;
    const len = u16(p + 2);
    if (len < 2) return null;
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      if (frame || p + 8 >= limit) return null;
      if (buf[p + 4] !== 8) return null; // 12-bit lossy frames are sensor data (CinemaDNG), not a preview
      frame = { sof: marker, height: u16(p + 5), width: u16(p + 7) };
    }
    p += 2 + len;
    if (marker === 0xda) {
      // Entropy-coded data: runs until a marker other than stuffing (FF00) or a restart (FFD0-D7).
      for (;;) {
        const q = indexOfByte(buf, 0xff, p, limit);
        if (q < 0 || q + 1 >= limit) return null;
        const next = buf[q + 1];
        if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) p = q + 1;
        else {
          p = q;
          break;
        }
      }
    }
  }
  return null;
}

function indexOfByte(buf: Uint8Array, byte: number, from: number, limit: number): number {
  const i = buf.indexOf(byte, from);
  return i >= 0 && i < limit ? i : -1;
}

/** Where a RAW's structure says a JPEG lies: offset and length (it may lie beyond the bytes read). */
export interface PreviewRef {
  offset: number;
  length: number;
}

/** JPEG candidates named by the TIFF structure of TIFF-based RAWs (empty for other files). */
export function tiffPreviewCandidates(buf: Buffer): Candidate[] {
  return tiffPreviewRefs(buf).flatMap((r) => {
    if (r.offset >= buf.length) return [];
    const c = jpegExtent(buf, r.offset, Math.min(buf.length, r.offset + r.length + 1024));
    return c ? [c] : [];
  });
}

/** The tags of each IFD of a TIFF-based RAW (IFD chain + SubIFDs), numeric values only (at most 256 each). */
function tiffIfds(buf: Buffer): Map<number, number[]>[] {
  if (buf.length < 8) return [];
  const order = buf.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return [];
  const le = order === 'II';
  const u16 = (at: number) => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  if (![42, 0x4f52, 0x5352, 0x55].includes(u16(2))) return []; // TIFF, ORF (RO, RS), RW2
  const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 6: 1, 7: 1, 8: 2, 9: 4, 13: 4, 16: 8 };
  const ifds: Map<number, number[]>[] = [];
  const queue = [u32(4)];
  const seen = new Set<number>();
  while (queue.length && seen.size < 64) {
    const ifd = queue.shift()!;
    if (!ifd || seen.has(ifd) || ifd + 2 > buf.length) continue;
    seen.add(ifd);
    const count = u16(ifd);
    if (count > 1000 || ifd + 2 + count * 12 + 4 > buf.length) continue;
    const tags = new Map<number, number[]>();
    for (let i = 0; i < count; i++) {
      const e = ifd + 2 + i * 12;
      const tag = u16(e);
      const type = u16(e + 2);
      const n = u32(e + 4);
      const size = TYPE_SIZE[type] ?? 0;
      if (tag === 0x002e && size === 1) {
        tags.set(tag, [u32(e + 8), n]); // RW2 JpgFromRaw: the value is the JPEG itself
        continue;
      }
      if (!size || n === 0 || n > 256 || (type !== 3 && type !== 4 && type !== 13)) continue;
      const at = n * size <= 4 ? e + 8 : u32(e + 8);
      if (at + n * size > buf.length) continue;
      tags.set(tag, Array.from({ length: n }, (_, k) => (type === 3 ? u16(at + 2 * k) : u32(at + 4 * k))));
    }
    ifds.push(tags);
    queue.push(...(tags.get(0x014a) ?? [])); // SubIFDs
    queue.push(u32(ifd + 2 + count * 12)); // next IFD
  }
  return ifds;
}

/** The JPEGs a TIFF-based RAW's IFDs name, from its first bytes (`buf`: the whole file or its head). */
export function tiffPreviewRefs(buf: Buffer): PreviewRef[] {
  const found: PreviewRef[] = [];
  const add = (offset: number, length: number) => {
    if (offset > 0 && length > 0) found.push({ offset, length });
  };
  for (const tags of tiffIfds(buf)) {
    const one = (tag: number) => tags.get(tag)?.[0] ?? 0;
    add(one(0x0201), one(0x0202)); // JPEGInterchangeFormat + Length
    if (tags.get(0x0111)?.length === 1) add(one(0x0111), one(0x0117)); // one strip: StripOffsets + ByteCounts
    const rw2 = tags.get(0x002e);
    if (rw2) add(rw2[0], rw2[1]);
  }
  return found;
}

/**
 * The largest image size a TIFF-based RAW's IFDs state (ImageWidth × ImageLength, or RW2's sensor
 * size): the sensor's, to say when the embedded preview is smaller. Unrotated; null when none is
 * stated (RAF, CR3 and other containers).
 */
export function tiffSensorSize(buf: Buffer): { width: number; height: number } | null {
  let best: { width: number; height: number } | null = null;
  for (const tags of tiffIfds(buf)) {
    for (const [w, h] of [
      [0x0100, 0x0101],
      [0x0002, 0x0003], // RW2 SensorWidth / SensorHeight
    ]) {
      const width = tags.get(w)?.[0] ?? 0;
      const height = tags.get(h)?.[0] ?? 0;
      if (width > 0 && height > 0 && width * height > (best ? best.width * best.height : 0)) best = { width, height };
    }
  }
  return best;
}

function rafRefs(buf: Buffer): PreviewRef[] {
  if (buf.length < 92 || buf.toString('latin1', 0, 15) !== 'FUJIFILMCCD-RAW') return [];
  return [{ offset: buf.readUInt32BE(84), length: buf.readUInt32BE(88) }];
}

function rafCandidates(buf: Buffer): Candidate[] {
  const [r] = rafRefs(buf);
  const c = r ? jpegExtent(buf, r.offset, Math.min(buf.length, r.offset + r.length + 1024)) : null;
  return c ? [c] : [];
}

/** Every complete JPEG found by scanning for SOI markers (thumbnails nested in a real preview are skipped over). */
export function scanJpegs(buf: Buffer, max = 64): Candidate[] {
  const found: Candidate[] = [];
  const soi = Buffer.from([0xff, 0xd8, 0xff]);
  for (let p = buf.indexOf(soi); p >= 0 && found.length < max; ) {
    const c = jpegExtent(buf, p);
    if (c) found.push(c);
    // Inside a placeholder (an 8×8 "preview" in a stripped RAF) the EXIF thumbnail is the real picture.
    p = buf.indexOf(soi, c && longSide(c) >= MIN_PREVIEW_SIDE ? c.end : p + 1);
  }
  return found;
}

/** Smaller embedded JPEGs are placeholders (stripped files, 8×8 stubs), not pictures to judge. */
export const MIN_PREVIEW_SIDE = 64;
/** A structured preview this large is the camera's real one; smaller, the file is also scanned for a better one. */
const GOOD_PREVIEW_SIDE = 1000;
const longSide = (c: Candidate) => Math.max(c.width, c.height);

/**
 * The largest embedded JPEG of a RAW file (a view into `raw`, not a copy). When the RAW says the
 * photo is rotated (`orientation`) and the preview carries no orientation of its own, one is
 * added so decoding rotates the preview like the camera meant. Throws NO_PREVIEW when none is found.
 */
export async function extractRawPreview(raw: Buffer, opts: { orientation?: number | null } = {}): Promise<Buffer> {
  const view = (c: Candidate) => ({ ...c, jpeg: raw.subarray(c.start, c.end) });
  return pickPreview([...tiffPreviewCandidates(raw), ...rafCandidates(raw)].map(view), async () => scanJpegs(raw).map(view), opts.orientation);
}

type Found = Candidate & { jpeg: Buffer };

/**
 * The largest preview sharp can read (of the 8 largest), oriented like the RAW. The previews the
 * file's structure names come first; when none of them is a real picture (GOOD_PREVIEW_SIDE), the
 * file is also scanned for JPEGs. Throws NO_PREVIEW (naming a placeholder) when none is found.
 */
async function pickPreview(named: Found[], scan: () => Promise<Found[]>, orientation?: number | null): Promise<Buffer> {
  let candidates = named;
  if (!candidates.some((c) => longSide(c) >= GOOD_PREVIEW_SIDE)) {
    const seen = new Set(candidates.map((c) => c.start));
    candidates = candidates.concat((await scan()).filter((c) => !seen.has(c.start)));
  }
  candidates.sort((a, b) => b.width * b.height - a.width * a.height || b.end - b.start - (a.end - a.start));
  for (const c of candidates.slice(0, 8)) {
    if (longSide(c) < MIN_PREVIEW_SIDE) break;
    const meta = await sharp(c.jpeg).metadata().catch(() => null);
    if (!meta?.width || !meta.height) continue;
    const o = orientation ?? 1;
    return o > 1 && meta.orientation === undefined ? withOrientation(c.jpeg, o) : c.jpeg;
  }
  const stub = candidates[0] && longSide(candidates[0]) < MIN_PREVIEW_SIDE ? ` (only a ${candidates[0].width}×${candidates[0].height} placeholder)` : '';
  throw new Error(
    `${NO_PREVIEW}${stub}: Cull reads RAW files through the JPEG preview the camera embeds, so this one is unsupported ` +
      '(or cut short before its preview); a RAW developer such as darktable or RawTherapee opens it',
  );
}

/** Bytes of a RAW read for its structure (IFDs, RAF header) and metadata. */
export const RAW_HEAD_BYTES = 4 << 20;
/** An embedded preview larger than this is not one (a full-size camera JPEG is 5–30 MB). */
export const MAX_PREVIEW_BYTES = 64 << 20;
/** Without a structure naming the preview, this much of the file is scanned for JPEGs (CR3, maker notes). */
export const RAW_SCAN_BYTES = 64 << 20;

/**
 * `extractRawPreview` reading the file by offset instead of whole: the head (RAW_HEAD_BYTES) for
 * the IFDs / RAF header, then each named JPEG (at most MAX_PREVIEW_BYTES); failing those, a scan of
 * the first RAW_SCAN_BYTES. Memory stays within those bounds whatever the file's size (a 4 GB
 * file with a CR2 header costs a few MB). `head` may pass bytes already read from the start.
 */
export async function extractRawPreviewFromFile(
  file: string | Buffer,
  opts: { orientation?: number | null; head?: Buffer } = {},
): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      for (let done = 0; done < buf.length; ) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, offset + done);
        if (bytesRead === 0) return buf.subarray(0, done);
        done += bytesRead;
      }
      return buf;
    };
    const head = opts.head && opts.head.length >= Math.min(size, RAW_HEAD_BYTES) ? opts.head : await read(0, RAW_HEAD_BYTES);
    const named: Found[] = [];
    for (const r of [...tiffPreviewRefs(head), ...rafRefs(head)]) {
      if (r.offset >= size || r.length > MAX_PREVIEW_BYTES) continue;
      const region = await read(r.offset, r.length + 1024);
      const c = jpegExtent(region, 0);
      if (c) named.push({ ...c, start: r.offset, end: r.offset + c.end, jpeg: region.subarray(0, c.end) });
    }
    return await pickPreview(named, async () => {
      const scanned = size <= head.length ? head : await read(0, RAW_SCAN_BYTES);
      return scanJpegs(scanned).map((c) => ({ ...c, jpeg: scanned.subarray(c.start, c.end) }));
    }, opts.orientation);
  } finally {
    await fh.close();
  }
}

/** Prepends a minimal EXIF APP1 holding only Orientation (no re-encode). */
export function withOrientation(jpeg: Buffer, orientation: number): Buffer {
  const tiff = Buffer.alloc(26);
  tiff.write('II*\0', 0, 'latin1');
  tiff.writeUInt32LE(8, 4); // IFD0 offset
  tiff.writeUInt16LE(1, 8); // one entry
  tiff.writeUInt16LE(0x0112, 10); // Orientation
  tiff.writeUInt16LE(3, 12); // SHORT
  tiff.writeUInt32LE(1, 14);
  tiff.writeUInt16LE(orientation, 18);
  // bytes 22..25: next IFD = 0
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(2 + 6 + tiff.length, 2);
  return Buffer.concat([jpeg.subarray(0, 2), app1, Buffer.from('Exif\0\0', 'latin1'), tiff, jpeg.subarray(2)]);
}
