// Loads and validates a CLIP model folder in the Hugging Face / transformers.js ONNX layout.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ModelFolderError } from './errors.ts';
import type { ModelInfo, PreprocessSpec } from './types.ts';

export const MANIFEST_FILE = 'cull-model.json';
/** Present while a download into the folder is under way (or was killed): such a folder is never loaded. */
export const DOWNLOAD_MARKER = 'cull-download.incomplete';

/** cull-model.json: written last by the downloader (and by the test-model generator). */
export interface CullModelManifest {
  id: string;
  name?: string;
  randomWeights?: boolean;
  repo?: string;
  revision?: string;
  downloadedAt?: string;
  /** Per-file SHA-256 and size, checked by verifyModel(). */
  files?: Record<string, { sha256: string; size: number; verifiedBy?: 'registry' | 'etag' | 'none' }>;
}

const HELP = 'run `cull models download` or pass --model DIR with a complete model folder';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/**
 * Validates `dir` and describes the model in it. `quantized: true` uses onnx/*_quantized.onnx;
 * left undefined, the full-precision files are preferred and the quantized ones used when alone.
 */
export function loadModelFolder(dir: string, opts: { quantized?: boolean } = {}): ModelInfo {
  dir = path.resolve(dir);
  const fail = (msg: string, file: string | null = null): never => {
    throw new ModelFolderError(`${msg} — ${HELP}`, dir, file);
  };
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) fail(`model folder not found: ${dir}`);
  // A half-downloaded model is never loaded: the downloader's marker, or any partial file.
  const partial = ['', 'onnx'].flatMap((sub) => {
    try {
      return fs.readdirSync(path.join(dir, sub)).filter((f) => f.endsWith('.part')).map((f) => (sub ? `${sub}/${f}` : f));
    } catch {
      return [];
    }
  });
  if (fs.existsSync(path.join(dir, DOWNLOAD_MARKER)) || partial.length) {
    fail(
      `the model download into ${dir} did not finish (${partial.length ? `partial file ${partial[0]}` : `${DOWNLOAD_MARKER} is still there`}); run \`cull models download\` again to resume it`,
      partial[0] ?? DOWNLOAD_MARKER,
    );
  }

  const readJson = (file: string): Json => {
    const full = path.join(dir, file);
    if (!fs.existsSync(full)) return fail(`${file} is missing in model folder ${dir}`, file);
    let value: unknown;
    try {
      value = JSON.parse(fs.readFileSync(full, 'utf8'));
    } catch (err) {
      return fail(`${file} in ${dir} is not valid JSON (${(err as Error).message})`, file);
    }
    return isObject(value) ? value : fail(`${file} in ${dir} is not a JSON object`, file);
  };
  const requireFile = (file: string): string => {
    const full = path.join(dir, file);
    const size = fs.existsSync(full) ? fs.statSync(full).size : -1;
    if (size < 0) fail(`${file} is missing in model folder ${dir}`, file);
    if (size === 0) fail(`${file} in ${dir} is empty (interrupted download?)`, file);
    return full;
  };

  const config = readJson('config.json');
  const dim = config.projection_dim;
  if (!isPositive(dim) || !Number.isInteger(dim)) fail(`config.json in ${dir} has no valid projection_dim`, 'config.json');
  const vision = config.vision_config;
  if (!isObject(vision)) return fail(`config.json in ${dir} has no vision_config (not a CLIP model?)`, 'config.json');

  const preprocess = readPreprocess(readJson('preprocessor_config.json'), (msg) => fail(`preprocessor_config.json in ${dir}: ${msg}`, 'preprocessor_config.json'));
  if (vision.image_size !== undefined && vision.image_size !== preprocess.imageSize) {
    fail(`preprocessor_config.json in ${dir} crops to ${preprocess.imageSize} px but config.json vision_config.image_size is ${String(vision.image_size)}`, 'preprocessor_config.json');
  }

  const tokenizerFile = requireFile('tokenizer.json');
  const onnx = (name: string, q: boolean) => `onnx/${name}${q ? '_quantized' : ''}.onnx`;
  const present = (q: boolean) => ['vision_model', 'text_model'].filter((n) => fs.existsSync(path.join(dir, onnx(n, q)))).length;
  // Quantized by default only in a folder without any full-precision tower (a quantized download).
  const quantized = opts.quantized ?? (present(false) === 0 && present(true) === 2);
  const visionFile = requireFile(onnx('vision_model', quantized));
  const textFile = requireFile(onnx('text_model', quantized));

  const manifest = readManifest(dir, fail);
  // Files the downloader recorded must still have their recorded size (cheap; `cull models verify`
  // re-hashes them).
  for (const [file, want] of Object.entries(manifest?.files ?? {})) {
    if (!/^[\w.-]+(\/[\w.-]+)*$/.test(file) || file.split('/').some((seg) => seg === '..' || seg === '.')) {
      fail(`${MANIFEST_FILE} in ${dir} lists an unsafe file name "${file}"`, MANIFEST_FILE);
    }
    const size = fs.existsSync(path.join(dir, file)) ? fs.statSync(path.join(dir, file)).size : -1;
    if (size < 0) fail(`${file} is missing in model folder ${dir} (listed in ${MANIFEST_FILE})`, file);
    if (want && typeof want.size === 'number' && size !== want.size) {
      fail(`${file} in ${dir} is ${size} bytes but the download recorded ${want.size} (incomplete or changed; \`cull models verify\` checks every file)`, file);
    }
  }
  const configText = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
  // A folder without cull-model.json is keyed by its config and the ONNX files' content (not their
  // sizes: re-exported weights of the same size must not reuse stale embeddings and text features).
  const baseId = manifest?.id ?? `local-${shortHash(`${configText}\n${weightHashes(dir, [visionFile, textFile]).join('\n')}`)}`;
  const logitScale = config.logit_scale;

  return {
    // Quantized towers embed differently: never mix their vectors with the fp32 ones.
    id: manifest?.id && quantized ? `${baseId}-quantized` : baseId,
    name: manifest?.name ?? (typeof config._name_or_path === 'string' && config._name_or_path ? config._name_or_path : path.basename(dir)),
    dir,
    dim: dim as number,
    preprocess,
    // Explicit multiplier only; logit_scale_init_value is the untrained initial value (log space).
    logitScale: isPositive(logitScale) ? logitScale : 100,
    visionFile,
    textFile,
    tokenizerFile,
    quantized,
    architecture: architectureOf(vision, dim as number),
    randomWeights: manifest?.randomWeights === true,
  };
}

function readPreprocess(cfg: Json, fail: (msg: string) => never): PreprocessSpec {
  const triple = (key: string): [number, number, number] => {
    const v = cfg[key];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      return fail(`${key} must be three numbers`);
    }
    return v as [number, number, number];
  };
  const side = (v: unknown, what: string): number => {
    const n = typeof v === 'number' ? v : isObject(v) ? (v.shortest_edge ?? (v.height === v.width ? v.height : undefined)) : undefined;
    return isPositive(n) && Number.isInteger(n) ? n : fail(`unsupported ${what} ${JSON.stringify(v)} (expected a square size)`);
  };
  if (cfg.do_resize === false || cfg.do_center_crop === false) fail('resize and centre crop must be enabled (CLIP preprocessing)');
  const mean = triple('image_mean');
  const std = triple('image_std');
  if (!std.every((s) => s > 0)) fail('image_std must be positive');
  const resize = side(cfg.size, 'size');
  const crop = cfg.crop_size === undefined ? resize : side(cfg.crop_size, 'crop_size');
  // PreprocessSpec has one side: CLIP resizes the shortest side to exactly the crop size.
  if (resize !== crop) fail(`resize ${resize} differs from crop ${crop}; only CLIP-style resize-to-crop is supported`);
  return { imageSize: crop, mean, std };
}

function readManifest(dir: string, fail: (msg: string, file: string) => never): CullModelManifest | null {
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(file)) return null;
  let m: unknown;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    return fail(`${MANIFEST_FILE} in ${dir} is not valid JSON (${(err as Error).message})`, MANIFEST_FILE);
  }
  if (!isObject(m) || typeof m.id !== 'string' || !/^[\w.-]{1,100}$/.test(m.id)) {
    return fail(`${MANIFEST_FILE} in ${dir} has no valid "id"`, MANIFEST_FILE);
  }
  return m as unknown as CullModelManifest;
}

/** Known vision towers, recognised from config.json (enables the matching LAION aesthetic head). */
function architectureOf(v: Json, dim: number): string | null {
  const known: [string, number, number, number, number][] = [
    // name, hidden_size, patch_size, layers, projection_dim
    ['ViT-B/32', 768, 32, 12, 512],
    ['ViT-B/16', 768, 16, 12, 512],
    ['ViT-L/14', 1024, 14, 24, 768],
  ];
  const hit = known.find(([, h, p, l, d]) => v.hidden_size === h && v.patch_size === p && v.num_hidden_layers === l && dim === d);
  return hit && (v.image_size ?? 224) === 224 ? hit[0] : null;
}

/** Cache of the ONNX files' SHA-256 in a local model folder, keyed by (path, size, mtime). */
export const WEIGHT_HASH_CACHE = 'cull-weights-sha256.json';

interface WeightHashCache {
  version: 1;
  files: Record<string, { size: number; mtimeMs: number; sha256: string }>;
}

/** How many ONNX files were actually hashed (not taken from the cache) since the process started. */
export const weightHashStats = { hashed: 0 };

/**
 * SHA-256 of each file, streamed once and then cached in `dir`/WEIGHT_HASH_CACHE by (path, size,
 * mtime): a 600 MB model is hashed on its first load only, not on every start. A folder that cannot
 * be written (read-only media) is hashed on every load.
 */
function weightHashes(dir: string, files: string[]): string[] {
  const cacheFile = path.join(dir, WEIGHT_HASH_CACHE);
  let cache: WeightHashCache = { version: 1, files: {} };
  try {
    const parsed = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as WeightHashCache;
    if (parsed?.version === 1 && isObject(parsed.files)) cache = parsed;
  } catch {
    // missing or unreadable: start afresh
  }
  let changed = false;
  const hashes = files.map((file) => {
    const rel = path.relative(dir, file).split(path.sep).join('/');
    const st = fs.statSync(file);
    const hit = cache.files[rel];
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && /^[0-9a-f]{64}$/.test(hit.sha256)) return hit.sha256;
    const sha256 = hashFileSync(file);
    // Only cache when the file did not change while it was read.
    const after = fs.statSync(file);
    if (after.size === st.size && after.mtimeMs === st.mtimeMs) {
      cache.files[rel] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
      changed = true;
    }
    return sha256;
  });
  if (changed) {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, `${JSON.stringify(cache, null, 2)}\n`);
      fs.renameSync(tmp, cacheFile);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }
  return hashes;
}

function hashFileSync(file: string): string {
  weightHashStats.hashed++;
  const hash = crypto.createHash('sha256');
  const buf = Buffer.allocUnsafe(4 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function shortHash(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 12);
}
