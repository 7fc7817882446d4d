import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { makeTestModel, TEST_MODEL_DIMS } from '../native-models/testmodel/index.ts';
import { buildTextModel, buildVisionModel, WeightStore, type TowerDims } from '../native-models/testmodel/clip-onnx.ts';

const SHARED = path.resolve(__dirname, '../../shared/clip-tokenizer');
const DIMS = TEST_MODEL_DIMS.tiny;
const EOT = 49407;

let tmp: string;
let modelA: string; // seed 1, with quantized files
let modelB: string; // seed 1 again
let modelC: string; // seed 2

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const loadTokenizer = (dir: string) =>
  new Tokenizer(readJson(path.join(dir, 'tokenizer.json')), readJson(path.join(dir, 'tokenizer_config.json')));

async function session(dir: string, name: string) {
  return ort.InferenceSession.create(path.join(dir, 'onnx', `${name}.onnx`));
}

async function embedText(s: ort.InferenceSession, rows: number[][]): Promise<Float32Array> {
  const len = rows[0].length;
  const ids = BigInt64Array.from(rows.flat().map(BigInt));
  const out = await s.run({ input_ids: new ort.Tensor('int64', ids, [rows.length, len]) });
  expect(out.text_embeds.dims).toEqual([rows.length, DIMS.projection]);
  return out.text_embeds.data as Float32Array;
}

async function embedImage(s: ort.InferenceSession, pixels: Float32Array, count: number): Promise<Float32Array> {
  const out = await s.run({ pixel_values: new ort.Tensor('float32', pixels, [count, 3, 224, 224]) });
  expect(out.image_embeds.dims).toEqual([count, DIMS.projection]);
  return out.image_embeds.data as Float32Array;
}

/** Smooth pseudo-images in roughly CLIP-normalised range. */
function syntheticPixels(count: number, phase: number): Float32Array {
  const px = new Float32Array(count * 3 * 224 * 224);
  for (let i = 0; i < px.length; i++) px[i] = Math.sin(i * 0.0007 * (1 + phase) + phase) * 1.5 + Math.cos(i * 0.013);
  return px;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// ---- Plain-JS reference forward pass (CLIP as in HF transformers), to check the ONNX graphs. ----

function matmul(x: Float32Array, rows: number, w: Float32Array, inDim: number, outDim: number, bias?: Float32Array) {
  const y = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = bias ? bias[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[i * outDim + o];
      y[r * outDim + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float32Array, dim: number) {
  const y = new Float32Array(x.length);
  for (let off = 0; off < x.length; off += dim) {
    let mean = 0, v = 0;
    for (let i = 0; i < dim; i++) mean += x[off + i] / dim;
    for (let i = 0; i < dim; i++) v += (x[off + i] - mean) ** 2 / dim;
    for (let i = 0; i < dim; i++) y[off + i] = (x[off + i] - mean) / Math.sqrt(v + 1e-5);
  }
  return y;
}

function refEncoder(x: Float32Array, S: number, d: TowerDims, prefix: string, w: WeightStore, causal: boolean) {
  const D = d.width, H = d.heads, dh = D / H;
  const lin = (t: Float32Array, p: string, i: number, o: number) => matmul(t, S, w.get(`${p}.weight`), i, o, w.get(`${p}.bias`));
  for (let l = 0; l < d.layers; l++) {
    const p = `${prefix}.encoder.layers.${l}`;
    const h = layerNorm(x, D);
    const q = lin(h, `${p}.self_attn.q_proj`, D, D), k = lin(h, `${p}.self_attn.k_proj`, D, D), v = lin(h, `${p}.self_attn.v_proj`, D, D);
    const ctx = new Float32Array(S * D);
    for (let hd = 0; hd < H; hd++) {
      for (let i = 0; i < S; i++) {
        const scores: number[] = [];
        for (let j = 0; j < S; j++) {
          let s = 0;
          for (let c = 0; c < dh; c++) s += q[i * D + hd * dh + c] * k[j * D + hd * dh + c];
          scores.push(causal && j > i ? -Infinity : s / Math.sqrt(dh));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < S; j++) for (let c = 0; c < dh; c++) ctx[i * D + hd * dh + c] += (e[j] / z) * v[j * D + hd * dh + c];
      }
    }
    const attn = lin(ctx, `${p}.self_attn.out_proj`, D, D);
    x = x.map((val, i) => val + attn[i]);
    const f = lin(layerNorm(x, D), `${p}.mlp.fc1`, D, d.mlp).map((t) => t / (1 + Math.exp(-1.702 * t)));
    const m2 = matmul(f, S, w.get(`${p}.mlp.fc2.weight`), d.mlp, D, w.get(`${p}.mlp.fc2.bias`));
    x = x.map((val, i) => val + m2[i]);
  }
  return x;
}

function refText(ids: number[], w: WeightStore): Float32Array {
  const { width: D } = DIMS.text;
  const S = ids.length;
  const tok = w.get('text_model.embeddings.token_embedding.weight');
  const pos = w.get('text_model.embeddings.position_embedding.weight');
  let x: Float32Array = new Float32Array(S * D);
  for (let i = 0; i < S; i++) for (let c = 0; c < D; c++) x[i * D + c] = tok[ids[i] * D + c] + pos[i * D + c];
  x = layerNorm(refEncoder(x, S, DIMS.text, 'text_model', w, true), D);
  const eot = ids.indexOf(Math.max(...ids));
  return matmul(x.subarray(eot * D, (eot + 1) * D), 1, w.get('text_projection.weight'), D, DIMS.projection);
}

function refVision(px: Float32Array, w: WeightStore): Float32Array {
  const { width: D, patchSize: P, imageSize: side } = DIMS.vision;
  const grid = side / P, S = grid * grid + 1;
  const conv = w.get('vision_model.embeddings.patch_embedding.weight');
  const cls = w.get('vision_model.embeddings.class_embedding');
  const pos = w.get('vision_model.embeddings.position_embedding.weight');
  let x: Float32Array = new Float32Array(S * D);
  for (let c = 0; c < D; c++) x[c] = cls[c];
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const t = 1 + gy * grid + gx;
      for (let o = 0; o < D; o++) {
        let s = 0;
        for (let ch = 0; ch < 3; ch++) {
          for (let ky = 0; ky < P; ky++) {
            for (let kx = 0; kx < P; kx++) {
              s += conv[((o * 3 + ch) * P + ky) * P + kx] * px[(ch * side + gy * P + ky) * side + gx * P + kx];
            }
          }
        }
        x[t * D + o] = s;
      }
    }
  }
  x = x.map((val, i) => val + pos[i]);
  x = refEncoder(layerNorm(x, D), S, DIMS.vision, 'vision_model', w, false);
  return matmul(layerNorm(x.slice(0, D), D), 1, w.get('visual_projection.weight'), D, DIMS.projection);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-testmodel-'));
  modelA = path.join(tmp, 'a');
  modelB = path.join(tmp, 'b');
  modelC = path.join(tmp, 'c');
  await makeTestModel({ out: modelA, size: 'tiny', seed: 1, quantized: true });
  await makeTestModel({ out: modelB, size: 'tiny', seed: 1 });
  await makeTestModel({ out: modelC, size: 'tiny', seed: 2 });
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('makeTestModel (tiny)', () => {
  it('writes the Hugging Face / transformers.js folder layout and the manifest', () => {
    for (const f of ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
      'cull-model.json', 'onnx/vision_model.onnx', 'onnx/text_model.onnx', 'onnx/vision_model_quantized.onnx', 'onnx/text_model_quantized.onnx']) {
      expect(fs.existsSync(path.join(modelA, f)), f).toBe(true);
    }
    expect(fs.existsSync(path.join(modelB, 'onnx/vision_model_quantized.onnx'))).toBe(false);
    expect(readJson(path.join(modelA, 'cull-model.json'))).toEqual({
      id: 'test-tiny-seed1', name: 'Generated test model (tiny, random weights)', randomWeights: true, architecture: null,
    });
    const config = readJson(path.join(modelA, 'config.json'));
    expect(config.projection_dim).toBe(32);
    expect(config.vision_config).toMatchObject({ hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 2, patch_size: 32, image_size: 224, hidden_act: 'quick_gelu' });
    expect(config.text_config).toMatchObject({ hidden_size: 64, vocab_size: 49408, max_position_embeddings: 77 });
    const pre = readJson(path.join(modelA, 'preprocessor_config.json'));
    expect(pre).toMatchObject({ size: { shortest_edge: 224 }, crop_size: { height: 224, width: 224 }, resample: 3 });
    expect(pre.image_mean).toEqual([0.48145466, 0.4578275, 0.40821073]);
  });

  it('produces ONNX files onnxruntime loads, with the expected inputs and outputs', async () => {
    for (const suffix of ['', '_quantized']) {
      const vision = await session(modelA, `vision_model${suffix}`);
      expect(vision.inputMetadata).toMatchObject([{ name: 'pixel_values', type: 'float32', shape: ['batch_size', 3, 224, 224] }]);
      expect(vision.outputMetadata).toMatchObject([{ name: 'image_embeds', type: 'float32', shape: ['batch_size', 32] }]);
      const text = await session(modelA, `text_model${suffix}`);
      expect(text.inputMetadata).toMatchObject([{ name: 'input_ids', type: 'int64', shape: ['batch_size', 'sequence_length'] }]);
      expect(text.outputMetadata).toMatchObject([{ name: 'text_embeds', type: 'float32', shape: ['batch_size', 32] }]);
      await vision.release();
      await text.release();
    }
  });

  it('is deterministic for a seed and differs for another seed', async () => {
    for (const f of ['onnx/vision_model.onnx', 'onnx/text_model.onnx']) {
      expect(fs.readFileSync(path.join(modelA, f)).equals(fs.readFileSync(path.join(modelB, f))), f).toBe(true);
      expect(fs.readFileSync(path.join(modelA, f)).equals(fs.readFileSync(path.join(modelC, f))), f).toBe(false);
    }
    const px = syntheticPixels(1, 0);
    const a = await embedImage(await session(modelA, 'vision_model'), px, 1);
    const c = await embedImage(await session(modelC, 'vision_model'), px, 1);
    expect(Math.abs(cosine(a, c))).toBeLessThan(0.9);
  });

  it('matches a plain-JS CLIP forward pass (vision and text)', async () => {
    const weights = new WeightStore(1);
    buildVisionModel(DIMS, weights, false);
    buildTextModel(DIMS, weights, false);

    const px = syntheticPixels(1, 0.3);
    const img = await embedImage(await session(modelA, 'vision_model'), px, 1);
    const refImg = refVision(px, weights);
    expect(maxAbsDiff(img, refImg)).toBeLessThan(1e-5 * Math.max(...refImg.map(Math.abs)) + 1e-5);

    const ids = [49406, 320, 8157, 1125, 269, EOT];
    const txt = await embedText(await session(modelA, 'text_model'), [ids]);
    const refTxt = refText(ids, weights);
    expect(maxAbsDiff(txt, refTxt)).toBeLessThan(1e-5 * Math.max(...refTxt.map(Math.abs)) + 1e-5);
  });

  it('gives different image embeddings for different images', async () => {
    const s = await session(modelA, 'vision_model');
    const out = await embedImage(s, syntheticPixels(2, 0).map((v, i) => (i < 3 * 224 * 224 ? v : -v)), 2);
    expect(cosine(out.subarray(0, 32), out.subarray(32))).toBeLessThan(0.999);
  });

  it('text embeddings of the real tokens equal those of 77 end-token-padded positions', async () => {
    const s = await session(modelA, 'text_model');
    const ids = [49406, 320, 8157, 1125, 269, EOT];
    const short = await embedText(s, [ids]);
    const padded = await embedText(s, [[...ids, ...Array(77 - ids.length).fill(EOT)]]);
    expect(maxAbsDiff(short, padded)).toBeLessThan(1e-5);
    // Anything after the first end token is ignored (causal mask + pooling at the FIRST argmax).
    const junk = await embedText(s, [[...ids, 500, 49406, EOT, 7]]);
    expect(maxAbsDiff(short, junk)).toBeLessThan(1e-5);
    // ...while the tokens before it matter.
    const other = await embedText(s, [[49406, 320, 21977, 1125, 269, EOT]]);
    expect(maxAbsDiff(short, other)).toBeGreaterThan(1e-3);
  });

  it('quantized towers stay close to the fp32 ones (cosine > 0.9)', async () => {
    const px = syntheticPixels(2, 1);
    const img = await embedImage(await session(modelA, 'vision_model'), px, 2);
    const imgQ = await embedImage(await session(modelA, 'vision_model_quantized'), px, 2);
    for (let r = 0; r < 2; r++) expect(cosine(img.subarray(r * 32, r * 32 + 32), imgQ.subarray(r * 32, r * 32 + 32))).toBeGreaterThan(0.9);

    const ids = [[49406, 320, 8157, 1125, 269, EOT], [49406, 320, 21977, 1125, 539, EOT]];
    const txt = await embedText(await session(modelA, 'text_model'), ids);
    const txtQ = await embedText(await session(modelA, 'text_model_quantized'), ids);
    for (let r = 0; r < 2; r++) expect(cosine(txt.subarray(r * 32, r * 32 + 32), txtQ.subarray(r * 32, r * 32 + 32))).toBeGreaterThan(0.9);
    // Quantization really happened: not bit-identical.
    expect(maxAbsDiff(txt, txtQ)).toBeGreaterThan(0);
  });

  it('builds a tokenizer.json that encodes known CLIP ids', () => {
    const tok = loadTokenizer(modelA);
    expect(tok.encode('a sharp photo.').ids).toEqual([49406, 320, 8157, 1125, 269, EOT]);
    expect(tok.encode('A  Blurry\nPhoto').ids).toEqual([49406, 320, 21977, 1125, EOT]);
    expect(tok.encode('').ids).toEqual([49406, EOT]);
    const json = readJson(path.join(modelA, 'tokenizer.json'));
    expect(Object.keys(json.model.vocab)).toHaveLength(49408);
    expect(json.model.merges).toHaveLength(48894);
  });
});

describe.skipIf(!fs.existsSync(SHARED))('generated tokenizer vs the real CLIP tokenizer (../shared)', () => {
  if (!fs.existsSync(SHARED)) console.log(`Skipping tokenizer parity: ${SHARED} is absent`);

  it('has the same vocabulary, merges and pipeline as the real tokenizer.json', () => {
    expect(readJson(path.join(modelA, 'tokenizer.json'))).toEqual(readJson(path.join(SHARED, 'tokenizer.json')));
  });

  it('encodes a varied set of strings to the same ids', () => {
    const mine = loadTokenizer(modelA);
    const real = loadTokenizer(SHARED);
    const samples = [
      'a sharp photo.', 'a blurry photo', 'A photo of a DOG!!!', "it's a bird, isn't it? they're we've I'm you'll he'd",
      'café naïve résumé Ångström', '日本語のテキスト', 'emoji 🙂🎉👍🏽', 'numbers 12345 and 3.14159', '  leading and trailing   ',
      'tabs\tand\nnewlines\r\nhere', 'hyphen-ated words & symbols #$%^*()', '<|startoftext|>special<|endoftext|>',
      'supercalifragilisticexpialidocious', 'Ünïcödé ß ﬁ ligature', 'x'.repeat(300), 'a well-exposed, high-contrast landscape at dusk',
    ];
    for (const s of samples) expect(mine.encode(s).ids, s).toEqual(real.encode(s).ids);
  });
});
