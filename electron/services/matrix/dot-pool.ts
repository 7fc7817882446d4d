// Scoring passes split over the cores. A pass over 100k+ rows is one kernel call of a few
// milliseconds, bound by memory bandwidth on one core; helper threads (dot-pool-worker.mjs) run the
// same kernel over chunks of the same rows, in the row store's shared WebAssembly memory, writing
// their dots into the same output: no copies, no messages per pass.
//
// Synchronous, as `RowStore.dot` is: the main thread publishes the pass in a shared control block
// and wakes the helpers, then claims chunks itself like any helper (compare-and-swap on a per-chunk
// generation number: each chunk is run exactly once per pass). When it runs out of chunks it waits
// (Atomics.wait) only for chunks a helper has already claimed. A helper that is slow to wake (a
// busy machine) costs nothing: the main thread takes its chunks, and the pass is never slower than
// on one thread by more than the wake-up.
//
// A pass may also map its dots through the logistic of a logit scale (an attribute's scores): each
// thread maps the chunks it ran, so that loop (~2 ms at 100k rows on one thread) is split too.
//
// Control block (Int32Array over a SharedArrayBuffer): GEN pass number, DONE chunks finished by
// helpers, then the pass (memory id, format, addresses, rows, chunk size, chunk count, the int8
// direction's scale as float32, whether to map through the logistic and its scale as float64),
// then one claim word per chunk.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { logisticInPlace } from './dot.ts';
import { rowKernelModule, type RowKernels } from './wasm/row-kernels.ts';

const WORKER_URL = new URL('./dot-pool-worker.mjs', import.meta.url);
const [GEN, DONE, MEMID, FORMAT, MAT, DIM, DIR, SCALES, OUT, ROWS, CHUNK, NCHUNKS, DSCALE, MAPPED, CLAIMS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16];
const LOGIT = 7; // float64 index: bytes 56–63 (int32 words 14 and 15)
const MAX_CHUNKS = 64;

/** Passes over at least this many rows are split (below, waking helpers costs more than it saves). */
export const PARALLEL_DOT_MIN_ROWS = 50_000;

export interface DotPass {
  format: 'f32' | 'i8';
  memoryId: number;
  kernels: RowKernels;
  mat: number;
  rows: number;
  dim: number;
  dir: number;
  scales: number;
  out: number;
  dscale: number;
  /** Map every dot through logistic(logit, dot) (null: leave the dots). */
  logit: number | null;
  /** The store's output region as float32 (the calling thread maps its chunks there). */
  outView: Float32Array;
}

export class DotPool {
  private readonly workers: Worker[] = [];
  private readonly ctl: Int32Array;
  private readonly f32: Float32Array;
  private readonly f64: Float64Array;
  private nextId = 1;
  private readonly dropped = new FinalizationRegistry<number>((id) => this.unregister(id));
  /** Chunks run by helpers and by the main thread, over every pass (tests, the bench). */
  readonly stats = { passes: 0, helperChunks: 0, mainChunks: 0 };

  constructor(readonly helpers: number) {
    const control = new SharedArrayBuffer((CLAIMS + MAX_CHUNKS) * 4);
    this.ctl = new Int32Array(control);
    this.f32 = new Float32Array(control);
    this.f64 = new Float64Array(control);
    const module = rowKernelModule(true);
    for (let i = 0; i < helpers; i++) {
      const w = new Worker(WORKER_URL, { execArgv: [], workerData: { module, control } });
      w.unref(); // parked helpers never keep a CLI from exiting
      w.on('error', () => {}); // a helper that died leaves its chunks to the main thread
      this.workers.push(w);
    }
  }

  /** Threads a pass runs on: the helpers and the calling thread. */
  get threads(): number {
    return this.helpers + 1;
  }

  /** Makes `memory` known to the helpers; forgotten when `owner` is collected or on `unregister`. */
  register(memory: WebAssembly.Memory, owner: object): number {
    const id = this.nextId++;
    for (const w of this.workers) w.postMessage({ id, memory });
    this.dropped.register(owner, id);
    return id;
  }

  unregister(id: number): void {
    for (const w of this.workers) w.postMessage({ drop: id });
  }

  /**
   * out[r] = row r · direction over every row of the pass, on every thread. `helpersOnly` (tests):
   * the calling thread takes no chunk, so the helpers' path is surely taken.
   */
  run(p: DotPass, helpersOnly = false): void {
    const ctl = this.ctl;
    const n = Math.min(MAX_CHUNKS, this.threads * 4);
    const chunk = Math.ceil(p.rows / n);
    const chunks = Math.ceil(p.rows / chunk);
    const gen = Atomics.load(ctl, GEN) + 1;
    ctl[MEMID] = p.memoryId;
    ctl[FORMAT] = p.format === 'i8' ? 1 : 0;
    ctl[MAT] = p.mat;
    ctl[DIM] = p.dim;
    ctl[DIR] = p.dir;
    ctl[SCALES] = p.scales;
    ctl[OUT] = p.out;
    ctl[ROWS] = p.rows;
    ctl[CHUNK] = chunk;
    ctl[NCHUNKS] = chunks;
    this.f32[DSCALE] = p.dscale;
    ctl[MAPPED] = p.logit === null ? 0 : 1;
    this.f64[LOGIT] = p.logit ?? 0;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, GEN, gen); // publishes everything above
    Atomics.notify(ctl, GEN);
    this.stats.passes++;
    let mine = helpersOnly ? 0 : this.claimChunks(p, gen, chunk, chunks);
    // Every chunk the main thread did not run has been claimed by a helper: wait for them. (Only
    // with helpersOnly can a chunk still be unclaimed; after 5 s the main thread runs it.)
    for (let waited = 0; ; ) {
      const done = Atomics.load(ctl, DONE);
      if (done >= chunks - mine) break;
      if (helpersOnly && waited >= 5000) {
        mine += this.claimChunks(p, gen, chunk, chunks);
        helpersOnly = false;
        continue;
      }
      Atomics.wait(ctl, DONE, done, 50);
      waited += 50;
    }
    this.stats.mainChunks += mine;
    this.stats.helperChunks += chunks - mine;
  }

  /** Runs every chunk of pass `gen` still unclaimed, on this thread; returns how many. */
  private claimChunks(p: DotPass, gen: number, chunk: number, chunks: number): number {
    const ctl = this.ctl;
    let mine = 0;
    for (let c = 0; c < chunks; c++) {
      const old = Atomics.load(ctl, CLAIMS + c);
      if (old >= gen || Atomics.compareExchange(ctl, CLAIMS + c, old, gen) !== old) continue;
      const start = c * chunk;
      const count = Math.min(chunk, p.rows - start);
      if (p.format === 'i8') p.kernels.dot_i8(p.mat + start * p.dim, count, p.dim, p.dir, p.scales + start * 4, p.out + start * 4, p.dscale);
      else p.kernels.dot_f32(p.mat + start * p.dim * 4, count, p.dim, p.dir, p.out + start * 4);
      if (p.logit !== null) logisticInPlace(p.outView, start, start + count, p.logit);
      mine++;
    }
    return mine;
  }

  /** Resolves once every helper holds memory `id` (tests: the helpers' path is then surely open). */
  registered(id: number): Promise<void> {
    return Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const on = (m: { registered?: number }) => {
              if (m.registered !== id) return;
              w.off('message', on);
              resolve();
            };
            w.on('message', on);
            w.postMessage({ ping: id });
          }),
      ),
    ).then(() => {});
  }
}

let pool: DotPool | null | undefined;

/** The process's pool (one helper per core beyond the first), or null on one core or without shared WebAssembly memory. */
export function dotPool(): DotPool | null {
  if (pool === undefined) {
    const helpers = Math.min(7, os.availableParallelism() - 1);
    pool = helpers >= 1 && !process.env.CULL_NO_PARALLEL_DOT && rowKernelModule(true) ? new DotPool(helpers) : null;
  }
  return pool;
}
