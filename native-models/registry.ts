// Models Cull can download, pinned to an exact Hugging Face commit so every install embeds photos
// with the same weights (stored embeddings stay comparable).
import fs from 'node:fs';
import path from 'node:path';

export interface RegistryFile {
  /** Path inside the repository, also the path inside the model folder. */
  path: string;
  /** SHA-256 and size known in advance (checked in addition to the server's X-Linked-Etag). */
  sha256?: string;
  size?: number;
  /** Which ONNX precision needs the file; absent = always needed. */
  variant?: 'fp32' | 'quantized';
}

export interface RegistryEntry {
  id: string;
  name: string;
  repo: string;
  /** 40-hex commit of `repo`. */
  revision: string;
  license: string;
  files: RegistryFile[];
}

export const DEFAULT_MODEL_ID = 'clip-vit-b-32';
export const HF_BASE_URL = 'https://huggingface.co';

// Revision d15189d7028b43f1d3e65039190477f6af591c2a (2025-07-08) of Xenova/clip-vit-base-patch32.
// The hub is unreachable from the build machine; the commit and the LFS hashes below were taken
// from several independent public projects that pin this exact revision and agree on them.
// The download is verified against the server's X-Linked-Etag regardless.
// The small JSON files are pinned too (the hub's ETag for non-LFS files is a git SHA-1, not checked):
// a wrong mean/std in preprocessor_config.json would silently shift every embedding.
const CLIP_VIT_B_32: RegistryEntry = {
  id: DEFAULT_MODEL_ID,
  name: 'OpenAI CLIP ViT-B/32',
  repo: 'Xenova/clip-vit-base-patch32',
  revision: 'd15189d7028b43f1d3e65039190477f6af591c2a',
  license: 'MIT (OpenAI CLIP)',
  files: [
    { path: 'config.json', sha256: '493ef57ff783e42d1530c91b53469b7fdf8db8a9c1408e86998fcb7899a4f495', size: 4_524 },
    { path: 'preprocessor_config.json', sha256: '6f638fb9401a6d6296feff533ee7efe657b787c49f954f82f5906b36ef2a1b1f', size: 520 },
    { path: 'tokenizer.json', sha256: 'f7f3b7af117d467b58374797691a6438d3e6b9e9cef800dfd5dced7f697a90cd', size: 2_224_119 },
    { path: 'tokenizer_config.json', sha256: '60ba2912bc6344c94bc16bbdec27fa1209409167b6f2fdf3cfe9e65462ea3967', size: 775 },
    { path: 'special_tokens_map.json', sha256: 'c4864a9376a8401918425bed71fc14fc0e81f9b59ec45c1cf96cccb2df508eac', size: 472 },
    {
      path: 'onnx/vision_model.onnx', variant: 'fp32',
      sha256: 'fd6e1402a588279d1723c7534d4bcba5bc0b14b47dfab0e46f8c47b8270d7d40', size: 351_685_709,
    },
    {
      path: 'onnx/text_model.onnx', variant: 'fp32',
      sha256: '3f6571f5bad13a97c469c1622e1cfc4d9aef78b79fdbfcff804ca357bfada8cc', size: 254_058_553,
    },
    {
      path: 'onnx/vision_model_quantized.onnx', variant: 'quantized',
      sha256: '583fd1110a514667812fee7d684952aaf82a99b959760c8d7dca7e0ab9839299', size: 89_117_001,
    },
    {
      path: 'onnx/text_model_quantized.onnx', variant: 'quantized',
      sha256: '73baab855d406190da9faa498cfedf65f15cf309f4cc7385b7b032e6d08e5c3a', size: 64_504_507,
    },
  ],
};

export const REGISTRY: Readonly<Record<string, RegistryEntry>> = { [CLIP_VIT_B_32.id]: CLIP_VIT_B_32 };

export function registryEntry(id: string = DEFAULT_MODEL_ID): RegistryEntry {
  const entry = REGISTRY[id];
  if (!entry) throw new Error(`unknown model "${id}" (known: ${Object.keys(REGISTRY).join(', ')})`);
  return entry;
}

/** The files to fetch for one precision (fp32 by default, or the smaller quantized ONNX pair). */
export function filesFor(entry: RegistryEntry, quantized = false): RegistryFile[] {
  const want = quantized ? 'quantized' : 'fp32';
  return entry.files.filter((f) => !f.variant || f.variant === want);
}

/** Bytes of the big files (sizes known in advance): the number a first-run screen shows. */
export function approxDownloadSize(entry: RegistryEntry, quantized = false): number {
  return filesFor(entry, quantized).reduce((sum, f) => sum + (f.size ?? 0), 0);
}

/** `<base>/<repo>/resolve/<revision>/<file>`, each path segment escaped. */
export function fileUrl(entry: RegistryEntry, file: string, baseUrl = HF_BASE_URL): string {
  const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  return `${baseUrl.replace(/\/+$/, '')}/${enc(entry.repo)}/resolve/${enc(entry.revision)}/${enc(file)}`;
}

/** Where a registry model lives inside `store` (the app's model folder, electron/services/paths.ts modelsDir). */
export function modelDir(store: string, id: string = DEFAULT_MODEL_ID): string {
  return path.join(store, id);
}

/** The folder of a completely downloaded model (its cull-model.json is written last), else null. */
export function installedModelDir(store: string, id: string = DEFAULT_MODEL_ID): string | null {
  const dir = modelDir(store, id);
  return fs.existsSync(path.join(dir, 'cull-model.json')) ? dir : null;
}
