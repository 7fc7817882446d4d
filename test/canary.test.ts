// The canary check (native-models/canary.ts): the shipped reference for the real ViT-B/32, and the
// check itself proven on a generated model — it passes against a reference computed independently
// from that model (a direct ONNX run on the formula's tensor) and fails, naming the drift and the
// file, when the reference or the weights are perturbed. Then the two places that run it:
// `cull models verify` and the download path (refusal).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARIES, canaryFor, runCanary, type Canary } from '../native-models/canary.ts';
import { loadModelFolder } from '../native-models/folder.ts';
import { decodeImage } from '../native-models/preprocess.ts';
import { DEFAULT_MODEL_ID, installedModelDir, registryEntry, type RegistryEntry } from '../native-models/registry.ts';
import { l2normalizeRows } from '../native-models/runtime.ts';
import { buildVisionModel, WeightStore } from '../native-models/testmodel/clip-onnx.ts';
import { clipConfig, makeTestModel, TEST_MODEL_DIMS } from '../native-models/testmodel/index.ts';
import type { ModelInfo } from '../native-models/types.ts';
import { downloadKnownModel, verifyKnownModel } from '../electron/services/model-source.ts';
import { startHubServer } from './helpers/hub-server.ts';

const REPO_DIR = path.resolve(import.meta.dirname, '..');
const SEED = 3;
let tmp: string;
let modelDir: string;
let info: ModelInfo;
/** The generated model's own grey-image embedding, from a direct ONNX run (not through canary.ts). */
let reference: number[];

/** A canary for the generated model: its first `dims` dimensions. */
const canaryOf = (values: number[], modelId = info.id): Canary => ({
  modelId, model: 'generated/tiny', revision: '0'.repeat(40), files: {}, grey: 127, tolerance_max_abs: 1e-4, values, source: 'test',
});

/** Negates 512 consecutive floats of the patch-embedding weight inside the ONNX file. */
function corruptPatchWeights(file: string): void {
  const weights = new WeightStore(SEED);
  buildVisionModel(TEST_MODEL_DIMS.tiny, weights, false);
  const w = weights.get('vision_model.embeddings.patch_embedding.weight');
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(Buffer.from(w.buffer, w.byteOffset, 64));
  expect(at, 'patch weights found in the ONNX file').toBeGreaterThan(0);
  const f = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + 512 * 4));
  for (let i = 0; i < f.length; i++) f[i] = -f[i];
  Buffer.from(f.buffer).copy(bytes, at);
  fs.writeFileSync(file, bytes);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-canary-'));
  modelDir = path.join(tmp, 'model');
  await makeTestModel({ out: modelDir, size: 'tiny', seed: SEED, quantized: true });
  info = loadModelFolder(modelDir, { quantized: false });
  // The model input for a uniform grey image by the formula, straight into onnxruntime.
  const side = info.preprocess.imageSize;
  const px = new Float32Array(3 * side * side);
  for (let c = 0; c < 3; c++) px.fill((127 / 255 - info.preprocess.mean[c]) / info.preprocess.std[c], c * side * side, (c + 1) * side * side);
  const session = await ort.InferenceSession.create(info.visionFile);
  const out = await session.run({ pixel_values: new ort.Tensor('float32', px, [1, 3, side, side]) });
  reference = Array.from(l2normalizeRows(Float32Array.from(out.image_embeds.data as Float32Array), info.dim)).slice(0, 24);
  await session.release();
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the shipped canary', () => {
  it('is the published grey-image reference of the pinned fp32 vision tower, with its source', () => {
    const c = CANARIES.find((x) => x.modelId === DEFAULT_MODEL_ID)!;
    const entry = registryEntry(DEFAULT_MODEL_ID);
    expect(c.revision).toBe(entry.revision);
    expect(c.files['onnx/vision_model.onnx']).toBe(entry.files.find((f) => f.path === 'onnx/vision_model.onnx')!.sha256);
    expect(c.values).toHaveLength(93);
    expect(c.values[92]).toBe(-0.8038922548294067);
    expect(c.tolerance_max_abs).toBe(1e-4);
    expect(c.source).toMatch(/PrintStash.*0896f1f41fbdcd6cea40d72b863c89860689d824/);
  });

  it('the grey image goes through the indexer\'s decode as (127/255 - mean) / std everywhere', async () => {
    const sharp = (await import('sharp')).default;
    const image = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 127, g: 127, b: 127 } } }).png().toBuffer();
    const { pixels } = await decodeImage(image, { clip: info.preprocess, thumbnail: false });
    const n = info.preprocess.imageSize ** 2;
    for (let c = 0; c < 3; c++) {
      const want = (127 / 255 - info.preprocess.mean[c]) / info.preprocess.std[c];
      const channel = pixels!.subarray(c * n, (c + 1) * n);
      expect(Math.max(...channel.map((v) => Math.abs(v - want))), `channel ${c}`).toBeLessThan(1e-6);
    }
  });
});

describe('runCanary', () => {
  it('passes when the model computes the reference (measured drift reported)', async () => {
    const r = await runCanary(info, [canaryOf(reference)], { threads: 1 });
    expect(r).toMatchObject({ status: 'pass', file: info.visionFile, dims: 24 });
    if (r.status === 'none') throw new Error('unreachable');
    expect(r.maxAbsDiff).toBeLessThan(1e-6);
    expect(r.cosine).toBeGreaterThan(0.999999);
    expect(r.message).toMatch(/^canary OK: max \|Δ\| .* over the first 24 of 32 dimensions/);
  });

  it('fails on a reference that drifted by 3e-4 in one dimension, naming the drift and the file', async () => {
    const drifted = reference.slice();
    drifted[5] += 3e-4;
    const r = await runCanary(info, [canaryOf(drifted)], { threads: 1 });
    expect(r.status).toBe('fail');
    if (r.status === 'none') throw new Error('unreachable');
    expect(r.maxAbsDiff).toBeGreaterThan(2.9e-4);
    expect(r.maxAbsDiff).toBeLessThan(3.1e-4);
    expect(r.message).toContain(info.visionFile);
    expect(r.message).toMatch(/canary drift max \|Δ\| 3\.0\de-4 \(tolerance 1\.00e-4\), cosine 0\.9999\d{4} over/);
  });

  it('fails on corrupted weights (512 floats negated), naming the drift and the file', async () => {
    const bad = path.join(tmp, 'corrupt');
    fs.cpSync(modelDir, bad, { recursive: true });
    corruptPatchWeights(path.join(bad, 'onnx', 'vision_model.onnx'));
    const badInfo = loadModelFolder(bad, { quantized: false });
    const r = await runCanary({ ...badInfo, id: info.id }, [canaryOf(reference)], { threads: 1 });
    expect(r.status).toBe('fail');
    if (r.status === 'none') throw new Error('unreachable');
    expect(r.maxAbsDiff).toBeGreaterThan(1e-3);
    expect(r.message).toContain(path.join(bad, 'onnx', 'vision_model.onnx'));
    expect(r.message).toMatch(/canary drift max \|Δ\| \d\.\d\de-\d/);
  });

  it('fails, naming the file, when the model cannot run', async () => {
    const broken = path.join(tmp, 'broken.onnx');
    fs.writeFileSync(broken, 'not a model');
    const r = await runCanary({ ...info, visionFile: broken }, [canaryOf(reference)], { threads: 1 });
    expect(r).toMatchObject({ status: 'fail', maxAbsDiff: null, file: broken });
    expect(r.message).toContain(`${broken}: canary failed: the model did not run`);
  });

  it('says there is no canary for a generated model, or for a quantized tower', async () => {
    expect(await runCanary(info)).toEqual({
      status: 'none',
      message: `no canary for model "${info.id}" (a generated model with random weights); canaries exist for: clip-vit-b-32`,
    });
    const q = loadModelFolder(modelDir, { quantized: true });
    expect(canaryFor(q, [canaryOf(reference)])).toEqual({ none: expect.stringMatching(/no canary for the quantized vision tower/) });
  });
});

describe('where the canary runs', () => {
  it('verifyKnownModel: no canary for the generated model; the drift and the file for a corrupted one', async () => {
    const good = await verifyKnownModel(modelDir);
    expect(good).toMatchObject({ ok: true, canary: { status: 'none', message: expect.stringMatching(/^no canary for model "test-tiny-seed3"/) } });
    const bad = path.join(tmp, 'corrupt-verify');
    fs.cpSync(modelDir, bad, { recursive: true });
    corruptPatchWeights(path.join(bad, 'onnx', 'vision_model.onnx'));
    const r = await verifyKnownModel(bad, { canaries: [canaryOf(reference)] });
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.stringMatching(new RegExp(`^${path.join(bad, 'onnx', 'vision_model.onnx').replace(/[.\\/]/g, '\\$&')}: canary drift max \\|Δ\\|`))]);
  });

  it('cull models verify: says so for a generated model; fails with the drift and the file for weights that are not the pinned ones', async () => {
    const run = promisify(execFile);
    const env = { ...process.env, CULL_DATA_DIR: path.join(tmp, 'cli-data') };
    const cli = path.join(REPO_DIR, 'bin', 'cull.js');
    const ok = await run(process.execPath, [cli, 'models', 'verify', modelDir], { env });
    expect(ok.stdout).toContain(`Canary: no canary for model "test-tiny-seed3" (a generated model with random weights)`);
    // A folder claiming to be the default model, with random weights: the shipped canary catches it.
    const impostor = path.join(tmp, 'impostor');
    fs.cpSync(modelDir, impostor, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(impostor, 'cull-model.json'), 'utf8'));
    fs.writeFileSync(path.join(impostor, 'cull-model.json'), JSON.stringify({ ...manifest, id: DEFAULT_MODEL_ID, randomWeights: false }));
    // …with ViT-B/32's 512-dimensional embeddings (a tiny tower projected to 512), random weights.
    const dims512 = { ...TEST_MODEL_DIMS.tiny, projection: 512 };
    fs.writeFileSync(path.join(impostor, 'config.json'), JSON.stringify(clipConfig(dims512)));
    fs.writeFileSync(path.join(impostor, 'onnx', 'vision_model.onnx'), buildVisionModel(dims512, new WeightStore(5), false));
    const failed = await run(process.execPath, [cli, 'models', 'verify', impostor], { env }).then(
      () => { throw new Error('cull models verify succeeded on an impostor'); },
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^FAILED: /);
    expect(failed.stdout).toContain(`${path.join(impostor, 'onnx', 'vision_model.onnx')}: canary drift max |Δ| `);
    expect(failed.stdout).toMatch(/canary drift max \|Δ\| \d\.\d\de-\d \(tolerance 1\.00e-4\), cosine -?0\.\d{8} over the first 93 of 512 dimensions/);
  });

  it('after a download: a model that fails the canary is refused (not installed), one that passes is kept', async () => {
    const files = new Map<string, Buffer>();
    const paths = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'onnx/vision_model.onnx', 'onnx/text_model.onnx'];
    for (const p of paths) files.set(p, fs.readFileSync(path.join(modelDir, p)));
    const entry: RegistryEntry = {
      id: 'tiny-canary', name: 'Tiny', repo: 'acme/tiny', revision: 'abcdef0123456789abcdef0123456789abcdef01', license: 'MIT',
      files: paths.map((p) => ({ path: p, ...(p.startsWith('onnx/') ? { variant: 'fp32' as const } : {}) })),
    };
    const hub = await startHubServer(entry.repo, entry.revision, files);
    const previous = process.env.CULL_DATA_DIR;
    process.env.CULL_DATA_DIR = path.join(tmp, 'data');
    try {
      const store = path.join(tmp, 'data', 'models');
      const drifted = reference.map((v, i) => (i === 0 ? v + 0.01 : v));
      const opts = { entry, baseUrl: hub.base, allowHttp: true };
      await expect(downloadKnownModel(entry.id, { ...opts, canaries: [canaryOf(drifted, entry.id)] })).rejects.toThrow(
        /Refusing the model in .*: .*onnx\/vision_model\.onnx: canary drift max \|Δ\| 1\.00e-2 \(tolerance 1\.00e-4\)/,
      );
      expect(installedModelDir(store, entry.id)).toBeNull();
      const kept = await downloadKnownModel(entry.id, { ...opts, canaries: [canaryOf(reference, entry.id)] });
      expect(kept.id).toBe(entry.id);
      expect(installedModelDir(store, entry.id)).toBe(path.join(store, entry.id));
    } finally {
      if (previous === undefined) delete process.env.CULL_DATA_DIR;
      else process.env.CULL_DATA_DIR = previous;
      await hub.close();
    }
  });
});
