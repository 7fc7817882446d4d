// Test photos generated with sharp (never committed): JPEGs with EXIF, PNG, WebP, TIFF, GIF,
// and broken files of every kind the indexer meets (RAW-like containers: raw-fixtures.ts, re-exported here).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { prng } from '../../electron/services/matrix/prng.ts';

type Img = ReturnType<typeof sharp>;

export * from './raw-fixtures.ts';
import { junk } from './raw-fixtures.ts';

export function tempDir(prefix = 'cull-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Deterministic PRNG so fixtures are identical from run to run. */
export { prng };

/** A distinct picture per seed: a coloured gradient with a few blocks, as raw RGB. */
export function pattern(width: number, height: number, seed: number): Img {
  const rnd = prng(seed);
  const [r0, g0, b0] = [rnd() * 255, rnd() * 255, rnd() * 255];
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      px[i] = (r0 + (x * 255) / width) % 256;
      px[i + 1] = (g0 + (y * 255) / height) % 256;
      px[i + 2] = b0;
    }
  }
  for (let k = 0; k < 4; k++) {
    const bx = Math.floor(rnd() * width * 0.7);
    const by = Math.floor(rnd() * height * 0.7);
    const c = [rnd() * 255, rnd() * 255, rnd() * 255];
    for (let y = by; y < by + height / 4; y++)
      for (let x = bx; x < bx + width / 4; x++) px.set(c, (y * width + x) * 3);
  }
  return sharp(px, { raw: { width, height, channels: 3 } });
}

export interface ExifFields {
  make?: string;
  model?: string;
  lens?: string;
  dateTimeOriginal?: string; // "YYYY:MM:DD HH:MM:SS"
  createDate?: string;
  orientation?: number;
}

function withExif(img: Img, exif?: ExifFields): Img {
  if (!exif) return img;
  const ifd0: Record<string, string> = {};
  const ifd2: Record<string, string> = {};
  if (exif.make) ifd0.Make = exif.make;
  if (exif.model) ifd0.Model = exif.model;
  if (exif.dateTimeOriginal) ifd2.DateTimeOriginal = exif.dateTimeOriginal;
  if (exif.createDate) ifd2.DateTimeDigitized = exif.createDate;
  if (exif.lens) ifd2.LensModel = exif.lens;
  let out = img.withExif({ IFD0: ifd0, IFD2: ifd2 });
  // sharp writes Orientation itself; withMetadata is how to set it.
  if (exif.orientation) out = out.withMetadata({ orientation: exif.orientation });
  return out;
}

export type Format = 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif';

export interface ImageSpec {
  width?: number;
  height?: number;
  seed?: number;
  format?: Format;
  exif?: ExifFields;
}

export async function imageBuffer(spec: ImageSpec = {}): Promise<Buffer> {
  const { width = 160, height = 120, seed = 1, format = 'jpeg' } = spec;
  const img = withExif(pattern(width, height, seed), spec.exif);
  return img.toFormat(format, format === 'jpeg' ? { quality: 85 } : {}).toBuffer();
}

export async function writeImage(file: string, spec: ImageSpec = {}): Promise<string> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, await imageBuffer(spec));
  return file;
}

/** `count` small photos of assorted formats (mostly JPEGs with EXIF), named p000.jpg …; returns paths. */
export async function writePhotoSet(dir: string, count: number, opts: { seed?: number; size?: number } = {}): Promise<string[]> {
  const formats: Format[] = ['jpeg', 'jpeg', 'jpeg', 'png', 'webp', 'jpeg', 'tiff', 'jpeg'];
  const ext: Record<Format, string> = { jpeg: 'jpg', png: 'png', webp: 'webp', tiff: 'tif', gif: 'gif' };
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const format = formats[i % formats.length];
    const seed = (opts.seed ?? 1000) + i;
    const file = path.join(dir, `p${String(i).padStart(3, '0')}.${ext[format]}`);
    const side = opts.size ?? 160;
    await writeImage(file, {
      width: side,
      height: Math.round(side * 0.75),
      seed,
      format,
      exif: format === 'jpeg' ? { make: 'Canon', model: 'Canon EOS R5', dateTimeOriginal: `2023:05:${String((i % 28) + 1).padStart(2, '0')} 10:00:00` } : undefined,
    });
    files.push(file);
  }
  return files;
}

// ---- broken files ---------------------------------------------------------------------------

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A ~100-byte, well-formed PNG whose header claims `side`×`side` pixels (a decompression bomb). */
export function pixelBombPng(side = 100_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(1024))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JPEG header claiming 60000×60000 (JPEG's limit is 65535): tiny file, pixel-limit reject. */
export async function pixelBombJpeg(): Promise<Buffer> {
  const jpeg = await imageBuffer({ width: 16, height: 16 });
  const out = Buffer.from(jpeg);
  for (let p = 2; p < out.length; ) {
    const marker = out[p + 1];
    const len = out.readUInt16BE(p + 2);
    if (marker === 0xc0 || marker === 0xc2) {
      out.writeUInt16BE(60000, p + 5);
      out.writeUInt16BE(60000, p + 7);
      return out;
    }
    p += 2 + len;
  }
  throw new Error('no SOF in generated JPEG');
}

export async function truncatedJpeg(): Promise<Buffer> {
  const jpeg = await imageBuffer({ width: 400, height: 300, seed: 77 });
  return jpeg.subarray(0, Math.floor(jpeg.length / 2));
}

export interface BadFile {
  name: string;
  content: Buffer;
  /** What the recorded reason must say. */
  reason: RegExp;
}

export async function badFiles(): Promise<BadFile[]> {
  return [
    { name: 'zero-byte.jpg', content: Buffer.alloc(0), reason: /empty/i },
    { name: 'notes.jpg', content: Buffer.from('These are my holiday notes, not a photo.\n'.repeat(20)), reason: /not an image|unsupported|unrecogni[sz]ed/i },
    { name: 'bomb.png', content: pixelBombPng(), reason: /pixel|too large|dimension|size/i },
    { name: 'bomb.jpg', content: await pixelBombJpeg(), reason: /pixel|too large|dimension|size/i },
    { name: 'truncated.jpg', content: await truncatedJpeg(), reason: /truncat|corrupt|damaged|premature|incomplete/i },
    { name: 'garbage.png', content: Buffer.concat([pixelBombPng(64).subarray(0, 33), Buffer.from('garbage'.repeat(30))]), reason: /corrupt|damaged|truncat|invalid|read/i },
    { name: 'no-preview.nef', content: Buffer.concat([Buffer.from('II*\0\x08\0\0\0\0\0\0\0\0\0', 'latin1'), junk(4096, 5)]), reason: /no embedded preview/i },
  ];
}

/**
 * A well-formed PNG of `side`² zero pixels whose IDAT is a zlib bomb (about 1000:1): a few hundred
 * KB on disk, `side² × channels` bytes when decoded. Under the pixel limit it is a valid image.
 */
export async function zlibBombPng(side: number, channels: 3 | 4 = 4): Promise<Buffer> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, channels === 4 ? 6 : 2, 0, 0, 0], 8);
  const deflate = zlib.createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (b: Buffer) => parts.push(b));
  const ended = new Promise((r) => deflate.on('end', r));
  const row = Buffer.alloc(1 + side * channels);
  for (let y = 0; y < side; y++) if (!deflate.write(row)) await new Promise((r) => deflate.once('drain', r));
  deflate.end();
  await ended;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', Buffer.concat(parts)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A baseline TIFF header claiming `side`×`side` 8-bit RGB with one tiny strip (a TIFF pixel bomb). */
export function pixelBombTiff(side = 100_000): Buffer {
  const count = 9;
  const stripAt = 8 + 2 + count * 12 + 4; // the strip follows the IFD
  const entries: [tag: number, type: 3 | 4, value: number][] = [
    [0x0100, 4, side], // ImageWidth
    [0x0101, 4, side], // ImageLength
    [0x0102, 3, 8], // BitsPerSample
    [0x0103, 3, 1], // no compression
    [0x0106, 3, 2], // RGB
    [0x0111, 4, stripAt], // StripOffsets
    [0x0115, 3, 3], // SamplesPerPixel
    [0x0116, 4, side], // RowsPerStrip
    [0x0117, 4, 64], // StripByteCounts
  ];
  const ifd = Buffer.alloc(2 + count * 12 + 4);
  ifd.writeUInt16LE(count, 0);
  entries.forEach(([tag, type, value], i) => {
    ifd.writeUInt16LE(tag, 2 + i * 12);
    ifd.writeUInt16LE(type, 4 + i * 12);
    ifd.writeUInt32LE(1, 6 + i * 12);
    if (type === 3) ifd.writeUInt16LE(value, 10 + i * 12);
    else ifd.writeUInt32LE(value, 10 + i * 12);
  });
  return Buffer.concat([Buffer.from('II*\0\x08\0\0\0', 'latin1'), ifd, Buffer.alloc(64)]);
}

/** `n` frames of `pattern` joined as an animated GIF or WebP. */
export async function animatedImage(format: 'gif' | 'webp', frames = 3, seed = 1): Promise<Buffer> {
  const parts = await Promise.all(Array.from({ length: frames }, (_, i) => pattern(96, 64, seed + i).png().toBuffer()));
  const img = sharp(parts, { join: { animated: true } });
  return (format === 'gif' ? img.gif({ loop: 0, delay: 100 }) : img.webp({ loop: 0, delay: 100 })).toBuffer();
}

// ---- indexing in a child process ------------------------------------------------------------------

const REPO = path.resolve(import.meta.dirname, '../..');

/**
 * Writes a script that indexes `roots` into a library in its own process (for the kill/resume test,
 * and for running as an unprivileged user). Usage:
 *   node --import tsx <script> <db> <modelDir> <thumbsDir> <embedDelayMs> <root>...
 * Prints the IndexSummary as JSON. `embedDelayMs` slows each model call down so the parent can
 * stop the child between batches. With `events`, it also prints one line per step before the
 * summary, so a parent can pick its moment (the fault tests kill it at seeded points):
 *   decode <JSON path>   just before a file is decoded
 *   embedded <n> <ms>    a batch of n came back from the model and is about to be stored (Date.now())
 */
export function writeIndexScript(dir: string, opts: { events?: boolean } = {}): string {
  const mod = (p: string) => JSON.stringify(path.join(REPO, p));
  const script = path.join(dir, 'index-child.mts');
  fs.writeFileSync(
    script,
    `import { openDatabase } from ${mod('db/database.ts')};
import { loadModelFolder } from ${mod('native-models/folder.ts')};
import { openClipModel } from ${mod('native-models/runtime.ts')};
import { indexLibrary } from ${mod('electron/services/indexing/indexer.ts')};
const [dbPath, modelDir, thumbsDir, delay, ...roots] = process.argv.slice(2);
const events = ${JSON.stringify(opts.events === true)};
const model = await openClipModel(loadModelFolder(modelDir), { threads: 1 });
const slow = {
  info: model.info,
  embedTexts: (t) => model.embedTexts(t),
  dispose: () => model.dispose(),
  embedImages: async (pixels, count) => {
    await new Promise((r) => setTimeout(r, Number(delay)));
    const out = await model.embedImages(pixels, count);
    if (events) process.stdout.write('embedded ' + count + ' ' + Date.now() + '\\n');
    return out;
  },
};
const onDecode = events ? (p) => process.stdout.write('decode ' + JSON.stringify(p) + '\\n') : undefined;
const db = openDatabase(dbPath);
const summary = await indexLibrary({ db, model: slow, roots, thumbsDir, batchSize: 8, onDecode });
db.close();
await model.dispose();
// maxRssKb: the child's peak resident memory (kilobytes), for memory bounds.
console.log(JSON.stringify({ ...summary, maxRssKb: process.resourceUsage().maxRSS }));
`,
  );
  fs.chmodSync(script, 0o644);
  return script;
}

export const REPO_DIR = REPO;

/**
 * Writes a script that exports every photo of a library (id order) in its own process, for the
 * kill tests. Usage: node --import tsx <script> <db> <dest> <mode> <xmp 0|1> <report|-> .
 * Prints "P <done>" after each photo and "R <ExportResult JSON>" at the end.
 */
export function writeExportScript(dir: string): string {
  const mod = (p: string) => JSON.stringify(path.join(REPO, p));
  const script = path.join(dir, 'export-child.mts');
  fs.writeFileSync(
    script,
    `import { openDatabase } from ${mod('db/database.ts')};
import { exportPhotos } from ${mod('electron/services/culling/export.ts')};
const [dbPath, to, mode, xmp, report] = process.argv.slice(2);
const db = openDatabase(dbPath);
const photoIds = db.prepare('SELECT id FROM photos ORDER BY id').pluck().all();
const result = await exportPhotos(db, { photoIds, to, mode, xmp: xmp === '1', report: report === '-' ? undefined : report },
  (p) => process.stdout.write('P ' + p.done + '\\n'));
db.close();
process.stdout.write('R ' + JSON.stringify(result) + '\\n');
`,
  );
  fs.chmodSync(script, 0o644);
  return script;
}

// ---- originals ----------------------------------------------------------------------------------

export function sha256File(file: string | Buffer): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export interface FileState {
  sha256: string;
  size: number;
  mtimeMs: number;
}

/** SHA-256, size and mtime of each file (string or raw-byte path), to compare before and after. */
export function snapshotFiles(files: (string | Buffer)[]): FileState[] {
  return files.map((f) => {
    const st = fs.statSync(f);
    return { sha256: sha256File(f), size: st.size, mtimeMs: st.mtimeMs };
  });
}

/** A high-entropy JPEG of a few hundred KB (noise compresses badly), for copies that take a while. */
export async function noiseJpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const px = junk(width * height * 3, seed);
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
}
