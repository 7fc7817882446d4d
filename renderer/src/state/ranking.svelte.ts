// Owns the ranking: the chips of the attribute bar (typed attributes, presets and taste models,
// each one term of one AttributeQuery), the free-text search, and the scores of whichever was
// submitted last. The whole query goes to the library in one api.score call: the core combines
// the terms (weighted average), so the window shows exactly the order the CLI and HTTP give.
import type { PresetInfo } from '../../../common/api-types.ts';
import type { AttributeQuery } from '../../../common/types.ts';
import { chipsFromQuery, clampWeight, combineChips, describeChips, markPresets, mergeChips, tasteChip, type AttributeChip } from '../lib/attributes.ts';
import { toUiError } from '../lib/format.ts';
import { makeRanking, type Ranking } from '../lib/sort-filter.ts';
import { grid } from './grid.svelte.ts';
import { library } from './library.svelte.ts';
import { selection } from './selection.svelte.ts';
import { session } from './session.svelte.ts';
import { stacks } from './stacks.svelte.ts';
import { views } from './views.svelte.ts';

class RankingState {
  chips = $state.raw<AttributeChip[]>([]);
  queryText = $state('');
  queryError = $state<string | null>(null);
  searchText = $state('');
  searchError = $state<string | null>(null);
  /** The scores of the active query or search; null when nothing ranks the grid. */
  current = $state.raw<Ranking | null>(null);
  scoring = $state(false);
  private seq = 0;

  /** The chips as the one query sent to the library (null without a chip of weight > 0). */
  query = $derived<AttributeQuery | null>(combineChips(this.chips));
  label = $derived(describeChips(this.chips));
  /** What proposes each stack's best: the query while it ranks the grid (not during a search). */
  groupsBy = $derived<AttributeQuery | null>(this.searchText ? null : this.query);

  /** Enter in the attribute box: replace the combination (add = Shift+Enter: extend it). */
  async submitQuery(text: string, add = false): Promise<boolean> {
    const t = text.trim();
    if (!t) {
      this.queryError = null;
      if (!add) await this.setChips([]);
      return true;
    }
    try {
      // Typed attributes, "@quality", "@taste:NAME"…: the library parses every kind of term.
      const parsed = await session.api.parseQuery(t);
      this.queryError = null;
      const chips = markPresets(chipsFromQuery(parsed), library.presets.map((p) => p.id));
      await this.setChips(add ? mergeChips(this.chips, chips) : chips);
      return true;
    } catch (err) {
      this.queryError = toUiError(err).message;
      return false;
    }
  }

  /** A preset's chip on or off (its terms come from parseQuery("@id")). */
  async togglePreset(p: PresetInfo): Promise<void> {
    if (this.chips.some((c) => c.preset === p.id)) return this.setChips(this.chips.filter((c) => c.preset !== p.id));
    try {
      const parsed = await session.api.parseQuery('@' + p.id);
      this.queryError = null;
      await this.setChips(mergeChips(this.chips, chipsFromQuery(parsed, p.id)));
    } catch (err) {
      this.queryError = toUiError(err).message;
    }
  }

  /** The taste chip for `name` on or off, like a preset. */
  async toggleTaste(name: string): Promise<void> {
    if (this.usesTaste(name)) return this.setChips(this.chips.filter((c) => c.taste !== name));
    this.queryError = null;
    await this.setChips(mergeChips(this.chips, [tasteChip(name)]));
  }

  usesTaste(name: string): boolean {
    return this.chips.some((c) => c.taste === name);
  }

  /** A taste model was deleted: its chip goes. */
  async dropTaste(name: string): Promise<void> {
    if (this.usesTaste(name)) await this.setChips(this.chips.filter((c) => c.taste !== name));
  }

  async setChipWeight(key: string, weight: number): Promise<void> {
    const w = clampWeight(weight);
    await this.setChips(this.chips.map((c) => (c.key === key ? { ...c, weight: w } : c)));
  }

  async removeChip(key: string): Promise<void> {
    await this.setChips(this.chips.filter((c) => c.key !== key));
  }

  clearRanking(): Promise<void> {
    this.queryText = '';
    this.queryError = null;
    return this.setChips([]);
  }

  async submitSearch(text: string): Promise<void> {
    this.searchText = text.trim();
    this.searchError = null;
    await this.changed();
  }

  private async setChips(chips: AttributeChip[]): Promise<void> {
    this.chips = chips;
    this.searchText = '';
    this.searchError = null;
    await this.changed();
  }

  /** The query or the search changed: score afresh, and the stacks' bests follow. */
  private async changed(): Promise<void> {
    void stacks.follow();
    await this.rerank(true);
  }

  /** Re-scores with the current chips / search; `fresh` re-sorts by score and focuses the best. */
  async rerank(fresh = false): Promise<void> {
    const seq = ++this.seq;
    const query = this.query;
    const search = this.searchText;
    if (!search && !query) {
      this.current = null;
      this.scoring = false;
      if (grid.sortKey === 'score') grid.setSort('date');
      if (grid.filter.minScore !== null) grid.setFilter({ minScore: null });
      return;
    }
    this.scoring = true;
    try {
      // Without paths: the window has every photo's record already (at 100k that is ~40 % of the reply).
      const lean = { paths: false };
      const results = search ? await session.api.search(search) : await session.api.score(query!, lean);
      if (seq !== this.seq) return; // a newer query superseded this one
      this.current = makeRanking(search ? 'search' : 'attributes', search ? `“${search}”` : this.label, results);
      // New scores re-sort the grid: a focus nobody chose stays on the first photo (the view at the top).
      if (!fresh && selection.automatic && views.view === 'grid') selection.focusFirst();
      if (fresh) {
        grid.setFilter({ minScore: null });
        grid.setSort('score', 'desc');
        selection.focusFirst();
      }
    } catch (err) {
      if (seq !== this.seq) return;
      const e = toUiError(err);
      if (search) this.searchError = e.message;
      else this.queryError = e.message;
    } finally {
      if (seq === this.seq) this.scoring = false;
    }
  }
}

export const ranking = new RankingState();
