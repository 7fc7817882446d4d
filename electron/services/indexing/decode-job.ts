// The indexer's decode step: one file read and decoded once for all the analyzers its job runs.
// Memory stays bounded whatever the file's size: the first HEAD_BYTES say its type, size and
// metadata before anything else is read; then the whole file (up to IN_MEMORY_BYTES), or sharp
// reading the file itself, or a RAW's preview read by offset; a compressed photo over
// MAX_COMPRESSED_BYTES is refused unread. Also writes what comes from that decode: the thumbnail
// and the loupe's standard preview. Called by indexer.ts, which plans the jobs and stores the rest.
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage, type Raster } from '../../../native-models/preprocess.ts';
import { embeddedXmp, type XmpDecisions } from '../culling/xmp.ts';
import type { Analyzer } from './analyzers/analyzer.ts';
import { hasMetadata, readMetadata, sniffImageType, type PhotoMetadata } from './metadata.ts';
import { embeddedDecisions } from './outside.ts';
import { extractRawPreviewFromFile } from './raw-preview.ts';
import { standardPreviewName, writeStandardPreview } from './standard-preview.ts';
import { THUMB_SIZE, writeThumbnail } from './thumbnails.ts';
import { fsPath, isRawFile, type WalkFile } from './walk.ts';

/** One file the plan decodes: for a new or changed photo, or a backfill of some analyzers. */
export interface Job {
  file: WalkFile;
  fingerprint: string;
  contentChanged: boolean; // the row held other content before: its old embeddings are stale
  /** null: store the photo's row and thumbnail (new, changed or incomplete); else a backfill of this row. */
  photoId: number | null;
  run: number; // the analyzers to run (bits)
  expected: number; // the analyzers the plan counted this file in, for progress (bits)
}

/** What one decode gives the analyzers and the store. */
export interface Decoded {
  job: Job;
  /** The photo's row: set once it is stored (listPhoto for a new or changed photo; the backfilled row's id otherwise). */
  id: number | null;
  meta: PhotoMetadata | null; // read for rows to store (and RAW orientation)
  width: number;
  height: number;
  thumb: string | null;
  pixels: Float32Array | null;
  working: Map<number, Raster>; // by long side asked for
  outside: XmpDecisions | null; // rating/label/pick in the photo's embedded XMP (rows to store)
}

/** The analyzers of a set of bits (bit k = analyzers[k]). */
const selected = (set: number, analyzers: Analyzer[]) => analyzers.filter((_, k) => set & (1 << k));

/**
 * What is read of a file before anything else: its type (magic bytes), its metadata (EXIF sits at
 * the start) and, for a RAW, its structure. Nothing more is read before the type and size are known.
 */
export const HEAD_BYTES = 1 << 20;
/** Photos up to this size are read into memory; larger ones are decoded by sharp from the file (its pixel limit bounds the decode). */
export const IN_MEMORY_BYTES = 64 << 20;
/** No JPEG, PNG, WebP, GIF, HEIC or AVIF photo is this large: such a file is refused before it is read. */
export const MAX_COMPRESSED_BYTES = 1 << 30;

/**
 * The file's head (up to HEAD_BYTES) and size. `wholeUpTo`: a file up to this size gets a buffer
 * for all of it, of which the head is the start, so that reading it whole (readRest) is the rest
 * read into the same buffer: one allocation per photo instead of a head and a copy of the file
 * (the largest allocations of indexing, and so its garbage collection), and the head read once.
 */
async function readHead(file: string | Buffer, wholeUpTo: number): Promise<{ head: Buffer; size: number }> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const buf = size <= wholeUpTo ? Buffer.allocUnsafeSlow(size) : Buffer.alloc(Math.min(size, HEAD_BYTES));
    return { head: await readInto(fh, buf, 0, Math.min(size, HEAD_BYTES)), size };
  } finally {
    await fh.close();
  }
}

/** `buf` read from `from` up to `to` (or the file's end): its bytes [0, what was read). */
async function readInto(fh: fs.promises.FileHandle, buf: Buffer, from: number, to: number): Promise<Buffer> {
  let done = from;
  while (done < to) {
    const { bytesRead } = await fh.read(buf, done, to - done, done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return buf.subarray(0, done);
}

/** The whole file, its head already read into a buffer of its size (readHead with room for it). */
async function readRest(file: string | Buffer, head: Buffer, size: number): Promise<Buffer> {
  if (head.length >= size) return head;
  if (head.buffer.byteLength < size || head.byteOffset !== 0) return fs.promises.readFile(file); // the head had no room for it
  const fh = await fs.promises.open(file, 'r');
  try {
    return await readInto(fh, Buffer.from(head.buffer, 0, size), head.length, size);
  } finally {
    await fh.close();
  }
}

const mb = (bytes: number) => `${Math.round(bytes / (1 << 20))} MB`;

/**
 * Reads and decodes one job's file once for every analyzer it runs: CLIP pixels, working-size
 * rasters, and for a photo to store its metadata, thumbnail, standard preview and embedded decisions.
 */
export async function decodeJob(job: Job, analyzers: Analyzer[], thumbsDir: string): Promise<Decoded> {
  // Memory per decode is bounded whatever the file's size: the head, then either the whole file
  // (up to IN_MEMORY_BYTES), sharp reading the file itself, or a RAW's preview read by offset.
  const file = fsPath(job.file.path);
  const raw = isRawFile(job.file.path);
  const { head, size } = await readHead(file, raw ? 0 : IN_MEMORY_BYTES);
  if (size === 0) throw new Error('empty file (0 bytes)');
  const type = sniffImageType(head);
  if (!raw && type === null) throw new Error('not an image (unrecognised file content)');
  if (!raw && type !== 'tiff' && size > MAX_COMPRESSED_BYTES) {
    throw new Error(`too large for a ${type} photo (${mb(size)}; the limit is ${mb(MAX_COMPRESSED_BYTES)}), not read`);
  }
  const full = job.photoId === null; // a backfill leaves the row (metadata, thumbnail) as it is
  const whole = !raw && (size <= head.length || size <= IN_MEMORY_BYTES || typeof file !== 'string');
  const content = whole ? await readRest(file, head, size) : head;
  let meta = full || raw ? await readMetadata(content, !whole && typeof file === 'string' ? file : undefined) : null;
  let image: Buffer | string = whole ? content : (file as string);
  if (raw) {
    image = await extractRawPreviewFromFile(file, { orientation: meta!.orientation, head });
    if (full && !hasMetadata(meta!)) meta = await readMetadata(image);
  }
  // Everything the job's analyzers need, from this one decode.
  const running = selected(job.run, analyzers);
  const clip = running.find((a) => a.needs.clip)?.needs.clip;
  const sides = [...new Set(running.flatMap((a) => (a.needs.working ? [a.needs.working.longSide] : [])))];
  const decoded = await decodeImage(image, { clip, thumbSize: THUMB_SIZE, thumbnail: full, working: sides });
  const thumb = full ? await writeThumbnail(thumbsDir, job.fingerprint, decoded.thumbnail!) : null;
  // The loupe's fit view, from the raster already decoded (also on a backfill: photos indexed before it existed).
  if (full || !fs.existsSync(path.join(thumbsDir, standardPreviewName(job.fingerprint)))) {
    await writeStandardPreview(thumbsDir, job.fingerprint, decoded.working, decoded, decoded.profile);
  }
  const working = new Map(sides.map((side, i) => [side, decoded.working[i]]));
  const outside = full ? await embeddedDecisions(embeddedXmp(content)) : null;
  return { job, id: job.photoId, meta, width: decoded.width, height: decoded.height, thumb, pixels: decoded.pixels, working, outside };
}
