// The analyzers' ledger: which photos each analyzer has done, at which version (migration 4; the
// rule is explained in electron/services/indexing/analyzers/analyzer.ts). Rows go with their photo
// (ON DELETE CASCADE) and with its content (db/photos.ts clearEmbeddings, markFailed, markVanished).
import type { DB } from './database.ts';

const cache = new WeakMap<DB, ReturnType<typeof prepare>>();

export function analysisLedger(db: DB) {
  let q = cache.get(db);
  if (!q) cache.set(db, (q = prepare(db)));
  return q;
}

function prepare(db: DB) {
  const version = db.prepare<[number, string], number>('SELECT version FROM analyses WHERE photo_id = ? AND analyzer = ?').pluck();
  const record = db.prepare<[number, string, number, number]>(
    'INSERT OR REPLACE INTO analyses (photo_id, analyzer, version, analyzed_at) VALUES (?, ?, ?, ?)',
  );
  const countDone = db.prepare<[string, number], number>(
    "SELECT COUNT(*) FROM analyses a JOIN photos p ON p.id = a.photo_id WHERE a.analyzer = ? AND a.version >= ? AND p.status = 'ok'",
  ).pluck();
  return {
    /** The version that last analysed the photo, or null if none did (or its content changed since). */
    version: (photoId: number, analyzer: string): number | null => version.get(photoId, analyzer) ?? null,
    record: (photoId: number, analyzer: string, v: number): void => {
      record.run(photoId, analyzer, v, Date.now());
    },
    /** 'ok' photos done by `analyzer` at `minVersion` or later. */
    countDone: (analyzer: string, minVersion: number): number => countDone.get(analyzer, minVersion) ?? 0,
  };
}
