// Owns what the grid shows: the filters, the sort and the tile size, and the lists derived from
// them — the photos passing the filters, in order, folded into stacks — with each photo's index in
// that list. Sorting and filtering run here, in the window, so they are instant at 100 000 photos.
import type { PhotoRecord } from '../../../common/types.ts';
import { DEFAULT_FILTER, defaultDir, matchesFilter, sortPhotos, type SortDir, type SortKey, type ViewFilter } from '../lib/sort-filter.ts';
import { judged } from './judged.svelte.ts';
import { library } from './library.svelte.ts';
import { ranking } from './ranking.svelte.ts';
import { stacks } from './stacks.svelte.ts';

function readCaptions(): boolean {
  try {
    return globalThis.localStorage?.getItem('cull.captions') === '1';
  } catch {
    return false;
  }
}

class Grid {
  filter = $state.raw<ViewFilter>({ ...DEFAULT_FILTER });
  sortKey = $state<SortKey>('date');
  sortDir = $state<SortDir>('asc');
  tileSize = $state(180);
  /** Tile captions with capture settings and time (I); remembered. */
  captions = $state(readCaptions());

  setCaptions(on: boolean): void {
    this.captions = on;
    try {
      localStorage.setItem('cull.captions', on ? '1' : '0');
    } catch {
      // storage disabled: for this window only
    }
  }
  /** Written by the grid: how many columns / rows per page, for arrow and Page keys. */
  layout = { columns: 1, pageRows: 3 };
  /** Bumped when a culling edit can change which photos pass the filter or their order. */
  private viewVersion = $state(0);

  /** Photos passing every filter except the score threshold (the histogram shows these). */
  filtered = $derived.by(() => {
    void this.viewVersion;
    const f = { ...this.filter, minScore: null };
    const r = ranking.current;
    const issues = judged.sets;
    return library.photos.filter((p) => matchesFilter(p, f, r, issues));
  });

  /** Every photo passing the filters, in the grid's order (before stacks fold bursts into one tile). */
  sorted = $derived.by(() => {
    const min = this.filter.minScore;
    const r = ranking.current;
    const list = r && min !== null ? this.filtered.filter((p) => (r.score.get(p.id) ?? -Infinity) >= min) : this.filtered;
    return sortPhotos(list, this.sortKey, this.sortDir, r);
  });

  /** What the grid shows, in order: collapsed stacks as their top photo. */
  visible = $derived(stacks.view ? stacks.view.photos : this.sorted);

  indexOf = $derived.by(() => {
    const m = new Map<number, number>();
    this.visible.forEach((p, i) => m.set(p.id, i));
    return m;
  });

  /** Scores of the photos the histogram covers. */
  scoreValues = $derived.by(() => {
    const r = ranking.current;
    if (!r) return new Float64Array(0);
    const out: number[] = [];
    for (const p of this.filtered) {
      const s = r.score.get(p.id);
      if (s !== undefined) out.push(s);
    }
    return Float64Array.from(out);
  });

  filtersActive = $derived.by(() => {
    const f = this.filter;
    return f.flag !== 'any' || f.issue !== 'any' || f.minRating > 0 || f.label !== 'any' || f.folder !== null || f.from !== null || f.to !== null || f.minScore !== null;
  });

  setSort(key: SortKey, dir?: SortDir): void {
    this.sortKey = key;
    this.sortDir = dir ?? defaultDir(key);
  }

  setFilter(patch: Partial<ViewFilter>): void {
    this.filter = { ...this.filter, ...patch };
    // The library judges afresh each time an issue filter is turned on (new photos measured since).
    if (patch.issue && patch.issue !== 'any') void judged.loadProblems();
  }

  /** Alt+F / Alt+E: show only that issue's photos; again: all of them. */
  toggleIssue(issue: 'outOfFocus' | 'closedEyes'): void {
    this.setFilter({ issue: this.filter.issue === issue ? 'any' : issue });
  }

  resetFilters(): void {
    this.filter = { ...DEFAULT_FILTER };
  }

  /** After a culling edit: re-filter / re-sort only when the filter or the sort looks at culling. */
  culled(): void {
    const f = this.filter;
    if (f.flag !== 'any' || f.minRating > 0 || f.label !== 'any' || this.sortKey === 'rating') this.viewVersion++;
  }

  photoById(id: number): PhotoRecord | undefined {
    const i = this.indexOf.get(id);
    if (i !== undefined) return this.visible[i];
    return library.photos.find((p) => p.id === id);
  }
}

export const grid = new Grid();
