// The long-running calls: indexing, export and the model download. One of each at a time, each
// cancellable through an AbortController, their progress forwarded as throttled ServerEvents.
// The method table (electron/transport/methods.ts) starts and cancels them; the dispatcher owns one
// Jobs per transport and disposes of it when the window closes or the server stops.
import fs from 'node:fs';
import type { ExportRequest, ModelDownloadProgress, ModelStatus, ServerEvent } from '../../common/api-types.ts';
import type { ExportOptions, ExportSummary, IndexProgress, IndexSummary } from '../../common/types.ts';
import { BusyError, NotFoundError, UserError } from '../../common/errors.ts';
import type { LibraryApi } from './methods.ts';

/** Model presence and download (electron/services/app-services.ts); optional for a server given a ready library. */
export interface ModelService {
  status(): Promise<ModelStatus>;
  download(onProgress: (p: ModelDownloadProgress) => void, signal: AbortSignal): Promise<ModelStatus>;
}

export type MaybeLibrary = LibraryApi | null | Promise<LibraryApi | null>;

export const NO_MODEL =
  'No CLIP model is installed yet. Download the default model from the first-run screen, or point CULL_MODEL_DIR at a model folder.';

/** The open library, or a UserError 'no-model' without one. */
export async function requireLibrary(lib: MaybeLibrary): Promise<LibraryApi> {
  const open = await lib;
  if (!open) throw new UserError(NO_MODEL, 'no-model');
  return open;
}

/**
 * Calls `fn` at most once per `ms` with the latest value; `urgent` values (phase changes, the
 * final update) go through at once. A pending value is flushed by a timer so the UI never stalls
 * on a stale number.
 */
export function throttle<T>(fn: (value: T) => void, ms: number, urgent: (prev: T | undefined, next: T) => boolean = () => false) {
  let last = 0;
  let prev: T | undefined;
  let pending: { value: T } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const emit = (value: T) => {
    last = Date.now();
    prev = value;
    pending = null;
    fn(value);
  };
  const push = (value: T) => {
    if (urgent(prev, value) || Date.now() - last >= ms) {
      if (timer) clearTimeout(timer);
      timer = null;
      emit(value);
      return;
    }
    pending = { value };
    timer ??= setTimeout(() => {
      timer = null;
      if (pending) emit(pending.value);
    }, Math.max(0, ms - (Date.now() - last)));
  };
  /** Drops anything pending (call when the job has finished and sent its own final event). */
  push.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    pending = null;
  };
  return push;
}

/** While indexing, 'library-changed' goes out at most this often (the window then reloads its photo list). */
export const LIVE_CHANGES_MS = 1000;

export interface JobsOptions {
  getLibrary(): MaybeLibrary;
  models?: ModelService;
  emit(event: ServerEvent): void;
  /** Minimum milliseconds between two forwarded progress events of one job. */
  progressIntervalMs: number;
}

export class Jobs {
  private indexJob: AbortController | null = null;
  private exportJob: AbortController | null = null;
  private downloadJob: AbortController | null = null;

  constructor(private readonly opts: JobsOptions) {}

  emit(event: ServerEvent): void {
    this.opts.emit(event);
  }

  cancel(kind: 'index' | 'export' | 'download'): void {
    ({ index: this.indexJob, export: this.exportJob, download: this.downloadJob })[kind]?.abort();
  }

  async modelStatus(): Promise<ModelStatus> {
    if (this.opts.models) return this.opts.models.status();
    const lib = await this.opts.getLibrary();
    if (!lib) return { state: 'missing', dir: '' };
    const { id, name, randomWeights, architecture } = lib.model;
    return { state: 'ready', dir: lib.model.dir ?? '', model: { id, name, randomWeights, architecture } };
  }

  // Each job claims its slot before any await, so a cancel sent right after the start finds it.

  async downloadModel(): Promise<ModelStatus> {
    const models = this.opts.models;
    if (!models) throw new NotFoundError('Model download is not available here: start the server with a model (--model or CULL_MODEL_DIR).');
    if (this.downloadJob) throw new BusyError('The model is already being downloaded.');
    const job = (this.downloadJob = new AbortController());
    const progress = throttle((p: ModelDownloadProgress) => this.emit({ type: 'model-download-progress', progress: p }), this.opts.progressIntervalMs,
      (prev, next) => prev?.file !== next.file);
    try {
      const status = await models.download(progress, job.signal);
      progress.cancel();
      this.emit({ type: 'model-status', status });
      if (status.state === 'ready') this.emit({ type: 'library-changed' });
      return status;
    } catch (err) {
      progress.cancel();
      this.emit({ type: 'model-status', status: await models.status() });
      throw err;
    } finally {
      this.downloadJob = null;
    }
  }

  async index(roots: string[] | undefined): Promise<IndexSummary> {
    if (this.indexJob) throw new BusyError('Indexing is already running; wait for it or cancel it.');
    const job = (this.indexJob = new AbortController());
    const progress = throttle((p: IndexProgress) => this.emit({ type: 'index-progress', progress: p }), this.opts.progressIntervalMs,
      (prev, next) => prev?.phase !== next.phase || next.phase === 'done' || (!!next.lastError && next.lastError !== prev?.lastError));
    // Photos listed and embeddings stored during the run: the window reloads in steps (throttled:
    // each reload re-reads the photo list), so photos appear as they are read and scores as they land.
    const grew = throttle(() => this.emit({ type: 'library-changed' }), LIVE_CHANGES_MS);
    let stored = '0/0';
    const onProgress = (p: IndexProgress) => {
      progress(p);
      const now = `${p.listed ?? 0}/${p.indexed}`;
      if (now !== stored && p.phase !== 'done') grew(undefined);
      stored = now;
    };
    try {
      const lib = await requireLibrary(this.opts.getLibrary());
      const summary = await lib.index(roots, { onProgress, signal: job.signal }).finally(() => grew.cancel());
      progress.cancel();
      this.emit({ type: 'index-done', summary });
      this.emit({ type: 'library-changed' });
      return summary;
    } catch (err) {
      progress.cancel();
      if (job.signal.aborted) throw new UserError('Indexing was cancelled.', 'cancelled');
      throw err;
    } finally {
      this.indexJob = null;
    }
  }

  async exportPhotos(request: ExportRequest): Promise<ExportSummary> {
    const { createFolder, ...opts } = request;
    if (this.exportJob) throw new BusyError('An export is already running; wait for it or cancel it.');
    const job = (this.exportJob = new AbortController());
    type P = { done: number; total: number; current?: string };
    const progress = throttle((p: P) => this.emit({ type: 'export-progress', ...p }), this.opts.progressIntervalMs, (_prev, next) => next.done === next.total);
    try {
      const lib = await requireLibrary(this.opts.getLibrary());
      // Validated: an existing folder or one new level inside an existing folder.
      if (createFolder) await fs.promises.mkdir(opts.to).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw new UserError(`Cannot create the folder ${opts.to}: ${err.message}`, 'invalid-argument');
      });
      return await lib.exportPhotos(opts as ExportOptions, (done, total, current) => progress({ done, total, current }), job.signal);
    } catch (err) {
      if (job.signal.aborted) throw new UserError('The export was cancelled.', 'cancelled');
      throw err;
    } finally {
      progress.cancel();
      this.exportJob = null;
    }
  }

  /** Cancels running jobs (window closing, server shutting down). */
  dispose(): void {
    this.indexJob?.abort();
    this.exportJob?.abort();
    this.downloadJob?.abort();
  }
}
