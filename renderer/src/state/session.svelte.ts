// Owns the connection and the app's life cycle: the CullApi the window talks to, startup (the
// first-run screen while no model is installed, else the library), the fatal error, the server's
// events routed to the stores that own what they report, and reloading after the library changed.
import type { CullApi, ServerEvent } from '../../../common/api-types.ts';
import { toUiError, type UiError } from '../lib/format.ts';
import { RefreshPacer } from '../lib/refresh-pace.ts';
import { culling } from './culling.svelte.ts';
import { jobs } from './jobs.svelte.ts';
import { library } from './library.svelte.ts';
import { judged } from './judged.svelte.ts';
import { ranking } from './ranking.svelte.ts';
import { selection } from './selection.svelte.ts';
import { stacks } from './stacks.svelte.ts';
import { taste } from './taste.svelte.ts';
import { toasts } from './toasts.svelte.ts';
import { views } from './views.svelte.ts';

class Session {
  api!: CullApi;
  /** The library is open (the first-run screen and the fatal error are not shown). */
  ready = $state(false);
  fatal = $state<UiError | null>(null);
  /** When reloads run (lib/refresh-pace.ts): spaced while indexing, never two at once. */
  private readonly pacer = new RefreshPacer(() => this.reload(), () => jobs.indexing.running);

  async init(api: CullApi): Promise<void> {
    this.api = api;
    api.onEvent((e) => this.onEvent(e));
    try {
      const status = await api.modelStatus();
      if (status.state !== 'ready') {
        // First run: no model yet. The first-run screen offers the download; the library opens
        // when a 'model-status' event says the model is ready.
        jobs.model = status;
        return;
      }
      await this.openLibrary();
    } catch (err) {
      this.fatal = toUiError(err, 'Cannot open the library');
    }
  }

  async openLibrary(): Promise<void> {
    await library.open();
    void judged.loadProblems();
    culling.restoreHistory();
    jobs.model = null;
    this.ready = true;
    void taste.load();
  }

  private onEvent(e: ServerEvent): void {
    switch (e.type) {
      case 'index-progress':
        jobs.onIndexProgress(e.progress);
        break;
      case 'index-done':
        jobs.onIndexDone(e.summary);
        break;
      case 'export-progress':
        jobs.onExportProgress(e.done, e.total, e.current);
        break;
      case 'library-changed':
        if (this.ready) this.pacer.changed();
        break;
      case 'model-download-progress':
        jobs.onDownloadProgress(e.progress);
        break;
      case 'model-status':
        void jobs.onModelStatus(e.status);
        break;
    }
  }

  /**
   * Reloads the library now (after indexing ended, a folder was removed…); if a reload is under
   * way, once more right after it, so nothing it reads predates the call. 'library-changed' events
   * reload through the pacer instead: spaced while indexing (within ~2 s of new scores), and the
   * event that follows a run's end is left to the reload that ended it.
   */
  refresh(): Promise<void> {
    return this.pacer.now();
  }

  /** The library, then the ranking and the stacks over it. Selection, focus and the open loupe stay (by photo id). */
  private async reload(): Promise<void> {
    try {
      await library.reload();
      void judged.refresh();
      if (ranking.current) await ranking.rerank();
      if (stacks.on) await stacks.load();
      // While photos and scores arrive, a focus nobody chose follows the grid's first photo (the
      // view stays at the top); a photo the photographer focused stays focused wherever it moves.
      if (selection.automatic && views.view === 'grid') selection.focusFirst();
    } catch (err) {
      toasts.show(err, 'Refreshing the library failed');
    }
  }
}

export const session = new Session();
