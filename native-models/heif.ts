// HEIF/HEIC photos that sharp cannot decode. sharp's prebuilt libvips reads the HEIF container
// and AV1 (AVIF) but has no HEVC decoder, so every iPhone HEIC and every Canon/Sony/Fujifilm HIF
// failed. Those are decoded by libheif-js (WebAssembly libheif + libde265) in worker threads
// (heif-worker.mjs) to 8-bit RGB, oriented by the container's irot/imir, and handed to sharp as raw
// pixels; everything after that (CLIP input, thumbnail, working rasters) is the common path.
import fs from 'node:fs/promises';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { ImageDecodeError } from './errors.ts';

/** HEIF image brands (ISO/IEC 23008-12, 23000-22 MIAF, AVIF); anything else in an ISO box file is not a photo we know. */
const HEIF_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs', 'mif1', 'mif2', 'msf1', 'miaf', 'avif', 'avis', 'avci', 'avcs', 'jpeg', 'jpgs', 'j2ki', 'j2is', 'vvic', 'vvis', 'unif']);
/** Well-known non-image ISO media brands, with what opens them. */
const OTHER_BRANDS: Record<string, string> = {
  'crx ': 'a Canon CR3 RAW file (give it a .CR3 extension)',
  'qt  ': 'a QuickTime movie (a video player opens it)',
  isom: 'an MP4 video (a video player opens it)',
  iso2: 'an MP4 video (a video player opens it)',
  mp41: 'an MP4 video (a video player opens it)',
  mp42: 'an MP4 video (a video player opens it)',
  avc1: 'an MP4 video (a video player opens it)',
  'M4V ': 'an MP4 video (a video player opens it)',
  'M4A ': 'an MP4 audio file',
  '3gp4': 'a 3GP video (a video player opens it)',
  '3gp5': 'a 3GP video (a video player opens it)',
  '3g2a': 'a 3GP video (a video player opens it)',
  jp2: 'a JPEG 2000 image',
};

export interface IsoBrands {
  major: string;
  compatible: string[];
}

/** The ftyp brands of an ISO base media file (HEIF, AVIF, MP4, CR3…), or null when `head` is not one. */
export function isoBrands(head: Uint8Array): IsoBrands | null {
  if (head.length < 12) return null;
  const b = Buffer.from(head.buffer, head.byteOffset, head.length);
  if (b.toString('latin1', 4, 8) !== 'ftyp') return null;
  const size = Math.min(b.readUInt32BE(0), b.length, 4096);
  const compatible: string[] = [];
  for (let p = 16; p + 4 <= size; p += 4) compatible.push(b.toString('latin1', p, p + 4));
  return { major: b.toString('latin1', 8, 12), compatible };
}

export function isHeifBrand(brands: IsoBrands): boolean {
  return HEIF_BRANDS.has(brands.major) || brands.compatible.some((c) => HEIF_BRANDS.has(c));
}

/** The reason a non-HEIF ISO media file is not a photo: unsupported, with what would open it. */
export function notHeifError(brands: IsoBrands): ImageDecodeError {
  const what = OTHER_BRANDS[brands.major] ?? OTHER_BRANDS[brands.compatible.find((c) => OTHER_BRANDS[c]) ?? ''];
  const brand = brands.major.trim() || '(blank)';
  return new ImageDecodeError(
    'unsupported',
    what
      ? `unsupported format: ${what}, not a photo Cull can read (ISO media brand '${brand}')`
      : `unsupported format: an ISO media file of brand '${brand}', which is not HEIF, HEIC or AVIF; open it with the application that wrote it`,
  );
}

/** Reads the first bytes of a file or buffer. */
export async function readHead(input: string | Buffer, n = 64): Promise<Buffer> {
  if (typeof input !== 'string') return input.subarray(0, n);
  const fh = await fs.open(input, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export interface HeifRaster {
  data: Buffer; // interleaved RGB, rows of width * 3
  width: number; // oriented (irot/imir applied)
  height: number;
  channels: 3;
  /** Time the WebAssembly decode took in its worker. */
  decodeMs: number;
}

interface Reply {
  id: number;
  data?: Uint8Array;
  width?: number;
  height?: number;
  ms?: number;
  error?: { kind: 'unsupported' | 'corrupt' | 'too-large' | 'failed'; message: string; codecs?: string[]; width?: number; height?: number; fatal?: boolean };
}

const WORKER_URL = new URL('./heif-worker.mjs', import.meta.url);
/** A worker's WebAssembly memory only grows (a 48 MP photo needs ~300 MB): idle workers are ended to give it back. */
const IDLE_MS = 10_000;

interface Slot {
  worker: Worker;
  busy: boolean;
  idle: NodeJS.Timeout | null;
}

/** Up to `size` decode workers, started on demand and ended when idle. */
class HeifPool {
  private slots: Slot[] = [];
  private queue: (() => void)[] = [];
  private nextId = 1;
  constructor(private readonly size: number) {}

  async decode(bytes: Uint8Array, maxPixels: number): Promise<Reply> {
    const slot = await this.acquire();
    try {
      return await new Promise<Reply>((resolve, reject) => {
        const id = this.nextId++;
        const onMessage = (m: Reply) => {
          if (m.id !== id) return;
          cleanup();
          if (m.error?.fatal) this.drop(slot);
          resolve(m);
        };
        const onError = (err: Error) => {
          cleanup();
          this.drop(slot);
          reject(err);
        };
        const onExit = (code: number) => onError(new Error(`HEIF decoder worker exited (code ${code})`));
        const cleanup = () => {
          slot.worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        };
        slot.worker.on('message', onMessage).on('error', onError).on('exit', onExit);
        slot.worker.postMessage({ id, bytes, maxPixels });
      });
    } finally {
      this.release(slot);
    }
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      const free = this.slots.find((s) => !s.busy);
      if (free) return this.take(free);
      if (this.slots.length < this.size) {
        const slot: Slot = { worker: new Worker(WORKER_URL), busy: false, idle: null };
        slot.worker.on('error', () => this.drop(slot)); // also reported to the job in flight
        this.slots.push(slot);
        return this.take(slot);
      }
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
  }

  private take(slot: Slot): Slot {
    slot.busy = true;
    if (slot.idle) clearTimeout(slot.idle);
    slot.idle = null;
    slot.worker.ref();
    return slot;
  }

  private release(slot: Slot): void {
    slot.busy = false;
    if (this.slots.includes(slot)) {
      slot.worker.unref(); // an idle worker never keeps the process alive
      slot.idle = setTimeout(() => this.drop(slot), IDLE_MS);
      slot.idle.unref();
    }
    this.queue.shift()?.();
  }

  private drop(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    if (slot.idle) clearTimeout(slot.idle);
    void slot.worker.terminate();
    this.queue.shift()?.();
  }
}

/** Two decodes at once at most: each holds its WebAssembly heap (~300 MB for a 48 MP photo). */
const pool = new HeifPool(Math.max(1, Math.min(2, os.availableParallelism())));

/** Decodes a HEIF/HEIC (HEVC, 8- or 10-bit, grid or single image) to oriented 8-bit RGB off the main thread. */
export async function decodeHeif(bytes: Buffer, maxPixels: number): Promise<HeifRaster> {
  const r = await pool.decode(bytes, maxPixels).catch((err: unknown) => {
    throw new ImageDecodeError('failed', `could not decode HEIF image: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  if (r.error) throw heifError(r.error, maxPixels);
  return { data: Buffer.from(r.data!.buffer, r.data!.byteOffset, r.data!.byteLength), width: r.width!, height: r.height!, channels: 3, decodeMs: r.ms ?? 0 };
}

function heifError(e: NonNullable<Reply['error']>, maxPixels: number): ImageDecodeError {
  const detail = e.message.replace(/\s+/g, ' ').trim().slice(0, 200);
  switch (e.kind) {
    case 'too-large':
      return new ImageDecodeError('too-large', `image too large (${e.width} × ${e.height} pixels, limit ${Math.round(maxPixels / 1e6)} MP)`);
    case 'unsupported': {
      const codec = e.codecs?.filter((c) => !c.startsWith('HEVC')).join(', ') || e.codecs?.join(', ') || 'an unknown codec';
      return new ImageDecodeError(
        'unsupported',
        `unsupported format or codec: a HEIF image compressed with ${codec}, which Cull's decoder (libheif-js: HEVC only) cannot read; ` +
          `the file is probably fine: convert it with libheif's heif-convert built with that codec, or open it in the application that wrote it (libheif: ${detail})`,
      );
    }
    case 'corrupt':
      return new ImageDecodeError('corrupt', `damaged file: truncated or corrupt HEIF image data (libheif: ${detail})`);
    default:
      return new ImageDecodeError('failed', `could not decode HEIF image: ${detail}`);
  }
}
