// Stacks in the grid: bursts and near-duplicate groups (api.groups) folded into one tile each, the
// proposed best photo on top with a count badge. Pure functions over the grid's filtered, sorted
// list, so stacks follow every sort and filter and the virtual grid just gets a shorter list.
// Which member is the best, which are rejected by "keep the best" and what "best of each group"
// exports are the library's rule alone (api.groups, rejectGroupCandidates, bestOfGroupIds).
import type { PhotoGroupInfo } from '../../../common/api-types.ts';
import type { PhotoRecord } from '../../../common/types.ts';

export interface StackTile {
  /** Index of the group in the groups list (stable while the groups are not refetched). */
  group: number;
  /** The stack's key for expanded/collapsed state: its proposed best photo's id. */
  key: number;
  /** Members of the stack in the current view (filtered ones do not count). */
  size: number;
  /** Position in the stack: 0 is the top (the proposed best when it is shown). */
  pos: number;
  expanded: boolean;
  /** The group's proposed best photo. */
  best: boolean;
}

export interface StackView<P extends Pick<PhotoRecord, 'id'> = PhotoRecord> {
  /** What the grid shows, in order: collapsed stacks as their top photo, expanded ones in full. */
  photos: P[];
  /** Stack info for every photo of `photos` that belongs to a stack. */
  info: Map<number, StackTile>;
  /** Number of stacks (groups with at least two members in view). */
  stacks: number;
  /** Photos hidden inside collapsed stacks. */
  hidden: number;
}

/**
 * Folds `sorted` (the grid's filtered, sorted photos) into stacks. A stack takes the place of its
 * first member in the current order; inside it, members follow the group's order (best first,
 * then the candidates to reject by score). A group with fewer than two members in view is no stack.
 */
export function buildStackView<P extends Pick<PhotoRecord, 'id'>>(
  sorted: P[],
  groups: Pick<PhotoGroupInfo, 'ids' | 'bestId'>[],
  expanded: ReadonlySet<number>,
): StackView<P> {
  const byId = new Map<number, P>();
  for (const p of sorted) byId.set(p.id, p);
  const groupOf = new Map<number, number>();
  const members: P[][] = groups.map((g, k) => {
    const shown: P[] = [];
    for (const id of g.ids) {
      const p = byId.get(id);
      if (p && !groupOf.has(id)) {
        groupOf.set(id, k);
        shown.push(p);
      }
    }
    return shown;
  });
  const photos: P[] = [];
  const info = new Map<number, StackTile>();
  const emitted = new Set<number>();
  let stacks = 0;
  let hidden = 0;
  for (const p of sorted) {
    const k = groupOf.get(p.id);
    if (k === undefined || members[k].length < 2) {
      photos.push(p);
      continue;
    }
    if (emitted.has(k)) continue;
    emitted.add(k);
    stacks++;
    const list = members[k];
    const key = groups[k].bestId;
    const open = expanded.has(key);
    const shown = open ? list : list.slice(0, 1);
    hidden += list.length - shown.length;
    shown.forEach((m, pos) => {
      photos.push(m);
      info.set(m.id, { group: k, key, size: list.length, pos, expanded: open, best: m.id === groups[k].bestId });
    });
  }
  return { photos, info, stacks, hidden };
}

/** The group a photo belongs to (index into groups), or -1. */
export function groupIndexOf(groups: Pick<PhotoGroupInfo, 'ids'>[], id: number): number {
  for (let k = 0; k < groups.length; k++) if (groups[k].ids.includes(id)) return k;
  return -1;
}

/** Index in `view.photos` of the next stack's top after `index` (wrapping off: -1 when none). */
export function nextStackIndex(view: StackView<Pick<PhotoRecord, 'id'>>, index: number): number {
  const current = index >= 0 ? view.info.get(view.photos[index]?.id)?.group : undefined;
  for (let i = Math.max(0, index + 1); i < view.photos.length; i++) {
    const s = view.info.get(view.photos[i].id);
    if (s && s.pos === 0 && s.group !== current) return i;
  }
  return -1;
}

/** "burst", "near-duplicates", "burst + near-duplicates" for a stack's tooltip. */
export function describeReason(reason: PhotoGroupInfo['reason']): string {
  return reason === 'burst' ? 'burst' : reason === 'near-duplicate' ? 'near-duplicates' : 'burst + near-duplicates';
}
