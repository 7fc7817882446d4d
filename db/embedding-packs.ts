// Embeddings packed by blocks of photo ids (table embedding_packs, migration 8): a block of PACK_IDS
// photo ids of a model is packed as a few rows (parts of 512 photo ids) holding their photo ids and
// their float16 BLOBs back to back — parts concatenated in order, exactly what embeddingRangeSql's
// `embeddings` statement returns for that block. Parts, not one value per block: a 4 MB value costs
// two 4 MB allocations per block (SQLite's, then the Buffer), which glibc hands back to the system
// and faults in afresh each time (~⅔ of a 4 MB pack's read was system time); parts of ≤ 512 KB read
// ~20 % faster.
//
// Why: a cold open (no matrix snapshot) of a 1M-photo library spent ~0.8 s per reader in SQLite
// walking ~3 embeddings per 4 KB page, one cell at a time, and concatenating their BLOBs; a pack's
// parts are read off their overflow pages: ~0.75 → ~0.45 s per reader per 500k rows under load
// (docs/performance.md, "Run I"). The price: the BLOBs stored twice (+1 GB at 1M photos).
//
// A copy, never the truth: the triggers of migration 8 drop a block's pack in the same transaction
// as any insert, update or delete of an embedding in it, and a pack is written in one transaction
// from the rows as they are, so in any snapshot of the database a pack present equals its rows. A
// block without a pack is read row by row, as before; packs are written in the background after a
// load that met unpacked blocks (electron/services/matrix/pack-worker.mjs).
import type { DB } from './database.ts';

/** log2 of the photo ids per pack (the triggers of migration 8 shift by this: never change it). */
export const PACK_SHIFT = 12;
/** Photo ids per pack: block b holds photo ids b·PACK_IDS … (b + 1)·PACK_IDS − 1. */
export const PACK_IDS = 1 << PACK_SHIFT;
/** log2 of the photo ids per part of a pack (512: ≤ 512 KB of BLOBs at 512 dimensions). */
const PART_SHIFT = 9;

/** One row when the library has the packs' table (a library opened read-only before migration 8 has not). */
export const PACKS_EXIST_SQL = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'embedding_packs'";

/**
 * The pack of a block, its parts in order: parameters (model id, block); columns count, bytes
 * (every BLOB's length, the same in every part), photo ids comma-separated, BLOBs back to back.
 * No row: the block is not packed.
 */
export const PACK_READ_SQL = 'SELECT count, bytes, ids, vecs FROM embedding_packs WHERE model_id = ? AND block = ? ORDER BY part';

/** Drops a block's pack before it is written again: named parameters model, block. */
export const PACK_CLEAR_SQL = 'DELETE FROM embedding_packs WHERE model_id = @model AND block = @block';

/**
 * Writes a block's pack (after PACK_CLEAR_SQL) from its rows, one row per part: named parameters
 * model, block, lo (its first photo id), hi (the next block's first). Writes nothing for a block
 * without embeddings of the model, or whose BLOBs differ in length (those stay read row by row).
 * Ids and BLOBs are concatenated in photo-id order (ORDER BY inside the aggregates: guaranteed,
 * whatever plan SQLite picks for the GROUP BY).
 */
export const PACK_WRITE_SQL = `INSERT INTO embedding_packs (model_id, block, part, bytes, count, ids, vecs)
  SELECT @model, @block, e.photo_id >> ${PART_SHIFT}, max(length(e.vec)), count(*),
    group_concat(e.photo_id, ',' ORDER BY e.photo_id), CAST(group_concat(e.vec, x'' ORDER BY e.photo_id) AS BLOB)
  FROM embeddings e WHERE e.photo_id >= @lo AND e.photo_id < @hi AND +e.model_id = @model
    AND (SELECT min(length(vec)) = max(length(vec)) FROM embeddings WHERE photo_id >= @lo AND photo_id < @hi AND +model_id = @model)
  GROUP BY e.photo_id >> ${PART_SHIFT}`;

/** Packs `blocks` of `modelId`, each in its own write transaction (others' writes interleave). Returns the packs written. */
export function packEmbeddingBlocks(db: DB, modelId: string, blocks: Iterable<number>): number {
  const clear = db.prepare(PACK_CLEAR_SQL);
  const write = db.prepare(PACK_WRITE_SQL);
  const one = db.transaction((b: number) => {
    clear.run({ model: modelId, block: b });
    return write.run({ model: modelId, block: b, lo: b * PACK_IDS, hi: (b + 1) * PACK_IDS }).changes;
  });
  let written = 0;
  for (const b of blocks) written += one.immediate(b) > 0 ? 1 : 0;
  return written;
}

/** Every block of photo ids holding an embedding of `modelId` (for packing a whole library). */
export function embeddingBlocks(db: DB, modelId: string): number[] {
  return db.prepare(`SELECT DISTINCT photo_id >> ${PACK_SHIFT} FROM embeddings WHERE model_id = ? ORDER BY 1`).pluck().all(modelId) as number[];
}

/** Packs held for `modelId` (tests, the bench). */
export function packCount(db: DB, modelId: string): number {
  return db.prepare('SELECT count(DISTINCT block) FROM embedding_packs WHERE model_id = ?').pluck().get(modelId) as number;
}
