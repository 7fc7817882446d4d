// Owns the stacks: bursts and near-duplicates as the library groups them (api.groups) at the
// chosen strictness, folded into one tile each over the grid's order, which stacks are open, and
// "keep the best" (K). Which member is a group's best is the library's rule alone: the groups are
// asked for again, by the active query, whenever the ranking changes.
import type { GroupsOptions, PhotoGroupInfo } from '../../../common/api-types.ts';
import type { AttributeQuery, CullingChange } from '../../../common/types.ts';
import { buildStackView, groupIndexOf, nextStackIndex, type StackView } from '../lib/stacks.ts';
import { culling } from './culling.svelte.ts';
import { grid } from './grid.svelte.ts';
import { ranking } from './ranking.svelte.ts';
import { selection } from './selection.svelte.ts';
import { session } from './session.svelte.ts';
import { toasts } from './toasts.svelte.ts';
import { views } from './views.svelte.ts';

/**
 * The groups request: `by` is the active query (the core's contract takes a text or an
 * AttributeQuery; its default, without one, is "@quality + @sharpness").
 */
function groupsOptions(strictness: number, by: AttributeQuery | null): GroupsOptions {
  return (by ? { strictness, by } : { strictness }) as GroupsOptions;
}

/** K asks before rejecting more photos than this at once. */
export const KEEP_BEST_CONFIRM = 20;

class Stacks {
  on = $state(false);
  strictness = $state(50);
  /** The groups as the library proposes them, each one's best by the active query. */
  groups = $state.raw<PhotoGroupInfo[]>([]);
  loading = $state(false);
  /** Open stacks, by key (their best photo's id). */
  expanded = $state.raw<Set<number>>(new Set());
  private seq = 0;
  /** The request the groups shown answer (strictness and `by`), to ask again only on a change. */
  private loadedFor: string | null = null;

  /** The stacks over the grid's sorted photos, when stacks are on. */
  view = $derived<StackView | null>(this.on ? buildStackView(grid.sorted, this.groups, this.expanded) : null);

  async setOn(on: boolean): Promise<void> {
    this.on = on;
    if (on) await this.load();
    else this.seq++;
  }

  async setStrictness(value: number): Promise<void> {
    const v = Math.max(0, Math.min(100, Math.round(value)));
    if (v === this.strictness && this.groups.length) return;
    this.strictness = v;
    if (this.on) await this.load();
  }

  /** The ranking changed: the bests follow it (asks again when the query is not the one loaded). */
  async follow(): Promise<void> {
    if (this.on && this.requestKey() !== this.loadedFor) await this.load();
  }

  private requestKey(): string {
    return JSON.stringify([this.strictness, ranking.groupsBy]);
  }

  /** Fetches the groups at the current strictness, by the active query (the newest request wins). */
  async load(): Promise<void> {
    const seq = ++this.seq;
    const key = this.requestKey();
    this.loading = true;
    try {
      const groups = await session.api.groups(groupsOptions(this.strictness, ranking.groupsBy));
      if (seq !== this.seq) return;
      this.groups = groups;
      this.loadedFor = key;
      const keys = new Set(groups.map((g) => g.bestId));
      this.expanded = new Set([...this.expanded].filter((k) => keys.has(k)));
      // The focused photo may now be folded into a stack: focus its top.
      const f = selection.focusId;
      if (f !== null && !grid.indexOf.has(f)) {
        const k = groupIndexOf(groups, f);
        const top = k >= 0 ? grid.visible.find((p) => this.view?.info.get(p.id)?.group === k) : undefined;
        if (top) selection.focus(top.id);
        else selection.focusFirst();
      }
    } catch (err) {
      if (seq === this.seq) toasts.show(err, 'Cannot find bursts and near-duplicates');
    } finally {
      if (seq === this.seq) this.loading = false;
    }
  }

  /** The stack of a photo in the current view, if it is in one. */
  stackOf(id: number | null): { group: PhotoGroupInfo; key: number } | null {
    if (id === null || !this.view) return null;
    const s = this.view.info.get(id);
    return s ? { group: this.groups[s.group], key: s.key } : null;
  }

  /** S / the count badge: expands or collapses the stack of `id` (default: the focused photo). */
  toggle(id: number | null = selection.focusId): void {
    if (!this.on) {
      toasts.show({ code: 'invalid-argument', message: 'Stacks are off, so S has no stack to open.', hint: 'Press Shift+S (or the Stacks button) to fold bursts and near-duplicates into stacks.' });
      return;
    }
    const st = this.stackOf(id);
    if (!st) return;
    const next = new Set(this.expanded);
    if (next.has(st.key)) {
      next.delete(st.key);
      this.expanded = next;
      // Collapsed: the focus goes to the stack's top (the member focused may be hidden now).
      const top = grid.visible.find((p) => this.view?.info.get(p.id)?.key === st.key);
      if (top) selection.focus(top.id);
    } else {
      next.add(st.key);
      this.expanded = next;
      if (id !== null) selection.focus(id);
    }
  }

  /**
   * K / "Keep best": the library rejects every member of the focused photo's stack but its best
   * (never a pick), as one undoable edit marked automatic; a notice says how many ("Rejected 237 ·
   * Undo"), and above KEEP_BEST_CONFIRM photos it asks first. Then the focus moves to the next stack.
   */
  confirm(): Promise<void> {
    const st = this.stackOf(selection.focusId);
    if (!st) {
      toasts.show(
        this.on
          ? { code: 'invalid-argument', message: 'This photo is not in a stack, so K has nothing to keep or reject.', hint: 'Move to a stack (a tile with a count) and press K there.' }
          : { code: 'invalid-argument', message: 'Stacks are off, so K has nothing to keep or reject.', hint: 'Press Shift+S (or the Stacks button) to fold bursts and near-duplicates into stacks.' },
      );
      return Promise.resolve();
    }
    const group = { ids: st.group.ids, bestId: st.group.bestId };
    const toReject = group.ids.filter((id) => id !== group.bestId && grid.photoById(id)?.flag !== 1).length;
    if (toReject > KEEP_BEST_CONFIRM) {
      const best = grid.photoById(group.bestId)?.name ?? 'the proposed best';
      views.ask({
        title: 'Keep the best of this stack?',
        message: `This rejects ${toReject} photos of the stack and keeps ${best}. Picks stay picks. Ctrl/⌘+Z undoes it.`,
        confirm: `Reject ${toReject}`,
        run: () => this.keepBest(group),
      });
      return Promise.resolve();
    }
    return this.keepBest(group);
  }

  private keepBest(group: { ids: number[]; bestId: number }): Promise<void> {
    return culling.enqueue(async () => {
      try {
        const previous = await session.api.rejectGroupCandidates([group]);
        const change: CullingChange = { flag: -1 };
        culling.record(previous.map((p) => p.id), change, previous, true);
        const best = grid.photoById(group.bestId)?.name ?? 'the proposed best';
        toasts.notice(
          previous.length ? `Rejected ${previous.length} · kept ${best}` : `Nothing to reject: the others in this stack are picks · kept ${best}`,
          previous.length ? 'Automatic rejects do not teach “my taste”. Ctrl/⌘+Z undoes.' : '',
          previous.length ? { label: 'Undo', run: () => void culling.undo() } : undefined,
        );
        const view = this.view;
        if (view && views.view === 'grid') {
          const next = nextStackIndex(view, grid.indexOf.get(group.bestId) ?? selection.focusIndex);
          if (next >= 0) selection.focus(view.photos[next].id);
        }
      } catch (err) {
        toasts.show(err, 'Cannot apply the stack’s proposal');
      }
    });
  }

  /**
   * "Best of each group" for the export, at the stacks' strictness (on or off) and by the active
   * query, as the stacks show it: the library's bestOfGroupIds.
   */
  bestOfGroupIds(includeUngrouped: boolean): Promise<number[]> {
    return session.api.bestOfGroupIds({ ...groupsOptions(this.strictness, ranking.groupsBy), includeUngrouped });
  }
}

export const stacks = new Stacks();
