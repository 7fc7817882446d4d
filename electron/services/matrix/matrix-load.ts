// The rows of an embedding matrix and how they get there: the buffers (ids, indexed_at, the row
// store, the int8 shadow's bookkeeping) and the loading paths that fill them — the load on this
// thread (a fresh snapshot, a stale one reconciled with the database, or every row from SQLite),
// the load from SQLite on every core (parallel-load.ts, checked against the library's stamp) and
// the reconcile by photo id that brings held rows in line with the database. EmbeddingMatrix
// (embedding-matrix.ts) extends it with opening, scoring and refresh; the buffers stay protected
// between the two, which share their invariants (row order, id index, shadow in step).
import type { DB } from '../../../db/database.ts';
import { embeddingCountBound, embeddingShape, forEachEmbedding, forEachEmbeddingBlock, photoIdRange } from '../../../db/features.ts';
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
import { packInBackground, PARALLEL_MIN_ROWS, parallelReaders, Readers, readRowsParallel, type ReadTotals } from './parallel-load.ts';
import { RowStore, simdAvailable, type RowFormat } from './row-store.ts';

/** Float32 rows up to this many bytes, int8 codes beyond (see the header). */
export const COMPACT_ABOVE_BYTES = 256 * 2 ** 20;

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

/** The rows and their loading; EmbeddingMatrix is the one subclass (see the header). */
export abstract class MatrixRows {
  // Buffers may be longer than `length` (room to append); the public getters return exact views.
  protected idBuf = new Int32Array(0);
  protected indexedAt = new Float64Array(0);
  protected store: RowStore;
  protected index: Map<number, number> | null = null;
  /** Paths given to fromRows, or read once by the `paths` getter. */
  protected pathList: string[] | null = null;
  dim = 0;
  length = 0;

  /**
   * Where the matrix came from on its last (re)load: 'snapshot' (fresh), 'snapshot+database' (a
   * stale snapshot reconciled with the database, reading only the changed rows) or 'database'.
   */
  loadedFrom: 'snapshot' | 'snapshot+database' | 'database' | 'memory' = 'memory';
  /**
   * How the last load from the database read its rows: `statements` results crossed into
   * JavaScript for `rows` rows (blocks of rows, not one result per row; see forEachEmbeddingBlock);
   * `inPlace` of them written straight into the rows' memory by the parallel readers.
   */
  lastLoad: { rows: number; statements: number; readers: number; reconciled: boolean; inPlace: number; packed: number } | null = null;
  /** Packs being written after a load that met blocks without one (parallel-load.ts packInBackground): resolves with the packs written (0 on failure). */
  packing: Promise<number> | null = null;
  protected readonly snapshotFile: string | null;
  protected deferSnapshot = false;
  /** Bumped whenever rows change in place: a deferred snapshot write of an older state gives up. */
  protected version = 0;
  protected pendingSave: Promise<void> = Promise.resolve();
  /**
   * int8 copy of float32 rows for fast scoring passes (FAST_SHADOW_MIN_ROWS): built in the
   * background after the first pass asks for it (~0.7 s of quantising at 100k, never in a pass's
   * way), kept in step with appended and re-indexed rows, dropped when rows move or the matrix reloads.
   */
  protected shadow: RowStore | null = null;
  protected shadowBuilt = 0; // rows of `shadow` filled by the background build so far

  protected constructor(
    readonly modelId: string,
    /** Where exact rows and paths are read from (null for matrices built from memory). */
    protected readonly db: DB | null,
    protected readonly requested: RowFormat | 'auto',
    snapshot = false,
  ) {
    this.store = new RowStore('f32', 0, 1);
    this.snapshotFile = db && snapshot && !process.env.CULL_NO_MATRIX_SNAPSHOT ? snapshotPath(db, modelId) : null;
  }

  /** Row of a photo id, or -1. The id → row map is built on first use. */
  indexOf(id: number): number {
    if (!this.index) {
      this.index = new Map();
      for (let r = 0; r < this.length; r++) this.index.set(this.idBuf[r], r);
    }
    return this.index.get(id) ?? -1;
  }

  /**
   * The database load on every core. Returns false, having loaded nothing usable, where it does not
   * apply (one core, a small or in-memory library, no SIMD) or fails: the caller loads on one thread.
   */
  protected async loadParallel(db: DB, opts: LoadOptions): Promise<boolean> {
    const readers = opts.readers ?? parallelReaders();
    if (readers < 2 || !db.name || db.memory || db.name === ':memory:' || db.inTransaction || !simdAvailable()) return false;
    // One read transaction from here on: the rows' shape, the library's stamp (taken while the
    // readers read), the check of their rows against it and any reconciling all see the same state.
    // The readers each saw their own snapshot: their rows stand when the ok photos they saw match
    // the stamp (count and sums: nothing was written in between) and each had its row, else they
    // are reconciled by id, as a stale snapshot is.
    // (The readers start before the stamp, so their start-up overlaps it; a test's onReading hook
    // writes before they start, so they surely see the write.)
    const minRows = opts.parallelMinRows ?? PARALLEL_MIN_ROWS;
    // The readers start now when the library may be large enough (an instant bound): their start-up
    // (~70 ms) overlaps the count, the id range and the matrix's allocation below.
    const early = embeddingCountBound(db) >= minRows ? new Readers(readers) : null;
    db.exec('BEGIN');
    let reading: Promise<ReadTotals> | null = null;
    try {
      const { dim, count } = embeddingShape(db, this.modelId);
      if (count < minRows || dim % 16 !== 0) return false;
      const { lo, hi } = photoIdRange(db);
      // Rows in shared memory: the readers write them in place (parallel-load.ts).
      this.reset(dim, count + Math.max(1024, count >> 5), undefined, true);
      this.version++;
      let r = 0;
      let statements = 0;
      let inPlace = 0;
      const sums = ['total(p.id)', ...CHECKSUM_SQL.map((x) => `total(${x})`)];
      const target = this.store.loadTarget();
      const load = { file: db.name!, modelId: this.modelId, dim, format: this.store.format, lo, hi, readers, sums, target };
      const read = () => readRowsParallel(load, (block) => {
        if (block.at >= 0 && block.at !== r) throw new Error(`rows of photos from ${block.ids[0]} were written at row ${block.at}, not ${r}`);
        this.ensureCapacity(r + block.count); // a block written in place fits: no growing then
        this.idBuf.set(block.ids, r);
        this.indexedAt.set(block.indexedAt, r);
        if (block.rows) this.store.setRawRows(r, block.rows, block.scales);
        else inPlace += block.count;
        for (const { k, blob } of block.refused) this.storeRowF16(r + k, blob);
        r += block.count;
        this.length = r; // what ensureCapacity keeps
        statements++;
      }, early ?? undefined);
      reading = opts.onReading ? null : read();
      reading?.catch(() => {}); // awaited below; a failure before then must not surface as unhandled
      const stamp = libraryStamp(db, this.modelId, count); // count: the same transaction's
      if (opts.onReading) {
        opts.onReading();
        reading = read();
      }
      const done = await reading!;
      this.lastLoad = { rows: r, statements, readers, reconciled: false, inPlace, packed: done.packed };
      // Blocks read row by row get their packs off this thread, for the next cold open.
      if (done.unpacked.length && !db.readonly) this.packing = packInBackground(db.name!, this.modelId, done.unpacked).catch(() => 0);
      const same = stamp[0] === done.photos && done.rows === done.photos && stamp[1] === done.sums[0] && stamp[2] === done.sums[1] && stamp[3] === done.sums[2];
      if (!same && !this.reconcile(db)) return false;
      this.lastLoad.reconciled = !same;
      this.loadedFrom = 'database';
      if (stamp[4] >= SNAPSHOT_MIN_ROWS) this.saveSnapshot(db, stamp);
      return true;
    } catch {
      await reading?.catch(() => {}); // readers still running write no more rows once settled
      return false; // a reader failed: the caller loads on this thread
    } finally {
      early?.stop(); // not handed over (nothing to read in parallel), or done with
      db.exec('COMMIT');
    }
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
  protected reconcile(db: DB): { added: number; updated: number; removed: number } | null {
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
  protected dirtyBuckets(db: DB): Set<number> {
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
      this.lastLoad = { rows: r, statements: read.blocks, readers: 1, reconciled: false, inPlace: 0, packed: 0 };
      this.loadedFrom = 'database';
      if (stamp) this.saveSnapshot(db, stamp);
    })();
    return { added: Math.max(0, this.length - before), updated: 0, rebuilt: true };
  }

  /** The library's stamp when this matrix keeps a snapshot and the library is large enough for one. */
  protected snapshotStamp(db: DB): LibraryStamp | null {
    if (!this.snapshotFile) return null;
    const { n } = db.prepare('SELECT count(*) AS n FROM embeddings WHERE model_id = ?').get(this.modelId) as { n: number };
    return n >= SNAPSHOT_MIN_ROWS ? libraryStamp(db, this.modelId) : null;
  }

  /**
   * Rewrites the snapshot for the current rows (call inside the transaction that read them, so the
   * stamp describes them). Deferred: written in the background from the rows as they are now,
   * abandoned if they change in place before it is done.
   */
  protected saveSnapshot(db: DB, stamp = this.snapshotStamp(db)): void {
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

  protected dropShadow(): void {
    this.shadow?.release();
    this.shadow = null;
    this.shadowBuilt = 0;
  }

  /** Row r from its float16 BLOB: the SIMD kernel, else decoded and re-normalised here. */
  protected setRowF16(r: number, blob: Uint8Array): void {
    this.storeRowF16(r, blob);
    // Rows the background build has passed are kept in step (a row appended to a finished shadow
    // extends it); the build fills the others itself.
    if (!this.shadow) return;
    if (r === this.shadowBuilt && r === this.length - 1) this.shadowBuilt++;
    if (r < this.shadowBuilt) this.shadow.setRow(r, this.store.f32, r * this.dim);
  }

  protected storeRowF16(r: number, blob: Uint8Array): void {
    if (this.store.setRowF16(r, blob)) return;
    const v = new Float32Array(this.dim);
    decodeF16Into(blob, v, 0);
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += v[j] * v[j];
    if (s > 0 && Number.isFinite(s)) for (let j = 0, inv = 1 / Math.sqrt(s); j < this.dim; j++) v[j] *= inv;
    this.store.setRow(r, v);
  }

  /** 'f32' while the rows fit COMPACT_ABOVE_BYTES (or as requested), else 'i8'. */
  protected pickFormat(rows: number, dim: number): RowFormat {
    if (this.requested !== 'auto') return this.requested;
    return rows * dim * 4 > COMPACT_ABOVE_BYTES ? 'i8' : 'f32';
  }

  /** Empty matrix of `dim` columns with room for `capacity` rows. */
  protected reset(dim: number, capacity: number, format = this.pickFormat(capacity, dim), shared = false): void {
    this.dim = dim;
    this.length = 0;
    this.idBuf = new Int32Array(capacity);
    this.indexedAt = new Float64Array(capacity);
    this.store.release();
    this.store = new RowStore(format, dim, capacity, shared);
    this.index = null;
    this.pathList = null;
    this.dropShadow();
  }

  /** Appends an empty row, growing the buffers geometrically so refreshes stay amortised O(new rows). */
  protected appendRow(id: number): number {
    const r = this.length;
    this.ensureCapacity(r + 1);
    this.idBuf[r] = id;
    this.length = r + 1;
    this.index?.set(id, r);
    return r;
  }

  /** Room for `rows` rows, growing geometrically (the first `length` rows are kept). */
  protected ensureCapacity(rows: number): void {
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
