// The face gate on onnxruntime (native-models/face-gate.ts) gives TensorFlow.js's answers: the
// converter (tfjs-to-onnx.ts) turns BlazeFace, the face mesh and the iris model (float16 weights,
// Prelu, Concat) into ONNX graphs whose outputs match tfjs's on the same input; the gate's
// preprocessing and post-processing give Human's verdict at several thresholds on generated frames;
// and on real faces (../shared/faces; skipped without it) the scores and verdicts agree photo for
// photo. A wrong weight layout, padding or resize fails every one of these.
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { FacesAnalyzer } from '../electron/services/indexing/analyzers/faces.ts';
import { buildFaceGateModel, openFaceGate, type FaceGate } from '../native-models/face-gate.ts';
import { defaultFaceModelDirs, downscale, GATE_CONFIDENCE, GATE_SIDE, MAX_FACES, readVerifiedModelFiles } from '../native-models/faces.ts';
import { decodeImage, type Raster } from '../native-models/preprocess.ts';
import { parseTfjsGraph, tfjsToOnnx } from '../native-models/tfjs-to-onnx.ts';
import { pattern, prng } from './helpers/fixtures.ts';
import { openTfjsFaceReference, type TfjsFaceReference } from './helpers/tfjs-face-reference.ts';
import { FACES_DIR } from './judgement/faces-judge.ts';

let files: Map<string, Buffer>;
let ref: TfjsFaceReference;

beforeAll(async () => {
  files = readVerifiedModelFiles(defaultFaceModelDirs().models);
  ref = await openTfjsFaceReference();
}, 60_000);

/** Largest |a − b| over all elements, and the largest |b| (the scale of the outputs). */
function diff(a: Float32Array, b: Float32Array): { delta: number; scale: number } {
  expect(a.length).toBe(b.length);
  let delta = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    delta = Math.max(delta, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { delta, scale };
}

const raw = async (img: ReturnType<typeof sharp>): Promise<Raster> => {
  const { data, info } = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
};

/** Noise, gradients with blocks, and a pale oval with two dark spots: frames BlazeFace scores from ~0 to some. */
async function generatedFrames(): Promise<Raster[]> {
  const out: Raster[] = [];
  for (const [w, h, seed] of [[320, 213, 1], [213, 320, 2], [320, 320, 3], [300, 180, 4]]) out.push(await raw(pattern(w, h, seed)));
  const rnd = prng(5);
  const noise = Buffer.alloc(320 * 240 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(rnd() * 256);
  out.push({ data: noise, width: 320, height: 240, channels: 3 });
  for (const [cx, cy, r] of [[160, 110, 60], [90, 150, 35], [200, 90, 90]]) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240"><rect width="320" height="240" fill="#4a6a3a"/>
      <ellipse cx="${cx}" cy="${cy}" rx="${r * 0.8}" ry="${r}" fill="#e0b090"/>
      <ellipse cx="${cx - r * 0.3}" cy="${cy - r * 0.2}" rx="${r * 0.12}" ry="${r * 0.07}" fill="#201010"/>
      <ellipse cx="${cx + r * 0.3}" cy="${cy - r * 0.2}" rx="${r * 0.12}" ry="${r * 0.07}" fill="#201010"/>
      <rect x="${cx - r * 0.25}" y="${cy + r * 0.4}" width="${r * 0.5}" height="${r * 0.08}" fill="#803030"/></svg>`;
    out.push(await raw(sharp(Buffer.from(svg))));
  }
  return out;
}

describe('the TensorFlow.js → ONNX converter', () => {
  for (const name of ['blazeface', 'facemesh', 'iris'] as const) {
    it(`${name}: every output matches tfjs on the same input`, async () => {
      const graph = parseTfjsGraph(files.get(`${name}.json`)!, files);
      const session = await ort.InferenceSession.create(tfjsToOnnx(graph, name));
      try {
        const shape = graph.inputs[0].shape.map((d) => (d < 0 ? 1 : d));
        const rnd = prng(11);
        const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rnd() * 2 - 1);
        const got = await session.run({ [graph.inputs[0].name]: new ort.Tensor('float32', x, shape) });
        const want = await ref.run(name, x, shape, graph.outputs);
        let largest = 0;
        graph.outputs.forEach((o, i) => {
          const { delta, scale } = diff(got[o].data as Float32Array, want[i]);
          largest = Math.max(largest, scale);
          // Relative to the output's scale (the face mesh's face flag is a sigmoid near 0 on noise).
          expect(delta, `${name} ${o}: max |Δ| against tfjs (outputs up to ${scale.toExponential(1)})`).toBeLessThan(1e-4 * Math.max(scale, 0.01));
        });
        expect(largest, `${name}: outputs are not all near zero`).toBeGreaterThan(1);
      } finally {
        await session.release();
      }
    }, 60_000);
  }
});

describe('the face gate', () => {
  it('its ONNX graph (uint8 pixels in, Human\'s resize and normalisation inside) gives BlazeFace\'s outputs as tfjs does', async () => {
    const { bytes } = buildFaceGateModel(parseTfjsGraph(files.get('blazeface.json')!, files));
    const session = await ort.InferenceSession.create(bytes);
    try {
      for (const r of await generatedFrames()) {
        const out = await session.run({ pixels: new ort.Tensor('uint8', Uint8Array.from(r.data), [1, r.height, r.width, 3]) });
        const got = Object.values(out).map((t) => t.data as Float32Array).sort((a, b) => a.length - b.length);
        const want = await ref.blazeFace(r);
        got.forEach((g, i) => {
          const { delta, scale } = diff(g, want[i]);
          expect(delta, `${r.width}×${r.height} output ${i}`).toBeLessThan(1e-4 * Math.max(1, scale));
        });
      }
    } finally {
      await session.release();
    }
  }, 60_000);

  it('says what Human says, at the gate\'s threshold and at lower ones (both verdicts occur)', async () => {
    const frames = await generatedFrames();
    const verdicts: boolean[] = [];
    for (const minConfidence of [GATE_CONFIDENCE, 0.2, 0.1, 0.05, 0.02]) {
      const gate = await openFaceGate(files, { minConfidence, maxDetected: MAX_FACES, iouThreshold: 0.1 });
      try {
        for (const [i, r] of frames.entries()) {
          const onnx = await gate.check(r);
          const [c384, c512] = await ref.blazeFace(r);
          const best = Math.max(...[...c384, ...c512].map((x) => 1 / (1 + Math.exp(-x))));
          expect(Math.abs(onnx.maxScore - best), `frame ${i}: best score`).toBeLessThan(1e-5);
          expect(onnx.passes, `frame ${i} at ${minConfidence} (best score ${best.toFixed(3)})`).toBe(await ref.humanGate(r, minConfidence));
          verdicts.push(onnx.passes);
        }
      } finally {
        await gate.release();
      }
    }
    expect(verdicts).toContain(true);
    expect(verdicts).toContain(false);
  }, 120_000);

  it('rounds the score as Human does: a best score above the threshold that rounds to it or below is no face', async () => {
    // Threshold just above a frame's best score rounded down to 0.01: the raw score is above it,
    // Human's rounded face.score is not, so Human reports nothing — and so must the gate.
    let edges = 0;
    for (const [i, r] of (await generatedFrames()).entries()) {
      const [c384, c512] = await ref.blazeFace(r);
      const best = Math.max(...[...c384, ...c512].map((x) => 1 / (1 + Math.exp(-x))));
      const rounded = Math.round(100 * best) / 100;
      if (best - rounded < 0.001) continue; // rounds up or too close to call in float32
      const minConfidence = rounded + 0.0002;
      const gate = await openFaceGate(files, { minConfidence, maxDetected: MAX_FACES, iouThreshold: 0.1 });
      try {
        expect(await ref.humanGate(r, minConfidence), `frame ${i}: Human at ${minConfidence}`).toBe(false);
        expect((await gate.check(r)).passes, `frame ${i}: best ${best.toFixed(4)} at ${minConfidence}`).toBe(false);
        edges++;
      } finally {
        await gate.release();
      }
    }
    expect(edges, 'frames whose best score rounds down').toBeGreaterThan(1);
  }, 120_000);
});

const facesPresent = fs.existsSync(path.join(FACES_DIR, 'SOURCES.tsv'));
if (!facesPresent) console.warn(`face-gate: ../shared/faces not found at ${FACES_DIR}: the real-face comparison is skipped.`);

describe.skipIf(!facesPresent)('the face gate on real faces (../shared/faces)', () => {
  let gate: FaceGate;
  beforeAll(async () => {
    gate = await openFaceGate(files, { minConfidence: GATE_CONFIDENCE, maxDetected: MAX_FACES, iouThreshold: 0.1 });
  });

  it('agrees with tfjs photo for photo on the full photos of open/ and closed/, as indexing sees them', async () => {
    const photos = ['open', 'closed'].flatMap((l) =>
      fs.readdirSync(path.join(FACES_DIR, l)).filter((f) => !/^(cew|utk)_tier2__/.test(f)).sort().map((f) => path.join(FACES_DIR, l, f)));
    expect(photos.length).toBeGreaterThan(10);
    const side = new FacesAnalyzer().needs.working.longSide;
    let passed = 0;
    for (const f of photos) {
      const r = (await decodeImage(f, { working: [side], thumbnail: false })).working[0];
      const small = Math.max(r.width, r.height) > GATE_SIDE ? await downscale(r, GATE_SIDE) : r;
      const onnx = await gate.check(small);
      const [c384, c512] = await ref.blazeFace(small);
      const best = Math.max(...[...c384, ...c512].map((x) => 1 / (1 + Math.exp(-x))));
      expect(Math.abs(onnx.maxScore - best), path.basename(f)).toBeLessThan(1e-4);
      expect(onnx.passes, path.basename(f)).toBe(await ref.humanGate(small));
      if (onnx.passes) passed++;
    }
    expect(passed, 'photos with faces pass the gate').toBeGreaterThan(photos.length * 0.9);
    await gate.release();
  }, 300_000);
});
