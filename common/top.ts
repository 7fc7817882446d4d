// "--top 20" and "--top 10%": the one rule for how many of n ranked photos a request keeps, used by
// the ranking, export and the window alike.
import { UserError } from './errors.ts';

export interface TopLimit {
  top?: number;
  /** 0…100: the best p % of the photos that pass the filter and threshold, rounded up. */
  topPercent?: number;
}

/** A count (20), or a count or share as typed ("20", "10%"). */
export function parseTop(top: number | string | undefined): TopLimit {
  if (top === undefined) return {};
  if (typeof top === 'number') return { top };
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(top);
  if (!m) throw new UserError(`"${top}" is not a count or a percentage (e.g. 20 or 10%).`);
  return m[2] ? { topPercent: Number(m[1]) } : { top: Number(m[1]) };
}

/** How many of `n` candidates `limit` keeps. */
export function topCount(limit: TopLimit, n: number): number {
  let k = n;
  if (limit.top !== undefined) {
    if (!(limit.top >= 0)) throw new UserError('top must be a non-negative number.');
    k = Math.min(k, Math.floor(limit.top));
  }
  if (limit.topPercent !== undefined) {
    if (!(limit.topPercent >= 0 && limit.topPercent <= 100)) throw new UserError('topPercent must be between 0 and 100.');
    k = Math.min(k, Math.ceil((limit.topPercent / 100) * n));
  }
  return k;
}
