// A binary snapshot of a large library's in-memory embedding matrix, beside its database, so the
// next open reads one file instead of decoding every embedding out of SQLite again.
//
// Why: SQLite hands over 1M 1 KB BLOBs at ~3.5 µs each, so even with a free decode a 1M-photo
// library takes ~4 s (measured ~6.7 s in all) to load row by row; the snapshot (ids, indexed_at,
// scales and the rows exactly as held in memory: 528 MB for 1M int8 rows) reads in ~0.3 s.
//
// Validity: the snapshot records a stamp of the library — count and checksums of (id, indexed_at)
// over the photos with status 'ok', and the number of embeddings of the model — taken in the same
// read transaction as the rows it holds. Anything that changes the matrix changes the stamp:
// indexing (indexed_at), a photo going missing/failed/ok (status), deletions. Ratings, flags,
// labels and moves do not (paths are read from the database when shown, never from here). A
// stale snapshot (the stamp differs) is still a good start: it holds each row's id and indexed_at,
// so the matrix reconciles it with the database by id and reads only the rows that changed
// (embedding-matrix.ts). A damaged or foreign file: the matrix is loaded from the database and the
// snapshot rewritten. Written to a temporary file then renamed, so a crash never leaves half a
// snapshot.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { DB } from '../../../db/database.ts';
import type { RowFormat, RowStore } from './row-store.ts';

const MAGIC = 'cull-matrix-snapshot';
const VERSION = 1;

/** Libraries smaller than this load from SQLite quickly enough (~0.1 s): no snapshot. */
export const SNAPSHOT_MIN_ROWS = 20_000;

export type LibraryStamp = number[];

/**
 * The two checksums of a photo's (id, indexed_at) that stamps and bucket sums add up: one SQL
 * expression for each (summed by SQLite with total()) and the same terms in JavaScript (summed
 * over the rows held in memory). Every term stays below 2^53, so both sums are exact and equal.
 */
export const CHECKSUM_SQL = ['indexed_at % 1000000007', '(id * 40503 + indexed_at) % 2147483629'] as const;
export const checksumTerms = (id: number, indexedAt: number): [number, number] => [indexedAt % 1000000007, (id * 40503 + indexedAt) % 2147483629];

interface Header {
  magic: string;
  version: number;
  modelId: string;
  format: RowFormat;
  dim: number;
  rows: number;
  stamp: LibraryStamp;
}

/** The snapshot file of `modelId` beside the database, or null for in-memory / temporary databases. */
export function snapshotPath(db: DB, modelId: string): string | null {
  if (!db.name || db.name === ':memory:' || db.memory) return null;
  const tag = createHash('sha256').update(modelId).digest('hex').slice(0, 12);
  return `${db.name}.matrix-${tag}`;
}

/**
 * The library's state as far as the matrix of `modelId` is concerned (see the header). One scan of
 * the photos table inside SQLite (~0.2 s for 1M photos), no rows cross into JavaScript.
 */
export function libraryStamp(db: DB, modelId: string, embeddings?: number): LibraryStamp {
  const p = db
    .prepare(
      `SELECT count(*) AS n, total(id) AS a, total(${CHECKSUM_SQL[0]}) AS b, total(${CHECKSUM_SQL[1]}) AS c
       FROM photos WHERE status = 'ok'`,
    )
    .get() as { n: number; a: number; b: number; c: number };
  // `embeddings`: the model's count as the caller read it in the same transaction (a scan saved).
  const e = embeddings ?? (db.prepare('SELECT count(*) AS n FROM embeddings WHERE model_id = ?').get(modelId) as { n: number }).n;
  return [p.n, p.a, p.b, p.c, e];
}

const sameStamp = (a: LibraryStamp, b: LibraryStamp) => a.length === b.length && a.every((v, i) => v === b[i]);

export interface SnapshotTarget {
  /** Called once the header checks out: make room for `rows` rows and return where they go. */
  allocate(format: RowFormat, dim: number, rows: number): { ids: Int32Array; indexedAt: Float64Array; store: RowStore };
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  const CHUNK = 256 * 2 ** 20;
  for (let done = 0; done < into.length; ) {
    const n = fs.readSync(fd, into, done, Math.min(CHUNK, into.length - done), position + done);
    if (n <= 0) throw new Error('snapshot ended early');
    done += n;
  }
}

function writeFully(fd: number, data: Uint8Array): void {
  for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done, data.length - done);
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const pad8 = (n: number) => (n + 7) & ~7;

/**
 * Reads the snapshot of `modelId` into `target` when its format is still `format`; returns the
 * number of rows and whether it matches `stamp` (fresh: use as it is; stale: reconcile), or null
 * (no file, damaged, another model or format: the caller loads from the database).
 */
export function readSnapshot(
  file: string,
  modelId: string,
  stamp: LibraryStamp,
  format: (rows: number, dim: number) => RowFormat,
  target: SnapshotTarget,
): { rows: number; fresh: boolean } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const len = new Uint8Array(4);
    readFully(fd, len, 0);
    const headerLen = new DataView(len.buffer).getUint32(0, true);
    if (headerLen > 4096 || headerLen + 4 > size) return null;
    const raw = new Uint8Array(headerLen);
    readFully(fd, raw, 4);
    const h = JSON.parse(Buffer.from(raw).toString('utf8')) as Header;
    if (h.magic !== MAGIC || h.version !== VERSION || h.modelId !== modelId || !Array.isArray(h.stamp)) return null;
    if (h.format !== format(h.rows, h.dim)) return null; // the size rule changed: rebuild in the right format
    const rowBytes = h.format === 'f32' ? h.dim * 4 : h.dim;
    let at = pad8(4 + headerLen);
    const end = at + pad8(h.rows * 4) + h.rows * 8 + pad8(h.rows * 4) + h.rows * rowBytes;
    if (end !== size) return null;
    const { ids, indexedAt, store } = target.allocate(h.format, h.dim, h.rows);
    readFully(fd, bytesOf(ids.subarray(0, h.rows)), at);
    at += pad8(h.rows * 4);
    readFully(fd, bytesOf(indexedAt.subarray(0, h.rows)), at);
    at += h.rows * 8;
    readFully(fd, bytesOf(store.scales.subarray(0, h.rows)), at);
    at += pad8(h.rows * 4);
    readFully(fd, store.rawRows(h.rows), at);
    return { rows: h.rows, fresh: sameStamp(h.stamp, stamp) };
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

export interface SnapshotRows {
  rows: number;
  dim: number;
  ids: Int32Array;
  indexedAt: Float64Array;
  store: RowStore;
}

/** The file's parts in order: header, ids, indexed_at, scales, rows (views where no padding is needed). */
function snapshotParts(modelId: string, stamp: LibraryStamp, m: SnapshotRows): Uint8Array[] {
  const header: Header = { magic: MAGIC, version: VERSION, modelId, format: m.store.format, dim: m.dim, rows: m.rows, stamp };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = new Uint8Array(pad8(4 + json.length));
  new DataView(head.buffer).setUint32(0, json.length, true);
  head.set(json, 4);
  const ids = new Uint8Array(pad8(m.rows * 4));
  ids.set(bytesOf(m.ids.subarray(0, m.rows)));
  const scales = new Uint8Array(pad8(m.rows * 4));
  scales.set(bytesOf(m.store.scales.subarray(0, m.rows)));
  return [head, ids, bytesOf(m.indexedAt.subarray(0, m.rows)), scales, m.store.rawRows(m.rows)];
}

const tempName = (file: string) => `${file}.${process.pid}.tmp`;

/** Writes the snapshot (temp file + rename). Failures (read-only folder, full disk) are ignored. */
export function writeSnapshot(file: string, modelId: string, stamp: LibraryStamp, m: SnapshotRows): boolean {
  const tmp = tempName(file);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w');
    for (const part of snapshotParts(modelId, stamp, m)) writeFully(fd, part);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
    return true;
  } catch {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    return false;
  }
}

/**
 * The same, off the event loop (a 1M-row snapshot is ~0.5 GB: ~1.5 s of writing that would
 * otherwise delay the first scores). The rows are written from memory as they are, so
 * `unchanged()` is asked after every slice: once the matrix has changed in place the file could
 * mix two states, and it is abandoned (the next save writes the new state).
 */
export async function writeSnapshotAsync(file: string, modelId: string, stamp: LibraryStamp, m: SnapshotRows, unchanged: () => boolean): Promise<boolean> {
  const SLICE = 16 * 2 ** 20;
  const tmp = tempName(file);
  let fh: fs.promises.FileHandle | null = null;
  try {
    fh = await fs.promises.open(tmp, 'w');
    for (const part of snapshotParts(modelId, stamp, m)) {
      for (let at = 0; at < part.length; ) {
        const { bytesWritten } = await fh.write(part, at, Math.min(SLICE, part.length - at));
        at += bytesWritten;
        if (!unchanged()) throw new Error('matrix changed while its snapshot was written');
      }
    }
    await fh.close();
    fh = null;
    if (!unchanged()) throw new Error('matrix changed while its snapshot was written');
    fs.renameSync(tmp, file);
    return true;
  } catch {
    if (fh) await fh.close().catch(() => {});
    fs.rmSync(tmp, { force: true });
    return false;
  }
}

/** Removes a snapshot that no longer describes the library (it would be rejected anyway). */
export function dropSnapshot(file: string | null): void {
  if (file) fs.rmSync(file, { force: true });
}
