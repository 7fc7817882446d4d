// Decisions shared with other applications through XMP (migration 5): which XMP fields Cull decided
// and has not yet written (xmp_sync), and what other applications wrote (outside_decisions).
//
// The rule (README, "Working with Lightroom / Capture One / darktable / digiKam"): a decision made
// in Cull wins; a value read from XMP is taken into the photo's rating, flag or label when Cull never
// decided that field, or when the XMP was changed after Cull's last decision or write (its
// xmp:MetadataDate, else the file's mtime). A field taken from outside is no longer Cull's: Cull
// does not write it back. A photo without an xmp_sync row (a library from before migration 5) has
// every non-default field counted as Cull's, not yet written.
import { LABELS, type Flag, type Label, type OutsideDecision } from '../common/types.ts';
import type { DB } from './database.ts';

export const FIELD_RATING = 1;
export const FIELD_LABEL = 2;
export const FIELD_PICK = 4;

export interface CullingState {
  rating: number;
  flag: Flag | number;
  label: Label | null | string;
}

export interface XmpSync {
  cullSet: number;
  dirty: number;
  changedAt: number | null;
  writtenAt: number | null;
  sidecarMtime: number | null;
}

const xmpRatingOf = (c: CullingState) => (c.flag === -1 ? -1 : c.rating);

/** The XMP fields whose value differs between two culling states (bits). */
export function changedFields(a: CullingState, b: CullingState): number {
  let bits = 0;
  if (xmpRatingOf(a) !== xmpRatingOf(b)) bits |= FIELD_RATING;
  if ((a.label ?? null) !== (b.label ?? null)) bits |= FIELD_LABEL;
  if ((a.flag === 1) !== (b.flag === 1)) bits |= FIELD_PICK;
  return bits;
}

/** The fields of a state that say something (what a library from before migration 5 counts as Cull's). */
export function decidedFields(c: CullingState): number {
  return changedFields(c, { rating: 0, flag: 0, label: null });
}

export function getXmpSync(db: DB, photoId: number, current: CullingState): XmpSync {
  const row = db.prepare('SELECT * FROM xmp_sync WHERE photo_id = ?').get(photoId) as
    | { cull_set: number; dirty: number; changed_at: number | null; written_at: number | null; sidecar_mtime: number | null }
    | undefined;
  if (!row) {
    const bits = decidedFields(current);
    return { cullSet: bits, dirty: bits, changedAt: null, writtenAt: null, sidecarMtime: null };
  }
  return { cullSet: row.cull_set, dirty: row.dirty, changedAt: row.changed_at, writtenAt: row.written_at, sidecarMtime: row.sidecar_mtime };
}

function putXmpSync(db: DB, photoId: number, s: XmpSync): void {
  db.prepare(
    `INSERT INTO xmp_sync (photo_id, cull_set, dirty, changed_at, written_at, sidecar_mtime) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(photo_id) DO UPDATE SET cull_set = excluded.cull_set, dirty = excluded.dirty, changed_at = excluded.changed_at,
       written_at = excluded.written_at, sidecar_mtime = excluded.sidecar_mtime`,
  ).run(photoId, s.cullSet, s.dirty, s.changedAt, s.writtenAt, s.sidecarMtime);
}

/** Records a decision made in Cull (inside the caller's transaction): the changed fields become Cull's and dirty. */
export function noteCullDecision(db: DB, photoId: number, before: CullingState, after: CullingState, now = Date.now()): void {
  const bits = changedFields(before, after);
  if (!bits) return;
  const s = getXmpSync(db, photoId, before);
  putXmpSync(db, photoId, { ...s, cullSet: s.cullSet | bits, dirty: s.dirty | bits, changedAt: now });
}

/** After Cull wrote `fields` into the photo's sidecar (mtime after the write). */
export function noteSidecarWritten(db: DB, photoId: number, current: CullingState, fields: number, sidecarMtime: number | null, now = Date.now()): void {
  const s = getXmpSync(db, photoId, current);
  putXmpSync(db, photoId, { ...s, dirty: s.dirty & ~fields, writtenAt: now, sidecarMtime });
}

/** What was read from XMP for one photo. */
export interface OutsideRead {
  rating: number | null; // -1..5
  label: Label | null; // as one of Cull's colours
  labelText: string | null; // as written
  pick: 1 | -1 | null;
  source: 'sidecar' | 'embedded';
  path: string;
  modifiedAt: number | null; // xmp:MetadataDate, else the file's mtime
  /** For sidecars: the file's mtime, remembered so an unchanged sidecar is not read again. */
  sidecarMtime?: number;
}

/**
 * Records what another application wrote and takes each field the rule allows (see the top of this
 * file) into the photo's culling state. Returns the fields taken (bits).
 */
export function applyOutside(db: DB, photoId: number, read: OutsideRead, now = Date.now()): number {
  return db.transaction(() => {
    const cur = db.prepare('SELECT rating, flag, label FROM photos WHERE id = ?').get(photoId) as CullingState | undefined;
    if (!cur) return 0;
    const s = getXmpSync(db, photoId, cur);
    const cullTime = Math.max(s.changedAt ?? -Infinity, s.writtenAt ?? -Infinity);
    const newer = read.modifiedAt !== null && read.modifiedAt > cullTime;
    const may = (bit: number) => !(s.cullSet & bit) || newer;
    const next = { rating: cur.rating, flag: cur.flag, label: cur.label };
    if (read.rating !== null && may(FIELD_RATING)) {
      if (read.rating === -1) next.flag = -1;
      else {
        next.rating = read.rating;
        if (next.flag === -1) next.flag = 0;
      }
    }
    // A label that is none of Cull's colours (Capture One's "Orange", Lightroom's "Approved") is recorded, not taken.
    if (read.label !== null && (LABELS as readonly string[]).includes(read.label) && may(FIELD_LABEL)) next.label = read.label;
    if (read.pick !== null && may(FIELD_PICK)) next.flag = read.pick;
    const taken = changedFields(cur, next);
    if (taken) {
      db.prepare('UPDATE photos SET rating = ?, flag = ?, label = ? WHERE id = ?').run(next.rating, next.flag, next.label, photoId);
    }
    putXmpSync(db, photoId, {
      ...s,
      cullSet: s.cullSet & ~taken,
      dirty: s.dirty & ~taken,
      sidecarMtime: read.source === 'sidecar' ? (read.sidecarMtime ?? null) : s.sidecarMtime,
    });
    const old = db.prepare('SELECT outside_applied FROM outside_decisions WHERE photo_id = ?').pluck().get(photoId) as number | undefined;
    db.prepare(
      `INSERT OR REPLACE INTO outside_decisions (photo_id, outside_rating, outside_label, outside_pick, outside_source, outside_path,
        outside_modified_at, outside_applied, outside_read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(photoId, read.rating, read.labelText, read.pick, read.source, read.path, read.modifiedAt, (old ?? 0) | taken, now);
    return taken;
  })();
}

/** The sidecar mtime Cull last wrote or read for a photo (an unchanged sidecar is not read again). */
export function knownSidecarMtime(db: DB, photoId: number): number | null {
  return (db.prepare('SELECT sidecar_mtime FROM xmp_sync WHERE photo_id = ?').pluck().get(photoId) as number | null | undefined) ?? null;
}

/** What was read from other applications for a photo, or null. */
export function outsideDecision(db: DB, photoId: number): OutsideDecision | null {
  const r = db.prepare('SELECT * FROM outside_decisions WHERE photo_id = ?').get(photoId) as Record<string, unknown> | undefined;
  return r ? outsideFromRow(r) : null;
}

/** The OutsideDecision of a row holding outside_decisions' columns (null when it has none). */
export function outsideFromRow(r: Record<string, unknown>): OutsideDecision | null {
  if (r.outside_source === null || r.outside_source === undefined) return null;
  return {
    rating: r.outside_rating as number | null,
    label: r.outside_label as string | null,
    pick: r.outside_pick as 1 | -1 | null,
    source: r.outside_source as 'sidecar' | 'embedded',
    path: r.outside_path as string,
    modifiedAt: r.outside_modified_at as number | null,
    taken: {
      rating: Boolean((r.outside_applied as number) & FIELD_RATING),
      label: Boolean((r.outside_applied as number) & FIELD_LABEL),
      pick: Boolean((r.outside_applied as number) & FIELD_PICK),
    },
  };
}

/** SQL condition (on photos p) true for photos whose decisions came from other applications and Cull has not changed since. */
export const FROM_OUTSIDE_SQL = `EXISTS (SELECT 1 FROM outside_decisions od LEFT JOIN xmp_sync xs ON xs.photo_id = od.photo_id
  WHERE od.photo_id = p.id AND (od.outside_applied & ~coalesce(xs.cull_set, 0)) != 0)`;

/** Counts for `stats`: photos with outside decisions, by source, and how many fields were taken. */
export function outsideCounts(db: DB): { photos: number; sidecar: number; embedded: number; taken: number } {
  const r = db
    .prepare(
      `SELECT count(*) AS photos, sum(outside_source = 'sidecar') AS sidecar, sum(outside_source = 'embedded') AS embedded,
        sum(outside_applied != 0) AS taken FROM outside_decisions`,
    )
    .get() as Record<string, number | null>;
  return { photos: r.photos ?? 0, sidecar: r.sidecar ?? 0, embedded: r.embedded ?? 0, taken: r.taken ?? 0 };
}
