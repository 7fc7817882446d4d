// The faces analyzer's table (electron/services/indexing/analyzers/faces.ts): one row per face found,
// with its box (fractions of the oriented photo), detector confidence, eye state and each eye's
// eyelid opening, face sharpness and smile. A photo with no face has no row: whether it was analysed
// is the analyses ledger's row ('faces'), not this table's. Created by the analyzer's ensureSchema,
// not a migration (as db/technical.ts): a library that never ran it has no such table, and every
// reader here treats that as "not analysed yet". Rows count only while the ledger says the photo's
// current content was analysed (a changed file drops its ledger rows in db/photos.ts).
import type { EyeState, PhotoFace, PhotoFaces } from '../common/types.ts';
import type { DB } from './database.ts';

export const FACES_ANALYZER = 'faces';

/** A face as stored (px always known). */
export type FaceRow = PhotoFace & { px: number };

export function ensureFacesSchema(db: DB): void {
  db.exec(`CREATE TABLE IF NOT EXISTS faces (
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    confidence REAL NOT NULL,
    eye_state TEXT NOT NULL CHECK (eye_state IN ('open', 'closed', 'unknown')),
    eye_left REAL, eye_right REAL, eye_reason TEXT,
    sharpness REAL, smile REAL, px REAL NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (photo_id, idx))`);
}

const hasTable = (db: DB) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'faces'").get() !== undefined;
const finite = (x: number | null) => (x === null || !Number.isFinite(x) ? null : x);

/** Replaces the faces of each photo (an empty list: the photo has none). */
export function storeFaces(db: DB, rows: { photoId: number; faces: FaceRow[] }[], version: number): void {
  const clear = db.prepare('DELETE FROM faces WHERE photo_id = ?');
  const put = db.prepare(`INSERT INTO faces (photo_id, idx, x, y, w, h, confidence, eye_state, eye_left, eye_right, eye_reason,
    sharpness, smile, px, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const { photoId, faces } of rows) {
    clear.run(photoId);
    for (const f of faces) {
      put.run(photoId, f.index, f.box.x, f.box.y, f.box.w, f.box.h, f.confidence, f.eyes.state, finite(f.eyes.left), finite(f.eyes.right),
        f.eyes.reason ?? null, finite(f.sharpness), finite(f.smile), f.px, version);
    }
  }
}

interface Stored {
  photo_id: number;
  idx: number;
  x: number;
  y: number;
  w: number;
  h: number;
  confidence: number;
  eye_state: EyeState;
  eye_left: number | null;
  eye_right: number | null;
  eye_reason: string | null;
  sharpness: number | null;
  smile: number | null;
  px: number;
}

function toFace(r: Stored): FaceRow {
  return {
    index: r.idx,
    box: { x: r.x, y: r.y, w: r.w, h: r.h },
    confidence: r.confidence,
    eyes: { state: r.eye_state, left: r.eye_left, right: r.eye_right, ...(r.eye_reason ? { reason: r.eye_reason } : {}) },
    sharpness: r.sharpness,
    smile: r.smile,
    px: r.px,
  };
}

/** Whether the photo's current content was analysed for faces (the ledger), and its faces, largest first. */
export function facesOf(db: DB, photoId: number): PhotoFaces & { faces: FaceRow[] } {
  const version = db.prepare('SELECT version FROM analyses WHERE photo_id = ? AND analyzer = ?').pluck().get(photoId, FACES_ANALYZER) as
    | number
    | undefined;
  if (version === undefined || !hasTable(db)) return { analyzed: false, faces: [] };
  const rows = db.prepare('SELECT * FROM faces WHERE photo_id = ? AND version <= ? ORDER BY idx').all(photoId, version) as Stored[];
  return { analyzed: true, faces: rows.map(toFace) };
}

/**
 * Every analysed photo (current content) with its faces: [photo id, faces] — photos without a face
 * included, with an empty list (the signals need "no face" apart from "not analysed").
 */
export function allFaces(db: DB): Map<number, FaceRow[]> {
  const out = new Map<number, FaceRow[]>();
  for (const id of db.prepare('SELECT photo_id FROM analyses WHERE analyzer = ?').pluck().all(FACES_ANALYZER) as number[]) out.set(id, []);
  if (!hasTable(db) || !out.size) return out;
  const rows = db
    .prepare(`SELECT f.* FROM faces f JOIN analyses a ON a.photo_id = f.photo_id AND a.analyzer = ? AND a.version >= f.version
      ORDER BY f.photo_id, f.idx`)
    .all(FACES_ANALYZER) as Stored[];
  for (const r of rows) out.get(r.photo_id)?.push(toFace(r));
  return out;
}

/** How many photos the faces analyzer has done (for "not analysed yet" notes). */
export function facesAnalyzedCount(db: DB): number {
  return db.prepare("SELECT COUNT(*) FROM analyses a JOIN photos p ON p.id = a.photo_id WHERE a.analyzer = ? AND p.status = 'ok'").pluck().get(FACES_ANALYZER) as number;
}
