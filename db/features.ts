// Text-feature cache and the bulk load of image embeddings.
//
// Text features are cached per (model id, prompt) so a known attribute costs no text encoding at all:
// scoring a library is then one pass over the in-memory image matrix. Image embeddings are read with
// one raw iteration over embeddings ⋈ photos, decoded from float16 straight into one contiguous matrix.
import type { ClipModel } from '../native-models/types.ts';
import type { DB } from './database.ts';
import { decodeF16Into, decodeF32, encodeF32 } from './vectors.ts';

/** Prompts encoded by `getTextFeatures` since start (or the last reset): lets tests and logs see cache misses. */
export const textFeatureStats = { calls: 0, encoded: 0, cached: 0 };

export function resetTextFeatureStats(): void {
  textFeatureStats.calls = textFeatureStats.encoded = textFeatureStats.cached = 0;
}

// SQLite's default limit of bound parameters is 32766 but older builds have 999: stay well below.
const IN_CHUNK = 500;
// Bounds the text model's batch (memory grows with batch × tokens); a few prompts are always one call.
const ENCODE_BATCH = 256;

/**
 * L2-normalised text embeddings for `prompts`, in order. Cached rows are read from `text_features`;
 * only the missing prompts are encoded (one `embedTexts` call per 256) and stored.
 */
export async function getTextFeatures(db: DB, model: ClipModel, prompts: string[]): Promise<Float32Array[]> {
  const modelId = model.info.id;
  const dim = model.info.dim;
  const unique = [...new Set(prompts)];
  const found = new Map<string, Float32Array>();
  for (let i = 0; i < unique.length; i += IN_CHUNK) {
    const chunk = unique.slice(i, i + IN_CHUNK);
    const rows = db
      .prepare(`SELECT prompt, vec FROM text_features WHERE model_id = ? AND prompt IN (${chunk.map(() => '?').join(',')})`)
      .raw()
      .all(modelId, ...chunk) as [string, Buffer][];
    for (const [prompt, blob] of rows) {
      // A row of the wrong size (model folder replaced under the same id) is re-encoded, not trusted.
      if (blob.length === dim * 4) found.set(prompt, decodeF32(blob));
    }
  }
  const missing = unique.filter((p) => !found.has(p));
  textFeatureStats.cached += unique.length - missing.length;
  if (missing.length) {
    const insert = db.prepare('INSERT OR REPLACE INTO text_features (model_id, prompt, vec) VALUES (?, ?, ?)');
    for (let i = 0; i < missing.length; i += ENCODE_BATCH) {
      const batch = missing.slice(i, i + ENCODE_BATCH);
      const out = await model.embedTexts(batch);
      if (out.length !== batch.length * dim) {
        throw new Error(`Text model returned ${out.length} values for ${batch.length} prompts of dimension ${dim}.`);
      }
      textFeatureStats.calls++;
      textFeatureStats.encoded += batch.length;
      const vecs = batch.map((_, j) => out.slice(j * dim, (j + 1) * dim));
      db.transaction(() => {
        batch.forEach((prompt, j) => insert.run(modelId, prompt, encodeF32(vecs[j])));
      })();
      batch.forEach((prompt, j) => found.set(prompt, vecs[j]));
    }
  }
  return prompts.map((p) => found.get(p)!);
}

export interface MatrixRows {
  ids: Int32Array;
  paths: string[];
  /** photos.indexed_at per row: lets the in-memory matrix pick up re-indexed photos later. */
  indexedAt: Float64Array;
  /** n × dim, row-major, contiguous. */
  matrix: Float32Array;
  dim: number;
  /** Rows whose BLOB had another dimension than the first row (corrupt or foreign): left out. */
  skipped: number;
}

export interface MatrixFilter {
  /** Only photos indexed at or after this time (ms), for incremental refreshes. */
  sinceIndexedAt?: number;
  /** Only these photo ids. */
  ids?: readonly number[];
}

// float16 storage leaves a row's norm off 1 by up to ~1e-3; rescaling makes every dot an exact cosine.
function renormalise(m: Float32Array, off: number, dim: number): void {
  let s = 0;
  for (let j = off; j < off + dim; j++) s += m[j] * m[j];
  if (!(s > 0) || !Number.isFinite(s)) return;
  const k = 1 / Math.sqrt(s);
  for (let j = off; j < off + dim; j++) m[j] *= k;
}

/** Every embedding of `modelId` whose photo has status 'ok', ordered by photo id, rows re-normalised. */
export function loadEmbeddingMatrix(db: DB, modelId: string, filter: MatrixFilter = {}): MatrixRows {
  const where = ["e.model_id = ?", "p.status = 'ok'"];
  const params: (string | number)[] = [modelId];
  if (filter.sinceIndexedAt !== undefined) {
    where.push('p.indexed_at >= ?');
    params.push(filter.sinceIndexedAt);
  }
  if (filter.ids) {
    // json_each keeps one statement (and one bound parameter) for any number of ids.
    where.push('p.id IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(filter.ids));
  }
  const from = `FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE ${where.join(' AND ')}`;
  // Memory-mapped reads for the bulk load: ~2× faster on 1 KB BLOBs (each overflows a 4 KB page of
  // the WITHOUT ROWID table). Per connection, restored afterwards.
  const mmap = db.pragma('mmap_size', { simple: true }) as number;
  if (mmap < BULK_MMAP) db.pragma(`mmap_size = ${BULK_MMAP}`);
  try {
    return readRows(db, from, params);
  } finally {
    if (mmap < BULK_MMAP) db.pragma(`mmap_size = ${mmap}`);
  }
}

const BULK_MMAP = 2 ** 31 - 2 ** 16; // SQLite's default compile-time cap (SQLITE_MAX_MMAP_SIZE)

function readRows(db: DB, from: string, params: (string | number)[]): MatrixRows {
  // One read transaction: the count and the rows come from the same snapshot (WAL), even while the
  // indexer writes from another connection.
  return db.transaction((): MatrixRows => {
    const { n } = db.prepare(`SELECT count(*) AS n ${from}`).get(...params) as { n: number };
    // The first row fixes the dimension; a row of another size is skipped rather than misread.
    const first = n ? (db.prepare(`SELECT length(e.vec) AS len ${from} ORDER BY e.photo_id LIMIT 1`).get(...params) as { len: number }) : null;
    const dim = first ? first.len >> 1 : 0;
    const ids = new Int32Array(n);
    const indexedAt = new Float64Array(n);
    const paths: string[] = new Array(n);
    const matrix = new Float32Array(n * dim);
    let r = 0;
    let skipped = 0;
    const rows = db.prepare(`SELECT p.id, p.path, p.indexed_at, e.vec ${from} ORDER BY e.photo_id`).raw().iterate(...params);
    for (const row of rows as Iterable<[number, string, number, Buffer]>) {
      const blob = row[3];
      if (blob.length !== dim * 2) {
        skipped++;
        continue;
      }
      ids[r] = row[0];
      paths[r] = row[1];
      indexedAt[r] = row[2];
      decodeF16Into(blob, matrix, r * dim);
      renormalise(matrix, r * dim, dim);
      r++;
    }
    if (r === n) return { ids, paths, indexedAt, matrix, dim, skipped };
    return {
      ids: ids.slice(0, r),
      paths: paths.slice(0, r),
      indexedAt: indexedAt.slice(0, r),
      matrix: matrix.slice(0, r * dim),
      dim,
      skipped,
    };
  })();
}
