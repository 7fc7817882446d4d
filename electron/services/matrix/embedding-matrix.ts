// The library's image embeddings in memory, loaded once per library and model. Every attribute
// score and search is a matrix-vector product over them, run by the SIMD kernels of row-store.ts
// (1M × 512 in ~30 ms as int8, ~70 ms as float32, against ~500 ms for a JavaScript loop).
// This file owns the public face: opening (load, loadAsync, fromRows), scoring (dot, the int8
// shadow's build and use, exact rows, paths) and refresh after indexing. The rows' buffers and the
// loading paths (snapshot, parallel load, reconcile by id) are in matrix-load.ts (MatrixRows, its
// base class: they share protected buffers and invariants — row order, id index, shadow in step).
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
import { forEachEmbedding } from '../../../db/features.ts';
import { decodeF16Into } from '../../../db/vectors.ts';
import { MatrixRows, type LoadOptions, type RefreshResult } from './matrix-load.ts';
import { RowStore, simdAvailable, type RowFormat } from './row-store.ts';

export { COMPACT_ABOVE_BYTES, type LoadOptions, type RefreshResult } from './matrix-load.ts';

/**
 * From this many float32 rows on, scoring passes run over an int8 shadow of them (a quarter of the
 * bytes: 100k × 512 in ~10 ms instead of ~25 ms where memory bandwidth is the limit) and re-rank
 * their best rows exactly, as int8 storage does; the float32 rows stay for everything exact.
 */
export const FAST_SHADOW_MIN_ROWS = 50_000;

// SQLite's default limit of bound parameters is 32766 (999 on old builds): ids go as one JSON array.
const idList = (ids: ArrayLike<number>) => JSON.stringify(Array.from(ids));

export class EmbeddingMatrix extends MatrixRows {
  private constructor(modelId: string, db: DB | null, requested: RowFormat | 'auto', snapshot = false) {
    super(modelId, db, requested, snapshot);
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

  /** Row r as float32: a view for 'f32' storage, the exact stored embedding for 'i8'. */
  row(r: number): Float32Array {
    if (this.store.format === 'f32') return this.store.f32.subarray(r * this.dim, (r + 1) * this.dim);
    return this.exactRows([r]);
  }

  /**
   * Like `dot`, but over the int8 shadow of a large float32 matrix (or the int8 rows themselves):
   * `approximate` says whether the values need an exact re-rank (`exactRows`) before being shown.
   */
  dotFast(direction: Float32Array, out: Float32Array = new Float32Array(this.length), logit: number | null = null): { values: Float32Array; approximate: boolean } {
    if (!this.wantsShadow()) return { values: this.dot(direction, out, logit), approximate: this.approximate };
    if (!this.shadow || this.shadowBuilt < this.length) {
      this.buildShadow();
      return { values: this.dot(direction, out, logit), approximate: false };
    }
    return { values: this.shadow.dot(direction, this.length, out, logit), approximate: true };
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


  /** out[r] = row r · direction, for every row (with `logit`: mapped through that logistic, dot.ts). */
  dot(direction: Float32Array, out: Float32Array = new Float32Array(this.length), logit: number | null = null): Float32Array {
    if (this.length === 0) return out; // no rows yet (a model nothing was embedded with): nothing to score, whatever its width
    if (direction.length !== this.dim) throw new Error(`Direction has ${direction.length} values; the matrix has ${this.dim} columns.`);
    return this.store.dot(direction, this.length, out, logit);
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
}
