// The TensorFlow.js side of the face gate's parity checks (test/face-gate.test.ts and
// test/judgement/face-gate-parity.ts): the same verified model files run by tfjs's WebAssembly
// backend — the raw graph models (BlazeFace with Human's preprocessing ops, face mesh, iris) and
// Human's own detector-only pass with the gate's settings (native-models/faces.ts config(false)),
// which is what the ONNX gate replaced.
import { createRequire } from 'node:module';
import path from 'node:path';
import { config, defaultFaceModelDirs, GATE_CONFIDENCE, openFaceModel, readVerifiedModelFiles } from '../../native-models/faces.ts';
import type { Raster } from '../../native-models/preprocess.ts';

const require = createRequire(import.meta.url);
type Tf = typeof import('@tensorflow/tfjs-core');
type GraphModel = import('@tensorflow/tfjs-converter').GraphModel;

export interface TfjsFaceReference {
  /** BlazeFace's four outputs on `r` (sorted by size, as Human does), after Human's resize and normalisation. */
  blazeFace(r: Raster): Promise<Float32Array[]>;
  /** Human's detector pass with the gate's settings (its threshold `minConfidence`): did it report a face? */
  humanGate(r: Raster, minConfidence?: number): Promise<boolean>;
  /** Human's full pass (detector at 0.3, mesh, iris, emotion; native-models/faces.ts config(true)) without the gate: each face's mesh score. */
  humanFull(r: Raster): Promise<{ faceScore: number; boxScore: number }[]>;
  /**
   * Human's face tensor for the mesh (facemeshutil.ts correctFaceRotation, rotation on): the frame
   * turned by `angle` about the box's center when |angle| > 0.2 (tf.image.rotateWithOffset), the box
   * cropped and resized to 192 (cutAndResize), / 255.
   */
  faceCrop(r: Raster, box: { startPoint: [number, number]; endPoint: [number, number] }, angle: number): Promise<Float32Array>;
  /** Runs blazeface, facemesh or iris on an NHWC float input; the outputs named (graph node names). */
  run(model: 'blazeface' | 'facemesh' | 'iris', input: Float32Array, shape: number[], outputs: string[]): Promise<Float32Array[]>;
}

export async function openTfjsFaceReference(): Promise<TfjsFaceReference> {
  const dirs = defaultFaceModelDirs();
  await openFaceModel(dirs); // sets up the wasm backend and the router serving the verified files
  const tf = require('@tensorflow/tfjs-core') as Tf;
  const tfc = require('@tensorflow/tfjs-converter') as typeof import('@tensorflow/tfjs-converter');
  const files = readVerifiedModelFiles(dirs.models);
  const models = new Map<string, GraphModel>();
  for (const name of ['blazeface', 'facemesh', 'iris']) {
    const j = JSON.parse(files.get(`${name}.json`)!.toString());
    const groups = j.weightsManifest as { paths: string[]; weights: never[] }[];
    const bin = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => files.get(p)!)));
    const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
    models.set(name, await tfc.loadGraphModel(tf.io.fromMemory({ modelTopology: j.modelTopology, weightSpecs: groups.flatMap((g) => g.weights), weightData })));
  }
  const { Human } = require(path.join(path.dirname(require.resolve('@vladmandic/human')), 'human.node-wasm.js'));
  const human = new Human({
    ...config(false), backend: 'wasm', wasmPath: dirs.wasm + path.sep, modelBasePath: dirs.models + path.sep,
    cacheModels: false, debug: false, async: true, warmup: 'none',
  });
  await human.load();
  const full = new Human({
    ...config(true), backend: 'wasm', wasmPath: dirs.wasm + path.sep, modelBasePath: dirs.models + path.sep,
    cacheModels: false, debug: false, async: true, warmup: 'none',
  });
  await full.load();
  if (!full.env.kernels.includes('rotatewithoffset')) throw new Error('tfjs wasm has no RotateWithOffset: Human would not rotate the face crop');
  const input = (r: Raster) => tf.tensor4d(r.data, [1, r.height, r.width, 3], 'int32');
  const outputs = async (res: import('@tensorflow/tfjs-core').Tensor | import('@tensorflow/tfjs-core').Tensor[]) => {
    const list = Array.isArray(res) ? res : [res];
    const data = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(list);
    return data;
  };
  return {
    async blazeFace(r) {
      // human/src/face/blazeface.ts getBoxes: cast (Human's image.process), resizeBilinear, / 127.5 − 1.
      const out = tf.tidy(() => {
        const x = tf.image.resizeBilinear(tf.cast(input(r), 'float32') as never, [256, 256]);
        return models.get('blazeface')!.execute(tf.sub(tf.div(x, tf.scalar(127.5)), tf.scalar(1))) as import('@tensorflow/tfjs-core').Tensor[];
      });
      return (await outputs(out)).sort((a, b) => a.length - b.length);
    },
    async humanGate(r, minConfidence = GATE_CONFIDENCE) {
      const t = input(r);
      const settings = config(false);
      settings.face.detector.minConfidence = minConfidence;
      try {
        return ((await human.detect(t, settings)).face ?? []).length > 0;
      } finally {
        t.dispose();
      }
    },
    async humanFull(r) {
      const t = input(r);
      try {
        return ((await full.detect(t, config(true))).face ?? []).map((f: { faceScore: number; boxScore: number }) => ({ faceScore: f.faceScore, boxScore: f.boxScore }));
      } finally {
        t.dispose();
      }
    },
    async faceCrop(r, box, angle) {
      const crop = tf.tidy(() => {
        const x = tf.cast(input(r), 'float32') as import('@tensorflow/tfjs-core').Tensor4D;
        const [cx, cy] = [box.startPoint[0] + (box.endPoint[0] - box.startPoint[0]) / 2, box.startPoint[1] + (box.endPoint[1] - box.startPoint[1]) / 2];
        const src = angle !== 0 && Math.abs(angle) > 0.2 ? tf.image.rotateWithOffset(x, angle, 0, [cx / r.width, cy / r.height]) : x;
        const cut = [[box.startPoint[1] / r.height, box.startPoint[0] / r.width, box.endPoint[1] / r.height, box.endPoint[0] / r.width]];
        return tf.div(tf.image.cropAndResize(src, cut, [0], [192, 192]), tf.scalar(255));
      });
      return (await outputs(crop))[0];
    },
    async run(name, data, shape, names) {
      return outputs(tf.tidy(() => models.get(name)!.execute(tf.tensor(data, shape, 'float32'), names)) as never);
    },
  };
}
