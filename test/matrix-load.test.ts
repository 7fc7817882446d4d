// The embedding matrix loaded from the database without a snapshot: in blocks of rows on one thread
// (forEachEmbeddingBlock) and on several worker threads (loadAsync, parallel-load.ts), against the
// row-by-row reader (loadEmbeddingMatrix), on a real SQLite file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import { embeddingBlocks, packCount, packEmbeddingBlocks } from '../db/embedding-packs.ts';
import { BLOCK_IDS, loadEmbeddingMatrix } from '../db/features.ts';
import { encodeF16 } from '../db/vectors.ts';
import { EmbeddingMatrix } from '../electron/services/matrix/embedding-matrix.ts';
import { Readers, readRowsParallel } from '../electron/services/matrix/parallel-load.ts';
import { prng } from '../electron/services/matrix/prng.ts';

const DIM = 32;
let tmp: string;
let file: string;
let db: DB;

function vector(rand: () => number): Float32Array {
  return Float32Array.from({ length: DIM }, () => rand() * 2 - 1);
}

/**
 * `n` photos with ids spread over several blocks (gaps, so some blocks are sparse), indexed at
 * different times; a few special rows: a photo gone missing, an all-zero embedding (the kernel's
 * refusal: plain path), a BLOB of a foreign size, and an embedding of another model.
 */
function fill(n: number, special = true): void {
  const rand = prng(7);
  const photo = db.prepare('INSERT INTO photos (id, path, folder, size, mtime_ms, fingerprint, indexed_at, status) VALUES (?, ?, ?, 1, 0, ?, ?, ?)');
  const emb = db.prepare('INSERT INTO embeddings (photo_id, model_id, vec) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = 1 + i * 3 + (i > n / 2 ? 10_000 : 0); // a gap: a whole block without photos
      photo.run(id, `/p/${id}.jpg`, '/p', `fp${id}`, 1_700_000_000_000 + i * 7, special && i === 10 ? 'missing' : 'ok');
      const v = special && i === 20 ? new Float32Array(DIM) : vector(rand);
      emb.run(id, 'm', special && i === 30 ? encodeF16(new Float32Array(DIM + 16)) : encodeF16(v));
      if (i % 100 === 0) emb.run(id, 'other', encodeF16(vector(rand)));
    }
  })();
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-matrix-load-'));
  file = path.join(tmp, 'library.db');
  db = openDatabase(file);
});

afterEach(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** What the row-by-row reader makes of the library (minus the foreign-size BLOB, which both skip). */
function reference(): { ids: number[]; at: number[]; rows: Float32Array } {
  const m = loadEmbeddingMatrix(db, 'm');
  return { ids: Array.from(m.ids), at: Array.from(m.indexedAt), rows: m.matrix };
}

/** id → [indexed_at, ...row] of every row, in id order. */
function byId(m: EmbeddingMatrix): [number, number[]][] {
  return Array.from(m.ids, (id, r) => [id, [m.indexedTimes[r], ...m.row(r)]] as [number, number[]]).sort((a, b) => a[0] - b[0]);
}

function expectSame(m: EmbeddingMatrix, tolerance: number): void {
  const want = reference();
  expect(Array.from(m.ids)).toEqual(want.ids);
  expect(Array.from(m.indexedTimes)).toEqual(want.at);
  const got = m.data;
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want.rows[i]));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

describe('matrix load from the database', () => {
  it('reads the rows in blocks, not one statement result per row, and holds what the row reader holds', () => {
    fill(3000);
    const m = EmbeddingMatrix.load(db, 'm', { snapshot: false, format: 'f32' });
    expect(m.length).toBe(2998); // one photo missing, one BLOB of a foreign size
    expectSame(m, 1e-6);
    const span = 1 + 2999 * 3 + 10_000;
    expect(m.lastLoad).toMatchObject({ rows: 2998, readers: 1 });
    expect(m.lastLoad!.statements).toBeLessThanOrEqual(Math.ceil(span / BLOCK_IDS));
  });

  for (const format of ['f32', 'i8'] as const) {
    it(`loads on two worker threads with the same ids, times and ${format} rows as on one`, async () => {
      fill(3000);
      const one = EmbeddingMatrix.load(db, 'm', { snapshot: false, format });
      const two = await EmbeddingMatrix.loadAsync(db, 'm', { snapshot: false, format, readers: 2, parallelMinRows: 1 });
      // The photo whose BLOB has a foreign size is an ok photo without a row: the rows' sums differ
      // from the library's, so they were checked by id against it (and found right).
      expect(two.lastLoad).toMatchObject({ rows: 2998, readers: 2, reconciled: true });
      // Every row was written in place by the readers, in shared memory: none copied here.
      expect(two.lastLoad!.inPlace).toBe(2998);
      expect(two.loadedFrom).toBe('database');
      expect(Array.from(two.ids)).toEqual(Array.from(one.ids));
      expect(Array.from(two.indexedTimes)).toEqual(Array.from(one.indexedTimes));
      expect(two.data).toEqual(one.data); // the same kernel on every thread: identical bytes
      if (format === 'f32') expectSame(two, 1e-6);
      // The all-zero row (refused by the kernel) went through the plain path: zeros, not garbage.
      const zero = two.indexOf(1 + 20 * 3);
      expect(Array.from(two.row(zero))).toEqual(new Array(DIM).fill(0));
    });
  }

  it('packs the blocks it read row by row, off the main thread; the next cold load reads the packs, with the same rows', async () => {
    fill(3000); // photos in blocks 0, 1, 3 and 4 (db/embedding-packs.ts); block 0 holds the BLOB of a foreign size
    const opts = { snapshot: false, format: 'i8' as const, readers: 2, parallelMinRows: 1 };
    const first = await EmbeddingMatrix.loadAsync(db, 'm', opts);
    expect(first.lastLoad!.packed).toBe(0);
    expect(await first.packing).toBe(3); // block 0's BLOBs differ in size: it stays read row by row
    expect(packCount(db, 'm')).toBe(3);
    const second = await EmbeddingMatrix.loadAsync(db, 'm', opts);
    expect(second.lastLoad).toMatchObject({ packed: 3, rows: 2998 });
    expect(Array.from(second.ids)).toEqual(Array.from(first.ids));
    expect(Array.from(second.indexedTimes)).toEqual(Array.from(first.indexedTimes));
    expect(second.data).toEqual(first.data);
    expect(await second.packing).toBe(0); // only block 0 was read row by row again: still not packable
    // Photo 14 507 (block 3) re-indexed: its block's pack goes with the write, the next load reads
    // that block row by row (with the new row) and packs it again.
    db.prepare('UPDATE photos SET indexed_at = indexed_at + 1 WHERE id = 14507').run();
    db.prepare("INSERT OR REPLACE INTO embeddings (photo_id, model_id, vec) VALUES (14507, 'm', ?)").run(encodeF16(new Float32Array(DIM).fill(0.5)));
    const third = await EmbeddingMatrix.loadAsync(db, 'm', opts);
    expect(third.lastLoad!.packed).toBe(2);
    const one = EmbeddingMatrix.load(db, 'm', { snapshot: false, format: 'i8' });
    expect(Array.from(third.ids)).toEqual(Array.from(one.ids));
    expect(Array.from(third.indexedTimes)).toEqual(Array.from(one.indexedTimes));
    expect(third.data).toEqual(one.data);
    expect(await third.packing).toBe(1);
  });

  it('keeps the readers\' rows as they are when their sums match the library', async () => {
    fill(3000, false);
    const m = await EmbeddingMatrix.loadAsync(db, 'm', { snapshot: false, format: 'i8', readers: 2, parallelMinRows: 1 });
    expect(m.lastLoad).toMatchObject({ rows: 3000, readers: 2, reconciled: false });
    expect(byId(m)).toEqual(byId(EmbeddingMatrix.load(db, 'm', { snapshot: false, format: 'i8' })));
  });

  for (const packed of [false, true]) {
    it(`matches its own view of the library when another process writes while the readers read${packed ? ' (packs)' : ''}`, async () => {
      fill(3000, false);
      if (packed) expect(packEmbeddingBlocks(db, 'm', embeddingBlocks(db, 'm'))).toBe(4);
      const before = EmbeddingMatrix.load(db, 'm', { snapshot: false, format: 'f32' });
      const other = openDatabase(file);
      let wrote = false;
      const m = await EmbeddingMatrix.loadAsync(db, 'm', {
        snapshot: false,
        format: 'f32',
        readers: 2,
        parallelMinRows: 1,
        // After this connection's view is fixed: 50 photos go missing, one is re-indexed, one is new.
        onReading: () => {
          other.transaction(() => {
            other.prepare("UPDATE photos SET status = 'missing' WHERE id IN (SELECT id FROM photos ORDER BY id LIMIT 50 OFFSET 100)").run();
            other.prepare('UPDATE photos SET indexed_at = indexed_at + 1 WHERE id = 4').run();
            other.prepare("INSERT INTO photos (id, path, folder, size, mtime_ms, fingerprint, indexed_at) VALUES (99999, '/p/new.jpg', '/p', 1, 0, 'new', 1)").run();
            other.prepare("INSERT INTO embeddings (photo_id, model_id, vec) VALUES (99999, 'm', ?)").run(encodeF16(new Float32Array(DIM).fill(1)));
          })();
          wrote = true;
        },
      });
      other.close();
      expect(wrote).toBe(true);
      expect(m.lastLoad).toMatchObject({ readers: 2, reconciled: true }); // the readers saw the write
      if (packed) expect(m.lastLoad!.packed).toBe(4); // the readers read every block from its pack (the new photo is past them)
      // Whatever each reader saw, the rows are the library as this connection saw it: before the write
      // (rows a reader missed are appended by the reconciling, so compare by photo id).
      expect(byId(m)).toEqual(byId(before));
      // And the next refresh brings the write in.
      const r = m.refresh(db);
      expect(m.length).toBe(before.length - 50 + 1);
      expect(r.added + r.updated).toBeGreaterThanOrEqual(2);
    });

    it(`sends the rows that no longer fit the matrix as sized by message, and still matches its own view${packed ? ' (packs)' : ''}`, async () => {
      fill(3000, false);
      if (packed) packEmbeddingBlocks(db, 'm', embeddingBlocks(db, 'm'));
      const before = EmbeddingMatrix.load(db, 'm', { snapshot: false, format: 'i8' });
      const other = openDatabase(file);
      const m = await EmbeddingMatrix.loadAsync(db, 'm', {
        snapshot: false,
        format: 'i8',
        readers: 2,
        parallelMinRows: 1,
        // The matrix was sized for 3000 rows (+1024 spare) before this: 1100 photos with embeddings
        // appear between the existing ids, so the readers see more rows than the matrix has room for.
        onReading: () => {
          const rand = prng(11);
          const photo = other.prepare("INSERT INTO photos (id, path, folder, size, mtime_ms, fingerprint, indexed_at) VALUES (?, ?, '/p', 1, 0, ?, 5)");
          const emb = other.prepare("INSERT INTO embeddings (photo_id, model_id, vec) VALUES (?, 'm', ?)");
          other.transaction(() => {
            for (let i = 0; i < 1100; i++) {
              photo.run(2 + i * 3, `/q/${i}.jpg`, `q${i}`);
              emb.run(2 + i * 3, encodeF16(vector(rand)));
            }
          })();
        },
      });
      other.close();
      expect(m.lastLoad).toMatchObject({ readers: 2, reconciled: true });
      // The first blocks went in place; those past the room came as rows (the matrix grew for them).
      expect(m.lastLoad!.inPlace).toBeGreaterThan(0);
      expect(m.lastLoad!.inPlace).toBeLessThan(m.lastLoad!.rows);
      expect(m.lastLoad!.rows).toBe(4100);
      if (packed) expect(m.lastLoad!.packed).toBe(3); // block 0 got the new photos: its pack went with them, read row by row
      expect(byId(m)).toEqual(byId(before));
    });
  }

  it('reads with readers started before the job, and refuses readers that died before it came', async () => {
    fill(3000, false);
    const job = { file, modelId: 'm', dim: DIM, format: 'f32' as const, lo: 1, hi: 1 + 2999 * 3 + 10_000, readers: 2, sums: ['total(p.id)'], target: null };
    const started = new Readers(2);
    let rows = 0;
    const done = await readRowsParallel(job, (b) => (rows += b.count), started);
    expect(done).toMatchObject({ rows: 3000, photos: 3000 });
    expect(rows).toBe(3000);
    const broken = new Readers(2);
    await broken.workers[1].terminate(); // gone before its job: the load must fail, not wait for it
    await expect(readRowsParallel(job, () => {}, broken)).rejects.toThrow(/stopped/);
  });

  it('falls back to one thread for a small library, and loads an empty one', async () => {
    const empty = await EmbeddingMatrix.loadAsync(db, 'm', { snapshot: false, readers: 2, parallelMinRows: 1 });
    expect(empty.length).toBe(0);
    fill(100);
    const small = await EmbeddingMatrix.loadAsync(db, 'm', { snapshot: false, readers: 2 });
    expect(small.lastLoad).toMatchObject({ readers: 1, rows: 98 });
    expectSame(small, 1e-6);
  });
});
