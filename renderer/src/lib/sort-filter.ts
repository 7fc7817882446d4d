// Sorting and filtering of the grid, done in the renderer so that changing a filter or the
// sort is instant even at 100 000 photos (one pass + one sort; no round trip).
import type { Label, PhotoRecord, ScoredPhoto } from '../../../common/types.ts';

export type SortKey = 'score' | 'date' | 'name' | 'folder' | 'rating';
export type SortDir = 'asc' | 'desc';
export type FlagFilter = 'any' | 'picks' | 'rejects' | 'unflagged' | 'notRejected';
/** Frames with a measured flaw: out of focus (@focus below the library's one threshold) or closed eyes. */
export type IssueFilter = 'any' | 'outOfFocus' | 'closedEyes';

/** The photos each issue filter shows, as the library judged them (api.problems); null until loaded. */
export type IssueSets = { outOfFocus: ReadonlySet<number>; closedEyes: ReadonlySet<number> } | null;

export interface ViewFilter {
  flag: FlagFilter;
  minRating: number; // 0 = any
  label: Label | 'any' | 'none';
  folder: string | null; // this folder or below
  from: number | null; // takenAt >= from (ms)
  to: number | null; // takenAt < to (ms)
  minScore: number | null; // threshold on the active ranking's score
  issue: IssueFilter;
}

export const DEFAULT_FILTER: ViewFilter = {
  flag: 'any',
  minRating: 0,
  label: 'any',
  folder: null,
  from: null,
  to: null,
  minScore: null,
  issue: 'any',
};

/** Scores of the active ranking (an attribute query or a free-text search), in the order the library returned them. */
export interface Ranking {
  kind: 'attributes' | 'search';
  label: string;
  rank: Map<number, number>; // photo id → position in the library's result (0 = best)
  score: Map<number, number>;
  parts: Map<number, Record<string, number>>;
}

export function makeRanking(kind: Ranking['kind'], label: string, results: ScoredPhoto[]): Ranking {
  const rank = new Map<number, number>();
  const score = new Map<number, number>();
  const parts = new Map<number, Record<string, number>>();
  results.forEach((r, i) => {
    rank.set(r.id, i);
    score.set(r.id, r.score);
    if (r.parts) parts.set(r.id, r.parts);
  });
  return { kind, label, rank, score, parts };
}

/** True if `folder` is `root` or inside it (path-segment aware: /a/bc is not inside /a/b). */
export function isInFolder(folder: string, root: string): boolean {
  const trimmed = root.length > 1 ? root.replace(/[\\/]+$/, '') : root;
  if (folder === trimmed || folder === root) return true;
  const sep = trimmed.includes('\\') && !trimmed.includes('/') ? '\\' : '/';
  return folder.startsWith(/[\\/]$/.test(trimmed) ? trimmed : trimmed + sep); // root "/" stays "/"
}

export function photoDate(p: PhotoRecord): number {
  return p.takenAt ?? p.mtimeMs;
}

export function matchesFilter(p: PhotoRecord, f: ViewFilter, ranking: Ranking | null, issues: IssueSets = null): boolean {
  // Not judged yet (the sets not loaded): an issue filter shows nothing rather than everything.
  if (f.issue !== 'any' && !issues?.[f.issue].has(p.id)) return false;
  switch (f.flag) {
    case 'picks':
      if (p.flag !== 1) return false;
      break;
    case 'rejects':
      if (p.flag !== -1) return false;
      break;
    case 'unflagged':
      if (p.flag !== 0) return false;
      break;
    case 'notRejected':
      if (p.flag === -1) return false;
      break;
  }
  if (f.minRating > 0 && p.rating < f.minRating) return false;
  if (f.label === 'none' ? p.label !== null : f.label !== 'any' && p.label !== f.label) return false;
  if (f.folder && !isInFolder(p.folder, f.folder)) return false;
  if (f.from !== null || f.to !== null) {
    // Photos without a capture date fall back to the file's modification time.
    const t = photoDate(p);
    if (f.from !== null && t < f.from) return false;
    if (f.to !== null && t >= f.to) return false;
  }
  if (ranking && f.minScore !== null) {
    const s = ranking.score.get(p.id);
    if (s === undefined || s < f.minScore) return false;
  }
  return true;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

function byName(a: PhotoRecord, b: PhotoRecord): number {
  return collator.compare(a.name, b.name) || a.id - b.id;
}

/**
 * Sorts a copy. By score, the order is exactly the library's (its rank), best first for 'desc';
 * photos the ranking did not score (not embedded yet) always come last.
 */
export function sortPhotos(photos: PhotoRecord[], key: SortKey, dir: SortDir, ranking: Ranking | null): PhotoRecord[] {
  const out = photos.slice();
  const sign = dir === 'asc' ? 1 : -1;
  if (key === 'score') {
    if (!ranking) return out.sort(byName);
    const rank = ranking.rank;
    return out.sort((a, b) => {
      const ra = rank.get(a.id);
      const rb = rank.get(b.id);
      if (ra === undefined || rb === undefined) {
        if (ra !== undefined) return -1;
        if (rb !== undefined) return 1;
        return byName(a, b);
      }
      // rank 0 is the best: 'desc' (best first) is ascending rank.
      return dir === 'desc' ? ra - rb : rb - ra;
    });
  }
  let cmp: (a: PhotoRecord, b: PhotoRecord) => number;
  switch (key) {
    case 'date':
      cmp = (a, b) => sign * (photoDate(a) - photoDate(b)) || byName(a, b);
      break;
    case 'name':
      cmp = (a, b) => sign * collator.compare(a.name, b.name) || a.id - b.id;
      break;
    case 'folder':
      cmp = (a, b) => sign * collator.compare(a.folder, b.folder) || byName(a, b);
      break;
    case 'rating':
      // Ties: picks before unflagged before rejects, then by capture time.
      cmp = (a, b) => sign * (a.rating - b.rating) || b.flag - a.flag || photoDate(a) - photoDate(b) || a.id - b.id;
      break;
  }
  return out.sort(cmp);
}

export function applyView(
  photos: PhotoRecord[],
  filter: ViewFilter,
  key: SortKey,
  dir: SortDir,
  ranking: Ranking | null,
  issues: IssueSets = null,
): PhotoRecord[] {
  return sortPhotos(
    photos.filter((p) => matchesFilter(p, filter, ranking, issues)),
    key,
    dir,
    ranking,
  );
}

/** The folders that appear in the library, shortest first, for the folder filter. */
export function folderList(photos: PhotoRecord[]): string[] {
  const set = new Set<string>();
  for (const p of photos) set.add(p.folder);
  return [...set].sort((a, b) => collator.compare(a, b));
}

export function defaultDir(key: SortKey): SortDir {
  return key === 'score' || key === 'rating' ? 'desc' : 'asc';
}
