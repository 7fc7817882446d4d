// The one mapping from CullApi method names to the Library facade, shared by the Electron IPC
// handlers (electron/transport/ipc.ts) and the HTTP server (electron/transport/server.ts): validate the
// arguments (electron/transport/validate.ts), call the facade, turn failures into ApiErrors. It owns the
// long-running jobs (index, export, model download): one of each at a time, cancellable through
// an AbortController, their progress forwarded as throttled ServerEvents. No scoring logic here.
import fs from 'node:fs';
import type {
  ApiError,
  ExportRequest,
  GroupsOptions,
  ModelDownloadProgress,
  ModelStatus,
  PhotoGroupInfo,
  PreviousCulling,
  ServerEvent,
  TasteModelInfo,
} from '../../common/api-types.ts';
import type {
  AttributeQuery,
  CullingChange,
  ExportOptions,
  ExportSummary,
  IndexProgress,
  IndexSummary,
  LibraryStats,
  PhotoFilter,
  PhotoRecord,
  ScoredPhoto,
} from '../../common/types.ts';
import type { PresetInfo } from '../../common/api-types.ts';
import type { ApiErrorCode } from '../../common/api-types.ts';
import { ApiException, toApiError, validateArgs, type ApiMethod } from './validate.ts';

/** The part of electron/services/library.ts `Library` the transports use (structural, so tests can fake it). */
export interface LibraryApi {
  readonly model: { id: string; name: string; randomWeights: boolean; architecture: string | null; dir?: string };
  stats(): Promise<LibraryStats>;
  roots(): Promise<string[]>;
  addRoot(dir: string): Promise<string[]>;
  removeRoot(dir: string): Promise<string[]>;
  index(
    roots: string[] | undefined,
    opts?: { onProgress?: (p: IndexProgress) => void; signal?: AbortSignal },
  ): Promise<IndexSummary>;
  presets(): Promise<PresetInfo[]>;
  parseQuery(text: string): Promise<AttributeQuery>;
  /** `paths: false`: results with empty paths (the window has its photo records). */
  score(query: string | AttributeQuery, opts?: { filter?: PhotoFilter; top?: number; paths?: boolean }): Promise<ScoredPhoto[]>;
  search(text: string, opts?: { filter?: PhotoFilter; top?: number; paths?: boolean }): Promise<ScoredPhoto[]>;
  explain(photoId: number, query: string | AttributeQuery): Promise<Record<string, number>>;
  explainAll(photoId: number, by?: string): Promise<Record<string, number>>;
  tasteScoresOf(photoId: number): Promise<Record<string, number>>;
  groups(opts?: GroupsOptions): Promise<PhotoGroupInfo[]>;
  rejectGroupCandidates(groups: { ids: number[]; bestId: number }[]): Promise<PreviousCulling[]>;
  bestOfGroupIds(opts?: GroupsOptions & { includeUngrouped?: boolean }): Promise<number[]>;
  tasteModels(): Promise<TasteModelInfo[]>;
  fitTaste(name?: string): Promise<TasteModelInfo>;
  maybeRefitTaste(name?: string, everyN?: number): Promise<TasteModelInfo | null>;
  deleteTaste(name: string): Promise<boolean>;
  photos(filter?: PhotoFilter): Promise<PhotoRecord[]>;
  photo(id: number): Promise<PhotoRecord | null>;
  setCulling(ids: number[], change: CullingChange): Promise<PreviousCulling[]>;
  restoreCulling(previous: PreviousCulling[]): Promise<void>;
  exportPhotos(
    opts: ExportOptions,
    onProgress?: (done: number, total: number, current?: string) => void,
    signal?: AbortSignal,
  ): Promise<ExportSummary>;
  thumbPath(id: number): Promise<string | null>;
  imagePath(id: number): Promise<string | null>;
  isInsideLibrary(absPath: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Model presence and download (electron/services/app-services.ts); optional for a server given a ready library. */
export interface ModelService {
  status(): Promise<ModelStatus>;
  download(onProgress: (p: ModelDownloadProgress) => void, signal: AbortSignal): Promise<ModelStatus>;
}

export interface DispatcherOptions {
  /** The open library, or null while there is no model (methods then fail with 'no-model'); a promise while it opens. */
  getLibrary(): MaybeLibrary;
  models?: ModelService;
  /** Minimum milliseconds between two forwarded progress events of one job (default 100). */
  progressIntervalMs?: number;
}

export type MaybeLibrary = LibraryApi | null | Promise<LibraryApi | null>;

export type CallResult = { ok: true; result: unknown } | { ok: false; error: ApiError };

const NO_MODEL =
  'No CLIP model is installed yet. Download the default model from the first-run screen, or point CULL_MODEL_DIR at a model folder.';

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

/** Plain errors from the facade get this code instead of 'internal' (they are about what the user typed). */
const FALLBACK: Partial<Record<ApiMethod, ApiErrorCode>> = {
  parseQuery: 'invalid-argument',
  score: 'invalid-argument',
  search: 'invalid-argument',
  explain: 'invalid-argument',
  explainAll: 'invalid-argument',
  groups: 'invalid-argument',
  bestOfGroupIds: 'invalid-argument',
  rejectGroupCandidates: 'invalid-argument',
  fitTaste: 'invalid-argument',
  maybeRefitTaste: 'invalid-argument',
  addRoot: 'invalid-argument',
  removeRoot: 'invalid-argument',
};

export class ApiDispatcher {
  private readonly listeners = new Set<(e: ServerEvent) => void>();
  private indexJob: AbortController | null = null;
  private exportJob: AbortController | null = null;
  private downloadJob: AbortController | null = null;
  private readonly inFlight = new Set<Promise<CallResult>>();
  private readonly interval: number;

  constructor(private readonly opts: DispatcherOptions) {
    this.interval = opts.progressIntervalMs ?? 100;
  }

  onEvent(listener: (e: ServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ServerEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A broken listener (closed window, dead socket) must not stop the others.
      }
    }
  }

  /** Validates and runs one call; resolves with an envelope, never rejects (IPC and HTTP both send it as data). */
  invoke(method: string, args: unknown): Promise<CallResult> {
    const pending = this.call(method, args).then(
      (result): CallResult => ({ ok: true, result }),
      (err: unknown): CallResult => ({ ok: false, error: toApiError(err, FALLBACK[method as ApiMethod] ?? 'internal') }),
    );
    this.inFlight.add(pending);
    void pending.finally(() => this.inFlight.delete(pending));
    return pending;
  }

  /** Resolves once every call in flight has finished (after dispose(): before closing the library under them). */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Validates and runs one call; throws ApiException (or the facade's Error) on failure. */
  async call(method: string, rawArgs: unknown): Promise<unknown> {
    let libPromise: Promise<LibraryApi | null> | null = null;
    const getLib = () => (libPromise ??= Promise.resolve(this.opts.getLibrary()));
    const ctx = { roots: async () => (await getLib())?.roots() ?? [] };
    const args = await validateArgs(method, rawArgs, ctx);
    const m = method as ApiMethod;
    switch (m) {
      case 'modelStatus':
        return this.modelStatus();
      case 'downloadModel':
        return this.downloadModel();
      case 'cancelDownload':
        this.downloadJob?.abort();
        return null;
      case 'cancelIndex':
        this.indexJob?.abort();
        return null;
      case 'cancelExport':
        this.exportJob?.abort();
        return null;
      // Jobs claim their slot before any await, so a cancel sent right after the start finds them.
      case 'index':
        return this.runIndex(getLib, args[0] as string[] | undefined);
      case 'exportPhotos':
        return this.runExport(getLib, args[0] as ExportRequest);
    }
    const lib = await getLib();
    if (!lib) throw new ApiException('no-model', NO_MODEL);
    switch (m) {
      case 'stats':
        return lib.stats();
      case 'roots':
        return lib.roots();
      case 'addRoot': {
        const roots = await lib.addRoot(args[0] as string);
        this.emit({ type: 'library-changed' });
        return roots;
      }
      case 'removeRoot': {
        const roots = await lib.removeRoot(args[0] as string);
        this.emit({ type: 'library-changed' });
        return roots;
      }
      case 'presets':
        return lib.presets();
      case 'parseQuery':
        return lib.parseQuery(args[0] as string);
      case 'score':
        return lib.score(args[0] as string | AttributeQuery, args[1] as { filter?: PhotoFilter; top?: number; paths?: boolean } | undefined);
      case 'search':
        return lib.search(args[0] as string, args[1] as { filter?: PhotoFilter; top?: number; paths?: boolean } | undefined);
      case 'explain':
        return lib.explain(args[0] as number, args[1] as string | AttributeQuery);
      case 'explainAll': {
        const id = args[0] as number;
        const [presets, taste] = await Promise.all([lib.explainAll(id), lib.tasteScoresOf(id)]);
        return { presets, taste };
      }
      case 'groups':
        // Without the paths: the window has every photo's record already.
        return (await lib.groups(args[0] as GroupsOptions | undefined)).map(({ ids, bestId, reason, scores, by }) => ({ ids, bestId, reason, scores, by }));
      case 'rejectGroupCandidates':
        return lib.rejectGroupCandidates(args[0] as { ids: number[]; bestId: number }[]);
      case 'bestOfGroupIds':
        return lib.bestOfGroupIds(args[0] as (GroupsOptions & { includeUngrouped?: boolean }) | undefined);
      case 'tasteModels':
        return lib.tasteModels();
      case 'fitTaste':
        return lib.fitTaste(args[0] as string | undefined);
      case 'maybeRefitTaste':
        return lib.maybeRefitTaste(args[0] as string | undefined, args[1] as number | undefined);
      case 'deleteTaste':
        return lib.deleteTaste(args[0] as string);
      case 'photos':
        return lib.photos(args[0] as PhotoFilter | undefined);
      case 'photo':
        return lib.photo(args[0] as number);
      case 'setCulling':
        return lib.setCulling(args[0] as number[], args[1] as CullingChange);
      case 'restoreCulling':
        await lib.restoreCulling(args[0] as PreviousCulling[]);
        return null;
      default:
        throw new ApiException('not-found', `Unknown method "${method}".`);
    }
  }

  private async modelStatus(): Promise<ModelStatus> {
    if (this.opts.models) return this.opts.models.status();
    const lib = await this.opts.getLibrary();
    if (!lib) return { state: 'missing', dir: '' };
    const { id, name, randomWeights, architecture } = lib.model;
    return { state: 'ready', dir: lib.model.dir ?? '', model: { id, name, randomWeights, architecture } };
  }

  private async downloadModel(): Promise<ModelStatus> {
    const models = this.opts.models;
    if (!models) throw new ApiException('not-found', 'Model download is not available here: start the server with a model (--model or CULL_MODEL_DIR).');
    if (this.downloadJob) throw new ApiException('busy', 'The model is already being downloaded.');
    const job = (this.downloadJob = new AbortController());
    const progress = throttle((p: ModelDownloadProgress) => this.emit({ type: 'model-download-progress', progress: p }), this.interval,
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

  private async runIndex(getLib: () => Promise<LibraryApi | null>, roots: string[] | undefined): Promise<IndexSummary> {
    if (this.indexJob) throw new ApiException('busy', 'Indexing is already running; wait for it or cancel it.');
    const job = (this.indexJob = new AbortController());
    const progress = throttle((p: IndexProgress) => this.emit({ type: 'index-progress', progress: p }), this.interval,
      (prev, next) => prev?.phase !== next.phase || next.phase === 'done' || (!!next.lastError && next.lastError !== prev?.lastError));
    try {
      const lib = await getLib();
      if (!lib) throw new ApiException('no-model', NO_MODEL);
      const summary = await lib.index(roots, { onProgress: progress, signal: job.signal });
      progress.cancel();
      this.emit({ type: 'index-done', summary });
      this.emit({ type: 'library-changed' });
      return summary;
    } catch (err) {
      progress.cancel();
      if (job.signal.aborted) throw new ApiException('cancelled', 'Indexing was cancelled.');
      throw err;
    } finally {
      this.indexJob = null;
    }
  }

  private async runExport(getLib: () => Promise<LibraryApi | null>, request: ExportRequest): Promise<ExportSummary> {
    const { createFolder, ...opts } = request;
    if (this.exportJob) throw new ApiException('busy', 'An export is already running; wait for it or cancel it.');
    const job = (this.exportJob = new AbortController());
    type P = { done: number; total: number; current?: string };
    const progress = throttle((p: P) => this.emit({ type: 'export-progress', ...p }), this.interval, (_prev, next) => next.done === next.total);
    try {
      const lib = await getLib();
      if (!lib) throw new ApiException('no-model', NO_MODEL);
      // Validated: an existing folder or one new level inside an existing folder.
      if (createFolder) await fs.promises.mkdir(opts.to).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw new ApiException('invalid-argument', `Cannot create the folder ${opts.to}: ${err.message}`);
      });
      return await lib.exportPhotos(opts as ExportOptions, (done, total, current) => progress({ done, total, current }), job.signal);
    } catch (err) {
      if (job.signal.aborted) throw new ApiException('cancelled', 'The export was cancelled.');
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
    this.listeners.clear();
  }
}
