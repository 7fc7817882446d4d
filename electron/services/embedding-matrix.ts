// The library's image embeddings in one contiguous Float32Array, loaded once per library and model.
// Every attribute score and search is a matrix-vector product over it, so `dot` is the hot path:
// 1M photos × 512 floats is 2 GB of float32 streamed per product. The loop is unrolled by 8 with
// four independent accumulators, which lets V8 keep the multiply-adds in flight instead of waiting on
// one running sum.
import type { DB } from '../../db/database.ts';
import { loadEmbeddingMatrix } from '../../db/features.ts';

export interface RefreshResult {
  /** Rows appended (photos embedded since the last load). */
  added: number;
  /** Rows overwritten in place (photos re-indexed since the last load). */
  updated: number;
  /** True when rows disappeared (deleted, missing or failed photos) and the matrix was reloaded. */
  rebuilt: boolean;
}

export class EmbeddingMatrix {
  // Buffers may be longer than `length` (room to append); the public getters return exact views.
  private idBuf: Int32Array;
  private dataBuf: Float32Array;
  private indexedAt: Float64Array;
  paths: string[];
  dim: number;
  length: number;
  private index: Map<number, number> | null = null;

  private constructor(
    readonly modelId: string,
    rows: ReturnType<typeof loadEmbeddingMatrix>,
  ) {
    this.idBuf = rows.ids;
    this.paths = rows.paths;
    this.indexedAt = rows.indexedAt;
    this.dataBuf = rows.matrix;
    this.dim = rows.dim;
    this.length = rows.ids.length;
  }

  /** Photo id per row. */
  get ids(): Int32Array {
    return this.idBuf.subarray(0, this.length);
  }

  /** Row-major `length × dim` embeddings (L2-normalised, decoded from float16). */
  get data(): Float32Array {
    return this.dataBuf.subarray(0, this.length * this.dim);
  }

  static load(db: DB, modelId: string): EmbeddingMatrix {
    return new EmbeddingMatrix(modelId, loadEmbeddingMatrix(db, modelId));
  }

  /** Built from rows already in memory (tests, benchmarks). */
  static fromRows(modelId: string, ids: ArrayLike<number>, data: Float32Array, dim: number, paths?: string[]): EmbeddingMatrix {
    if (data.length !== ids.length * dim) throw new Error(`Matrix has ${data.length} values, expected ${ids.length} × ${dim}.`);
    return new EmbeddingMatrix(modelId, {
      ids: Int32Array.from(ids),
      paths: paths ?? Array.from(ids, (id) => String(id)),
      indexedAt: new Float64Array(ids.length),
      matrix: data,
      dim,
      skipped: 0,
    });
  }

  /** Row of a photo id, or -1. The id → row map is built on first use. */
  indexOf(id: number): number {
    if (!this.index) {
      this.index = new Map();
      for (let r = 0; r < this.length; r++) this.index.set(this.idBuf[r], r);
    }
    return this.index.get(id) ?? -1;
  }

  row(r: number): Float32Array {
    return this.dataBuf.subarray(r * this.dim, (r + 1) * this.dim);
  }

  /** out[r] = row r · direction, for every row. */
  dot(direction: Float32Array, out: Float32Array = new Float32Array(this.length)): Float32Array {
    const dim = this.dim;
    if (direction.length !== dim) throw new Error(`Direction has ${direction.length} values; the matrix has ${dim} columns.`);
    const data = this.dataBuf;
    const d = direction;
    const n = this.length;
    const tail = dim - (dim % 8);
    for (let r = 0, off = 0; r < n; r++, off += dim) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0; // prettier-ignore
      let j = 0;
      for (; j < tail; j += 8) {
        const o = off + j;
        a0 += data[o] * d[j] + data[o + 4] * d[j + 4];
        a1 += data[o + 1] * d[j + 1] + data[o + 5] * d[j + 5];
        a2 += data[o + 2] * d[j + 2] + data[o + 6] * d[j + 6];
        a3 += data[o + 3] * d[j + 3] + data[o + 7] * d[j + 7];
      }
      for (; j < dim; j++) a0 += data[off + j] * d[j];
      out[r] = a0 + a1 + a2 + a3;
    }
    return out;
  }

  /** Dot of one row with a direction (explain, single-photo views). */
  dotRow(r: number, direction: Float32Array): number {
    const off = r * this.dim;
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += this.dataBuf[off + j] * direction[j];
    return s;
  }

  /**
   * After indexing: photos indexed since the newest row we hold are appended or overwritten in
   * place; if the library lost rows (photo removed, missing or failed) the matrix is reloaded.
   */
  refresh(db: DB): RefreshResult {
    let newest = 0;
    for (let r = 0; r < this.length; r++) if (this.indexedAt[r] > newest) newest = this.indexedAt[r];
    // ">=": rows written in the same millisecond as the newest one are re-read (idempotent).
    const fresh = loadEmbeddingMatrix(db, this.modelId, { sinceIndexedAt: newest });
    let added = 0;
    let updated = 0;
    if (fresh.ids.length && this.length && fresh.dim !== this.dim) return this.reload(db);
    if (!this.length) this.dim = fresh.dim;
    for (let k = 0; k < fresh.ids.length; k++) {
      const id = fresh.ids[k];
      let r = this.indexOf(id);
      if (r < 0) {
        r = this.appendRow(id);
        added++;
      } else if (this.indexedAt[r] === fresh.indexedAt[k] && this.paths[r] === fresh.paths[k]) {
        continue; // the same row re-read because of the ">=" above
      } else {
        updated++;
      }
      this.paths[r] = fresh.paths[k];
      this.indexedAt[r] = fresh.indexedAt[k];
      this.dataBuf.set(fresh.matrix.subarray(k * this.dim, (k + 1) * this.dim), r * this.dim);
    }
    // Rows of a foreign size are never loaded, so they must not count as "missing from memory".
    const { n } = db
      .prepare(
        "SELECT count(*) AS n FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE e.model_id = ? AND p.status = 'ok' AND length(e.vec) = ?",
      )
      .get(this.modelId, this.dim * 2) as { n: number };
    if (n !== this.length) return { ...this.reload(db), added, updated };
    return { added, updated, rebuilt: false };
  }

  /** Full reload from the database (rows removed, model changed). */
  reload(db: DB): RefreshResult {
    const before = this.length;
    const rows = loadEmbeddingMatrix(db, this.modelId);
    this.idBuf = rows.ids;
    this.paths = rows.paths;
    this.indexedAt = rows.indexedAt;
    this.dataBuf = rows.matrix;
    this.dim = rows.dim;
    this.length = rows.ids.length;
    this.index = null;
    return { added: Math.max(0, this.length - before), updated: 0, rebuilt: true };
  }

  /** Appends an empty row, growing the buffers geometrically so refreshes stay amortised O(new rows). */
  private appendRow(id: number): number {
    const r = this.length;
    if (r >= this.idBuf.length) {
      const cap = Math.max(16, Math.ceil(this.idBuf.length * 1.5));
      const ids = new Int32Array(cap);
      ids.set(this.idBuf.subarray(0, r));
      const at = new Float64Array(cap);
      at.set(this.indexedAt.subarray(0, r));
      const data = new Float32Array(cap * this.dim);
      data.set(this.dataBuf.subarray(0, r * this.dim));
      this.idBuf = ids;
      this.indexedAt = at;
      this.dataBuf = data;
    }
    this.idBuf[r] = id;
    this.paths[r] = '';
    this.length = r + 1;
    this.index?.set(id, r);
    return r;
  }
}

