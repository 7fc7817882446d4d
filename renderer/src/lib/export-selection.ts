// Which photos an export takes: top N / top % of the current order, or by flags and ratings.
import type { PhotoRecord } from '../../../common/types.ts';

export type ExportRule =
  | { kind: 'topN'; n: number }
  | { kind: 'topPercent'; percent: number }
  | { kind: 'picks' }
  | { kind: 'minRating'; stars: number }
  | { kind: 'selected'; ids: number[] }
  /** api.bestOfGroupIds: every group's best (and picks), plus photos in no group unless left out. */
  | { kind: 'bestOfGroups'; ids: number[] }
  | { kind: 'all' };

/** Ids to export, in the grid's current order (best first when sorted by score). */
export function selectForExport(ordered: PhotoRecord[], rule: ExportRule): number[] {
  switch (rule.kind) {
    case 'topN':
      return ordered.slice(0, Math.max(0, Math.floor(rule.n))).map((p) => p.id);
    case 'topPercent': {
      const pct = Math.max(0, Math.min(100, rule.percent));
      // Round up so "top 1 %" of 50 photos is 1 photo, not none.
      const n = pct === 0 ? 0 : Math.ceil((ordered.length * pct) / 100);
      return ordered.slice(0, n).map((p) => p.id);
    }
    case 'picks':
      return ordered.filter((p) => p.flag === 1).map((p) => p.id);
    case 'minRating':
      return ordered.filter((p) => p.rating >= rule.stars).map((p) => p.id);
    case 'selected':
    case 'bestOfGroups': {
      const want = new Set(rule.ids);
      return ordered.filter((p) => want.has(p.id)).map((p) => p.id);
    }
    case 'all':
      return ordered.map((p) => p.id);
  }
}

export function describeRule(rule: ExportRule): string {
  switch (rule.kind) {
    case 'topN':
      return `the top ${rule.n} in the current order`;
    case 'topPercent':
      return `the top ${rule.percent} % in the current order`;
    case 'picks':
      return 'the picks';
    case 'minRating':
      return `photos with ${rule.stars} or more stars`;
    case 'selected':
      return 'the selected photos';
    case 'bestOfGroups':
      return 'the best of each group';
    case 'all':
      return 'every photo shown';
  }
}
