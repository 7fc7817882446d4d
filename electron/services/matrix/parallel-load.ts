// A large library's embeddings read from its database on every core (a cold open: no snapshot).
//
// Why: read on one thread, a 1M-photo library costs ~2 s of CPU in SQLite and better-sqlite3 and
// ~0.7 s converting float16 BLOBs to int8 rows: far over the 2 s an open may take. Here the photo
// ids are cut into blocks of PACK_IDS dealt out in turn to one worker per core
// (parallel-load-worker.mjs), which reads them on its own read-only connection and converts them
// with the row kernels. Rows stay in photo-id order: where the matrix's rows are in shared memory
// (`target`), each reader writes its blocks' rows straight into place (a block starts after the
// rows of every block before it: the readers share each block's count as soon as they know it);
// otherwise the rows come back as transferred buffers that the matrix copies into place block after
// block. Either way ids and times come back by message, block by block, in order.
//
// Each worker reads its own snapshot of the database, so the result may mix states if something
// wrote meanwhile: the caller checks the photos' sums against the library inside its own read
// transaction and reconciles by id when they differ (embedding-matrix.ts).
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { PACK_CLEAR_SQL, PACK_IDS, PACK_READ_SQL, PACK_WRITE_SQL, PACKS_EXIST_SQL } from '../../../db/embedding-packs.ts';
import { embeddingRangeSql } from '../../../db/features.ts';
import { rowKernelModule } from './wasm/row-kernels.ts';
import type { RowFormat, RowTarget } from './row-store.ts';

const WORKER_URL = new URL('./parallel-load-worker.mjs', import.meta.url);
const PACK_WORKER_URL = new URL('./pack-worker.mjs', import.meta.url);

/** From this many embeddings on, a load from the database uses the parallel readers (when there are ≥ 2 cores). */
export const PARALLEL_MIN_ROWS = 50_000;

/** Readers a parallel load starts: one per core, at most 8 (beyond that SQLite's page reads contend). */
export function parallelReaders(): number {
  return Math.min(8, os.availableParallelism());
}

/** Rows of one block as a worker made them (see parallel-load-worker.mjs). */
export interface LoadedBlock {
  count: number;
  ids: Int32Array;
  indexedAt: Float64Array;
  /** The row the reader wrote the block's rows at in the target (rows and scales then null), or −1. */
  at: number;
  /** `count` rows in the store's format, back to back (when not written in place). */
  rows: Uint8Array | null;
  /** One scale per row ('i8', when not written in place), else null. */
  scales: Float32Array | null;
  /** Rows the kernel left to the plain path (inf/NaN or all zeros), with their float16 BLOBs. */
  refused: { k: number; blob: Uint8Array }[];
}

export interface ParallelLoad {
  file: string;
  modelId: string;
  dim: number;
  format: RowFormat;
  /** The photo ids to read: lo ≤ id ≤ hi. */
  lo: number;
  hi: number;
  readers: number;
  /** Aggregates over every ok photo seen (SQL over photos p), summed across blocks and readers. */
  sums: readonly string[];
  /** Shared rows the readers write in place, from row 0 (null: every block's rows come by message). */
  target: RowTarget | null;
}

interface Reply {
  block?: LoadedBlock & { index: number };
  /** A block with no rows (a gap in the photo ids). */
  empty?: number;
  done?: ReadTotals;
  error?: string;
}

/** What a parallel read saw, all readers together. */
export interface ReadTotals {
  rows: number;
  /** Ok photos seen (each row is one; an ok photo without an embedding of the right size is not). */
  photos: number;
  sums: number[];
  /** Blocks read from their pack (db/embedding-packs.ts). */
  packed: number;
  /** Packs (block numbers) of the blocks that had rows but no pack: packInBackground's list. */
  unpacked: number[];
}

/**
 * Reader threads started before their job is known, so that their start-up (~70 ms: a thread,
 * better-sqlite3) overlaps the caller's own preparation (counting the rows, allocating the matrix).
 * Handed to readRowsParallel, or stopped.
 */
export class Readers {
  readonly workers: Worker[] = [];
  /** Why a reader failed before its job came (its first error, or its exit), if one did. */
  failure: Error | null = null;

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      // Plain JavaScript: none of the parent's loader flags (tsx's hooks cost ~0.1–0.3 s a worker).
      const w = new Worker(WORKER_URL, { execArgv: [] });
      w.on('error', (err) => (this.failure ??= err));
      w.once('exit', (code) => (this.failure ??= new Error(`matrix reader ${i} stopped (exit code ${code})`)));
      this.workers.push(w);
    }
  }

  stop(): void {
    for (const w of this.workers) void w.terminate();
  }
}

/**
 * Reads every embedding of `opts.modelId` (as forEachEmbeddingBlock does) with `opts.readers`
 * workers (those of `started` when given: any beyond what the range needs are stopped); `visit`
 * gets the blocks in photo-id order. Resolves with the rows, the ok photos seen
 * (every row is one; an ok photo without an embedding of the right size is not) and their `sums`, or
 * rejects (every worker stopped) on the first failure: the caller then loads on one thread.
 */
export async function readRowsParallel(
  opts: ParallelLoad,
  visit: (block: LoadedBlock) => void,
  started: Readers = new Readers(opts.readers),
): Promise<ReadTotals> {
  const module = rowKernelModule();
  if (!module) {
    started.stop();
    throw new Error('WebAssembly SIMD is not available');
  }
  // Blocks of PACK_IDS photo ids, those of the packs (one pack or statement each), dealt out in
  // turn: reader i reads blocks i, i + readers, … so all readers move through the ids together and
  // few blocks ever wait here for the one before them.
  const lo = opts.lo - (opts.lo % PACK_IDS);
  const blocks = Math.max(0, Math.ceil((opts.hi - lo + 1) / PACK_IDS));
  const readers = Math.min(opts.readers, blocks, started.workers.length);
  if (!readers) {
    started.stop();
    return { rows: 0, photos: 0, sums: opts.sums.map(() => 0), packed: 0, unpacked: [] };
  }
  const sql = { ...embeddingRangeSql(opts.sums), pack: PACK_READ_SQL, packsExist: PACKS_EXIST_SQL };
  // [stop flag, count of block 0, count of block 1, …] (−1: not read yet): see the worker's header.
  const counts = opts.target ? new SharedArrayBuffer((blocks + 1) * 4) : null;
  if (counts) new Int32Array(counts).fill(-1, 1);
  const workers = started.workers.slice(0, readers);
  for (const w of started.workers.slice(readers)) void w.terminate();
  const arrived = new Map<number, LoadedBlock | null>(); // block index → rows (null: none in it)
  const finished = new Array<boolean>(readers).fill(false);
  let next = 0; // the block `visit` gets next
  let rows = 0;
  let photos = 0;
  let packed = 0;
  const unpacked: number[] = [];
  const sums = opts.sums.map(() => 0);
  try {
    await new Promise<void>((resolve, reject) => {
      const advance = () => {
        for (; arrived.has(next); next++) {
          const b = arrived.get(next)!;
          arrived.delete(next);
          if (b) visit(b);
        }
        if (next === blocks && finished.every(Boolean)) resolve();
      };
      if (started.failure) return reject(started.failure); // a reader died before its job came
      workers.forEach((w, i) => {
        w.postMessage({ file: opts.file, sql, modelId: opts.modelId, dim: opts.dim, format: opts.format, lo, hi: opts.hi, step: PACK_IDS, first: i, stride: readers, module, target: opts.target, counts });
        w.on('message', (m: Reply) => {
          try {
            if (m.error) throw new Error(m.error);
            if (m.block) arrived.set(m.block.index, m.block);
            else if (m.empty !== undefined) arrived.set(m.empty, null);
            else if (m.done) {
              rows += m.done.rows;
              photos += m.done.photos;
              m.done.sums.forEach((v, j) => (sums[j] += v));
              packed += m.done.packed;
              unpacked.push(...m.done.unpacked);
              finished[i] = true;
            }
            advance();
          } catch (err) {
            reject(err);
          }
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (!finished[i]) reject(new Error(`matrix reader ${i} stopped (exit code ${code})`));
        });
      });
    });
  } finally {
    if (counts) {
      // A reader waiting for a count that will never come (another one failed) stops.
      const flags = new Int32Array(counts);
      Atomics.store(flags, 0, 1);
      for (let b = 1; b <= blocks; b++) Atomics.notify(flags, b);
    }
    for (const w of workers) void w.terminate();
  }
  return { rows, photos, sums, packed, unpacked: unpacked.sort((a, b) => a - b) };
}

/**
 * Writes the packs of `blocks` (db/embedding-packs.ts) on a thread of its own with its own
 * connection, one write transaction per block so the app's own writes interleave (~15–60 ms each;
 * ~250 blocks at 1M photos). Resolves with the packs written, or rejects (a busy or closed library:
 * the next load that meets unpacked blocks tries again). The thread does not keep the process alive.
 */
export function packInBackground(file: string, modelId: string, blocks: readonly number[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(PACK_WORKER_URL, { execArgv: [], workerData: { file, modelId, blocks, clearSql: PACK_CLEAR_SQL, sql: PACK_WRITE_SQL, size: PACK_IDS } });
    w.unref();
    let result: { written?: number; error?: string } = {};
    w.on('message', (m: { written?: number; error?: string }) => (result = m));
    w.on('error', reject);
    w.on('exit', () => (result.error !== undefined || result.written === undefined ? reject(new Error(result.error ?? 'the packing thread stopped')) : resolve(result.written)));
  });
}
