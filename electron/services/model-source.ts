// Which CLIP model to use, in one place for the CLI, the app and the server:
// --model DIR (a local folder: never downloads) or --model ID > the model the library remembers
// (the one it was indexed with, db/library-model.ts) > $CULL_MODEL_DIR > the default model,
// downloaded into the user's data folder on first use.
import fs from 'node:fs';
import path from 'node:path';
import { downloadModel, verifyModel } from '../../native-models/download.ts';
import { UserError } from '../../common/errors.ts';
import type { ModelSource, RememberedModel } from '../../db/library-model.ts';
import { runCanary, requireCanary, type Canary, type CanaryResult } from '../../native-models/canary.ts';
import { loadModelFolder, MANIFEST_FILE } from '../../native-models/folder.ts';
import {
  DEFAULT_MODEL_ID,
  REGISTRY,
  approxDownloadSize,
  installedModelDir,
  modelDir,
  registryEntry,
  type RegistryEntry,
} from '../../native-models/registry.ts';
import type { ModelInfo } from '../../native-models/types.ts';
import { modelsDir } from './paths.ts';

export type DownloadProgress = { file: string; bytes: number; total: number | null; rate?: number };

export interface ResolveOptions {
  /** A folder path, or a registry id. */
  model?: string;
  quantized?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The model the library was indexed with: used unless `model` asks for another. */
  remembered?: RememberedModel | null;
  onDownloadProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || ref.startsWith('.') || fs.existsSync(ref);
}

export interface LocalModel {
  /** The folder to load; null while the registry model `id` is not downloaded yet. */
  dir: string | null;
  /** Registry id when the model comes from the registry (downloadable), else null (a folder). */
  id: string | null;
  /** Set when the choice is the library's remembered model. */
  remembered?: RememberedModel;
  /** The variant to load: the flag when given, else the remembered model's. */
  quantized?: boolean;
}

/** The model folder to use, without downloading: a path, or null when a registry model is not installed yet. */
export function localModelDir(opts: Pick<ResolveOptions, 'model' | 'env' | 'remembered' | 'quantized'> = {}): LocalModel {
  const envRef = (opts.env ?? process.env).CULL_MODEL_DIR || undefined; // an empty variable means "not set"
  const r = opts.model ? null : opts.remembered;
  if (r && (r.source.kind === 'registry' || fs.existsSync(r.source.path) || !envRef)) {
    const quantized = opts.quantized ?? r.quantized;
    if (r.source.kind === 'folder') return { dir: r.source.path, id: null, remembered: r, quantized };
    registryEntry(r.source.id);
    return { dir: installedModelDir(modelsDir(), r.source.id), id: r.source.id, remembered: r, quantized };
  }
  // Asked for (--model), nothing remembered yet, or the remembered folder is gone and $CULL_MODEL_DIR says where it is now.
  const ref = opts.model || envRef;
  if (ref && looksLikePath(ref)) return { dir: path.resolve(ref), id: null, quantized: opts.quantized };
  const id = ref ?? DEFAULT_MODEL_ID;
  registryEntry(id); // unknown ids fail here with the list of known ones
  return { dir: installedModelDir(modelsDir(), id), id, quantized: opts.quantized };
}

/** Where a chosen model comes from, as the library records it. */
export function sourceOf(choice: Pick<LocalModel, 'dir' | 'id'>, info: ModelInfo): ModelSource {
  return choice.id ? { kind: 'registry', id: choice.id } : { kind: 'folder', path: choice.dir ?? info.dir };
}

/** Loads the model to use (see the top of this file), downloading a known model on first use. */
export async function resolveModel(opts: ResolveOptions = {}): Promise<ModelInfo> {
  return (await chooseModel(opts)).info;
}

/** resolveModel, with where the model came from (for the library to remember). */
export async function chooseModel(opts: ResolveOptions = {}): Promise<{ info: ModelInfo; source: ModelSource }> {
  const choice = localModelDir(opts);
  const r = choice.remembered;
  if (r?.source.kind === 'folder' && !fs.existsSync(r.source.path)) {
    throw new UserError(
      `This library was indexed with ${r.name}, loaded from ${r.source.path}, which is no longer there. ` +
        'Pass --model DIR with the folder\'s new place (or set CULL_MODEL_DIR); a different model would embed every photo again.',
      'no-model',
    );
  }
  const info = choice.dir
    ? loadModelFolder(choice.dir, { quantized: choice.quantized })
    : await downloadKnownModel(choice.id!, { quantized: choice.quantized, onProgress: opts.onDownloadProgress, signal: opts.signal });
  return { info, source: sourceOf(choice, info) };
}

export async function downloadKnownModel(
  id: string = DEFAULT_MODEL_ID,
  opts: {
    quantized?: boolean; onProgress?: (p: DownloadProgress) => void; signal?: AbortSignal; baseUrl?: string;
    /** Tests: another registry entry and other canaries than the shipped ones. */
    entry?: RegistryEntry; canaries?: readonly Canary[]; allowHttp?: boolean;
  } = {},
): Promise<ModelInfo> {
  const entry = opts.entry ?? registryEntry(id);
  const dir = modelDir(modelsDir(), entry.id);
  const info = await downloadModel(entry, { dir, quantized: opts.quantized, onProgress: opts.onProgress, signal: opts.signal, baseUrl: opts.baseUrl, allowHttp: opts.allowHttp });
  // Once after every download: the canary through our preprocessing and runtime. A model that
  // fails it is refused: its manifest goes, so it is not "installed" and nothing opens it.
  try {
    await requireCanary(info, opts.canaries);
  } catch (err) {
    await fs.promises.rm(path.join(dir, MANIFEST_FILE), { force: true });
    throw err;
  }
  return info;
}

export interface ModelListing {
  id: string;
  name: string;
  isDefault: boolean;
  bytes: number;
  installed: boolean;
  dir: string;
}

export async function listModels(): Promise<ModelListing[]> {
  return Object.values(REGISTRY).map((e) => ({
    id: e.id,
    name: e.name,
    isDefault: e.id === DEFAULT_MODEL_ID,
    bytes: approxDownloadSize(e),
    installed: installedModelDir(modelsDir(), e.id) !== null,
    dir: modelDir(modelsDir(), e.id),
  }));
}

export async function verifyKnownModel(
  ref?: string,
  opts: { canaries?: readonly Canary[] } = {},
): Promise<{ ok: boolean; dir: string; files: number; problems: string[]; canary: CanaryResult }> {
  const dir = ref && looksLikePath(ref) ? path.resolve(ref) : installedModelDir(modelsDir(), ref ?? DEFAULT_MODEL_ID);
  if (!dir) throw new UserError(`Model "${ref ?? DEFAULT_MODEL_ID}" is not downloaded yet: run cull models download.`, 'no-model');
  const hashes = await verifyModel(dir);
  // The canary (fp32 vision tower preferred), through the same code the indexer runs.
  let canary: CanaryResult;
  try {
    canary = await runCanary(loadModelFolder(dir), opts.canaries);
  } catch (err) {
    canary = { status: 'none', message: `canary not run: ${(err as Error).message}` };
  }
  const problems = canary.status === 'fail' ? [...hashes.problems, canary.message] : hashes.problems;
  return { dir, ...hashes, ok: problems.length === 0, problems, canary };
}
