// Indexes photo folders into the library: walk → (skip | recognise a move | decode) → embed → store.
//
// Decoding (sharp, in libuv's thread pool) and inference (onnxruntime, async) overlap: up to
// `decodeConcurrency` photos decode while the model embeds the previous batch, and at most one
// batch of decoded photos waits, so memory stays bounded. The main thread only orchestrates.
// Each batch's rows and embeddings are written in one transaction: a crash loses at most the batch
// in flight, and the next run skips everything already stored (same size + mtime + embedding).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { DB } from '../../../db/database.ts';
import { photoQueries, type PhotoQueries, type PhotoRow } from '../../../db/photos.ts';
import { decodePhoto } from '../../../native-models/preprocess.ts';
import type { ClipModel } from '../../../native-models/types.ts';
import { fingerprintFile } from './fingerprint.ts';
import { hasMetadata, readMetadata, sniffImageType, type PhotoMetadata } from './metadata.ts';
import { extractRawPreview } from './raw-preview.ts';
import { sweepThumbnailTemps, THUMB_SIZE, writeThumbnail } from './thumbnails.ts';
import type { IndexProgress, IndexSummary } from '../../../common/types.ts';
import { describeFsError, fsPath, isGoneError, isRawFile, walkPhotos, type WalkFile } from './walk.ts';

export interface IndexOptions {
  db: DB;
  model: ClipModel;
  roots: string[];
  thumbsDir: string;
  onProgress?: (p: IndexProgress) => void;
  signal?: AbortSignal;
  /** Photos per model call (default 8). */
  batchSize?: number;
  /**
   * Photos decoding at once (each decode runs on one libvips thread). Default: cores + 1, which
   * keeps the cores busy while the main thread stores a batch or the encoder's threads wait on each
   * other (2 cores, 24 MP JPEGs: 3 decodes give ~8 % more photos/s than 2, cores busy 1.93 instead
   * of 1.80; 4 no more than 3 — npm run bench, docs/performance.md). Capped one below libuv's thread
   * pool (UV_THREADPOOL_SIZE, default 4), which sharp shares with file reads.
   */
  decodeConcurrency?: number;
  /** Called just before a file is decoded (tests and benchmarks count real work with it). */
  onDecode?: (path: string) => void;
}

interface Decoded {
  file: WalkFile;
  fingerprint: string;
  contentChanged: boolean; // the row held other content before: its old embeddings are stale
  meta: PhotoMetadata;
  width: number;
  height: number;
  thumb: string;
  pixels: Float32Array;
}

interface Job {
  file: WalkFile;
  fingerprint: string;
  contentChanged: boolean;
}

const PROGRESS_INTERVAL_MS = 100;

export async function indexLibrary(opts: IndexOptions): Promise<IndexSummary> {
  const started = Date.now();
  const { db, model, signal } = opts;
  const stopped = () => signal?.aborted === true;
  const batchSize = Math.max(1, opts.batchSize ?? 8);
  const decodeConcurrency = Math.max(1, opts.decodeConcurrency ?? defaultDecodeConcurrency());
  const modelId = model.info.id;
  const q = photoQueries(db);
  // One libvips thread per image: parallelism comes from decoding several photos at once, which
  // scales better for many small decodes and leaves the cores to onnxruntime during inference.
  sharp.concurrency(1);

  const summary: IndexSummary = { indexed: 0, skipped: 0, failed: 0, missing: 0, renamed: 0, errors: [], seconds: 0, cancelled: false };
  const progress = new ProgressReporter(opts.onProgress);
  await sweepThumbnailTemps(opts.thumbsDir); // left by a run that was killed mid-write

  // 1. Walk everything first: the total drives progress, and the full list tells what went missing.
  const files: WalkFile[] = [];
  const unreadableDirs: string[] = [];
  for await (const item of walkPhotos(opts.roots, { signal })) {
    if (item.kind === 'file') files.push(item);
    else {
      unreadableDirs.push(item.path);
      summary.errors.push({ path: item.path, reason: item.reason });
      progress.state.lastError = { path: item.path, reason: item.reason };
    }
    progress.state.found = files.length;
    progress.emit();
  }
  if (stopped()) return finish(true); // a partial walk says nothing about what went missing
  progress.state.total = files.length;
  progress.state.phase = 'indexing';
  progress.startRate();
  progress.emit(true);

  // 2. Rows under the roots whose file is gone become 'missing' (kept for their ratings). Files in
  // folders we could not read are not known to be gone, so they are left alone.
  const present = new Set(files.map((f) => f.path));
  const unknown = (p: string) => unreadableDirs.some((d) => p === d || p.startsWith(d + path.sep));
  for (const row of q.rowsUnder(opts.roots)) {
    if (row.status !== 'missing' && !present.has(row.path) && !unknown(row.path)) q.setStatus(row.id, 'missing');
  }

  // A file listed by the walk that is gone by the time we read it (deleted, renamed or moved away
  // while the run was going) did not fail: it is simply not there. Recording it as failed would
  // leave a row for a file that never was a photo, or, for a known photo restored unchanged later,
  // a 'failed' row that is never retried (same size and mtime). A known photo becomes 'missing'
  // (ratings kept, found again by fingerprint if it was renamed, see markVanished); an unknown one
  // leaves no row. The next run sees the folder as it is then.
  const vanished = (file: WalkFile, fingerprint = '') => {
    q.markVanished(file.path, fingerprint);
    progress.done();
  };

  const fail = (file: WalkFile, fingerprint: string, reason: string) => {
    q.markFailed({ path: file.path, size: file.size, mtimeMs: file.mtimeMs, fingerprint, reason });
    summary.failed++;
    summary.errors.push({ path: file.path, reason });
    progress.state.failed++;
    progress.state.lastError = { path: file.path, reason };
    progress.done();
  };

  // The one place that tells the two apart: "not found" counts as vanished only if the photo
  // itself is gone (not, say, the thumbnail folder deleted under us).
  const vanishedOrFailed = (file: WalkFile, fingerprint: string, err: unknown) => {
    if (isGoneError(err) && !fs.existsSync(fsPath(file.path))) vanished(file, fingerprint);
    else fail(file, fingerprint, reasonOf(err));
  };

  // 3. Producer: decide per file, decode what needs it. Consumer: embed and store full batches.
  const slots = new Semaphore(decodeConcurrency);
  const room = new Semaphore(batchSize + decodeConcurrency);
  const ready = new Mailbox<Decoded>();

  const produce = async () => {
    const inFlight = new Set<Promise<void>>();
    try {
      for (const file of files) {
        if (stopped() || room.closed) break; // cancelled, or the consumer gave up (model error)
        progress.state.current = file.path;
        const job = await classify(file, q, modelId, summary, progress, vanishedOrFailed);
        if (!job) continue;
        if (!(await room.acquire()) || !(await slots.acquire())) break;
        opts.onDecode?.(file.path);
        const p = decodeJob(job, model, opts.thumbsDir)
          .then(
            (decoded) => ready.put(decoded),
            (err) => {
              room.release();
              vanishedOrFailed(file, job.fingerprint, err);
            },
          )
          .finally(() => {
            slots.release();
            inFlight.delete(p);
          });
        inFlight.add(p);
      }
    } finally {
      await Promise.all(inFlight);
      ready.close();
    }
  };

  const consume = async () => {
    for (;;) {
      const batch = await ready.take(batchSize);
      if (batch.length === 0 || stopped()) break;
      room.release(batch.length);
      const pixels = concatPixels(batch.map((d) => d.pixels));
      const vectors = await model.embedImages(pixels, batch.length);
      const dim = model.info.dim;
      if (vectors.length !== batch.length * dim) {
        throw new Error(`model returned ${vectors.length} values for ${batch.length} images of dimension ${dim}`);
      }
      storeBatch(db, q, modelId, batch, vectors, dim);
      summary.indexed += batch.length;
      progress.state.indexed += batch.length;
      progress.done(batch.length);
    }
  };

  const consumer = consume().finally(() => {
    room.close(); // wake a producer waiting for room after a cancel or a model error
    slots.close();
  });
  // Both sides settle before returning (no decode may outlive the run), then a failure is rethrown.
  for (const r of await Promise.allSettled([produce(), consumer])) if (r.status === 'rejected') throw r.reason;
  return finish(stopped());

  function finish(cancelled: boolean): IndexSummary {
    summary.cancelled = cancelled;
    summary.missing = q.rowsUnder(opts.roots).filter((r) => r.status === 'missing').length;
    summary.seconds = (Date.now() - started) / 1000;
    progress.state.phase = 'done';
    progress.state.current = undefined;
    progress.emit(true);
    return summary;
  }
}

function defaultDecodeConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(os.availableParallelism() + 1, pool - 1));
}

/**
 * What a file needs: nothing (unchanged, or a recognised move of an embedded photo), or a decode.
 * Returns the decode job, or null when the file has been dealt with here.
 */
async function classify(
  file: WalkFile,
  q: PhotoQueries,
  modelId: string,
  summary: IndexSummary,
  progress: ProgressReporter,
  vanishedOrFailed: (file: WalkFile, fingerprint: string, err: unknown) => void,
): Promise<Job | null> {
  const row = q.byPath(file.path);
  // A row without fingerprint is a file we could not read: retried every run, since fixing
  // permissions does not touch size or mtime.
  if (row && row.size === file.size && row.mtime_ms === file.mtimeMs && row.fingerprint !== '') {
    // Unchanged since last time. Failed files wait for a change; others need this model's embedding.
    if (row.error !== null && row.status !== 'ok') {
      if (row.status === 'missing') q.setStatus(row.id, 'failed');
      return skip(summary, progress);
    }
    if (q.hasEmbedding(row.id, modelId)) {
      if (row.status !== 'ok') q.setStatus(row.id, 'ok'); // it reappeared
      return skip(summary, progress);
    }
    return { file, fingerprint: row.fingerprint, contentChanged: false };
  }

  let fingerprint: string;
  try {
    fingerprint = await fingerprintFile(fsPath(file.path));
  } catch (err) {
    vanishedOrFailed(file, '', err);
    return null;
  }
  if (!row) {
    const moved = await findMovedRow(q, fingerprint);
    if (moved) {
      q.movePhoto(moved.id, file);
      summary.renamed++;
      if (q.hasEmbedding(moved.id, modelId)) {
        progress.done();
        return null;
      }
      return { file, fingerprint, contentChanged: false };
    }
  }
  return { file, fingerprint, contentChanged: row !== undefined && row.fingerprint !== fingerprint };
}

function skip(summary: IndexSummary, progress: ProgressReporter): null {
  summary.skipped++;
  progress.state.skipped++;
  progress.done();
  return null;
}

/** A row with the same content whose file is gone: the photo was renamed or moved. */
async function findMovedRow(q: PhotoQueries, fingerprint: string): Promise<PhotoRow | null> {
  for (const row of q.byFingerprint(fingerprint)) {
    if (row.status === 'failed') continue;
    if (row.status === 'missing') return row;
    const exists = await fs.promises.access(fsPath(row.path)).then(
      () => true,
      () => false,
    );
    if (!exists) return row;
  }
  return null;
}

async function decodeJob(job: Job, model: ClipModel, thumbsDir: string): Promise<Decoded> {
  const content = await fs.promises.readFile(fsPath(job.file.path));
  if (content.length === 0) throw new Error('empty file (0 bytes)');
  const raw = isRawFile(job.file.path);
  if (!raw && sniffImageType(content) === null) throw new Error('not an image (unrecognised file content)');
  let meta = await readMetadata(content);
  let image: Buffer = content;
  if (raw) {
    image = await extractRawPreview(content, { orientation: meta.orientation });
    if (!hasMetadata(meta)) meta = await readMetadata(image);
  }
  const decoded = await decodePhoto(image, model.info.preprocess, { thumbSize: THUMB_SIZE });
  const thumb = await writeThumbnail(thumbsDir, job.fingerprint, decoded.thumbnail);
  return { ...job, meta, width: decoded.width, height: decoded.height, thumb, pixels: decoded.pixels };
}

function storeBatch(db: DB, q: PhotoQueries, modelId: string, batch: Decoded[], vectors: Float32Array, dim: number): void {
  db.transaction(() => {
    batch.forEach((d, i) => {
      const id = q.upsertPhoto({
        path: d.file.path,
        size: d.file.size,
        mtimeMs: d.file.mtimeMs,
        fingerprint: d.fingerprint,
        width: d.width,
        height: d.height,
        takenAt: d.meta.takenAt,
        camera: d.meta.camera,
        lens: d.meta.lens,
        thumb: d.thumb,
      });
      if (d.contentChanged) q.clearEmbeddings(id);
      q.storeEmbedding(id, modelId, vectors.subarray(i * dim, (i + 1) * dim));
    });
  })();
}

function concatPixels(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function reasonOf(err: unknown): string {
  if ((err as NodeJS.ErrnoException)?.code) return describeFsError(err);
  const message = err instanceof Error ? err.message : String(err);
  return message || 'unknown error';
}

/** Counting semaphore whose waiters can be released all at once (acquire then resolves false). */
class Semaphore {
  private waiters: ((ok: boolean) => void)[] = [];
  closed = false;
  constructor(private free: number) {}
  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(n = 1): void {
    for (let i = 0; i < n; i++) {
      const next = this.waiters.shift();
      if (next) next(true);
      else this.free++;
    }
  }
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(false);
  }
}

/** Decoded photos waiting for the model; `take` waits for a full batch unless the producer is done. */
class Mailbox<T> {
  private items: T[] = [];
  private closed = false;
  private wake: (() => void) | null = null;
  put(item: T): void {
    this.items.push(item);
    this.wake?.();
  }
  close(): void {
    this.closed = true;
    this.wake?.();
  }
  async take(n: number): Promise<T[]> {
    while (this.items.length < n && !this.closed) await new Promise<void>((r) => (this.wake = r));
    this.wake = null;
    return this.items.splice(0, n);
  }
}

/** Progress state plus throttled delivery (~10/s) with a rate over the last few seconds. */
class ProgressReporter {
  state: IndexProgress = { phase: 'walking', found: 0, done: 0, total: 0, indexed: 0, skipped: 0, failed: 0, ratePerSec: 0, etaSec: null };
  private lastEmit = 0;
  private samples: { t: number; done: number }[] = [];
  constructor(private readonly listener?: (p: IndexProgress) => void) {}
  startRate(): void {
    this.samples = [{ t: Date.now(), done: 0 }];
  }
  done(n = 1): void {
    this.state.done += n;
    this.emit();
  }
  emit(force = false): void {
    if (!this.listener) return;
    const now = Date.now();
    if (!force && now - this.lastEmit < PROGRESS_INTERVAL_MS) return;
    this.lastEmit = now;
    if (this.state.phase !== 'walking') this.updateRate(now);
    this.listener({ ...this.state, lastError: this.state.lastError && { ...this.state.lastError } });
  }
  private updateRate(now: number): void {
    this.samples.push({ t: now, done: this.state.done });
    while (this.samples.length > 2 && now - this.samples[1].t > 5000) this.samples.shift();
    const first = this.samples[0];
    const seconds = (now - first.t) / 1000;
    this.state.ratePerSec = seconds > 0 ? (this.state.done - first.done) / seconds : 0;
    const left = this.state.total - this.state.done;
    this.state.etaSec = this.state.ratePerSec > 0 ? left / this.state.ratePerSec : left === 0 ? 0 : null;
  }
}
