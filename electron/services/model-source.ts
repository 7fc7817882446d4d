// Which CLIP model to use, in one place for the CLI, the app and the server:
// --model DIR (a local folder: never downloads) > --model ID > $CULL_MODEL_DIR > the default model,
// downloaded into the user's data folder on first use.
import fs from 'node:fs';
import path from 'node:path';
import { downloadModel, verifyModel } from '../../native-models/download.ts';
import { UserError } from '../../common/errors.ts';
import { loadModelFolder } from '../../native-models/folder.ts';
import {
  DEFAULT_MODEL_ID,
  REGISTRY,
  approxDownloadSize,
  installedModelDir,
  modelDir,
  registryEntry,
} from '../../native-models/registry.ts';
import type { ModelInfo } from '../../native-models/types.ts';
import { modelsDir } from './paths.ts';

export type DownloadProgress = { file: string; bytes: number; total: number | null; rate?: number };

export interface ResolveOptions {
  /** A folder path, or a registry id. */
  model?: string;
  quantized?: boolean;
  env?: NodeJS.ProcessEnv;
  onDownloadProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || ref.startsWith('.') || fs.existsSync(ref);
}

/** The model folder to use, without downloading: a path, or null when the default is not installed yet. */
export function localModelDir(opts: Pick<ResolveOptions, 'model' | 'env'> = {}): { dir: string | null; id: string | null } {
  const ref = opts.model || (opts.env ?? process.env).CULL_MODEL_DIR || undefined; // an empty variable means "not set"
  if (ref && looksLikePath(ref)) return { dir: path.resolve(ref), id: null };
  const id = ref ?? DEFAULT_MODEL_ID;
  registryEntry(id); // unknown ids fail here with the list of known ones
  return { dir: installedModelDir(modelsDir(), id), id };
}

/** Loads the model to use, downloading a known model on first use. */
export async function resolveModel(opts: ResolveOptions = {}): Promise<ModelInfo> {
  const { dir, id } = localModelDir(opts);
  if (dir) return loadModelFolder(dir, { quantized: opts.quantized });
  return downloadKnownModel(id!, { quantized: opts.quantized, onProgress: opts.onDownloadProgress, signal: opts.signal });
}

export async function downloadKnownModel(
  id: string = DEFAULT_MODEL_ID,
  opts: { quantized?: boolean; onProgress?: (p: DownloadProgress) => void; signal?: AbortSignal; baseUrl?: string } = {},
): Promise<ModelInfo> {
  const entry = registryEntry(id);
  return downloadModel(entry, { dir: modelDir(modelsDir(), id), quantized: opts.quantized, onProgress: opts.onProgress, signal: opts.signal, baseUrl: opts.baseUrl });
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

export async function verifyKnownModel(ref?: string): Promise<{ ok: boolean; dir: string; files: number; problems: string[] }> {
  const dir = ref && looksLikePath(ref) ? path.resolve(ref) : installedModelDir(modelsDir(), ref ?? DEFAULT_MODEL_ID);
  if (!dir) throw new UserError(`Model "${ref ?? DEFAULT_MODEL_ID}" is not downloaded yet: run cull models download.`, 'no-model');
  return { dir, ...(await verifyModel(dir)) };
}
