// Owns the taste models: the ones fitted for this library (api.tasteModels), the one the panel
// shows, fitting and deleting, and the automatic refit after every REFIT_EVERY new decisions.
// Ranking by a model is a chip of the ranking store (a "taste" signal term).
import type { TasteModelInfo } from '../../../common/api-types.ts';
import { toUiError } from '../lib/format.ts';
import { DEFAULT_TASTE, REFIT_EVERY } from '../lib/taste.ts';
import { ranking } from './ranking.svelte.ts';
import { session } from './session.svelte.ts';
import { stacks } from './stacks.svelte.ts';
import { toasts } from './toasts.svelte.ts';

class Taste {
  models = $state.raw<TasteModelInfo[]>([]);
  /** The model the panel shows (and Fit fits). */
  name = $state(DEFAULT_TASTE);
  busy = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  current = $derived(this.models.find((m) => m.name === this.name) ?? null);
  private refitTimer: ReturnType<typeof setTimeout> | null = null;

  async load(): Promise<void> {
    try {
      this.models = await session.api.tasteModels();
      if (!this.models.some((m) => m.name === this.name) && this.models.length && this.name === DEFAULT_TASTE) {
        this.name = this.models[0].name;
      }
    } catch (err) {
      toasts.show(err, 'Cannot list the taste models');
    }
  }

  /** The panel's model menu: another model chosen. */
  select(name: string): void {
    this.name = name;
    this.error = null;
    this.notice = null;
  }

  /** Fits (or refits) the taste model `name` on the decisions so far. */
  async fit(name: string = this.name): Promise<boolean> {
    const key = name.trim();
    if (!key) return false;
    this.busy = true;
    this.error = null;
    this.notice = null;
    try {
      const m = await session.api.fitTaste(key);
      this.name = m.name;
      this.models = await session.api.tasteModels();
      await this.changed(m.name);
      return true;
    } catch (err) {
      this.error = toUiError(err).message;
      return false;
    } finally {
      this.busy = false;
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await session.api.deleteTaste(name);
      this.models = await session.api.tasteModels();
      await ranking.dropTaste(name);
      if (this.name === name) this.name = this.models[0]?.name ?? DEFAULT_TASTE;
    } catch (err) {
      toasts.show(err, `Cannot delete the taste model "${name}"`);
    }
  }

  /** A model changed: the ranking and the stacks' bests follow when the query uses it. */
  private async changed(name: string): Promise<void> {
    if (!ranking.usesTaste(name)) return;
    if (stacks.on) void stacks.load();
    await ranking.rerank();
  }

  /** After decisions: refit the current model once REFIT_EVERY new ones have been made. */
  scheduleRefit(): void {
    // A new decision may have removed what the last error said (too few decisions, all alike).
    this.error = null;
    if (!this.current) return;
    if (this.refitTimer) clearTimeout(this.refitTimer);
    this.refitTimer = setTimeout(() => {
      this.refitTimer = null;
      void this.maybeRefit();
    }, 600);
  }

  private async maybeRefit(): Promise<void> {
    const name = this.current?.name;
    if (!name || this.busy) return;
    try {
      const m = await session.api.maybeRefitTaste(name, REFIT_EVERY);
      if (!m) return;
      this.models = await session.api.tasteModels();
      this.notice = `Refitted automatically on ${m.examples} decisions.`;
      await this.changed(name);
    } catch {
      // A refit that fails (e.g. every decision the same) waits for the user's next Fit.
    }
  }
}

export const taste = new Taste();
