// What the technical and faces analyzers judged, read the way the culling rules need it
// (electron/services/culling/flaws.ts): which photos are below a focus threshold, which have a
// closed-eye face, and — for the members of stacks only — each one's focus and eye counts. SQL
// aggregates over the tables db/technical.ts and db/faces.ts own (read-only here), so the window's
// filters and a stack's best cost one query each, not a pass over every face in JavaScript.
// Rows count only while the analyses ledger says the photo's current content was measured.
import type { DB } from './database.ts';
import { FACES_ANALYZER, facesAnalyzedCount } from './faces.ts';
import { TECHNICAL_ANALYZER } from './technical.ts';

const hasTable = (db: DB, name: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

/** Photos with a focus value, and those of them below `below`. */
export function focusBelow(db: DB, below: number): { measured: number; ids: number[] } {
  if (!hasTable(db, 'technical')) return { measured: 0, ids: [] };
  // CROSS JOIN keeps technical outside: its focus index (db/technical.ts) is read, not its rows.
  const from = `FROM technical t CROSS JOIN analyses a ON a.photo_id = t.photo_id AND a.analyzer = ? AND a.version >= t.version WHERE t.focus IS NOT NULL`;
  const measured = db.prepare(`SELECT COUNT(*) ${from}`).pluck().get(TECHNICAL_ANALYZER) as number;
  const ids = db.prepare(`SELECT t.photo_id ${from} AND t.focus < ? ORDER BY t.photo_id`).pluck().all(TECHNICAL_ANALYZER, below) as number[];
  return { measured, ids };
}

/** Photos the faces analyzer has looked at, and those of them with at least one closed-eye face. */
export function closedEyes(db: DB): { measured: number; ids: number[] } {
  const measured = facesAnalyzedCount(db);
  if (!measured || !hasTable(db, 'faces')) return { measured, ids: [] };
  const ids = db
    .prepare(`SELECT DISTINCT f.photo_id FROM faces f JOIN analyses a ON a.photo_id = f.photo_id AND a.analyzer = ? AND a.version >= f.version
      WHERE f.eye_state = 'closed' ORDER BY f.photo_id`)
    .pluck()
    .all(FACES_ANALYZER) as number[];
  return { measured, ids };
}

/** Focus per photo among `ids` (measured ones only; null: too little detail to tell). */
export function focusOf(db: DB, ids: number[]): Map<number, number | null> {
  if (!ids.length || !hasTable(db, 'technical')) return new Map();
  const rows = db
    .prepare(`SELECT t.photo_id, t.focus FROM technical t JOIN analyses a ON a.photo_id = t.photo_id AND a.analyzer = ? AND a.version >= t.version
      WHERE t.photo_id IN (SELECT value FROM json_each(?))`)
    .raw()
    .all(TECHNICAL_ANALYZER, JSON.stringify(ids)) as [number, number | null][];
  return new Map(rows);
}

/** Faces and closed-eye faces per photo among `ids` (photos the faces analyzer has looked at only). */
export function eyeCountsOf(db: DB, ids: number[]): Map<number, { faces: number; closed: number }> {
  if (!ids.length) return new Map();
  const faces = hasTable(db, 'faces');
  const rows = db
    .prepare(
      faces
        ? `SELECT a.photo_id, COUNT(f.idx), COALESCE(SUM(f.eye_state = 'closed'), 0) FROM analyses a
           LEFT JOIN faces f ON f.photo_id = a.photo_id AND a.version >= f.version
           WHERE a.analyzer = ? AND a.photo_id IN (SELECT value FROM json_each(?)) GROUP BY a.photo_id`
        : `SELECT photo_id, 0, 0 FROM analyses WHERE analyzer = ? AND photo_id IN (SELECT value FROM json_each(?))`,
    )
    .raw()
    .all(FACES_ANALYZER, JSON.stringify(ids)) as [number, number, number][];
  return new Map(rows.map(([id, n, closed]) => [id, { faces: n, closed }]));
}
