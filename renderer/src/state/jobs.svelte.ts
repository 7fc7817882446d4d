// Owns the long-running work and its progress: indexing the root folders, exporting photos, and
// the first-run model download (the model status shown while no model is installed).
import type { ModelDownloadProgress, ModelStatus } from '../../../common/api-types.ts';
import type { ExportSummary, IndexProgress, IndexSummary } from '../../../common/types.ts';
import { toUiError, type UiError } from '../lib/format.ts';
import { ranking } from './ranking.svelte.ts';
import { session } from './session.svelte.ts';
import { toasts } from './toasts.svelte.ts';

export interface IndexState {
  running: boolean;
  progress: IndexProgress | null;
  errors: { path: string; reason: string }[];
  summary: IndexSummary | null;
}

export interface ExportState {
  running: boolean;
  done: number;
  total: number;
  current: string | null;
  summary: ExportSummary | null;
  error: UiError | null;
}

export interface ExportRun {
  ids: number[];
  to: string;
  mode: 'copy' | 'link';
  xmp: boolean;
  report: string | null;
  createFolder?: boolean;
}

class Jobs {
  indexing = $state<IndexState>({ running: false, progress: null, errors: [], summary: null });
  exporting = $state<ExportState>({ running: false, done: 0, total: 0, current: null, summary: null, error: null });
  /** Set while no model is installed (first-run screen), or a download is under way. */
  model = $state.raw<ModelStatus | null>(null);
  downloading = $state(false);

  // ---- indexing --------------------------------------------------------------------------------

  async startIndex(roots?: string[]): Promise<void> {
    if (this.indexing.running || this.calling) return;
    this.calling = true;
    this.indexing = { running: true, progress: null, errors: [], summary: null };
    try {
      this.finishIndex(await session.api.index(roots));
    } catch (err) {
      this.indexing.running = false;
      // Another window (or an HTTP client) is indexing this library: this folder waits for that run.
      if (toUiError(err).code === 'busy') this.queue(roots);
      else {
        if (toUiError(err).code !== 'cancelled') toasts.show(err, 'Indexing failed');
        void session.refresh(); // what the run stored before it failed is listed
      }
    } finally {
      this.calling = false;
      this.runQueued();
    }
  }

  /**
   * A folder was just added: index it now, or right after the run under way (the add never meets
   * a "busy" error). Folders queued during one run are indexed together in the next.
   */
  async indexFolder(root: string): Promise<void> {
    if (this.indexing.running || this.calling) this.queue([root]);
    else await this.startIndex([root]);
  }

  /** Folders waiting for the running index (undefined: every folder). */
  private queued: Set<string> | null = null;
  private queuedAll = false;
  /** An index call of this window is under way (its end runs what was queued). */
  private calling = false;

  private queue(roots: string[] | undefined): void {
    if (!roots) this.queuedAll = true;
    else for (const r of roots) (this.queued ??= new Set()).add(r);
  }

  private runQueued(): void {
    if (this.calling || this.indexing.running || (!this.queuedAll && !this.queued)) return;
    const roots = this.queuedAll ? undefined : [...this.queued!];
    this.queued = null;
    this.queuedAll = false;
    void this.startIndex(roots);
  }

  onIndexProgress(p: IndexProgress): void {
    // A run this window did not start (another window, an HTTP client): show it from its start.
    if (!this.indexing.running && !this.calling && p.phase !== 'done') this.indexing = { running: true, progress: null, errors: [], summary: null };
    const errors = this.indexing.errors;
    if (p.lastError && !errors.some((x) => x.path === p.lastError!.path)) errors.push(p.lastError);
    this.indexing.running = p.phase !== 'done';
    this.indexing.progress = p;
  }

  /** The 'index-done' event: this window's own call reports its run itself (the event may come after a queued run started). */
  onIndexDone(summary: IndexSummary): void {
    if (!this.calling) this.finishIndex(summary);
  }

  /** Both the index call and the 'index-done' event end here; the first reloads the library. */
  finishIndex(summary: IndexSummary): void {
    const first = !this.indexing.summary;
    this.indexing.running = false;
    this.indexing.summary = summary;
    for (const e of summary.errors) {
      if (!this.indexing.errors.some((x) => x.path === e.path)) this.indexing.errors.push(e);
    }
    if (first) void session.refresh();
    // A run this window did not start has ended: folders added meanwhile are indexed now.
    if (!this.calling) queueMicrotask(() => this.runQueued());
  }

  async cancelIndex(): Promise<void> {
    // Cancel means stop: folders waiting for this run are not started either (Update index does them).
    this.queued = null;
    this.queuedAll = false;
    try {
      await session.api.cancelIndex();
    } catch (err) {
      toasts.show(err, 'Cannot cancel indexing');
    }
  }

  // ---- export ----------------------------------------------------------------------------------

  async runExport(opts: ExportRun): Promise<void> {
    this.exporting = { running: true, done: 0, total: opts.ids.length, current: null, summary: null, error: null };
    // The report gets each exported photo's scores for the active ranking.
    let scores: Record<number, Record<string, number>> | undefined;
    const r = ranking.current;
    if (r) {
      scores = {};
      for (const id of opts.ids) {
        const s = r.score.get(id);
        if (s === undefined) continue;
        scores[id] = { ...(r.parts.get(id) ?? {}), [r.kind === 'search' ? 'search' : 'score']: s };
      }
    }
    try {
      this.exporting.summary = await session.api.exportPhotos({
        photoIds: opts.ids,
        to: opts.to,
        mode: opts.mode,
        xmp: opts.xmp,
        report: opts.report || undefined,
        scores,
        createFolder: opts.createFolder,
      });
    } catch (err) {
      this.exporting.error = toUiError(err); // the dialog says it is the export; the message says what happened
    } finally {
      this.exporting.running = false;
    }
  }

  onExportProgress(done: number, total: number, current?: string): void {
    this.exporting.done = done;
    this.exporting.total = total;
    this.exporting.current = current ?? null;
  }

  /** The dialog closes: forget the last export's outcome. */
  clearExport(): void {
    this.exporting.summary = null;
    this.exporting.error = null;
  }

  async cancelExport(): Promise<void> {
    try {
      await session.api.cancelExport();
    } catch (err) {
      toasts.show(err, 'Cannot cancel the export');
    }
  }

  // ---- model download (first run) -------------------------------------------------------------

  async downloadModel(): Promise<void> {
    this.downloading = true;
    try {
      await this.onModelStatus(await session.api.downloadModel());
    } catch (err) {
      const e = toUiError(err, 'Download failed');
      if (e.code !== 'cancelled' && this.model) this.model = { ...this.model, state: 'error', error: `${e.message} ${e.hint}` };
    } finally {
      this.downloading = false;
    }
  }

  async cancelDownload(): Promise<void> {
    try {
      await session.api.cancelDownload();
    } catch (err) {
      toasts.show(err, 'Cannot cancel the download');
    }
  }

  onDownloadProgress(progress: ModelDownloadProgress): void {
    if (this.model) this.model = { ...this.model, state: 'downloading', progress };
  }

  /** A model is ready: open the library (once); otherwise show the status on the first-run screen. */
  async onModelStatus(status: ModelStatus): Promise<void> {
    if (session.ready) return;
    if (status.state !== 'ready') {
      this.model = status;
      return;
    }
    try {
      await session.openLibrary();
    } catch (err) {
      session.fatal = toUiError(err, 'Cannot open the library');
    }
  }
}

export const jobs = new Jobs();
