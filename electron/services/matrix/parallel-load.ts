// A large library's embeddings read from its database on every core (a cold open: no snapshot).
//
// Why: read on one thread, a 1M-photo library costs ~2 s of CPU in SQLite and better-sqlite3 and
// ~0.7 s converting float16 BLOBs to int8 rows: far over the 2 s an open may take. Here the photo
// ids are split into one contiguous range per core; a worker per range (parallel-load-worker.mjs)
// reads its range in blocks on its own read-only connection and converts them with the row
// kernels, and the rows come back as transferred buffers that the matrix copies into place, range
// after range, so rows stay in photo-id order.
//
// Each worker reads its own snapshot of the database, so the result may mix states if something
// wrote meanwhile: the caller checks the rows' sums against the library inside its own read
// transaction and reconciles by id when they differ (embedding-matrix.ts).
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { BLOCK_IDS, embeddingBlockSql } from '../../../db/features.ts';
import { rowKernelModule } from './wasm/row-kernels.ts';
import type { RowFormat } from './row-store.ts';

const WORKER_URL = new URL('./parallel-load-worker.mjs', import.meta.url);

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
  /** `count` rows in the store's format, back to back. */
  rows: Uint8Array;
  /** One scale per row ('i8'), else null. */
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
  /** Aggregates over every row read (SQL over photos p), summed across blocks and readers. */
  sums: readonly string[];
}

interface Reply {
  block?: LoadedBlock;
  done?: { rows: number; sums: number[] };
  error?: string;
}

/**
 * Reads every embedding of `opts.modelId` (as forEachEmbeddingBlock does) with `opts.readers`
 * workers; `visit` gets the blocks in photo-id order. Resolves with the rows and the `sums`, or
 * rejects (every worker stopped) on the first failure: the caller then loads on one thread.
 */
export async function readRowsParallel(opts: ParallelLoad, visit: (block: LoadedBlock) => void): Promise<{ rows: number; sums: number[] }> {
  const module = rowKernelModule();
  if (!module) throw new Error('WebAssembly SIMD is not available');
  const span = opts.hi - opts.lo + 1;
  // Whole blocks per reader, so every statement covers BLOCK_IDS ids as on one thread.
  const perReader = Math.ceil(span / opts.readers / BLOCK_IDS) * BLOCK_IDS;
  const ranges: [number, number][] = [];
  for (let from = opts.lo; from <= opts.hi; from += perReader) ranges.push([from, Math.min(opts.hi + 1, from + perReader)]);
  if (!ranges.length) return { rows: 0, sums: opts.sums.map(() => 0) };
  const sql = embeddingBlockSql(opts.sums);
  const workers: Worker[] = [];
  // Blocks of a range wait here until every range before it has been handed over.
  const queued: LoadedBlock[][] = ranges.map(() => []);
  const finished = ranges.map(() => false);
  let next = 0; // the range whose blocks go straight to `visit`
  let rows = 0;
  const sums = opts.sums.map(() => 0);
  try {
    await new Promise<void>((resolve, reject) => {
      const advance = () => {
        while (next < ranges.length && finished[next]) {
          next++;
          if (next < ranges.length) for (const b of queued[next].splice(0)) visit(b);
        }
        if (next === ranges.length) resolve();
      };
      ranges.forEach(([from, to], i) => {
        const w = new Worker(WORKER_URL, {
          // Plain JavaScript: none of the parent's loader flags (tsx's hooks cost ~0.1–0.3 s a worker).
          execArgv: [],
          workerData: { file: opts.file, sql, modelId: opts.modelId, dim: opts.dim, format: opts.format, from, to, step: BLOCK_IDS, module },
        });
        workers.push(w);
        w.on('message', (m: Reply) => {
          try {
            if (m.error) throw new Error(m.error);
            if (m.block) {
              if (i === next) visit(m.block);
              else queued[i].push(m.block);
            } else if (m.done) {
              rows += m.done.rows;
              m.done.sums.forEach((v, j) => (sums[j] += v));
              finished[i] = true;
              advance();
            }
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
    for (const w of workers) void w.terminate();
  }
  return { rows, sums };
}
