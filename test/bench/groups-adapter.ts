// Grouping a loaded library into bursts / near-duplicates (electron/services/culling/groups.ts), the way a
// front end would call it: the in-memory embedding matrix plus capture time and camera per row.
import { groupPhotos } from '../../electron/services/culling/groups.ts';
import type { Library } from '../../electron/services/library.ts';
import { median, round } from './util.ts';

export interface GroupsRun {
  /** groupPhotos alone, median of 2 runs after a warm-up. */
  ms: number;
  /** Reading capture time and camera of every row from the database. */
  metadataMs: number;
  groups: number;
  grouped: number;
  bursts: number;
}

export async function runGroups(lib: Library): Promise<GroupsRun> {
  const { matrix, db } = lib;
  const t0 = performance.now();
  const row = new Map<number, number>();
  matrix.ids.forEach((id, r) => row.set(id, r));
  const takenAt: (number | null)[] = new Array(matrix.length).fill(null);
  const camera: (string | null)[] = new Array(matrix.length).fill(null);
  for (const [id, t, cam] of db.prepare("SELECT id, taken_at, camera FROM photos WHERE status = 'ok'").raw().iterate() as Iterable<[number, number | null, string | null]>) {
    const r = row.get(id);
    if (r === undefined) continue;
    takenAt[r] = t;
    camera[r] = cam;
  }
  const metadataMs = performance.now() - t0;
  const input = { ids: matrix.ids, vectors: matrix.data, dim: matrix.dim, takenAt, camera };
  const times: number[] = [];
  let groups = groupPhotos(input);
  for (let i = 0; i < 2; i++) {
    const t = performance.now();
    groups = groupPhotos(input);
    times.push(performance.now() - t);
  }
  return {
    ms: round(median(times), 1),
    metadataMs: round(metadataMs, 1),
    groups: groups.length,
    grouped: groups.reduce((n, g) => n + g.ids.length, 0),
    bursts: groups.filter((g) => g.reason !== 'near-duplicate').length,
  };
}
