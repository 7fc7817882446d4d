import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { l2normalizeRows, openClipModel } from '../native-models/runtime.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import type { ClipModel, ModelInfo } from '../native-models/types.ts';

const DIM = 32; // projection_dim of the tiny test model
const PIXELS = 3 * 224 * 224;

let tmp: string;
let info: ModelInfo;
let model: ClipModel;

function modelInfo(dir: string, quantized = false): ModelInfo {
  const suffix = quantized ? '_quantized' : '';
  return {
    id: 'test-tiny-seed7',
    name: 'Generated test model (tiny, random weights)',
    dir,
    dim: DIM,
    preprocess: { imageSize: 224, mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
    logitScale: 100,
    visionFile: path.join(dir, 'onnx', `vision_model${suffix}.onnx`),
    textFile: path.join(dir, 'onnx', `text_model${suffix}.onnx`),
    tokenizerFile: path.join(dir, 'tokenizer.json'),
    quantized,
    architecture: null,
    randomWeights: true,
  };
}

/** `count` distinct pseudo-images. */
function images(count: number): Float32Array {
  const px = new Float32Array(count * PIXELS);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < PIXELS; i++) px[n * PIXELS + i] = Math.sin(i * 0.001 * (n + 1) + n) + 0.5 * Math.cos(i * 0.017 * (n + 2));
  }
  return px;
}

function expectUnitRows(arr: Float32Array, rows: number) {
  expect(arr.length).toBe(rows * DIM);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < DIM; i++) s += arr[r * DIM + i] ** 2;
    expect(Math.sqrt(s)).toBeCloseTo(1, 5);
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-runtime-'));
  await makeTestModel({ out: path.join(tmp, 'model'), size: 'tiny', seed: 7, quantized: true });
  info = modelInfo(path.join(tmp, 'model'));
  model = await openClipModel(info, { threads: 2 });
});

afterAll(async () => {
  await model?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('l2normalizeRows', () => {
  it('normalises each row in place and leaves zero rows at zero', () => {
    const a = Float32Array.from([3, 4, 0, 0, 1, 0]);
    expect(l2normalizeRows(a, 2)).toBe(a);
    expect(Array.from(a)).toEqual([0.6000000238418579, 0.800000011920929, 0, 0, 1, 0]);
  });
});

describe('openClipModel', () => {
  it('embeds images as unit rows, a batch equal to single images', async () => {
    const px = images(4);
    const batch = await model.embedImages(px, 4);
    expectUnitRows(batch, 4);
    for (let n = 0; n < 4; n++) {
      const single = await model.embedImages(px.slice(n * PIXELS, (n + 1) * PIXELS), 1);
      expect(maxAbsDiff(single, batch.subarray(n * DIM, (n + 1) * DIM))).toBeLessThan(1e-5);
    }
    expect(maxAbsDiff(batch.subarray(0, DIM), batch.subarray(DIM, 2 * DIM))).toBeGreaterThan(1e-4);
    expect(await model.embedImages(new Float32Array(0), 0)).toHaveLength(0);
  });

  it('rejects pixel buffers of the wrong size', async () => {
    await expect(model.embedImages(new Float32Array(PIXELS), 2)).rejects.toThrow(/expected 2×3×224×224/);
  });

  it('embeds texts as unit rows, in input order, a batch equal to single texts', async () => {
    const texts = ['a sharp photo.', 'a blurry photo', 'a photo of a dog playing in the snow at dusk', 'sharp', 'a sharp photo.', ''];
    const batch = await model.embedTexts(texts);
    expectUnitRows(batch, texts.length);
    for (let n = 0; n < texts.length; n++) {
      const single = await model.embedTexts([texts[n]]);
      expect(maxAbsDiff(single, batch.subarray(n * DIM, (n + 1) * DIM)), texts[n]).toBeLessThan(1e-5);
    }
    expect(maxAbsDiff(batch.subarray(0, DIM), batch.subarray(4 * DIM, 5 * DIM))).toBeLessThan(1e-6);
    expect(maxAbsDiff(batch.subarray(0, DIM), batch.subarray(DIM, 2 * DIM))).toBeGreaterThan(1e-4);
    expect(await model.embedTexts([])).toHaveLength(0);
  });

  it('encodes text at its real token length, like a direct run of the text model', async () => {
    const session = await ort.InferenceSession.create(info.textFile);
    const ids = BigInt64Array.from([49406n, 320n, 8157n, 1125n, 269n, 49407n]);
    const out = await session.run({ input_ids: new ort.Tensor('int64', ids, [1, ids.length]) });
    const direct = l2normalizeRows(Float32Array.from(out.text_embeds.data as Float32Array), DIM);
    expect(maxAbsDiff(await model.embedTexts(['A sharp  photo.']), direct)).toBeLessThan(1e-6);
    await session.release();
  });

  it('truncates texts longer than 77 tokens instead of failing', async () => {
    const long = await model.embedTexts([Array(120).fill('photo').join(' ')]);
    expectUnitRows(long, 1);
  });

  it('runs the quantized files, close to the fp32 ones', async () => {
    const q = await openClipModel(modelInfo(info.dir, true), { threads: 1 });
    try {
      const px = images(2);
      const [a, b] = [await model.embedImages(px, 2), await q.embedImages(px, 2)];
      const [ta, tb] = [await model.embedTexts(['a sharp photo.']), await q.embedTexts(['a sharp photo.'])];
      expectUnitRows(b, 2);
      const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i], 0);
      expect(dot(a.subarray(0, DIM), b.subarray(0, DIM))).toBeGreaterThan(0.9);
      expect(dot(ta, tb)).toBeGreaterThan(0.9);
    } finally {
      await q.dispose();
    }
  });

  // The *_quantized exports quantize activations per whole tensor (DynamicQuantizeLinear): run as
  // one batch, an image's embedding would depend on its neighbours (measured 4.5e-3 for images,
  // 7.6e-3 for text on this model), so stored vectors would depend on decode timing.
  for (const quantized of [false, true]) {
    it(`${quantized ? 'quantized' : 'fp32'}: an embedding does not depend on its batch neighbours (max |Δ| 0)`, async () => {
      const m = quantized ? await openClipModel(modelInfo(info.dir, true), { threads: 2 }) : model;
      try {
        const px = images(8);
        const batch = await m.embedImages(px, 8);
        const reversed = new Float32Array(8 * PIXELS);
        for (let n = 0; n < 8; n++) reversed.set(px.subarray((7 - n) * PIXELS, (8 - n) * PIXELS), n * PIXELS);
        const batchReversed = await m.embedImages(reversed, 8);
        let worst = 0;
        for (let n = 0; n < 8; n++) {
          const single = await m.embedImages(px.slice(n * PIXELS, (n + 1) * PIXELS), 1);
          worst = Math.max(worst, maxAbsDiff(single, batch.subarray(n * DIM, (n + 1) * DIM)));
          worst = Math.max(worst, maxAbsDiff(single, batchReversed.subarray((7 - n) * DIM, (8 - n) * DIM)));
        }
        expect(worst, 'image: max |single - in a batch of 8|').toBe(0);

        const texts = ['a sharp photo.', 'Blurry photo.', 'a photo of a dog playing in the snow at dusk under a red umbrella', 'dark', 'Outstanding picture.'];
        const textBatch = await m.embedTexts(texts);
        let worstText = 0;
        for (let n = 0; n < texts.length; n++) {
          worstText = Math.max(worstText, maxAbsDiff(await m.embedTexts([texts[n]]), textBatch.subarray(n * DIM, (n + 1) * DIM)));
        }
        expect(worstText, 'text: max |single - in a batch of 5|').toBe(0);
      } finally {
        if (quantized) await m.dispose();
      }
    });
  }

  it('names the file when a vision model is corrupt or missing', async () => {
    const bad = path.join(tmp, 'corrupt_vision.onnx');
    fs.writeFileSync(bad, Buffer.from('this is not an onnx protobuf'));
    await expect(openClipModel({ ...info, visionFile: bad })).rejects.toThrow(bad);
    const missing = path.join(tmp, 'nope', 'vision_model.onnx');
    await expect(openClipModel({ ...info, visionFile: missing })).rejects.toThrow(missing);
  });

  it('opens the text model lazily and names it when it is corrupt', async () => {
    const bad = path.join(tmp, 'corrupt_text.onnx');
    fs.writeFileSync(bad, fs.readFileSync(info.textFile).subarray(0, 1000));
    const m = await openClipModel({ ...info, textFile: bad }, { threads: 1 });
    try {
      expectUnitRows(await m.embedImages(images(1), 1), 1); // images work without touching the text model
      await expect(m.embedTexts(['a photo'])).rejects.toThrow(bad);
    } finally {
      await m.dispose();
    }
  });
});
