// The library's image embeddings in memory, loaded once per library and model. Every attribute
// score and search is a matrix-vector product over them, run by the SIMD kernels of row-store.ts
// (1M × 512 in ~30 ms as int8, ~70 ms as float32, against ~500 ms for a JavaScript loop).
// Why one file of ~680 lines: the row storage, the int8 shadow and the refresh/reconcile logic share
// the same private buffers and invariants (row order, id index, shadow in step); splitting them would
// expose those buffers to each other.
//
// Storage follows the library's size:
//   'f32'  exact float32 rows while they take at most COMPACT_ABOVE_BYTES (256 MiB: ~131k photos
//          of 512 values) — every dot is exact;
//   'i8'   beyond that, int8 codes with a per-row scale: a quarter of the memory (1M photos: 512 MB
//          instead of 2 GB). Dots are then approximate (error ~4e-4·‖d‖, a CLIP-IQA score moves by
//          ≤ ~0.005), so `approximate` is true and the scorer re-ranks its top results with
//          `exactRows`, which reads those rows' stored float16 embeddings back from the database.
// Paths are not held in memory (1M paths cost ~0.5 s to read and ~80 MB): `pathsOf` reads the
// few a page of results needs, always current even after a move.
import type { DB } from '../../../db/database.ts';
import fs from 'node:fs';
import { embeddingShape, forEachEmbedding, forEachEmbeddingBlock, photoIdRange } from '../../../db/features.ts';
import { decodeF16Into } from '../../../db/vectors.ts';
import {
  CHECKSUM_SQL,
  checksumTerms,
  libraryStamp,
  readSnapshot,
  SNAPSHOT_MIN_ROWS,
  snapshotPath,
  writeSnapshot,
  writeSnapshotAsync,
  type LibraryStamp,
} from './matrix-snapshot.ts';
import { PARALLEL_MIN_ROWS, parallelReaders, readRowsParallel } from './parallel-load.ts';
import { RowStore, simdAvailable, type RowFormat } from './row-store.ts';

/** Float32 rows up to this many bytes, int8 codes beyond (see the header). */
export const COMPACT_ABOVE_BYTES = 256 * 2 ** 20;

/**
 * From this many float32 rows on, scoring passes run over an int8 shadow of them (a quarter of the
 * bytes: 100k × 512 in ~10 ms instead of ~25 ms where memory bandwidth is the limit) and re-rank
 * their best rows exactly, as int8 storage does; the float32 rows stay for everything exact.
 */
export const FAST_SHADOW_MIN_ROWS = 50_000;

export interface LoadOptions {
  /** 'auto' (default) picks by size; 'f32' or 'i8' forces a format (tests, benchmarks). */
  format?: RowFormat | 'auto';
  /**
   * Keep a snapshot of large matrices beside the database (matrix-snapshot.ts) and open from it
   * when it still matches the library (default true; CULL_NO_MATRIX_SNAPSHOT=1 turns it off).
   */
  snapshot?: boolean;
  /**
   * Write snapshots off the event loop instead of inside load/refresh (the app and the CLI: the
   * first scores are not held up by ~1.5 s of writing at 1M). `flush()` waits for the write.
   */
  deferSnapshot?: boolean;
  /**
   * loadAsync only: readers of a parallel load from the database (default: one per core, at most
   * 8; below 2 it loads on this thread) and the size from which it applies (PARALLEL_MIN_ROWS).
   */
  readers?: number;
  parallelMinRows?: number;
  /** loadAsync only (tests): called once this connection's view of the library is fixed, before the readers start. */
  onReading?: () => void;
}

export interface RefreshResult {
  /** Rows appended (photos embedded since the last load). */
  added: number;
  /** Rows overwritten in place (photos re-indexed since the last load). */
  updated: number;
  /** Rows dropped (photos removed, missing or failed since the last load). */
  removed?: number;
  /** True when the matrix was loaded again from scratch (snapshot or database). */
  rebuilt: boolean;
}

/** Photo ids per bucket when a stale matrix is reconciled with the database (see reconcile). */
const BUCKET = 1024;

// SQLite's default limit of bound parameters is 32766 (999 on old builds): ids go as one JSON array.
const idList = (ids: ArrayLike<number>) => JSON.stringify(Array.from(ids));

export class EmbeddingMatrix {
  // Buffers may be longer than `length` (room to append); the public getters return exact views.
  private idBuf = new Int32Array(0);
  private indexedAt = new Float64Array(0);
  private store: RowStore;
  private index: Map<number, number> | null = null;
  /** Paths given to fromRows, or read once by the `paths` getter. */
  private pathList: string[] | null = null;
  dim = 0;
  length = 0;

  /**
   * Where the matrix came from on its last (re)load: 'snapshot' (fresh), 'snapshot+database' (a
   * stale snapshot reconciled with the database, reading only the changed rows) or 'database'.
   */
  loadedFrom: 'snapshot' | 'snapshot+database' | 'database' | 'memory' = 'memory';
  /**
   * How the last load from the database read its rows: `statements` results crossed into
   * JavaScript for `rows` rows (blocks of rows, not one result per row; see forEachEmbeddingBlock).
   */
  lastLoad: { rows: number; statements: number; readers: number; reconciled: boolean } | null = null;
  private readonly snapshotFile: string | null;
  private deferSnapshot = false;
  /** Bumped whenever rows change in place: a deferred snapshot write of an older state gives up. */
  private version = 0;
  private pendingSave: Promise<void> = Promise.resolve();
  /**
   * int8 copy of float32 rows for fast scoring passes (FAST_SHADOW_MIN_ROWS): built in the
   * background after the first pass asks for it (~0.7 s of quantising at 100k, never in a pass's
   * way), kept in step with appended and re-indexed rows, dropped when rows move or the matrix reloads.
   */
  private shadow: RowStore | null = null;
  private shadowBuilt = 0; // rows of `shadow` filled by the background build so far

  private constructor(
    readonly modelId: string,
    /** Where exact rows and paths are read from (null for matrices built from memory). */
    private readonly db: DB | null,
    private readonly requested: RowFormat | 'auto',
    snapshot = false,
  ) {
    this.store = new RowStore('f32', 0, 1);
    this.snapshotFile = db && snapshot && !process.env.CULL_NO_MATRIX_SNAPSHOT ? snapshotPath(db, modelId) : null;
  }

  /** Photo id per row. */
  get ids(): Int32Array {
    return this.idBuf.subarray(0, this.length);
  }

  /** photos.indexed_at per row (what refresh and reconcile compare). */
  get indexedTimes(): Float64Array {
    return this.indexedAt.subarray(0, this.length);
  }

  get format(): RowFormat {
    return this.store.format;
  }

  /** True when dots are approximate (int8 storage): exact values come from `exactRows`. */
  get approximate(): boolean {
    return this.store.format === 'i8';
  }

  /** Bytes held for the embeddings (rows and scales), not counting ids. */
  get bytes(): number {
    return this.store.bytes;
  }

  /**
   * Row-major `length × dim` float32 embeddings. For 'f32' storage a view (no copy); for 'i8' a
   * dequantised copy of every row (4 bytes per value: prefer `exactRows` for a few rows).
   */
  get data(): Float32Array {
    if (this.store.format === 'f32') return this.store.f32.subarray(0, this.length * this.dim);
    const out = new Float32Array(this.length * this.dim);
    for (let r = 0; r < this.length; r++) this.store.getRow(r, out.subarray(r * this.dim, (r + 1) * this.dim));
    return out;
  }

  /** Path per row. Read from the database on first use (prefer `pathsOf` for a page of results). */
  get paths(): string[] {
    if (!this.pathList) this.pathList = this.pathsOf(Array.from({ length: this.length }, (_, r) => r));
    return this.pathList;
  }

  static load(db: DB, modelId: string, opts: LoadOptions = {}): EmbeddingMatrix {
    const m = new EmbeddingMatrix(modelId, db, opts.format ?? 'auto', opts.snapshot ?? true);
    m.deferSnapshot = opts.deferSnapshot ?? false;
    m.reload(db);
    return m;
  }

  /**
   * As `load`, but a large library without a usable snapshot is read from the database on every
   * core (parallel-load.ts) instead of on this thread. The app and the CLI open libraries this way.
   */
  static async loadAsync(db: DB, modelId: string, opts: LoadOptions = {}): Promise<EmbeddingMatrix> {
    const m = new EmbeddingMatrix(modelId, db, opts.format ?? 'auto', opts.snapshot ?? true);
    m.deferSnapshot = opts.deferSnapshot ?? false;
    // A snapshot on disk is tried first, on this thread (fresh: ~0.3 s at 1M; damaged: read from SQLite here).
    if ((m.snapshotFile && fs.existsSync(m.snapshotFile)) || !(await m.loadParallel(db, opts))) m.reload(db);
    return m;
  }

  /**
   * The database load on every core. Returns false, having loaded nothing usable, where it does not
   * apply (one core, a small or in-memory library, no SIMD) or fails: the caller loads on one thread.
   */
  private async loadParallel(db: DB, opts: LoadOptions): Promise<boolean> {
    const readers = opts.readers ?? parallelReaders();
    if (readers < 2 || !db.name || db.memory || db.name === ':memory:' || db.inTransaction || !simdAvailable()) return false;
    const { dim, count } = embeddingShape(db, this.modelId);
    if (count < (opts.parallelMinRows ?? PARALLEL_MIN_ROWS) || dim % 16 !== 0) return false;
    const { lo, hi } = photoIdRange(db);
    this.reset(dim, count + Math.max(1024, count >> 5));
    this.version++;
    let r = 0;
    let statements = 0;
    const sums = ['total(p.id)', ...CHECKSUM_SQL.map((x) => `total(${x})`)];
    const read = () => readRowsParallel({ file: db.name!, modelId: this.modelId, dim, format: this.store.format, lo, hi, readers, sums }, (block) => {
      this.ensureCapacity(r + block.count);
      this.idBuf.set(block.ids, r);
      this.indexedAt.set(block.indexedAt, r);
      this.store.setRawRows(r, block.rows, block.scales);
      for (const { k, blob } of block.refused) this.storeRowF16(r + k, blob);
      r += block.count;
      this.length = r; // what ensureCapacity keeps
      statements++;
    });
    // One read transaction from here on: the library's stamp (taken while the readers read), the
    // check of their rows against it and any reconciling all see the same state. The readers each
    // saw their own snapshot: their rows stand when their sums match the stamp (nothing was written
    // in between), else they are reconciled by id, as a stale snapshot is.
    // (The readers start first, so their start-up overlaps the stamp; a test's onReading hook
    // writes before they start, so they surely see the write.)
    let reading = opts.onReading ? null : read();
    reading?.catch(() => {}); // awaited below; a failure before then must not surface as unhandled
    db.exec('BEGIN');
    try {
      const stamp = libraryStamp(db, this.modelId);
      if (opts.onReading) {
        opts.onReading();
        reading = read();
      }
      const done = await reading!;
      this.lastLoad = { rows: r, statements, readers, reconciled: false };
      const same = stamp[0] === done.rows && stamp[1] === done.sums[0] && stamp[2] === done.sums[1] && stamp[3] === done.sums[2];
      if (!same && !this.reconcile(db)) return false;
      this.lastLoad.reconciled = !same;
      this.loadedFrom = 'database';
      if (stamp[4] >= SNAPSHOT_MIN_ROWS) this.saveSnapshot(db, stamp);
      return true;
    } catch {
      return false; // a reader failed: the caller loads on this thread
    } finally {
      db.exec('COMMIT');
    }
  }

  /** Built from rows already in memory (tests, benchmarks); exact float32 unless asked otherwise. */
  static fromRows(
    modelId: string,
    ids: ArrayLike<number>,
    data: Float32Array,
    dim: number,
    paths?: string[],
    opts: LoadOptions = {},
  ): EmbeddingMatrix {
    if (data.length !== ids.length * dim) throw new Error(`Matrix has ${data.length} values, expected ${ids.length} × ${dim}.`);
    const m = new EmbeddingMatrix(modelId, null, opts.format ?? 'f32');
    m.dim = dim;
    m.length = ids.length;
    m.idBuf = Int32Array.from(ids);
    m.indexedAt = new Float64Array(ids.length);
    m.store = new RowStore(m.pickFormat(ids.length, dim), dim, ids.length);
    for (let r = 0; r < ids.length; r++) m.store.setRow(r, data, r * dim);
    m.pathList = paths ?? Array.from(ids, (id) => String(id));
    return m;
  }

  /** Row of a photo id, or -1. The id → row map is built on first use. */
  indexOf(id: number): number {
    if (!this.index) {
      this.index = new Map();
      for (let r = 0; r < this.length; r++) this.index.set(this.idBuf[r], r);
    }
    return this.index.get(id) ?? -1;
  }

  /** Row r as float32: a view for 'f32' storage, the exact stored embedding for 'i8'. */
  row(r: number): Float32Array {
    if (this.store.format === 'f32') return this.store.f32.subarray(r * this.dim, (r + 1) * this.dim);
    return this.exactRows([r]);
  }

  /**
   * Like `dot`, but over the int8 shadow of a large float32 matrix (or the int8 rows themselves):
   * `approximate` says whether the values need an exact re-rank (`exactRows`) before being shown.
   */
  dotFast(direction: Float32Array, out: Float32Array = new Float32Array(this.length)): { values: Float32Array; approximate: boolean } {
    if (!this.wantsShadow()) return { values: this.dot(direction, out), approximate: this.approximate };
    if (!this.shadow || this.shadowBuilt < this.length) {
      this.buildShadow();
      return { values: this.dot(direction, out), approximate: false };
    }
    return { values: this.shadow.dot(direction, this.length, out), approximate: true };
  }

  /** Starts (once) the background build of the int8 shadow, a slice of rows per macrotask. */
  private buildShadow(): void {
    if (this.shadow) return;
    const shadow = new RowStore('i8', this.dim, this.idBuf.length);
    this.shadow = shadow;
    this.shadowBuilt = 0;
    const step = () => {
      if (this.shadow !== shadow) return; // dropped (reload, rows moved): a later pass starts again
      const f32 = this.store.f32;
      const end = Math.min(this.length, this.shadowBuilt + 8192);
      for (let r = this.shadowBuilt; r < end; r++) shadow.setRow(r, f32, r * this.dim);
      this.shadowBuilt = end;
      if (end < this.length) setTimeout(step, 0).unref();
    };
    setTimeout(step, 0).unref(); // unref: a CLI that has printed its scores exits without waiting
  }

  /** Resolves once the int8 shadow is built, where this matrix uses one (tests, benchmarks). */
  async warmFast(): Promise<void> {
    if (!this.wantsShadow()) return;
    this.buildShadow();
    while (this.shadow && this.shadowBuilt < this.length) await new Promise((r) => setTimeout(r, 5));
  }

  /** Threads a fast scoring pass over every row runs on (dot-pool.ts; 1 below PARALLEL_DOT_MIN_ROWS rows). */
  get scoreThreads(): number {
    const store = this.wantsShadow() && this.shadow ? this.shadow : this.store;
    return store.threadsFor(this.length);
  }

  /** Float32 rows of a size where the int8 shadow pays (and its SIMD kernel applies). */
  private wantsShadow(): boolean {
    return this.store.format === 'f32' && this.length >= FAST_SHADOW_MIN_ROWS && simdAvailable() && this.dim % 16 === 0;
  }

  private dropShadow(): void {
    this.shadow?.release();
    this.shadow = null;
    this.shadowBuilt = 0;
  }

  /** out[r] = row r · direction, for every row. */
  dot(direction: Float32Array, out: Float32Array = new Float32Array(this.length)): Float32Array {
    if (this.length === 0) return out; // no rows yet (a model nothing was embedded with): nothing to score, whatever its width
    if (direction.length !== this.dim) throw new Error(`Direction has ${direction.length} values; the matrix has ${this.dim} columns.`);
    return this.store.dot(direction, this.length, out);
  }

  /** Dot of one row with a direction (explain, single-photo views); exact in both formats. */
  dotRow(r: number, direction: ArrayLike<number>): number {
    if (this.store.format === 'f32') return this.store.dotRow(r, direction);
    const v = this.exactRows([r]);
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += v[j] * direction[j];
    return s;
  }

  /**
   * Exact float32 embeddings of `rows` (rows.length × dim, in that order). For 'i8' storage they are
   * read back from the database (the float16 BLOBs, re-normalised like the load does); a row whose
   * embedding has gone since falls back to its dequantised codes.
   */
  exactRows(rows: ArrayLike<number>): Float32Array {
    const dim = this.dim;
    const out = new Float32Array(rows.length * dim);
    if (this.store.format === 'f32' || !this.db) {
      for (let k = 0; k < rows.length; k++) this.store.getRow(rows[k], out.subarray(k * dim, (k + 1) * dim));
      return out;
    }
    const at = new Map<number, number>();
    for (let k = 0; k < rows.length; k++) at.set(this.idBuf[rows[k]], k);
    const found = new Set<number>();
    const stmt = this.db.prepare('SELECT photo_id, vec FROM embeddings WHERE model_id = ? AND photo_id IN (SELECT value FROM json_each(?))');
    for (const [id, blob] of stmt.raw().iterate(this.modelId, idList([...at.keys()])) as Iterable<[number, Buffer]>) {
      const k = at.get(id);
      if (k === undefined || blob.length !== dim * 2) continue;
      const v = out.subarray(k * dim, (k + 1) * dim);
      decodeF16Into(blob, v, 0);
      let s = 0;
      for (let j = 0; j < dim; j++) s += v[j] * v[j];
      if (s > 0 && Number.isFinite(s)) for (let j = 0, inv = 1 / Math.sqrt(s); j < dim; j++) v[j] *= inv;
      found.add(k);
    }
    for (let k = 0; k < rows.length; k++) if (!found.has(k)) this.store.getRow(rows[k], out.subarray(k * dim, (k + 1) * dim));
    return out;
  }

  /** Current paths of `rows`, in order ('' for a photo no longer in the library). */
  pathsOf(rows: ArrayLike<number>): string[] {
    if (this.pathList || !this.db) return Array.from(rows, (r) => this.pathList?.[r] ?? '');
    const byId = new Map<number, string>();
    const stmt = this.db.prepare('SELECT id, path FROM photos WHERE id IN (SELECT value FROM json_each(?))');
    for (const [id, path] of stmt.raw().iterate(idList(Array.from(rows, (r) => this.idBuf[r]))) as Iterable<[number, string]>) byId.set(id, path);
    return Array.from(rows, (r) => byId.get(this.idBuf[r]) ?? '');
  }

  /**
   * After indexing: photos indexed since the newest row we hold are appended or overwritten in
   * place; if the library lost rows (photo removed, missing or failed) the matrix is reloaded.
   */
  refresh(db: DB): RefreshResult {
    // One read transaction: the rows, the count and the snapshot's stamp describe the same state.
    return db.transaction(() => this.refreshRows(db))();
  }

  private refreshRows(db: DB): RefreshResult {
    this.version++;
    let newest = 0;
    for (let r = 0; r < this.length; r++) if (this.indexedAt[r] > newest) newest = this.indexedAt[r];
    let added = 0;
    let updated = 0;
    let foreign = false;
    // ">=": rows written in the same millisecond as the newest one are re-read (idempotent).
    const opts = { sinceIndexedAt: newest, decode: false, onStart: (_: number, dim: number) => (foreign = dim !== 0 && this.length > 0 && dim !== this.dim) };
    forEachEmbedding(db, this.modelId, opts, (row) => {
      if (foreign) return;
      if (!this.length && this.dim !== row.blob.length >> 1) this.reset(row.blob.length >> 1, 0);
      let r = this.indexOf(row.id);
      if (r < 0) {
        r = this.appendRow(row.id);
        added++;
      } else if (this.indexedAt[r] === row.indexedAt) {
        return; // the same row re-read because of the ">=" above
      } else {
        updated++;
      }
      this.indexedAt[r] = row.indexedAt;
      this.setRowF16(r, row.blob);
    });
    if (foreign) return this.reload(db);
    if (added || updated) this.pathList = null;
    // Rows of a foreign size are never loaded, so they must not count as "missing from memory".
    const { n } = db
      .prepare(
        "SELECT count(*) AS n FROM photos p CROSS JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ? WHERE p.status = 'ok' AND length(e.vec) = ?",
      )
      .get(this.modelId, this.dim * 2) as { n: number };
    if (n !== this.length) {
      // Rows went away (or came back without being re-indexed): match them up by id.
      const r = this.reconcile(db);
      if (!r) return { ...this.reload(db), added, updated };
      this.saveSnapshot(db);
      return { added: added + r.added, updated: updated + r.updated, removed: r.removed, rebuilt: false };
    }
    if (added || updated) this.saveSnapshot(db);
    return { added, updated, rebuilt: false };
  }

  /**
   * Brings the rows in line with the database by photo id: drops rows whose photo is no longer ok
   * (or lost its embedding), re-reads rows whose indexed_at changed, appends the ones we lack.
   *
   * Photo ids are split into buckets of 1024; SQLite sums each bucket's (count, indexed_at)
   * checksums in one scan of the photos table (~0.4 s for 1M, nothing but ~1000 sums crosses into
   * JavaScript) and the same sums over the rows held here pick out the buckets that changed. Only
   * those buckets' (id, indexed_at) are read (~1.3 µs a row: all of them would cost ~1.3 s at 1M),
   * and only the changed rows' BLOBs. Returns null when the rows now need another storage format
   * (the caller reloads).
   */
  private reconcile(db: DB): { added: number; updated: number; removed: number } | null {
    const dim = this.dim;
    this.dropShadow(); // rows are about to move
    const dirty = this.dirtyBuckets(db);
    const current = new Map<number, number>(); // id → indexed_at, of the rows the dirty buckets should hold
    // EXISTS is answered from the embeddings' primary-key index: the BLOBs stay on disk. (A BLOB
    // of a foreign size passes here and is skipped when read, as by the full load.)
    const stmt = db.prepare(
      `SELECT p.id, p.indexed_at FROM photos p WHERE p.id >= ? AND p.id < ? AND p.status = 'ok'
         AND EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)`,
    );
    for (const b of dirty) {
      for (const [id, at] of stmt.raw().iterate(b * BUCKET, (b + 1) * BUCKET, this.modelId) as Iterable<[number, number]>) current.set(id, at);
    }

    let w = 0;
    let removed = 0;
    const changed: number[] = [];
    for (let r = 0; r < this.length; r++) {
      const id = this.idBuf[r];
      if (dirty.has(Math.floor(id / BUCKET))) {
        const at = current.get(id);
        if (at === undefined) {
          removed++;
          continue;
        }
        current.delete(id); // what is left in `current` afterwards: rows to append
        if (at !== this.indexedAt[r]) changed.push(id);
      }
      if (w !== r) {
        this.idBuf[w] = id;
        this.indexedAt[w] = this.indexedAt[r];
        this.store.moveRow(r, w);
      }
      w++;
    }
    this.length = w;
    this.index = null;
    this.pathList = null;
    const updated = changed.length;
    const added = current.size;
    for (const id of current.keys()) changed.push(id);
    if (changed.length) {
      forEachEmbedding(db, this.modelId, { ids: changed, decode: false }, (row) => {
        if (row.blob.length !== dim * 2) return;
        let r = this.indexOf(row.id);
        if (r < 0) r = this.appendRow(row.id);
        this.indexedAt[r] = row.indexedAt;
        this.setRowF16(r, row.blob);
      });
    }
    if (this.requested === 'auto' && this.pickFormat(this.length, dim) !== this.store.format) return null;
    return { added, updated, removed };
  }

  /**
   * Buckets of photo ids (id / BUCKET) whose ok photos differ from the rows held here, by count
   * and two checksums of (id, indexed_at) (the ones libraryStamp uses). A bucket with ok photos
   * that have no embedding of this model stays dirty: it is re-read exactly, never wrongly kept.
   */
  private dirtyBuckets(db: DB): Set<number> {
    const sums = new Map<number, [number, number, number]>();
    for (let r = 0; r < this.length; r++) {
      const id = this.idBuf[r];
      const at = this.indexedAt[r];
      const b = Math.floor(id / BUCKET);
      let v = sums.get(b);
      if (!v) sums.set(b, (v = [0, 0, 0]));
      const [c1, c2] = checksumTerms(id, at);
      v[0]++;
      v[1] += c1;
      v[2] += c2;
    }
    const dirty = new Set<number>();
    const rows = db
      .prepare(
        `SELECT id / ${BUCKET} AS b, count(*) AS n, total(${CHECKSUM_SQL[0]}) AS s1, total(${CHECKSUM_SQL[1]}) AS s2
         FROM photos WHERE status = 'ok' GROUP BY b`,
      )
      .raw()
      .all() as Array<[number, number, number, number]>;
    for (const [b, n, s1, s2] of rows) {
      const v = sums.get(b);
      if (!v || v[0] !== n || v[1] !== s1 || v[2] !== s2) dirty.add(b);
      sums.delete(b);
    }
    for (const b of sums.keys()) dirty.add(b); // buckets whose photos are all gone
    return dirty;
  }

  /** Full reload from the database (rows removed, model changed). */
  reload(db: DB): RefreshResult {
    const before = this.length;
    this.version++;
    db.transaction(() => {
      // A large library opens from its snapshot when that still matches the database.
      const stamp = this.snapshotStamp(db);
      const rows =
        stamp &&
        readSnapshot(this.snapshotFile!, this.modelId, stamp, (n, dim) => this.pickFormat(n, dim), {
          allocate: (format, dim, n) => {
            // Room for the photos a stale snapshot lacks, so reconciling rarely regrows 0.5 GB.
            this.reset(dim, n + Math.max(1024, n >> 5), format);
            return { ids: this.idBuf, indexedAt: this.indexedAt, store: this.store };
          },
        });
      if (rows) {
        this.length = rows.rows;
        if (rows.fresh) {
          this.loadedFrom = 'snapshot';
          return;
        }
        // Stale (another process indexed or removed photos): start from it, read what changed.
        if (this.reconcile(db)) {
          this.loadedFrom = 'snapshot+database';
          this.saveSnapshot(db, stamp);
          return;
        }
      }
      // The whole library: blocks of rows concatenated by SQLite (forEachEmbeddingBlock's header).
      let r = 0;
      const read = forEachEmbeddingBlock(db, this.modelId, { onStart: (expected, dim) => this.reset(dim, expected) }, (block) => {
        const bytes = this.dim * 2;
        this.length = r;
        this.ensureCapacity(r + block.count); // more rows than counted: a write since, or a damaged index
        for (let k = 0; k < block.count; k++, r++) {
          this.idBuf[r] = block.ids[k];
          this.indexedAt[r] = block.indexedAt[k];
          this.storeRowF16(r, block.vecs.subarray(k * bytes, (k + 1) * bytes));
        }
      });
      this.length = r;
      this.lastLoad = { rows: r, statements: read.blocks, readers: 1, reconciled: false };
      this.loadedFrom = 'database';
      if (stamp) this.saveSnapshot(db, stamp);
    })();
    return { added: Math.max(0, this.length - before), updated: 0, rebuilt: true };
  }

  /** The library's stamp when this matrix keeps a snapshot and the library is large enough for one. */
  private snapshotStamp(db: DB): LibraryStamp | null {
    if (!this.snapshotFile) return null;
    const { n } = db.prepare('SELECT count(*) AS n FROM embeddings WHERE model_id = ?').get(this.modelId) as { n: number };
    return n >= SNAPSHOT_MIN_ROWS ? libraryStamp(db, this.modelId) : null;
  }

  /**
   * Rewrites the snapshot for the current rows (call inside the transaction that read them, so the
   * stamp describes them). Deferred: written in the background from the rows as they are now,
   * abandoned if they change in place before it is done.
   */
  private saveSnapshot(db: DB, stamp = this.snapshotStamp(db)): void {
    if (!stamp || !this.snapshotFile || this.length < SNAPSHOT_MIN_ROWS) return;
    const rows = { rows: this.length, dim: this.dim, ids: this.idBuf, indexedAt: this.indexedAt, store: this.store };
    if (!this.deferSnapshot) {
      writeSnapshot(this.snapshotFile, this.modelId, stamp, rows);
      return;
    }
    const file = this.snapshotFile;
    const version = this.version;
    this.pendingSave = this.pendingSave.then(async () => {
      if (this.version === version) await writeSnapshotAsync(file, this.modelId, stamp, rows, () => this.version === version);
    });
  }

  /** Resolves once a deferred snapshot write has finished (or given up). */
  flush(): Promise<void> {
    return this.pendingSave;
  }

  /** Row r from its float16 BLOB: the SIMD kernel, else decoded and re-normalised here. */
  private setRowF16(r: number, blob: Uint8Array): void {
    this.storeRowF16(r, blob);
    // Rows the background build has passed are kept in step (a row appended to a finished shadow
    // extends it); the build fills the others itself.
    if (!this.shadow) return;
    if (r === this.shadowBuilt && r === this.length - 1) this.shadowBuilt++;
    if (r < this.shadowBuilt) this.shadow.setRow(r, this.store.f32, r * this.dim);
  }

  private storeRowF16(r: number, blob: Uint8Array): void {
    if (this.store.setRowF16(r, blob)) return;
    const v = new Float32Array(this.dim);
    decodeF16Into(blob, v, 0);
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += v[j] * v[j];
    if (s > 0 && Number.isFinite(s)) for (let j = 0, inv = 1 / Math.sqrt(s); j < this.dim; j++) v[j] *= inv;
    this.store.setRow(r, v);
  }

  /** 'f32' while the rows fit COMPACT_ABOVE_BYTES (or as requested), else 'i8'. */
  private pickFormat(rows: number, dim: number): RowFormat {
    if (this.requested !== 'auto') return this.requested;
    return rows * dim * 4 > COMPACT_ABOVE_BYTES ? 'i8' : 'f32';
  }

  /** Empty matrix of `dim` columns with room for `capacity` rows. */
  private reset(dim: number, capacity: number, format = this.pickFormat(capacity, dim)): void {
    this.dim = dim;
    this.length = 0;
    this.idBuf = new Int32Array(capacity);
    this.indexedAt = new Float64Array(capacity);
    this.store.release();
    this.store = new RowStore(format, dim, capacity);
    this.index = null;
    this.pathList = null;
    this.dropShadow();
  }

  /** Appends an empty row, growing the buffers geometrically so refreshes stay amortised O(new rows). */
  private appendRow(id: number): number {
    const r = this.length;
    this.ensureCapacity(r + 1);
    this.idBuf[r] = id;
    this.length = r + 1;
    this.index?.set(id, r);
    return r;
  }

  /** Room for `rows` rows, growing geometrically (the first `length` rows are kept). */
  private ensureCapacity(rows: number): void {
    if (rows <= this.idBuf.length) return;
    const cap = Math.max(16, rows, Math.ceil(this.idBuf.length * 1.5));
    const ids = new Int32Array(cap);
    ids.set(this.idBuf.subarray(0, this.length));
    const at = new Float64Array(cap);
    at.set(this.indexedAt.subarray(0, this.length));
    this.idBuf = ids;
    this.indexedAt = at;
    this.store.grow(cap);
    this.shadow?.grow(cap);
  }
}
