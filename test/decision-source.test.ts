// "Keep the best" (K) rejects a stack's other members automatically: those rejects are stored as
// automatic (photos.flag_source = 'auto', migration 6) and "my taste" does not learn from them,
// while the photographer's own flags still count; undo puts the source back with the flag.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.ts';
import { restoreCulling, setCulling } from '../db/culling.ts';
import { listPhotos } from '../db/photos.ts';
import { rejectGroupCandidates } from '../electron/services/culling/group-service.ts';
import { collectDecisions } from '../electron/services/signals/taste.ts';
import type { LibraryContext } from '../electron/services/context.ts';
import { tempDir } from './helpers/fixtures.ts';

function library() {
  const db = openDatabase(path.join(tempDir('cull-source-'), 'library.db'));
  const insert = db.prepare(
    "INSERT INTO photos (path, folder, size, mtime_ms, fingerprint, status, indexed_at) VALUES (?, '/shoot', 1, 0, ?, 'ok', 0) RETURNING id",
  );
  const ids = Array.from({ length: 6 }, (_, i) => (insert.get(`/shoot/IMG_${5100 + i}.jpg`, `f${i}`) as { id: number }).id);
  return { db, ids };
}
const everyRow = { indexOf: (id: number) => id };

describe('where a decision comes from', () => {
  it('stores K’s rejects as automatic and leaves them out of my taste’s decisions', () => {
    const { db, ids } = library();
    const [a, b, c, d, e, f] = ids;
    setCulling(db, [e], { flag: 1 }); // the photographer's pick
    setCulling(db, [f], { flag: -1 }); // the photographer's reject
    const previous = rejectGroupCandidates(db, [{ ids: [a, b, c, d], bestId: a }]);
    expect(previous.map((p) => p.id).sort()).toEqual([b, c, d]);

    const photos = listPhotos(db);
    expect(photos.filter((p) => p.flagAuto).map((p) => p.id).sort()).toEqual([b, c, d]);
    expect(photos.find((p) => p.id === f)!.flagAuto).toBeUndefined();
    const decisions = collectDecisions(photos, everyRow);
    expect([...decisions.ids].sort()).toEqual([e, f]);
    expect(decisions.rejects).toBe(1);
    expect(decisions.picks).toBe(1);

    // Stars on an automatically rejected photo are the photographer's: they count as a rating.
    setCulling(db, [b], { rating: 4 });
    const rated = collectDecisions(listPhotos(db), everyRow);
    expect(rated.rated).toBe(1);
    expect(rated.rejects).toBe(1);
  });

  it('makes a reject the photographer confirms their own, and undo restores "automatic"', () => {
    const { db, ids } = library();
    const [a, b] = ids;
    rejectGroupCandidates(db, [{ ids: [a, b], bestId: a }]);
    const previous = setCulling(db, [b], { flag: -1 }); // X on it: now a decision of theirs
    expect(previous).toEqual([{ id: b, rating: 0, flag: -1, label: null, flagAuto: true }]);
    expect(collectDecisions(listPhotos(db), everyRow).rejects).toBe(1);
    restoreCulling(db, previous); // Ctrl+Z
    expect(listPhotos(db).find((p) => p.id === b)!.flagAuto).toBe(true);
    expect(collectDecisions(listPhotos(db), everyRow).rejects).toBe(0);
  });
});
