// Image encoder alone on ready tensors (batch size × intra-op threads sweep), and the int8
// (*_quantized) encoder against fp32: throughput and agreement of the embeddings.
import * as ort from 'onnxruntime-node';
import { loadModelFolder } from '../../native-models/folder.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import type { ClipModel } from '../../native-models/types.ts';
import { log, round } from './util.ts';

export interface EncoderPoint {
  threads: number;
  batch: number;
  imgPerSec: number;
}

export interface EncoderResult {
  points: EncoderPoint[];
  best: EncoderPoint;
}

/** `count` images: the decoded photos repeated, as one CHW float32 block. */
function tile(pixels: Float32Array[], count: number): Float32Array {
  const n = pixels[0].length;
  const out = new Float32Array(count * n);
  for (let i = 0; i < count; i++) out.set(pixels[i % pixels.length], i * n);
  return out;
}

/** Images per second of `model` at `batch`, over at least `seconds` (after one warm-up run). */
async function throughput(model: ClipModel, pixels: Float32Array[], batch: number, seconds: number): Promise<number> {
  const input = tile(pixels, batch);
  await model.embedImages(input, batch);
  let images = 0;
  const t = performance.now();
  do {
    await model.embedImages(input, batch);
    images += batch;
  } while (performance.now() - t < seconds * 1000 || images < 2 * batch);
  return images / ((performance.now() - t) / 1000);
}

export async function measureEncoder(
  modelDir: string,
  pixels: Float32Array[],
  opts: { batches: number[]; threads: number[]; seconds: number },
): Promise<EncoderResult> {
  const info = loadModelFolder(modelDir, { quantized: false });
  const points: EncoderPoint[] = [];
  for (const threads of opts.threads) {
    const model = await openClipModel(info, { threads });
    try {
      for (const batch of opts.batches) {
        const imgPerSec = await throughput(model, pixels, batch, opts.seconds);
        points.push({ threads, batch, imgPerSec: round(imgPerSec, 2) });
        log(`encoder: threads ${threads}, batch ${String(batch).padStart(2)} → ${imgPerSec.toFixed(2)} img/s`);
      }
    } finally {
      await model.dispose();
    }
  }
  const best = points.reduce((a, b) => (b.imgPerSec > a.imgPerSec ? b : a));
  return { points, best };
}

export interface QuantizedResult {
  fp32ImgPerSec: number;
  /** Through the runtime at `cfg.batch` images per call: quantized towers run one image per session run. */
  int8ImgPerSec: number;
  /** The quantized ONNX session run directly on batches of 8 (batch-dependent embeddings: what the runtime avoids). */
  int8Batch8ImgPerSec: number;
  /** The same session, one image per run (what the runtime does for quantized towers). */
  int8Batch1ImgPerSec: number;
  speedup: number;
  /** Mean / min cosine between the fp32 and int8 embeddings of the same photos. */
  meanCosine: number;
  minCosine: number;
  photos: number;
}

/** fp32 vs *_quantized image encoder at one configuration, on the same decoded photos. */
export async function measureQuantized(
  modelDir: string,
  pixels: Float32Array[],
  cfg: { threads: number; batch: number; seconds: number },
): Promise<QuantizedResult> {
  const embedAll = async (model: ClipModel): Promise<Float32Array> => {
    const dim = model.info.dim;
    const out = new Float32Array(pixels.length * dim);
    for (let i = 0; i < pixels.length; i += cfg.batch) {
      const part = pixels.slice(i, i + cfg.batch);
      out.set(await model.embedImages(tile(part, part.length), part.length), i * dim);
    }
    return out;
  };
  const run = async (quantized: boolean) => {
    const model = await openClipModel(loadModelFolder(modelDir, { quantized }), { threads: cfg.threads });
    try {
      const rate = await throughput(model, pixels, cfg.batch, cfg.seconds);
      return { rate, vectors: await embedAll(model), dim: model.info.dim };
    } finally {
      await model.dispose();
    }
  };
  const fp32 = await run(false);
  const int8 = await run(true);
  // The quantized session itself at batch 8 vs batch 1, same options as native-models/runtime.ts.
  const q = loadModelFolder(modelDir, { quantized: true });
  const session = await ort.InferenceSession.create(q.visionFile, {
    graphOptimizationLevel: 'all', executionMode: 'sequential', intraOpNumThreads: cfg.threads, interOpNumThreads: 1,
    extra: { session: { 'intra_op.allow_spinning': '0', 'inter_op.allow_spinning': '0' } },
  });
  const side = q.preprocess.imageSize;
  const sessionRate = async (batch: number) => {
    const feeds = { pixel_values: new ort.Tensor('float32', tile(pixels, batch), [batch, 3, side, side]) };
    await session.run(feeds);
    let images = 0;
    const t = performance.now();
    do {
      await session.run(feeds);
      images += batch;
    } while (performance.now() - t < cfg.seconds * 1000 || images < 2 * batch);
    return images / ((performance.now() - t) / 1000);
  };
  let batch1 = 0;
  let batch8 = 0;
  try {
    // Alternated, best of 3 each: the machine is shared, and other load only ever slows a run down.
    for (let round = 0; round < 3; round++) {
      batch8 = Math.max(batch8, await sessionRate(8));
      batch1 = Math.max(batch1, await sessionRate(1));
    }
  } finally {
    await session.release();
  }
  const dim = fp32.dim;
  let sum = 0;
  let min = 1;
  for (let i = 0; i < pixels.length; i++) {
    let c = 0;
    for (let j = 0; j < dim; j++) c += fp32.vectors[i * dim + j] * int8.vectors[i * dim + j]; // both unit length
    sum += c;
    min = Math.min(min, c);
  }
  return {
    fp32ImgPerSec: round(fp32.rate, 2),
    int8ImgPerSec: round(int8.rate, 2),
    int8Batch8ImgPerSec: round(batch8, 2),
    int8Batch1ImgPerSec: round(batch1, 2),
    speedup: round(int8.rate / fp32.rate, 2),
    meanCosine: round(sum / pixels.length, 4),
    minCosine: round(min, 4),
    photos: pixels.length,
  };
}
