// Writes what the analyzers would have measured — a technical row (focus, focus map) and, once the
// faces analyzer's table exists, faces with eye states — straight into a real SQLite library
// through the db/ modules, with the analyses ledger entry that makes the row count. For tests that
// need a blinked or soft frame without a real face photo in the repository (their licences forbid
// it) and without ../shared. Works on a library file a running server has open (WAL, busy timeout).
import type { EyeState } from '../../common/types.ts';
import { openDatabase, type DB } from '../../db/database.ts';
import { ensureFacesSchema, FACES_ANALYZER, storeFaces, type FaceRow } from '../../db/faces.ts';
import { analysisLedger } from '../../db/analyses.ts';
import { ensureTechnicalSchema, storeTechnical, TECHNICAL_ANALYZER } from '../../db/technical.ts';
import { FacesAnalyzer } from '../../electron/services/indexing/analyzers/faces.ts';
import { TechnicalAnalyzer } from '../../electron/services/indexing/analyzers/technical.ts';

const GRID = 16;

/**
 * A technical row for `photoId` whose @focus is `focus`; its focus map is `map` (GRID² values, NaN
 * = can't tell) or, by default, `focus` in every tile except a sharp top-left quarter of 0.9.
 */
export function writeTechnical(db: DB, photoId: number, focus: number | null, map?: ArrayLike<number>): Float32Array {
  ensureTechnicalSchema(db);
  const focusMap = new Float32Array(GRID * GRID);
  for (let t = 0; t < focusMap.length; t++) {
    const x = t % GRID;
    const y = Math.floor(t / GRID);
    focusMap[t] = map ? map[t] : x < GRID / 2 && y < GRID / 2 ? 0.9 : (focus ?? NaN);
  }
  const version = new TechnicalAnalyzer().version;
  db.transaction(() => {
    storeTechnical(
      db,
      [
        {
          photoId,
          row: {
            focus, exposure: 0.8, clean: 0.9, sharpness: focus === null ? null : 0.2 + 0.65 * focus, motion: 0.05, noise_sigma: 0.5,
            clipped_r: 0, clipped_g: 0, clipped_b: 0, blocked_r: 0, blocked_g: 0, blocked_b: 0,
            luma_mean: 120, luma_median: 118, width: 1500, height: 1000, focusMap,
          },
        },
      ],
      version,
    );
    analysisLedger(db).record(photoId, TECHNICAL_ANALYZER, version);
  })();
  return focusMap;
}

/** Runs `fn` on its own connection to the library file (as another process would), then closes it. */
export function withLibraryFile<T>(dbPath: string, fn: (db: DB) => T): T {
  const db = openDatabase(dbPath);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** A face as a test writes it: where it is (fractions of the oriented photo) and its eye state. */
export interface TestFace {
  box: { x: number; y: number; w: number; h: number };
  state: EyeState;
  reason?: string;
  sharpness?: number | null;
  smile?: number | null;
}

/** Stores `faces` as the faces analyzer's result for `photoId` (an empty list: analysed, no face). */
export function writeFaces(db: DB, photoId: number, faces: TestFace[], version = new FacesAnalyzer().version): void {
  ensureFacesSchema(db);
  const opening = { open: 0.3, closed: 0.08, unknown: null };
  const rows: FaceRow[] = faces.map((f, index) => ({
    index,
    box: f.box,
    confidence: 0.95,
    eyes: { state: f.state, left: opening[f.state], right: opening[f.state], ...(f.reason ? { reason: f.reason } : {}) },
    sharpness: f.sharpness ?? 0.8,
    smile: f.smile ?? null,
    px: Math.round(Math.max(f.box.w, f.box.h) * 1000),
  }));
  db.transaction(() => {
    storeFaces(db, [{ photoId, faces: rows }], version);
    analysisLedger(db).record(photoId, FACES_ANALYZER, version);
  })();
}
