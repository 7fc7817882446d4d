// What the desktop app and `npm run serve` run on: the data folder, the library database, the
// CLIP model (same resolution as the CLI: --model > the model the library was indexed with >
// $CULL_MODEL_DIR > the downloaded default, electron/services/model-source.ts) and the open Library. Without a model the library stays
// closed and the window shows a first-run screen: modelStatus() says what is missing and
// downloadModel() fetches the default model, then opens the library. No Electron import here.
import fs from 'node:fs';
import path from 'node:path';
import type { DownloadProgress as FullDownloadProgress } from '../../native-models/download.ts';
import { approxDownloadSize, modelDir as registryModelDir, registryEntry } from '../../native-models/registry.ts';
import type { ModelDownloadProgress, ModelStatus } from '../../common/api-types.ts';
import type { ModelService } from '../transport/jobs.ts';
import { Library } from './library.ts';
import { downloadKnownModel, localModelDir } from './model-source.ts';
import { readRememberedModel, type RememberedModel } from '../../db/library-model.ts';
import { dataDir, defaultDbPath, modelsDir } from './paths.ts';
import { BusyError, UserError } from '../../common/errors.ts';

export interface AppServicesOptions {
  /** Library database (default: library.db in the data folder, as for the CLI). */
  db?: string;
  /** A model folder or a registry id (default: $CULL_MODEL_DIR, else the default registry model). */
  model?: string;
  quantized?: boolean;
  threads?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface AppPaths {
  dataDir: string;
  dbPath: string;
  /** The model folder in use or expected; null until a registry model is downloaded. */
  modelDir: string | null;
  /** Registry id when the model comes from the registry (downloadable), else null (a folder the user chose). */
  modelId: string | null;
  /** The variant to load: --quantized, else the remembered model's. */
  quantized?: boolean;
  /** Set when the model in use is the one the library remembers (it was indexed with it). */
  remembered?: RememberedModel;
}

export function resolveAppPaths(opts: Pick<AppServicesOptions, 'db' | 'model' | 'env' | 'quantized'> = {}): AppPaths {
  const env = opts.env ?? process.env;
  const dbPath = path.resolve(opts.db ?? defaultDbPath({ env }));
  // The library remembers the model it was indexed with: open it with that one unless --model says otherwise.
  const { dir, id, quantized, remembered } = localModelDir({ model: opts.model, env, quantized: opts.quantized, remembered: readRememberedModel(dbPath) });
  return { dataDir: dataDir({ env }), dbPath, modelDir: dir, modelId: id, quantized, remembered };
}

type State =
  | { kind: 'missing'; error?: string }
  | { kind: 'opening'; promise: Promise<Library | null> }
  | { kind: 'ready'; library: Library }
  | { kind: 'downloading'; progress: ModelDownloadProgress }
  | { kind: 'error'; error: string };

export class AppServices implements ModelService {
  readonly paths: AppPaths;
  private state: State = { kind: 'missing' };
  private readonly log: (line: string) => void;

  constructor(private readonly opts: AppServicesOptions = {}) {
    this.paths = resolveAppPaths(opts);
    this.log = opts.log ?? (() => {});
  }

  /** Opens the library when a model is present; resolves either way (check status()). */
  async start(): Promise<ModelStatus> {
    const dir = this.paths.modelDir;
    if (dir) {
      const r = this.paths.remembered;
      if (!fs.existsSync(dir)) {
        this.state = {
          kind: 'error',
          error: r
            ? `This library was indexed with ${r.name}, loaded from ${dir}, which is no longer there: start with --model DIR (its new place) or set CULL_MODEL_DIR.`
            : `Model folder not found: ${dir}.`,
        };
      } else {
        await this.open(dir);
      }
    } else {
      this.state = { kind: 'missing' };
    }
    return this.status();
  }

  private open(modelDir: string): Promise<Library | null> {
    const modelSource = this.paths.modelId ? ({ kind: 'registry', id: this.paths.modelId } as const) : ({ kind: 'folder', path: modelDir } as const);
    const promise = Library.open({ dbPath: this.paths.dbPath, modelDir, modelSource, quantized: this.paths.quantized, threads: this.opts.threads }).then(
      (library) => {
        this.state = { kind: 'ready', library };
        this.paths.modelDir = modelDir;
        this.log(`library ${this.paths.dbPath} open with ${library.model.name} (${modelDir})`);
        const change = library.modelChange;
        if (change) {
          this.log(`this library was indexed with ${change.from.name} (${change.from.id}); indexing with ${change.to.name} embeds its ${change.toEmbed} photo(s) again`);
        }
        return library;
      },
      (err: unknown) => {
        this.state = { kind: 'error', error: err instanceof Error ? err.message : String(err) };
        this.log(`cannot open the library: ${this.state.error}`);
        return null;
      },
    );
    this.state = { kind: 'opening', promise };
    return promise;
  }

  /** The open library, null without one, or a promise while it is being opened. */
  getLibrary(): Library | null | Promise<Library | null> {
    if (this.state.kind === 'ready') return this.state.library;
    if (this.state.kind === 'opening') return this.state.promise;
    return null;
  }

  private downloadInfo(): ModelStatus['download'] {
    if (!this.paths.modelId) return undefined;
    const entry = registryEntry(this.paths.modelId);
    return { id: entry.id, name: entry.name, bytes: approxDownloadSize(entry, this.paths.quantized) || null };
  }

  async status(): Promise<ModelStatus> {
    // Without a model yet: where the download will go.
    const dir = this.paths.modelDir ?? (this.paths.modelId ? registryModelDir(modelsDir(), this.paths.modelId) : '');
    switch (this.state.kind) {
      case 'ready': {
        const m = this.state.library.model;
        return { state: 'ready', dir: m.dir, model: { id: m.id, name: m.name, randomWeights: m.randomWeights, architecture: m.architecture } };
      }
      case 'opening':
        await this.state.promise;
        return this.status();
      case 'downloading':
        return { state: 'downloading', dir, download: this.downloadInfo(), progress: this.state.progress };
      case 'error':
        return { state: 'error', dir, download: this.downloadInfo(), error: this.state.error };
      case 'missing':
        return { state: 'missing', dir, download: this.downloadInfo(), ...(this.state.error ? { error: this.state.error } : {}) };
    }
  }

  /** Downloads the registry model (the default one unless --model named another id), then opens the library. */
  async download(onProgress: (p: ModelDownloadProgress) => void, signal: AbortSignal): Promise<ModelStatus> {
    const id = this.paths.modelId;
    if (!id) {
      throw new UserError(`The model is set to the folder ${this.paths.modelDir} (--model or CULL_MODEL_DIR), so there is nothing to download.`, 'invalid-argument');
    }
    if (this.state.kind === 'ready' || this.state.kind === 'opening') return this.status();
    if (this.state.kind === 'downloading') throw new BusyError('The model is already being downloaded.');
    const previous = this.state;
    this.state = { kind: 'downloading', progress: { received: 0, total: null } };
    try {
      const info = await downloadKnownModel(id, {
        quantized: this.paths.quantized,
        signal,
        onProgress: (p) => {
          // native-models/download.ts reports totals over all files too; model-source's type only names the per-file part.
          const all = p as Partial<FullDownloadProgress> & typeof p;
          const progress: ModelDownloadProgress = {
            received: all.received ?? p.bytes,
            total: all.received !== undefined ? (all.expectedTotal ?? null) : p.total,
            file: p.file,
          };
          this.state = { kind: 'downloading', progress };
          onProgress(progress);
        },
      });
      await this.open(info.dir);
      return this.status();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (signal.aborted) {
        this.state = previous.kind === 'error' ? previous : { kind: 'missing', error: 'The download was cancelled.' };
        throw new UserError('The model download was cancelled.', 'cancelled');
      }
      this.state = { kind: 'missing', error: `The download failed: ${message}` };
      throw err;
    }
  }

  async close(): Promise<void> {
    const lib = await this.getLibrary();
    this.state = { kind: 'missing' };
    await lib?.close();
  }
}
