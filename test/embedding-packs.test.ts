// Embeddings packed by blocks of photo ids (db/embedding-packs.ts, migration 8) on a real SQLite
// file: a pack holds exactly what its block's rows give, and every write to a block's embeddings
// drops its pack in the same transaction (so a pack present is never stale).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import { embeddingBlocks, PACK_IDS, PACK_READ_SQL, packCount, packEmbeddingBlocks } from '../db/embedding-packs.ts';
import { embeddingRangeSql } from '../db/features.ts';
import { encodeF16 } from '../db/vectors.ts';
import { prng, tempDir } from './helpers/fixtures.ts';

const DIM = 16;
let dir: string;
let db: DB;

beforeEach(() => {
  dir = tempDir('cull-packs-');
  db = openDatabase(path.join(dir, 'library.db'));
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const rand = prng(3);
const blob = (dim = DIM) => encodeF16(Float32Array.from({ length: dim }, () => rand() - 0.5));
const addPhoto = (id: number) =>
  db.prepare("INSERT INTO photos (id, path, folder, size, mtime_ms, fingerprint, indexed_at) VALUES (?, ?, '/p', 1, 0, ?, 1)").run(id, `/p/${id}.jpg`, `fp${id}`);
const addEmbedding = (id: number, model = 'm', vec = blob()) => db.prepare('INSERT OR REPLACE INTO embeddings (photo_id, model_id, vec) VALUES (?, ?, ?)').run(id, model, vec);

/** Photos in blocks 0, 1 (sparse), 3 and 5; block 5 holds a BLOB of another size; model 'other' in block 0. */
function fill(): void {
  db.transaction(() => {
    for (let id = 1; id < 3 * PACK_IDS; id += id < PACK_IDS ? 1 : 97) {
      addPhoto(id);
      addEmbedding(id);
    }
    addPhoto(3 * PACK_IDS + 5);
    addEmbedding(3 * PACK_IDS + 5);
    for (const id of [5 * PACK_IDS, 5 * PACK_IDS + 1]) addPhoto(id);
    addEmbedding(5 * PACK_IDS);
    addEmbedding(5 * PACK_IDS + 1, 'm', blob(DIM + 16));
    addEmbedding(7, 'other');
  })();
}

/** A block's pack as the readers see it: its parts (more than one for a full block) put together. */
function packOf(block: number, model = 'm'): [number, number, string, Buffer] | undefined {
  const parts = db.prepare(PACK_READ_SQL).raw().all(model, block) as [number, number, string, Buffer][];
  if (!parts.length) return undefined;
  expect(new Set(parts.map((p) => p[1])).size).toBe(1);
  return [parts.reduce((n, p) => n + p[0], 0), parts[0][1], parts.map((p) => p[2]).join(','), Buffer.concat(parts.map((p) => p[3]))];
}
const rowsOf = (block: number, model = 'm') =>
  db.prepare(embeddingRangeSql().embeddings).raw().get(block * PACK_IDS, (block + 1) * PACK_IDS, model, DIM * 2) as [number, string, Buffer];

describe('embedding packs', () => {
  it('hold exactly what their block\'s rows give; a block of mixed BLOB sizes is not packed', () => {
    fill();
    const blocks = embeddingBlocks(db, 'm');
    expect(blocks).toEqual([0, 1, 2, 3, 5]);
    expect(packEmbeddingBlocks(db, 'm', blocks)).toBe(4);
    expect(db.prepare("SELECT count(*) FROM embedding_packs WHERE model_id = 'm' AND block = 0").pluck().get()).toBe(8); // 4095 photos: 8 parts
    for (const b of [0, 1, 2, 3]) {
      const [count, bytes, ids, vecs] = packOf(b)!;
      const [n, rowIds, rowVecs] = rowsOf(b);
      expect(count).toBe(n);
      expect(bytes).toBe(DIM * 2);
      expect(ids).toBe(rowIds);
      expect(Buffer.compare(vecs, rowVecs)).toBe(0);
      const list = JSON.parse(`[${ids}]`) as number[];
      expect(list).toEqual([...list].sort((x, y) => x - y));
    }
    expect(packOf(5)).toBeUndefined();
    expect(packOf(0, 'other')).toBeUndefined(); // packs are per model
    expect(packCount(db, 'm')).toBe(4);
  });

  it('are dropped in the same transaction as any write to their block\'s embeddings, and only theirs', () => {
    fill();
    const repack = () => packEmbeddingBlocks(db, 'm', [0, 1, 2, 3]);
    const packed = () => [0, 1, 2, 3].filter((b) => packOf(b));
    repack();
    addPhoto(PACK_IDS + 2); // a new embedding in block 1
    addEmbedding(PACK_IDS + 2);
    expect(packed()).toEqual([0, 2, 3]);
    repack();
    addEmbedding(10); // re-indexed (INSERT OR REPLACE), block 0
    expect(packed()).toEqual([1, 2, 3]);
    repack();
    const inBlock2 = db.prepare('SELECT photo_id FROM embeddings WHERE photo_id >= ? AND photo_id < ? LIMIT 1').pluck().get(2 * PACK_IDS, 3 * PACK_IDS) as number;
    db.prepare('UPDATE embeddings SET vec = ? WHERE photo_id = ? AND model_id = ?').run(blob(), inBlock2, 'm');
    expect(packed()).toEqual([0, 1, 3]);
    repack();
    db.prepare('DELETE FROM photos WHERE id = ?').run(3 * PACK_IDS + 5); // its embedding goes by cascade
    expect(packed()).toEqual([0, 1, 2]);
    expect(packEmbeddingBlocks(db, 'm', [3])).toBe(0); // no rows left: no pack
    db.prepare("DELETE FROM embeddings WHERE model_id = 'other'").run(); // another model's rows: m's packs stay
    expect(packed()).toEqual([0, 1, 2]);
    // A write rolled back leaves the pack as it was (the drop was part of the same transaction).
    expect(() =>
      db.transaction(() => {
        addEmbedding(11);
        throw new Error('rolled back');
      })(),
    ).toThrow('rolled back');
    expect(packed()).toEqual([0, 1, 2]);
    // After every change the packs still equal their rows.
    for (const b of packed()) expect(Buffer.compare(packOf(b)![3], rowsOf(b)[2])).toBe(0);
  });
});
