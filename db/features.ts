// Text-feature cache and the bulk load of image embeddings.
//
// Text features are cached per (model id, prompt) so a known attribute costs no text encoding at all:
// scoring a library is then one pass over the in-memory image matrix. Image embeddings are read with
// one raw iteration over photos ⋈ embeddings (forEachEmbedding), decoded from float16 row by row, or,
// for a whole library, in blocks of rows concatenated inside SQLite (forEachEmbeddingBlock).
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

/** One embedding as `forEachEmbedding` hands it over; `vec` is a reused buffer (copy what you keep). */
export interface EmbeddingRow {
  id: number;
  indexedAt: number;
  /** Only when asked for (`withPaths`): reading 1M paths costs ~0.5 s and ~80 MB. */
  path: string | null;
  /** Decoded from float16 and re-normalised to unit length (unless `decode: false`). */
  vec: Float32Array;
  /** The stored float16 BLOB, for callers that decode it themselves (`decode: false`). */
  blob: Uint8Array;
}

/**
 * Calls `visit` for every embedding of `modelId` whose photo has status 'ok', ordered by photo id,
 * inside one read transaction (one WAL snapshot, even while the indexer writes from elsewhere).
 * The first row fixes the dimension; rows of another size are skipped (corrupt or foreign BLOBs).
 * Returns the dimension, the number of rows visited and skipped, and `expected`: an upper bound
 * of the rows, known before the first visit through `onStart` (to size buffers once).
 *
 * Speed (1M photos, 512-d): the scan is driven by `photos` in id order with one primary-key lookup
 * per photo into embeddings. Joining from embeddings' model index instead made SQLite sort the 1M
 * rows, BLOBs included, in a temporary B-tree (~5 s), and an exact count(*) of the join before the
 * scan cost another 1.5 s; count(*) over the model index alone takes ~50 ms.
 */
export function forEachEmbedding(
  db: DB,
  modelId: string,
  opts: MatrixFilter & { withPaths?: boolean; decode?: boolean; onStart?: (expected: number, dim: number) => void },
  visit: (row: EmbeddingRow) => void,
): { dim: number; visited: number; skipped: number } {
  const where = ["p.status = 'ok'"];
  const params: (string | number)[] = [modelId];
  if (opts.sinceIndexedAt !== undefined) {
    where.push('p.indexed_at >= ?');
    params.push(opts.sinceIndexedAt);
  }
  if (opts.ids) {
    // json_each keeps one statement (and one bound parameter) for any number of ids.
    where.push('p.id IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(opts.ids));
  }
  // CROSS JOIN pins the loop order: photos outside (rowid order, no sort), embeddings by primary key.
  const from = `FROM photos p CROSS JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ? WHERE ${where.join(' AND ')}`;
  return db.transaction(() => {
    const first = db.prepare(`SELECT length(e.vec) AS len ${from} ORDER BY p.id LIMIT 1`).get(...params) as { len: number } | undefined;
    const dim = first ? first.len >> 1 : 0;
    const expected = !first
      ? 0
      : opts.ids
        ? opts.ids.length
        : (db.prepare('SELECT count(*) AS n FROM embeddings WHERE model_id = ?').get(modelId) as { n: number }).n;
    opts.onStart?.(expected, dim);
    if (!first) return { dim, visited: 0, skipped: 0 };
    const vec = new Float32Array(dim);
    const row: EmbeddingRow = { id: 0, indexedAt: 0, path: null, vec, blob: new Uint8Array(0) };
    const decode = opts.decode ?? true;
    const columns = opts.withPaths ? 'p.id, p.indexed_at, e.vec, p.path' : 'p.id, p.indexed_at, e.vec';
    let visited = 0;
    let skipped = 0;
    for (const r of db.prepare(`SELECT ${columns} ${from} ORDER BY p.id`).raw().iterate(...params) as Iterable<[number, number, Buffer, string?]>) {
      const blob = r[2];
      if (blob.length !== dim * 2) {
        skipped++;
        continue;
      }
      row.id = r[0];
      row.indexedAt = r[1];
      row.path = r[3] ?? null;
      row.blob = blob;
      if (decode) {
        decodeF16Into(blob, vec, 0);
        renormalise(vec, 0, dim);
      }
      visit(row);
      visited++;
    }
    return { dim, visited, skipped };
  })();
}

/** Every embedding of `modelId` whose photo has status 'ok', ordered by photo id, rows re-normalised. */
export function loadEmbeddingMatrix(db: DB, modelId: string, filter: MatrixFilter = {}): MatrixRows {
  let ids = new Int32Array(0);
  let indexedAt = new Float64Array(0);
  let matrix = new Float32Array(0);
  const paths: string[] = [];
  let r = 0;
  const { dim, skipped } = forEachEmbedding(
    db,
    modelId,
    {
      ...filter,
      withPaths: true,
      onStart: (expected, d) => {
        ids = new Int32Array(expected);
        indexedAt = new Float64Array(expected);
        matrix = new Float32Array(expected * d);
      },
    },
    (row) => {
      ids[r] = row.id;
      indexedAt[r] = row.indexedAt;
      paths.push(row.path!);
      matrix.set(row.vec, r * row.vec.length);
      r++;
    },
  );
  if (r === ids.length) return { ids, paths, indexedAt, matrix, dim, skipped };
  return { ids: ids.slice(0, r), paths, indexedAt: indexedAt.slice(0, r), matrix: matrix.slice(0, r * dim), dim, skipped };
}

/** Photo ids per statement of `forEachEmbeddingBlock` (a block is up to this many 1 KB BLOBs). */
export const BLOCK_IDS = 4096;

/** Rows handed over by `forEachEmbeddingBlock`: row k is ids[k], indexedAt[k], vecs[k·dim·2 …]. */
export interface EmbeddingBlock {
  count: number;
  ids: number[];
  indexedAt: number[];
  /** The rows' float16 BLOBs, back to back. */
  vecs: Uint8Array;
}

/**
 * The statement behind forEachEmbeddingBlock: parameters (model id, first photo id, end photo id, BLOB bytes); columns
 * count, ids and indexed_at as comma-separated numbers, the BLOBs back to back, then `extra`
 * aggregates over the same rows.
 */
export function embeddingBlockSql(extra: readonly string[] = []): string {
  return `SELECT count(*), group_concat(p.id), group_concat(p.indexed_at), CAST(group_concat(e.vec, x'') AS BLOB)${extra.map((x) => `, ${x}`).join('')}
    FROM photos p CROSS JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ?
    WHERE p.status = 'ok' AND p.id >= ? AND p.id < ? AND length(e.vec) = ?`;
}

/**
 * The two statements a parallel matrix reader runs per block of photo ids (see
 * electron/services/matrix/parallel-load-worker.mjs), instead of embeddingBlockSql's join: walking
 * the embeddings' primary key over the range and, separately, the ok photos' (status, id,
 * indexed_at) index over it costs less CPU than looking up each photo's embedding through the
 * join (one lookup down the primary key per photo): ~13 % less in SQLite alone, ~0.45 s of a 1M
 * cold open's ~4.2 s of CPU (measured under load). The reader keeps the embeddings whose photo is in
 * the second list, both in photo-id order.
 *   embeddings: (first photo id, end photo id, model id, BLOB bytes) → count, photo ids, BLOBs back
 *               to back (the unary + keeps SQLite on the primary key: its index on model_id alone
 *               would visit every embedding of the model); a block with a pack
 *               (db/embedding-packs.ts) is read from it instead;
 *   photos:     (first photo id, end photo id) → count, ids, indexed_at, then `extra` aggregates
 *               over those ok photos (SQL over photos p).
 */
export function embeddingRangeSql(extra: readonly string[] = []): { embeddings: string; photos: string } {
  return {
    embeddings: `SELECT count(*), group_concat(e.photo_id), CAST(group_concat(e.vec, x'') AS BLOB)
      FROM embeddings e WHERE e.photo_id >= ? AND e.photo_id < ? AND +e.model_id = ? AND length(e.vec) = ?`,
    photos: `SELECT count(*), group_concat(p.id), group_concat(p.indexed_at)${extra.map((x) => `, ${x}`).join('')}
      FROM photos p WHERE p.status = 'ok' AND p.id >= ? AND p.id < ?`,
  };
}

/**
 * An instant upper bound of any model's embedding count (the largest rowid of the table), for
 * deciding cheaply whether a load may be large enough to start its reader threads early.
 */
export function embeddingCountBound(db: DB): number {
  return (db.prepare('SELECT max(rowid) AS n FROM embeddings').get() as { n: number | null }).n ?? 0;
}

/** Smallest and largest photo id (0, -1 for no photos): the span block readers split. */
export function photoIdRange(db: DB): { lo: number; hi: number } {
  // Two subqueries: each is one step down the table's b-tree; min() and max() in one SELECT scan
  // every photo (~60 ms at 1M, on a cold open's critical path).
  const r = db.prepare('SELECT (SELECT min(id) FROM photos) AS lo, (SELECT max(id) FROM photos) AS hi').get() as { lo: number | null; hi: number | null };
  return r.lo === null || r.hi === null ? { lo: 0, hi: -1 } : { lo: r.lo, hi: r.hi };
}

/** The dimension of the first embedding of `modelId` (0: none) and how many the model has (an upper bound of the rows). */
export function embeddingShape(db: DB, modelId: string): { dim: number; count: number } {
  const first = db
    .prepare("SELECT length(e.vec) AS len FROM photos p CROSS JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ? WHERE p.status = 'ok' ORDER BY p.id LIMIT 1")
    .get(modelId) as { len: number } | undefined;
  if (!first) return { dim: 0, count: 0 };
  return { dim: first.len >> 1, count: (db.prepare('SELECT count(*) AS n FROM embeddings WHERE model_id = ?').get(modelId) as { n: number }).n };
}

/**
 * Every embedding of `modelId` of `dim`·2 bytes whose photo has status 'ok' (what forEachEmbedding
 * visits, minus the rows of a foreign size), in blocks of up to BLOCK_IDS photo ids, inside one
 * read transaction. Returns the dimension (the first row's, as forEachEmbedding) and the rows.
 *
 * Why blocks: handing 1M rows to JavaScript one by one costs ~1.5 µs a row in better-sqlite3 alone
 * (arrays, a Buffer per BLOB, the iterator), ~2 s at 1M before any work; SQLite itself walks the
 * same rows in ~0.5 s. One statement per range of photo ids concatenates the range's BLOBs in
 * SQLite (group_concat, cast back to a BLOB: byte for byte) and its ids and indexed_at as JSON
 * numbers: ~250 rows cross into JavaScript instead of 1M. All three aggregates step over the same
 * rows in the same order, so ids, times and BLOBs stay aligned.
 */
export function forEachEmbeddingBlock(
  db: DB,
  modelId: string,
  opts: { onStart?: (expected: number, dim: number) => void },
  visit: (block: EmbeddingBlock) => void,
): { dim: number; visited: number; blocks: number } {
  return db.transaction(() => {
    const { dim, count: expected } = embeddingShape(db, modelId);
    opts.onStart?.(expected, dim);
    if (!dim) return { dim, visited: 0, blocks: 0 };
    const { lo, hi } = photoIdRange(db);
    const stmt = db.prepare(embeddingBlockSql()).raw();
    let visited = 0;
    let blocks = 0;
    for (let at = lo; at <= hi; at += BLOCK_IDS) {
      const [count, ids, times, vecs] = stmt.get(modelId, at, at + BLOCK_IDS, dim * 2) as [number, string | null, string | null, Buffer | null];
      if (!count) continue;
      const block = { count, ids: JSON.parse(`[${ids}]`) as number[], indexedAt: JSON.parse(`[${times}]`) as number[], vecs: vecs! };
      if (block.ids.length !== count || block.indexedAt.length !== count || block.vecs.length !== count * dim * 2) {
        throw new Error(`Embeddings of photos ${at}–${at + BLOCK_IDS - 1} came back misaligned (${count} rows).`);
      }
      visit(block);
      visited += count;
      blocks++;
    }
    return { dim, visited, blocks };
  })();
}
