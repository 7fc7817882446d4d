// CLIP inference with onnxruntime-node: image and text towers, L2-normalised embeddings. The image
// session runs on the calling thread (indexing's); the text tower and its tokenizer live in a worker
// thread (text-session.ts), so loading them never stalls a process that serves the window.
import fs from 'node:fs';
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { TextSession, type Int64Feed } from './text-session.ts';
import type { ClipModel, ModelInfo } from './types.ts';

/** Texts encoded per text-model run; prompts are short, so this bounds memory, not speed. */
const TEXT_BATCH = 64;

// BATCH_INDEPENDENT_RUNS: the *_quantized exports quantize activations per whole tensor
// (DynamicQuantizeLinear takes one scale over the batch), so in a batch one image's or prompt's
// embedding depends on its neighbours (4.5e-3 / 7.6e-3 on the generated model; fp32: exactly 0).
// Quantized towers therefore run one image / one prompt per session run; the cost is in the
// bench (`quantized_batch1_img_per_s` vs `quantized_batch8_img_per_s`).

export interface OpenClipModelOptions {
  /** Intra-op threads per session; defaults to the number of cores. */
  threads?: number;
  /**
   * Create the image session on first `embedImages` instead of now. A library opened to score and
   * search never needs it, and it costs ~1.3 s (blocking: onnxruntime loads synchronously) and
   * ~560 MB for ViT-B/32. A broken image model then fails at the first indexing, not at open.
   */
  lazyVision?: boolean;
}

/** Scales each `dim`-long row of `arr` to unit length, in place; returns `arr`. */
export function l2normalizeRows(arr: Float32Array, dim: number): Float32Array {
  for (let off = 0; off < arr.length; off += dim) {
    let sum = 0;
    for (let i = off; i < off + dim; i++) sum += arr[i] * arr[i];
    const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
    for (let i = off; i < off + dim; i++) arr[i] *= inv;
  }
  return arr;
}

/** Cull's onnxruntime session settings (CLIP here, the face gate in face-gate.ts). */
export function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableMemPattern: true,
    // No busy-waiting between parallel sections: while indexing, photo decodes share the cores
    // with inference, and a spinning thread only takes time from them (same inference speed alone).
    extra: { session: { 'intra_op.allow_spinning': '0', 'inter_op.allow_spinning': '0' } },
  };
}

async function createSession(file: string, threads: number): Promise<ort.InferenceSession> {
  if (!fs.existsSync(file)) throw new Error(`ONNX model file not found: ${file}`);
  try {
    return await ort.InferenceSession.create(file, sessionOptions(threads));
  } catch (err) {
    throw new Error(`Could not load ONNX model ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function checkOutput(outputNames: readonly string[], name: string, file: string): void {
  if (!outputNames.includes(name)) throw new Error(`ONNX model ${file} has no output "${name}" (outputs: ${outputNames.join(', ')})`);
}

function checkShape(dims: readonly number[], name: string, rows: number, dim: number, file: string): void {
  if (dims.length !== 2 || dims[0] !== rows || dims[1] !== dim) {
    throw new Error(`ONNX model ${file} returned ${name} of shape [${dims.join(', ')}], expected [${rows}, ${dim}]`);
  }
}

/** Runs `session` and returns a copy of output `name` checked to be rows × dim. */
async function runEmbeddings(
  session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, name: string, rows: number, dim: number, file: string,
): Promise<Float32Array> {
  checkOutput(session.outputNames, name, file);
  const result = await session.run(feeds, [name]);
  const out = result[name];
  try {
    checkShape(out.dims, name, rows, dim, file);
    return Float32Array.from(out.data as Float32Array);
  } finally {
    out.dispose();
  }
}

class OnnxClipModel implements ClipModel {
  private textSession: Promise<TextSession> | null = null;
  private visionSession: Promise<ort.InferenceSession> | null;
  textReady = false;

  constructor(
    readonly info: ModelInfo,
    vision: ort.InferenceSession | null,
    private readonly threads: number,
  ) {
    this.visionSession = vision && Promise.resolve(vision);
  }

  async embedImages(pixels: Float32Array, count: number): Promise<Float32Array> {
    const { dim, visionFile, preprocess } = this.info;
    const side = preprocess.imageSize;
    if (pixels.length !== count * 3 * side * side) {
      throw new Error(`embedImages: expected ${count}×3×${side}×${side} floats, got ${pixels.length}`);
    }
    if (count === 0) return new Float32Array(0);
    const session = await this.vision();
    // Quantized towers scale activations per whole tensor: one run per image, so an image's
    // embedding never depends on what else is in its batch (see BATCH_INDEPENDENT_RUNS).
    const per = this.info.quantized ? 1 : count;
    const out = new Float32Array(count * dim);
    const n = 3 * side * side;
    for (let start = 0; start < count; start += per) {
      const rows = Math.min(per, count - start);
      const input = new ort.Tensor('float32', pixels.subarray(start * n, (start + rows) * n), [rows, 3, side, side]);
      out.set(await runEmbeddings(session, { pixel_values: input }, 'image_embeds', rows, dim, visionFile), start * dim);
    }
    return l2normalizeRows(out, dim);
  }

  async embedTexts(texts: string[]): Promise<Float32Array> {
    const { dim, textFile } = this.info;
    const result = new Float32Array(texts.length * dim);
    if (texts.length === 0) return result;
    const session = await this.text();
    const encoded = (await session.encode(texts)).map((ids, index) => ({ index, ids }));

    // Sorting by length keeps padding minimal. Padding with the end token changes nothing:
    // the causal mask hides later positions and pooling takes the FIRST end token (ArgMax).
    encoded.sort((a, b) => a.ids.length - b.ids.length);
    const perRun = this.info.quantized ? 1 : TEXT_BATCH; // one prompt per run when quantized, as for images
    for (let start = 0; start < encoded.length; start += perRun) {
      const batch = encoded.slice(start, start + perRun);
      const len = batch[batch.length - 1].ids.length;
      const ids = new BigInt64Array(batch.length * len).fill(BigInt(session.endTokenId));
      const mask = new BigInt64Array(batch.length * len);
      batch.forEach((e, row) => {
        e.ids.forEach((id, j) => {
          ids[row * len + j] = BigInt(id);
          mask[row * len + j] = 1n;
        });
      });
      const feeds: Record<string, Int64Feed> = { input_ids: { data: ids, dims: [batch.length, len] } };
      // Real exports may also take a padding mask; ours rely on the causal mask alone.
      if (session.inputNames.includes('attention_mask')) feeds.attention_mask = { data: mask, dims: [batch.length, len] };
      checkOutput(session.outputNames, 'text_embeds', textFile);
      const { data: out, dims } = await session.run(feeds, 'text_embeds');
      checkShape(dims, 'text_embeds', batch.length, dim, textFile);
      batch.forEach((e, row) => result.set(out.subarray(row * dim, (row + 1) * dim), e.index * dim));
    }
    return l2normalizeRows(result, dim);
  }

  async prepareText(): Promise<void> {
    await this.text();
  }

  async dispose(): Promise<void> {
    const [vision, text] = [this.visionSession, this.textSession];
    this.visionSession = this.textSession = null;
    this.textReady = false;
    if (vision) await (await vision.catch(() => null))?.release();
    if (text) await (await text.catch(() => null))?.release();
  }

  /** The image session, created on first use when opened with `lazyVision`. */
  private vision(): Promise<ort.InferenceSession> {
    if (!this.visionSession) {
      this.visionSession = createSession(this.info.visionFile, this.threads);
      this.visionSession.catch(() => (this.visionSession = null)); // allow a retry after a failure
    }
    return this.visionSession;
  }

  /** The text session (and tokenizer, in their worker) is created on first use: indexing photos never needs it. */
  private text(): Promise<TextSession> {
    if (!this.textSession) {
      const session = TextSession.open(this.info.textFile, this.info.tokenizerFile, sessionOptions(this.threads));
      this.textSession = session;
      session.then(
        () => (this.textReady = this.textSession === session),
        () => (this.textSession = null), // allow a retry after a failure
      );
    }
    return this.textSession;
  }
}

export async function openClipModel(info: ModelInfo, opts: OpenClipModelOptions = {}): Promise<ClipModel> {
  const threads = opts.threads ?? os.availableParallelism();
  const vision = opts.lazyVision ? null : await createSession(info.visionFile, threads);
  return new OnnxClipModel(info, vision, threads);
}
