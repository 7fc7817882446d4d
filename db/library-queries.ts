// Library-wide reads the facade needs: the counts behind `stats`, and finding a photo by path or
// file name (`cull rate IMG_0042.jpg`).
import path from 'node:path';
import type { DB } from './database.ts';
import { outsideCounts } from './xmp-sync.ts';

export interface LibraryCounts {
  photos: number;
  embedded: number;
  missing: number;
  failed: number;
  picks: number;
  rejects: number;
  rated: number;
  stars: Record<string, number>;
  labels: Record<string, number>;
  outside: { photos: number; sidecar: number; embedded: number; taken: number };
}

/** Photo counts by status and decision; `embedded`: ok photos with an embedding for `modelId`. */
export function libraryCounts(db: DB, modelId: string): LibraryCounts {
  const c = db
    .prepare(
      `SELECT count(*) AS photos,
        sum(status = 'missing') AS missing, sum(status = 'failed') AS failed,
        sum(flag = 1) AS picks, sum(flag = -1) AS rejects, sum(rating > 0) AS rated
      FROM photos`,
    )
    .get() as Record<string, number | null>;
  const { embedded } = db
    .prepare("SELECT count(*) AS embedded FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE e.model_id = ? AND p.status = 'ok'")
    .get(modelId) as { embedded: number };
  return {
    photos: c.photos ?? 0,
    embedded,
    missing: c.missing ?? 0,
    failed: c.failed ?? 0,
    picks: c.picks ?? 0,
    rejects: c.rejects ?? 0,
    rated: c.rated ?? 0,
    stars: Object.fromEntries(
      (db.prepare('SELECT rating, count(*) AS n FROM photos WHERE rating > 0 GROUP BY rating ORDER BY rating').all() as { rating: number; n: number }[]).map(
        (r) => [String(r.rating), r.n],
      ),
    ),
    labels: Object.fromEntries(
      (db.prepare('SELECT label, count(*) AS n FROM photos WHERE label IS NOT NULL GROUP BY label ORDER BY label').all() as { label: string; n: number }[]).map(
        (r) => [r.label, r.n],
      ),
    ),
    outside: outsideCounts(db),
  };
}

/** The photo stored at exactly this absolute path. */
export function photoIdAtPath(db: DB, absPath: string): number | null {
  const row = db.prepare('SELECT id FROM photos WHERE path = ?').get(absPath) as { id: number } | undefined;
  return row?.id ?? null;
}

/** Up to `limit` photos whose path is `ref` or ends with "/ref" (LIKE wildcards in ref escaped). */
export function photosEndingWith(db: DB, ref: string, limit = 10): { id: number; path: string }[] {
  return db
    .prepare("SELECT id, path FROM photos WHERE path = ? OR path LIKE ? ESCAPE '\\' LIMIT ?")
    .all(ref, '%' + path.sep + ref.replace(/[\\%_]/g, (c) => '\\' + c), limit) as { id: number; path: string }[];
}
