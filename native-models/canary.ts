// The canary: a published reference output of a real model, checked on the user's machine through
// Cull's own preprocessing (decodeImage, as the indexer calls it) and runtime (openClipModel /
// embedImages). No test can load the real weights, so this is what proves that the ONNX files,
// onnxruntime on this CPU and the preprocessing together compute what the model's publishers get.
// `cull models verify` reports it; the app runs it once after every download and refuses a model
// that fails (electron/services/model-source.ts downloadKnownModel).
//
// The reference (canaries/*.json, with its source) is the L2-normalised embedding of a uniform grey
// image; a uniform image survives resize and crop unchanged, so the model input is exactly
// (grey/255 - mean_c) / std_c whatever the resampler. Only a prefix of the dimensions is published:
// the drift is measured on it (max |Δ| against the tolerance, and the cosine of the two prefixes).
import fs from 'node:fs';
import sharp from 'sharp';
import { ModelFolderError } from './errors.ts';
import { decodeImage } from './preprocess.ts';
import { openClipModel } from './runtime.ts';
import type { ModelInfo } from './types.ts';

export interface Canary {
  /** The model id it belongs to (cull-model.json `id`, the registry id for downloaded models). */
  modelId: string;
  /** Hub repository and revision the reference was computed on, and the files it covers. */
  model: string;
  revision: string;
  files: Record<string, string>;
  /** The grey level of every channel (0…255). */
  grey: number;
  /** Max |Δ| allowed on any published dimension. */
  tolerance_max_abs: number;
  /** The first values.length dimensions of the L2-normalised fp32 image embedding. */
  values: number[];
  source: string;
}

export function loadCanary(file: URL | string): Canary {
  const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Canary;
  if (!c.modelId || !Array.isArray(c.values) || c.values.length === 0 || !(c.tolerance_max_abs > 0) || !(c.grey >= 0 && c.grey <= 255)) {
    throw new Error(`canary ${String(file)}: needs modelId, grey, tolerance_max_abs and values`);
  }
  return c;
}

/** The canaries shipped with Cull (copied from the published references, sources inside). */
export const CANARIES: readonly Canary[] = [loadCanary(new URL('./canaries/clip-vit-b-32.json', import.meta.url))];

export type CanaryResult =
  | { status: 'none'; message: string }
  | {
      status: 'pass' | 'fail';
      /** The ONNX file checked (the vision tower). */
      file: string;
      /** Dimensions compared, max |Δ| on them and the cosine of the two prefixes (null when the model did not run). */
      dims: number;
      maxAbsDiff: number | null;
      cosine: number | null;
      tolerance: number;
      message: string;
    };

/** The canary for `info`, or why there is none. Canaries are for fp32 vision towers only. */
export function canaryFor(info: ModelInfo, canaries: readonly Canary[] = CANARIES): { canary: Canary } | { none: string } {
  const id = info.quantized ? info.id.replace(/-quantized$/, '') : info.id; // folder.ts suffixes quantized ids
  const canary = canaries.find((c) => c.modelId === id);
  if (!canary) {
    const what = info.randomWeights ? 'a generated model with random weights' : 'no published reference output';
    return { none: `no canary for model "${info.id}" (${what}); canaries exist for: ${canaries.map((c) => c.modelId).join(', ') || 'none'}` };
  }
  if (info.quantized) {
    return { none: `no canary for the quantized vision tower of "${id}": its reference is for the fp32 tower (int8 results differ between CPUs)` };
  }
  return { canary };
}

const fmt = (x: number) => (x === 0 ? '0' : x.toExponential(2));

/**
 * Embeds a uniform grey image with `info`'s model exactly as the indexer would and compares the
 * result with the canary's reference. Never throws for a bad model: a model that cannot run fails.
 */
export async function runCanary(info: ModelInfo, canaries: readonly Canary[] = CANARIES, opts: { threads?: number } = {}): Promise<CanaryResult> {
  const found = canaryFor(info, canaries);
  if ('none' in found) return { status: 'none', message: found.none };
  const { canary } = found;
  const file = info.visionFile;
  const dims = canary.values.length;
  const tolerance = canary.tolerance_max_abs;
  const failed = (why: string): CanaryResult => ({
    status: 'fail', file, dims, maxAbsDiff: null, cosine: null, tolerance,
    message: `${file}: canary failed: ${why}`,
  });
  if (info.dim < dims) return failed(`the model's embeddings have ${info.dim} dimensions, the reference ${dims}`);

  let embedding: Float32Array;
  try {
    const g = canary.grey;
    const image = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: g, g, b: g } } }).png().toBuffer();
    const decoded = await decodeImage(image, { clip: info.preprocess, thumbnail: false });
    const model = await openClipModel(info, { threads: opts.threads });
    try {
      embedding = await model.embedImages(decoded.pixels!, 1);
    } finally {
      await model.dispose();
    }
  } catch (err) {
    return failed(`the model did not run: ${(err as Error).message}`);
  }

  let maxAbsDiff = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < dims; i++) {
    const [a, b] = [embedding[i], canary.values[i]];
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a - b));
    dot += a * b;
    na += a * a;
    nb += b * b;
  }
  const cosine = na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
  if (!Number.isFinite(maxAbsDiff)) maxAbsDiff = Infinity;
  const drift = `max |Δ| ${fmt(maxAbsDiff)} (tolerance ${fmt(tolerance)}), cosine ${cosine.toFixed(8)} over the first ${dims} of ${info.dim} dimensions of a grey image's embedding`;
  const ok = maxAbsDiff <= tolerance;
  return {
    status: ok ? 'pass' : 'fail', file, dims, maxAbsDiff, cosine, tolerance,
    message: ok
      ? `canary OK: ${drift}, against the reference of ${canary.model}@${canary.revision.slice(0, 7)} (${file})`
      : `${file}: canary drift ${drift}: this model does not compute what ${canary.model}@${canary.revision.slice(0, 7)} computes`,
  };
}

/** Runs the canary and throws a ModelFolderError naming the file and the drift when it fails. */
export async function requireCanary(info: ModelInfo, canaries: readonly Canary[] = CANARIES, opts: { threads?: number } = {}): Promise<CanaryResult> {
  const result = await runCanary(info, canaries, opts);
  if (result.status === 'fail') throw new ModelFolderError(`Refusing the model in ${info.dir}: ${result.message}.`, info.dir, result.file);
  return result;
}
