// Owns the library as the window holds it: the photo records (one $state.raw array: 100 000
// records must not be wrapped in deep proxies), the stats, the root folders and the presets.
// Culling edits patch the records in place and bump `cullVersion`, so a keypress re-renders a
// handful of tiles instead of re-sorting the grid.
import type { PresetInfo } from '../../../common/api-types.ts';
import type { Flag, Label, LibraryStats, PhotoRecord } from '../../../common/types.ts';
import { folderList } from '../lib/sort-filter.ts';
import { jobs } from './jobs.svelte.ts';
import { selection } from './selection.svelte.ts';
import { views } from './views.svelte.ts';
import { session } from './session.svelte.ts';
import { toasts } from './toasts.svelte.ts';

export type CullingPatch = { id: number; rating?: number; flag?: Flag; label?: string | null; flagAuto?: boolean };

class Library {
  stats = $state.raw<LibraryStats | null>(null);
  roots = $state.raw<string[]>([]);
  photos = $state.raw<PhotoRecord[]>([]);
  presets = $state.raw<PresetInfo[]>([]);
  loadingPhotos = $state(false);
  /** Bumped on every culling edit: tiles re-read their record's flag/rating/label. */
  cullVersion = $state(0);

  folders = $derived(folderList(this.photos));
  /** Photos with a decision a taste model learns from (a pick, a reject or stars). */
  decisions = $derived.by(() => {
    void this.cullVersion;
    let n = 0;
    for (const p of this.photos) if ((p.flag !== 0 && !p.flagAuto) || p.rating > 0) n++;
    return n;
  });
  randomWeights = $derived(this.stats?.model.randomWeights === true);

  async open(): Promise<void> {
    const api = session.api;
    const [stats, roots, presets] = await Promise.all([api.stats(), api.roots(), api.presets()]);
    this.stats = stats;
    this.roots = roots;
    this.presets = presets;
    await this.loadPhotos();
    this.prepareSearchWhenIdle();
  }

  /**
   * Once the grid is up and the window idle, the main process opens the text encoder, so the first
   * search does not wait ~1 s for it. Not sooner: its load holds the main process meanwhile, and the
   * first thumbnails come first. A failure is left for the first search to report.
   */
  private prepareSearchWhenIdle(): void {
    const run = () => void session.api.prepareSearch().catch(() => {});
    if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 3000 });
    else setTimeout(run, 500);
  }

  async reload(): Promise<void> {
    const [stats, roots] = await Promise.all([session.api.stats(), session.api.roots()]);
    this.stats = stats;
    this.roots = roots;
    await this.loadPhotos();
  }

  private async loadPhotos(): Promise<void> {
    this.loadingPhotos = true;
    try {
      this.photos = await session.api.photos();
      const f = selection.focusId;
      // A focus nobody chose follows the first photo at once (no scroll to where it moved meanwhile).
      if (selection.automatic && views.view === 'grid') selection.focusFirst();
      // Focus the first photo of the grid once it is known.
      else if (f === null || !this.photos.some((p) => p.id === f)) queueMicrotask(() => selection.focusFirst());
    } finally {
      this.loadingPhotos = false;
    }
  }

  /** Writes culling values into the shared records (no copy of the 100k-element arrays). */
  patch(changes: CullingPatch[]): void {
    const byId = new Map(changes.map((c) => [c.id, c]));
    for (const p of this.photos) {
      const c = byId.get(p.id);
      if (!c) continue;
      if (c.rating !== undefined) p.rating = c.rating;
      if (c.flag !== undefined) {
        p.flag = c.flag;
        // Who set it: "keep the best" (K) or the photographer (any flag key makes it theirs).
        if (c.flagAuto) p.flagAuto = true;
        else delete p.flagAuto;
      }
      if (c.label !== undefined) p.label = c.label as Label | null;
    }
    this.cullVersion++;
    void session.api.stats().then((s) => (this.stats = s), () => {});
  }

  /** Adds a folder and starts indexing it at once (or right after the run under way). */
  async addRoot(dir: string): Promise<boolean> {
    const path = dir.trim();
    if (!path) return false;
    try {
      const before = new Set(this.roots);
      this.roots = await session.api.addRoot(path);
      this.stats = await session.api.stats();
      // The library's own spelling of the folder (~ expanded, resolved); a folder already there is not indexed again (Update index does).
      for (const root of this.roots) if (!before.has(root)) void jobs.indexFolder(root);
      return true;
    } catch (err) {
      toasts.show(err, `Cannot add "${path}"`);
      return false;
    }
  }

  async removeRoot(dir: string): Promise<void> {
    try {
      this.roots = await session.api.removeRoot(dir);
      await session.refresh();
    } catch (err) {
      toasts.show(err, `Cannot remove "${dir}"`);
    }
  }

  /** The native folder chooser (Electron only; null in the browser). */
  async chooseFolder(): Promise<string | null> {
    if (!session.api.chooseFolder) return null;
    try {
      return await session.api.chooseFolder();
    } catch (err) {
      toasts.show(err, 'Cannot open the folder chooser');
      return null;
    }
  }
}

export const library = new Library();
