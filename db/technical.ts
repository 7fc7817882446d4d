// The technical analyzer's table (electron/services/indexing/analyzers/technical.ts): one row per
// photo with its focus, exposure and noise measures and the 16 × 16 focus map (float32 BLOB, 1 KiB,
// row-major, NaN where a tile has too little detail to tell) for the loupe's overlay. Created by the
// analyzer's ensureSchema, not a migration: a library that never ran it has no such table, and
// every reader here treats that as "not measured yet".
// A row counts only while the analyses ledger says the photo's current content was measured (a
// changed file drops its ledger rows in db/photos.ts; its stale row here is then ignored until the
// next index replaces it).
import type { FocusMapInfo } from '../common/types.ts';
import type { DB } from './database.ts';

export const TECHNICAL_ANALYZER = 'technical';

export interface TechnicalRow {
  focus: number | null;
  exposure: number;
  clean: number;
  sharpness: number | null;
  motion: number;
  noise_sigma: number | null;
  clipped_r: number;
  clipped_g: number;
  clipped_b: number;
  blocked_r: number;
  blocked_g: number;
  blocked_b: number;
  luma_mean: number;
  luma_median: number;
  width: number;
  height: number;
  version: number;
  focusMap: Float32Array;
}

export type TechnicalScore = 'focus' | 'exposure' | 'clean';
const SCORES: readonly TechnicalScore[] = ['focus', 'exposure', 'clean'];

export function ensureTechnicalSchema(db: DB): void {
  db.exec(`CREATE TABLE IF NOT EXISTS technical (
    photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
    focus REAL, exposure REAL NOT NULL, clean REAL NOT NULL,
    sharpness REAL, motion REAL NOT NULL, noise_sigma REAL,
    clipped_r REAL NOT NULL, clipped_g REAL NOT NULL, clipped_b REAL NOT NULL,
    blocked_r REAL NOT NULL, blocked_g REAL NOT NULL, blocked_b REAL NOT NULL,
    luma_mean REAL NOT NULL, luma_median REAL NOT NULL,
    focus_map BLOB NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, version INTEGER NOT NULL)`);
  // The "Out of focus" filter and @focus read focus without the 1 KiB focus map beside it in each
  // row: a covering index makes that a scan of the index, not of the table (100 000 photos:
  // db/judged.ts focusBelow).
  db.exec('CREATE INDEX IF NOT EXISTS technical_focus ON technical(focus, version)');
}

const hasTable = (db: DB) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'technical'").get() !== undefined;
const finite = (x: number | null) => (x === null || !Number.isFinite(x) ? null : x);

export function storeTechnical(db: DB, rows: { photoId: number; row: Omit<TechnicalRow, 'version'> }[], version: number): void {
  const put = db.prepare(`INSERT OR REPLACE INTO technical (photo_id, focus, exposure, clean, sharpness, motion, noise_sigma,
    clipped_r, clipped_g, clipped_b, blocked_r, blocked_g, blocked_b, luma_mean, luma_median, focus_map, width, height, version)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const { photoId, row: r } of rows) {
    const map = Buffer.from(r.focusMap.buffer, r.focusMap.byteOffset, r.focusMap.byteLength);
    put.run(photoId, finite(r.focus), r.exposure, r.clean, finite(r.sharpness), r.motion, finite(r.noise_sigma),
      r.clipped_r, r.clipped_g, r.clipped_b, r.blocked_r, r.blocked_g, r.blocked_b, r.luma_mean, r.luma_median,
      map, r.width, r.height, version);
  }
}

/** One score for every measured photo (current content only): [photo id, value]; focus is null where it can't tell. */
export function technicalScores(db: DB, score: TechnicalScore): [number, number | null][] {
  if (!SCORES.includes(score) || !hasTable(db)) return [];
  return db
    .prepare(`SELECT t.photo_id, t.${score} FROM technical t
      JOIN analyses a ON a.photo_id = t.photo_id AND a.analyzer = ? AND a.version >= t.version`)
    .raw()
    .all(TECHNICAL_ANALYZER) as [number, number | null][];
}

/** Everything measured about one photo, or null (not measured, or its content changed since). */
export function technicalOf(db: DB, photoId: number): TechnicalRow | null {
  if (!hasTable(db)) return null;
  const row = db
    .prepare(`SELECT t.* FROM technical t JOIN analyses a ON a.photo_id = t.photo_id AND a.analyzer = ? AND a.version >= t.version
      WHERE t.photo_id = ?`)
    .get(TECHNICAL_ANALYZER, photoId) as (Omit<TechnicalRow, 'focusMap'> & { focus_map: Buffer; photo_id: number }) | undefined;
  if (!row) return null;
  const { focus_map, photo_id: _id, ...rest } = row;
  const copy = Uint8Array.from(focus_map);
  return { ...rest, focusMap: new Float32Array(copy.buffer, 0, copy.byteLength / 4) };
}

/** One photo's focus map as the window draws it (JSON: NaN tiles become null), or null when not measured. */
export function focusMapOf(db: DB, photoId: number): FocusMapInfo | null {
  const t = technicalOf(db, photoId);
  if (!t) return null;
  const grid = Math.round(Math.sqrt(t.focusMap.length));
  const tiles = Array.from(t.focusMap, (v) => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null));
  return { grid, tiles, focus: t.focus };
}

/** How many photos have technical measures (for "not measured yet" notes). */
export function technicalCount(db: DB): number {
  if (!hasTable(db)) return 0;
  return db
    .prepare('SELECT COUNT(*) FROM technical t JOIN analyses a ON a.photo_id = t.photo_id AND a.analyzer = ? AND a.version >= t.version')
    .pluck()
    .get(TECHNICAL_ANALYZER) as number;
}
