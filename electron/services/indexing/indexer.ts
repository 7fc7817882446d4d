// Indexes photo folders into the library: walk → (skip | recognise a move | decode) → analyze → store.
//
// Analyzers (./analyzers) are what runs over each decoded photo: today the CLIP embedder, later
// technical and face analysis. Each photo is decoded once for all the analyzers it still needs
// (CLIP pixels, thumbnail and any working-size raster come from one decode). A new photo, or one
// whose content changed, gets its row, thumbnail and every analyzer; an unchanged one that some
// analyzer has not done (added since, or its version raised) is a backfill: decoded again, only
// those analyzers run, its row is left as it is.
//
// Decoding (sharp, in libuv's thread pool) and analysis (onnxruntime, async) overlap: up to
// `decodeConcurrency` photos decode while the analyzers work on the previous batch, and at most one
// batch of decoded photos waits, so memory stays bounded. The main thread only orchestrates.
// A photo's row and thumbnail are stored as soon as it is decoded, before any analyzer runs on it
// (listPhoto, one small transaction): the window lists it at once, marked "not scored yet", instead
// of waiting for its embedding. Each batch's analyzer results (with their ledger rows) are then
// written in one transaction. A crash loses at most the analyses in flight: their photos stay
// listed, and the next run finds them unchanged but with analyzers pending, and backfills just those
// (decoded again, the row and thumbnail left as they are); everything else already stored (same
// size + mtime, and every analyzer done) is skipped.
//
// (~400 lines: the pipeline's classify, analyze and store steps share the run's state and its
// crash-safety rules. What stands alone is beside it: the plumbing in pipeline.ts, the decode step
// in decode-job.ts, move recognition in move-finder.ts, the analyzers in analyzers/.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { DB } from '../../../db/database.ts';
import { analysisLedger } from '../../../db/analyses.ts';
import { photoQueries, type PhotoQueries, type PhotoRow } from '../../../db/photos.ts';
import type { ClipModel, PreprocessSpec } from '../../../native-models/types.ts';
import type { Analyzer, AnalyzerInput } from './analyzers/analyzer.ts';
import { defaultAnalyzers } from './analyzers/index.ts';
import { fingerprintFile } from './fingerprint.ts';
import { readSidecars, recordEmbedded } from './outside.ts';
import { sweepThumbnailTemps } from './thumbnails.ts';
import type { IndexProgress, IndexSummary } from '../../../common/types.ts';
import { Mailbox, ProgressReporter, Semaphore } from './pipeline.ts';
import { decodeJob, type Decoded, type Job } from './decode-job.ts';
import { MoveFinder } from './move-finder.ts';
import { describeFsError, fsPath, isGoneError, OUTSIDE_LINK, walkPhotos, type WalkFile } from './walk.ts';

export interface IndexOptions {
  db: DB;
  model: ClipModel;
  roots: string[];
  thumbsDir: string;
  onProgress?: (p: IndexProgress) => void;
  signal?: AbortSignal;
  /** What runs over each decoded photo, in order (default: defaultAnalyzers(model), the CLIP embedder). */
  analyzers?: Analyzer[];
  /**
   * Photos per stored batch (one transaction), and per analyzer call at most (an analyzer with a
   * smaller batchSize is called on parts of it). Default: the largest analyzer batch size, 8 for CLIP.
   */
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

/** Analyzers are sets of bits (bit k = analyzers[k]) in the per-file bookkeeping. */
const MAX_ANALYZERS = 30;

export async function indexLibrary(opts: IndexOptions): Promise<IndexSummary> {
  const started = Date.now();
  const { db, model, signal } = opts;
  const stopped = () => signal?.aborted === true;
  const analyzers = opts.analyzers ?? defaultAnalyzers(model);
  checkAnalyzers(analyzers);
  const all = (1 << analyzers.length) - 1;
  const batchSize = Math.max(1, opts.batchSize ?? (analyzers.length ? Math.max(...analyzers.map((a) => a.batchSize)) : 8));
  const decodeConcurrency = Math.max(1, opts.decodeConcurrency ?? defaultDecodeConcurrency());
  const q = photoQueries(db);
  const ledger = analysisLedger(db);
  for (const a of analyzers) a.ensureSchema?.(db);
  // One libvips thread per image: parallelism comes from decoding several photos at once, which
  // scales better for many small decodes and leaves the cores to onnxruntime during inference.
  sharp.concurrency(1);

  const isDone = (a: Analyzer, photoId: number) => (a.isDone ? a.isDone(db, photoId) : (ledger.version(photoId, a.id) ?? -Infinity) >= a.version);
  /** The analyzers a stored photo still needs. */
  const pending = (photoId: number) => analyzers.reduce((bits, a, k) => (isDone(a, photoId) ? bits : bits | (1 << k)), 0);
  /** A row that must be (re)written, not just backfilled: not 'ok', or its thumbnail is gone. */
  const needsRow = (row: PhotoRow) => row.status !== 'ok' || !row.thumb || !fs.existsSync(path.join(opts.thumbsDir, row.thumb));

  const summary: IndexSummary = { indexed: 0, skipped: 0, failed: 0, missing: 0, renamed: 0, duplicates: 0, errors: [], seconds: 0, cancelled: false };
  const progress = new ProgressReporter(opts.onProgress, analyzers);
  await sweepThumbnailTemps(opts.thumbsDir); // left by a run that was killed mid-write

  // 1. Walk everything first: the total drives progress, and the full list tells what went missing.
  const files: WalkFile[] = [];
  const unreadableDirs: string[] = [];
  for await (const item of walkPhotos(opts.roots, { signal })) {
    if (item.kind === 'file') files.push(item);
    else {
      if (item.reason !== OUTSIDE_LINK) unreadableDirs.push(item.path); // a link not followed: what was under it is gone from the library
      summary.errors.push({ path: item.path, reason: item.reason });
      progress.state.lastError = { path: item.path, reason: item.reason };
    }
    progress.state.found = files.length;
    progress.emit();
  }
  if (stopped()) return finish(true); // a partial walk says nothing about what went missing
  // Per-analyzer totals, from the database alone (no file is read): what each file will likely
  // need. Each file's actual work, decided as it comes up, corrects them (ProgressReporter.settle).
  // A few µs a file: in slices, so a large library does not hold up the event loop (the app's main process).
  const expected = new Uint32Array(files.length);
  for (const [i, file] of files.entries()) {
    if (i % 2000 === 1999) {
      await new Promise((r) => setImmediate(r));
      if (stopped()) return finish(true);
    }
    const row = q.byPath(file.path);
    if (!row || !unchanged(row, file)) expected[i] = all;
    else if (row.error === null || row.status === 'ok') expected[i] = pending(row.id);
  }
  progress.plan(expected);
  // Analyzers with photos to do open their models now, while the first photos decode, rather than
  // on the first batch (measured faster: docs/performance.md, "Run H"). A failure is left for
  // analyze() to report (it opens the model again).
  for (const [k, a] of analyzers.entries()) if (a.prepare && expected.some((e) => e & (1 << k))) a.prepare().catch(() => {});
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
  const moves = new MoveFinder(q, present);

  // A file listed by the walk that is gone by the time we read it (deleted, renamed or moved away
  // while the run was going) did not fail: it is simply not there. Recording it as failed would
  // leave a row for a file that never was a photo, or, for a known photo restored unchanged later,
  // a 'failed' row that is never retried (same size and mtime). A known photo becomes 'missing'
  // (ratings kept, found again by fingerprint if it was renamed, see markVanished); an unknown one
  // leaves no row. The next run sees the folder as it is then.
  const vanished = (file: WalkFile, fingerprint = '') => {
    moves.vanishing(file.path);
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

  const skip = (): null => {
    summary.skipped++;
    progress.state.skipped++;
    progress.done();
    return null;
  };

  /**
   * What a file needs: nothing (unchanged and every analyzer done, or a recognised move of such a
   * photo), a backfill of the analyzers it lacks, or a full decode. Returns the decode job, or null
   * when the file has been dealt with here.
   */
  const classify = async (file: WalkFile, expected: number): Promise<Job | null> => {
    const row = q.byPath(file.path);
    // A row without fingerprint is a file we could not read: retried every run, since fixing
    // permissions does not touch size or mtime.
    if (row && unchanged(row, file)) {
      // Unchanged since last time. Failed files wait for a change; others need every analyzer done.
      if (row.error !== null && row.status !== 'ok') {
        if (row.status === 'missing') q.setStatus(row.id, 'failed');
        return skip();
      }
      const run = pending(row.id);
      if (run === 0) {
        if (row.status !== 'ok') q.setStatus(row.id, 'ok'); // it reappeared
        return skip();
      }
      return { file, fingerprint: row.fingerprint, contentChanged: false, photoId: needsRow(row) ? null : row.id, run, expected };
    }

    let fingerprint: string;
    try {
      fingerprint = await fingerprintFile(fsPath(file.path));
    } catch (err) {
      vanishedOrFailed(file, '', err);
      return null;
    }
    if (!row) {
      const moved = await moves.find(fingerprint);
      if (moved) {
        q.movePhoto(moved.id, file);
        summary.renamed++;
        const run = pending(moved.id);
        if (run === 0) {
          progress.done();
          return null;
        }
        const photoId = needsRow({ ...moved, status: 'ok' }) ? null : moved.id;
        return { file, fingerprint, contentChanged: false, photoId, run, expected };
      }
    }
    return { file, fingerprint, contentChanged: row !== undefined && row.fingerprint !== fingerprint, photoId: null, run: all, expected };
  };

  // 3. Producer: decide per file, decode what needs it. Consumer: analyze and store full batches.
  const slots = new Semaphore(decodeConcurrency);
  const room = new Semaphore(batchSize + decodeConcurrency);
  const ready = new Mailbox<Decoded>();

  const produce = async () => {
    const inFlight = new Set<Promise<void>>();
    try {
      for (const [i, file] of files.entries()) {
        if (stopped() || room.closed) break; // cancelled, or the consumer gave up (model error)
        progress.state.current = file.path;
        const job = await classify(file, expected[i]);
        if (!job) {
          progress.settle(expected[i], 0);
          continue;
        }
        if (!(await room.acquire()) || !(await slots.acquire())) break;
        opts.onDecode?.(file.path);
        const p = decodeJob(job, analyzers, opts.thumbsDir)
          .then(
            (decoded) => {
              if (decoded.id === null) {
                decoded.id = listPhoto(db, q, decoded);
                progress.state.listed!++;
                progress.emit();
              }
              ready.put(decoded);
            },
            (err) => {
              room.release();
              vanishedOrFailed(file, job.fingerprint, err);
              progress.settle(job.expected, 0);
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
      const results = await analyzeBatch(analyzers, batch);
      storeBatch(db, batch, analyzers, results, ledger);
      summary.indexed += batch.length;
      progress.state.indexed += batch.length;
      for (const d of batch) progress.settle(d.job.expected, d.job.run);
      progress.done(batch.length);
    }
  };

  const consumer = consume().finally(() => {
    room.close(); // wake a producer waiting for room after a cancel or a model error
    slots.close();
  });
  // Both sides settle before returning (no decode may outlive the run), then a failure is rethrown.
  for (const r of await Promise.allSettled([produce(), consumer])) if (r.status === 'rejected') throw r.reason;
  // 4. Other applications' sidecars (they change without the photo changing): read when new or changed.
  if (!stopped()) {
    await readSidecars(db, files, (file, reason) => summary.errors.push({ path: file, reason }), stopped);
  }
  return finish(stopped());

  function finish(cancelled: boolean): IndexSummary {
    summary.cancelled = cancelled;
    const under = q.rowsUnder(opts.roots);
    summary.missing = under.filter((r) => r.status === 'missing').length;
    const contents = under.filter((r) => r.status !== 'missing' && r.fingerprint !== '').map((r) => r.fingerprint);
    summary.duplicates = contents.length - new Set(contents).size;
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

function checkAnalyzers(analyzers: Analyzer[]): void {
  if (analyzers.length > MAX_ANALYZERS) throw new Error(`at most ${MAX_ANALYZERS} analyzers per run (${analyzers.length} given)`);
  const ids = new Set<string>();
  let spec: PreprocessSpec | undefined;
  for (const a of analyzers) {
    if (ids.has(a.id)) throw new Error(`two analyzers share the id ${a.id}`);
    ids.add(a.id);
    if (!Number.isInteger(a.version) || a.version < 1) throw new Error(`analyzer ${a.id}: version must be a positive integer`);
    // One decode gives one set of CLIP pixels.
    if (a.needs.clip && spec && JSON.stringify(a.needs.clip) !== JSON.stringify(spec)) {
      throw new Error(`analyzer ${a.id} asks for CLIP pixels of another preprocessing than an earlier analyzer`);
    }
    spec ??= a.needs.clip;
  }
}

/** Same size and mtime as the row, and the row's content was read (a row without fingerprint is a file we could not read). */
function unchanged(row: PhotoRow, file: WalkFile): boolean {
  return row.size === file.size && row.mtime_ms === file.mtimeMs && row.fingerprint !== '';
}

/** Each analyzer over the photos of the batch that need it, in parts of its batch size; results[k][i] for analyzers[k], batch[i]. */
async function analyzeBatch(analyzers: Analyzer[], batch: Decoded[]): Promise<unknown[][]> {
  const results = analyzers.map(() => new Array<unknown>(batch.length));
  const runs = analyzers.map(async (a, k) => {
    const todo = batch.flatMap((d, i) => (d.job.run & (1 << k) ? [i] : []));
    const part = Math.max(1, a.batchSize);
    for (let s = 0; s < todo.length; s += part) {
      const ids = todo.slice(s, s + part);
      const inputs = ids.map((i): AnalyzerInput => {
        const d = batch[i];
        return {
          path: d.job.file.path,
          width: d.width,
          height: d.height,
          clip: a.needs.clip ? d.pixels! : undefined,
          working: a.needs.working ? d.working.get(a.needs.working.longSide) : undefined,
        };
      });
      const out = await a.analyze(inputs);
      if (out.length !== ids.length) throw new Error(`analyzer ${a.id} returned ${out.length} results for ${ids.length} photos`);
      ids.forEach((i, j) => (results[k][i] = out[j]));
    }
  });
  // Every analyzer finishes (none may outlive the run, say while its model is disposed), then the first failure is thrown.
  for (const r of await Promise.allSettled(runs)) if (r.status === 'rejected') throw r.reason;
  return results;
}

/**
 * Stores a decoded photo's row (metadata, thumbnail, decisions in its embedded XMP) in its own
 * transaction, before its analyzers run: from here on the photo is listed, without scores until
 * storeBatch writes them. Returns its id.
 */
function listPhoto(db: DB, q: PhotoQueries, d: Decoded): number {
  return db.transaction(() => {
    const id = q.upsertPhoto({
      path: d.job.file.path,
      size: d.job.file.size,
      mtimeMs: d.job.file.mtimeMs,
      fingerprint: d.job.fingerprint,
      width: d.width,
      height: d.height,
      takenAt: d.meta!.takenAt,
      camera: d.meta!.camera,
      lens: d.meta!.lens,
      thumb: d.thumb,
      capture: d.meta!.capture,
    });
    if (d.job.contentChanged) q.clearEmbeddings(id);
    if (d.outside) recordEmbedded(db, id, d.job.file.path, d.job.file.mtimeMs, d.outside);
    return id;
  })();
}

/** Every analyzer's results for a batch of listed photos, with their ledger rows, in one transaction. */
function storeBatch(db: DB, batch: Decoded[], analyzers: Analyzer[], results: unknown[][], ledger: ReturnType<typeof analysisLedger>): void {
  db.transaction(() => {
    analyzers.forEach((a, k) => {
      const done = batch.flatMap((d, i) => (d.job.run & (1 << k) ? [{ photoId: d.id!, result: results[k][i] }] : []));
      if (done.length === 0) return;
      a.store(db, done);
      if (!a.isDone) for (const { photoId } of done) ledger.record(photoId, a.id, a.version);
    });
  })();
}

function reasonOf(err: unknown): string {
  if ((err as NodeJS.ErrnoException)?.code) return describeFsError(err);
  const message = err instanceof Error ? err.message : String(err);
  return message || 'unknown error';
}
