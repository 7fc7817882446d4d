// Photo rows and image embeddings: the queries the indexer needs, the PhotoRecord view every
// front end reads, and the library's root folders. Statements are prepared once per database.
import path from 'node:path';
import type { DB } from './database.ts';
import { encodeF16 } from './vectors.ts';
import { FROM_OUTSIDE_SQL, outsideFromRow } from './xmp-sync.ts';
import type { CaptureSettings, Flag, Label, PhotoFilter, PhotoRecord } from '../common/types.ts';

export type PhotoStatus = PhotoRecord['status'];

export interface PhotoRow {
  id: number;
  path: string;
  folder: string;
  size: number;
  mtime_ms: number;
  fingerprint: string;
  width: number | null;
  height: number | null;
  taken_at: number | null;
  camera: string | null;
  lens: string | null;
  thumb: string | null;
  status: PhotoStatus;
  error: string | null;
  indexed_at: number;
  rating: number;
  flag: number;
  label: string | null;
  flag_source?: string | null;
  exposure_time?: number | null;
  f_number?: number | null;
  iso?: number | null;
  focal_length?: number | null;
  exposure_bias?: number | null;
}

/** What indexing learns about a file; culling state (rating, flag, label) is never touched here. */
export interface IndexedPhoto {
  path: string;
  size: number;
  mtimeMs: number;
  fingerprint: string;
  width: number | null;
  height: number | null;
  takenAt: number | null;
  camera: string | null;
  lens: string | null;
  thumb: string | null;
  /** Capture settings from EXIF (null or absent: none). */
  capture?: CaptureSettings | null;
}

export interface FailedPhoto {
  path: string;
  size: number;
  mtimeMs: number;
  fingerprint: string; // '' when the file could not even be read
  reason: string;
}

export function toPhotoRecord(row: PhotoRow): PhotoRecord {
  // Rows read with WITH_OUTSIDE carry what other applications' XMP said (present only when there is some).
  const outside = 'outside_source' in row ? outsideFromRow(row as unknown as Record<string, unknown>) : null;
  return {
    id: row.id,
    path: row.path,
    folder: row.folder,
    name: path.basename(row.path),
    size: row.size,
    mtimeMs: row.mtime_ms,
    width: row.width,
    height: row.height,
    takenAt: row.taken_at,
    camera: row.camera,
    lens: row.lens,
    thumb: row.thumb,
    status: row.status,
    error: row.error,
    rating: row.rating,
    flag: row.flag as Flag,
    label: row.label as Label | null,
    ...(outside ? { outside } : {}),
    ...(row.flag_source === 'auto' ? { flagAuto: true } : {}),
    ...captureOf(row),
  };
}

function captureOf(row: PhotoRow): { capture?: CaptureSettings } {
  const c: CaptureSettings = {
    exposureTime: row.exposure_time ?? null,
    fNumber: row.f_number ?? null,
    iso: row.iso ?? null,
    focalLength: row.focal_length ?? null,
    exposureBias: row.exposure_bias ?? null,
  };
  return Object.values(c).some((v) => v !== null) ? { capture: c } : {};
}

/** Photo rows with their outside decision's columns (all prefixed outside_, so none shadows a photos column). */
const WITH_OUTSIDE = 'SELECT photos.*, od.* FROM photos LEFT JOIN outside_decisions od ON od.photo_id = photos.id';

/** `folder` and everything below it: matches the folder itself or any path starting with folder + separator. */
function underFolderSql(column: string): string {
  return `(${column} = @folder OR substr(${column}, 1, length(@prefix)) = @prefix)`;
}

function folderParams(folder: string): { folder: string; prefix: string } {
  const f = folder.length > 1 ? folder.replace(/[\\/]+$/, '') : folder;
  return { folder: f, prefix: f.endsWith(path.sep) ? f : f + path.sep };
}

const cache = new WeakMap<DB, ReturnType<typeof prepare>>();

/** The indexer's prepared statements for `db` (prepared on first use, then reused). */
export function photoQueries(db: DB) {
  let q = cache.get(db);
  if (!q) cache.set(db, (q = prepare(db)));
  return q;
}

function prepare(db: DB) {
  const byPath = db.prepare<[string], PhotoRow>('SELECT * FROM photos WHERE path = ?');
  const byFingerprint = db.prepare<[string], PhotoRow>(
    "SELECT * FROM photos WHERE fingerprint = ? AND fingerprint != '' ORDER BY status = 'missing' DESC, id",
  );
  const missingByFingerprint = db.prepare<[string], PhotoRow>(
    "SELECT * FROM photos WHERE fingerprint = ? AND fingerprint != '' AND status = 'missing' ORDER BY id LIMIT 1",
  );
  const missingFingerprints = db.prepare<[], { fingerprint: string; n: number }>(
    "SELECT fingerprint, COUNT(*) AS n FROM photos WHERE status = 'missing' AND fingerprint != '' GROUP BY fingerprint",
  );
  const hasEmbedding = db.prepare<[number, string], { one: number }>(
    'SELECT 1 AS one FROM embeddings WHERE photo_id = ? AND model_id = ?',
  );
  const upsertOk = db.prepare<Record<string, unknown>, { id: number }>(`
    INSERT INTO photos (path, folder, size, mtime_ms, fingerprint, width, height, taken_at, camera, lens, thumb, status, error, indexed_at,
      exposure_time, f_number, iso, focal_length, exposure_bias)
    VALUES (@path, @folder, @size, @mtimeMs, @fingerprint, @width, @height, @takenAt, @camera, @lens, @thumb, 'ok', NULL, @now,
      @exposureTime, @fNumber, @iso, @focalLength, @exposureBias)
    ON CONFLICT(path) DO UPDATE SET folder = excluded.folder, size = excluded.size, mtime_ms = excluded.mtime_ms,
      fingerprint = excluded.fingerprint, width = excluded.width, height = excluded.height, taken_at = excluded.taken_at,
      camera = excluded.camera, lens = excluded.lens, thumb = excluded.thumb, status = 'ok', error = NULL,
      exposure_time = excluded.exposure_time, f_number = excluded.f_number, iso = excluded.iso,
      focal_length = excluded.focal_length, exposure_bias = excluded.exposure_bias,
      indexed_at = excluded.indexed_at
    RETURNING id`);
  // A photo whose file now holds other content that was not indexed (overwritten by a broken file
  // or by text with a .jpg name: markFailed; edited, then gone before it was decoded: markVanished)
  // keeps its row and ratings, but not the old content's embeddings, analyzer ledger rows and thumbnail: they describe
  // a picture that is no longer there.
  const staleEmbeddings = db.prepare<{ path: string; fingerprint: string }>(
    "DELETE FROM embeddings WHERE photo_id IN (SELECT id FROM photos WHERE path = @path AND @fingerprint != '' AND fingerprint != @fingerprint)",
  );
  const staleAnalyses = db.prepare<{ path: string; fingerprint: string }>(
    "DELETE FROM analyses WHERE photo_id IN (SELECT id FROM photos WHERE path = @path AND @fingerprint != '' AND fingerprint != @fingerprint)",
  );
  const dropStaleContent = (f: { path: string; fingerprint: string }) => {
    staleEmbeddings.run(f);
    staleAnalyses.run(f);
  };
  const upsertFailed = db.prepare<Record<string, unknown>, { id: number }>(`
    INSERT INTO photos (path, folder, size, mtime_ms, fingerprint, status, error, indexed_at)
    VALUES (@path, @folder, @size, @mtimeMs, @fingerprint, 'failed', @reason, @now)
    ON CONFLICT(path) DO UPDATE SET folder = excluded.folder, size = excluded.size, mtime_ms = excluded.mtime_ms,
      fingerprint = excluded.fingerprint, status = 'failed', error = excluded.error, indexed_at = excluded.indexed_at,
      thumb = CASE WHEN excluded.fingerprint != '' AND excluded.fingerprint != photos.fingerprint THEN NULL ELSE photos.thumb END
    RETURNING id`);
  const markFailed = db.transaction((f: Record<string, unknown>): number => {
    dropStaleContent({ path: f.path as string, fingerprint: f.fingerprint as string });
    return upsertFailed.get(f)!.id;
  });
  const move = db.prepare(
    "UPDATE photos SET path = @path, folder = @folder, size = @size, mtime_ms = @mtimeMs, status = 'ok', error = NULL WHERE id = @id",
  );
  const setStatus = db.prepare<[PhotoStatus, number]>('UPDATE photos SET status = ? WHERE id = ?');
  const vanish = db.prepare<{ path: string; fingerprint: string }>(`
    UPDATE photos SET status = 'missing',
      thumb = CASE WHEN @fingerprint != '' AND @fingerprint != fingerprint THEN NULL ELSE thumb END,
      fingerprint = CASE WHEN @fingerprint != '' THEN @fingerprint ELSE fingerprint END
    WHERE path = @path`);
  const markVanished = db.transaction((f: { path: string; fingerprint: string }) => {
    dropStaleContent(f);
    vanish.run(f);
  });
  const clearEmbeddings = db.prepare<[number]>('DELETE FROM embeddings WHERE photo_id = ?');
  const clearAnalyses = db.prepare<[number]>('DELETE FROM analyses WHERE photo_id = ?');
  const touch = db.prepare<[number, number]>('UPDATE photos SET indexed_at = ? WHERE id = ?');
  const putEmbedding = db.prepare<[number, string, Buffer]>(
    'INSERT OR REPLACE INTO embeddings (photo_id, model_id, vec) VALUES (?, ?, ?)',
  );
  const under = db.prepare<{ folder: string; prefix: string }, Pick<PhotoRow, 'id' | 'path' | 'status' | 'fingerprint'>>(
    `SELECT id, path, status, fingerprint FROM photos WHERE ${underFolderSql('path')}`,
  );
  const countStatus = db.prepare<[], { status: PhotoStatus; n: number }>(
    'SELECT status, COUNT(*) AS n FROM photos GROUP BY status',
  );

  return {
    byPath: (p: string): PhotoRow | undefined => byPath.get(p),
    /** Rows with this content, missing ones first (the likely source of a rename or move). */
    byFingerprint: (fingerprint: string): PhotoRow[] => byFingerprint.all(fingerprint),
    /** The oldest 'missing' row with this content, if any (one row: cheap however many copies exist). */
    missingByFingerprint: (fingerprint: string): PhotoRow | undefined => missingByFingerprint.get(fingerprint),
    /** How many 'missing' rows hold each content. */
    missingFingerprints: (): Map<string, number> => new Map(missingFingerprints.all().map((r) => [r.fingerprint, r.n])),
    hasEmbedding: (photoId: number, modelId: string): boolean => hasEmbedding.get(photoId, modelId) !== undefined,
    /** Inserts or refreshes the row for `photo.path` as indexed ('ok'); returns its id. */
    upsertPhoto: ({ capture, ...photo }: IndexedPhoto): number =>
      upsertOk.get({
        ...photo,
        folder: path.dirname(photo.path),
        now: Date.now(),
        exposureTime: capture?.exposureTime ?? null,
        fNumber: capture?.fNumber ?? null,
        iso: capture?.iso ?? null,
        focalLength: capture?.focalLength ?? null,
        exposureBias: capture?.exposureBias ?? null,
      })!.id,
    /** Records why a file could not be indexed; it is retried only once its size or mtime changes. */
    markFailed: (f: FailedPhoto): number => markFailed({ ...f, folder: path.dirname(f.path), now: Date.now() }),
    /** A renamed or moved photo: new path, same row (so rating, flag, label and embeddings stay). */
    movePhoto: (id: number, to: { path: string; size: number; mtimeMs: number }): void => {
      move.run({ ...to, folder: path.dirname(to.path), id });
    },
    /**
     * The file at `path` disappeared during a run. Its row (if any) becomes 'missing', ratings kept.
     * `fingerprint` is the content last read from it ('' if none): when that differs from the
     * row's, the file had been edited before it went, so the row takes the new fingerprint (a
     * rename is then still recognised) and drops the old content's embeddings and thumbnail.
     */
    markVanished: (p: string, fingerprint: string): void => {
      markVanished({ path: p, fingerprint });
    },
    setStatus: (id: number, status: PhotoStatus): void => {
      setStatus.run(status, id);
    },
    /** The photo's content changed: its embeddings (every model) and analyzer ledger rows describe the old one. */
    clearEmbeddings: (photoId: number): void => {
      clearEmbeddings.run(photoId);
      clearAnalyses.run(photoId);
    },
    /** Marks the row re-indexed now (the embedding matrix re-reads rows whose indexed_at changed). */
    touchIndexed: (photoId: number): void => {
      touch.run(Date.now(), photoId);
    },
    storeEmbedding: (photoId: number, modelId: string, vec: ArrayLike<number>): void => {
      putEmbedding.run(photoId, modelId, encodeF16(vec));
    },
    /** Rows whose path lies in one of `roots` (at any depth). */
    rowsUnder: (roots: string[]): Pick<PhotoRow, 'id' | 'path' | 'status' | 'fingerprint'>[] => {
      const byId = new Map<number, Pick<PhotoRow, 'id' | 'path' | 'status' | 'fingerprint'>>();
      for (const r of roots) for (const row of under.all(folderParams(path.resolve(r)))) byId.set(row.id, row);
      return [...byId.values()]; // nested roots list a row once
    },
    countByStatus: (): Record<PhotoStatus, number> => {
      const counts: Record<PhotoStatus, number> = { ok: 0, missing: 0, failed: 0 };
      for (const { status, n } of countStatus.all()) counts[status] = n;
      return counts;
    },
  };
}

export type PhotoQueries = ReturnType<typeof photoQueries>;

export function getPhoto(db: DB, id: number): PhotoRecord | null {
  const row = db.prepare<[number], PhotoRow>(`${WITH_OUTSIDE} WHERE photos.id = ?`).get(id);
  return row ? toPhotoRecord(row) : null;
}

/** Photos matching `filter`, in capture order (file time when the capture time is unknown), then by path. */
export function listPhotos(db: DB, filter: PhotoFilter = {}): PhotoRecord[] {
  const where: string[] = [];
  const params: Record<string, unknown> = {};
  const status = filter.status ?? 'ok';
  if (status !== 'any') {
    where.push('status = @status');
    params.status = status;
  }
  if (filter.folder) {
    where.push(underFolderSql('folder'));
    Object.assign(params, folderParams(path.resolve(filter.folder)));
  }
  if (filter.minRating) {
    where.push('rating >= @minRating');
    params.minRating = filter.minRating;
  }
  if (filter.flag !== undefined && filter.flag !== 'any') {
    where.push('flag = @flag');
    params.flag = filter.flag;
  }
  if (filter.label === 'none') where.push('label IS NULL');
  else if (filter.label !== undefined && filter.label !== 'any') {
    where.push('label = @label');
    params.label = filter.label;
  }
  if (filter.takenAfter !== undefined) {
    where.push('taken_at >= @takenAfter');
    params.takenAfter = filter.takenAfter;
  }
  if (filter.takenBefore !== undefined) {
    where.push('taken_at < @takenBefore');
    params.takenBefore = filter.takenBefore;
  }
  if (filter.outside === false) where.push(`NOT ${FROM_OUTSIDE_SQL.replace(/\bp\.id\b/g, 'photos.id')}`);
  const sql = `${WITH_OUTSIDE} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY COALESCE(taken_at, mtime_ms), path`;
  return db.prepare<Record<string, unknown>, PhotoRow>(sql).all(params).map(toPhotoRecord);
}

export function listRoots(db: DB): string[] {
  return db.prepare<[], { path: string }>('SELECT path FROM roots ORDER BY path').all().map((r) => r.path);
}

/** Adds a folder to the library (absolute, without trailing separator); returns all roots. */
export function addRoot(db: DB, folder: string): string[] {
  const abs = folderParams(path.resolve(folder)).folder;
  db.prepare('INSERT OR IGNORE INTO roots (path, added_at) VALUES (?, ?)').run(abs, Date.now());
  return listRoots(db);
}

/** Forgets a root folder; its photos stay in the database (with their ratings) until removed explicitly. */
export function removeRoot(db: DB, folder: string): string[] {
  db.prepare('DELETE FROM roots WHERE path = ?').run(folderParams(path.resolve(folder)).folder);
  return listRoots(db);
}
