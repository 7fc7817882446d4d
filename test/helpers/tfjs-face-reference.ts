// The TensorFlow.js side of the face model's parity checks (test/face-gate.test.ts,
// test/face-pass.test.ts, test/judgement/face-*-parity.ts): the same verified model files run by
// tfjs's WebAssembly backend — the raw graph models (BlazeFace with Human's preprocessing ops, face
// mesh, iris, emotion) and @vladmandic/human itself: its detector-only pass with the gate's settings
// (config(false)) and its full pass (config(true): detector, mesh, iris, emotion), which is what
// Cull ran before the face model moved to onnxruntime (native-models/face-pass.ts). The models are
// served to tfjs from the checked bytes by a load router (Human's own loader would fetch file://
// URLs, which Node's fetch does not serve). The tfjs engine is one per process.
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  defaultFaceModelDirs, FULL_CONFIDENCE, GATE_CONFIDENCE, IOU_THRESHOLD, MAX_FACES, readVerifiedModelFiles, type RawFace,
} from '../../native-models/faces.ts';
import type { Raster } from '../../native-models/preprocess.ts';

const require = createRequire(import.meta.url);
type Tf = typeof import('@tensorflow/tfjs-core');
type GraphModel = import('@tensorflow/tfjs-converter').GraphModel;

export interface TfjsFaceReference {
  /** BlazeFace's four outputs on `r` (sorted by size, as Human does), after Human's resize and normalisation. */
  blazeFace(r: Raster): Promise<Float32Array[]>;
  /** Human's detector pass with the gate's settings (its threshold `minConfidence`): did it report a face? */
  humanGate(r: Raster, minConfidence?: number): Promise<boolean>;
  /** Human's full pass (detector at 0.3, mesh, iris, emotion; config(true)) without the gate: each face's mesh score. */
  humanFull(r: Raster): Promise<{ faceScore: number; boxScore: number }[]>;
  /** The same full pass, each face as Cull's face model returns it (what the analyzer stored before onnxruntime). */
  humanFaces(r: Raster): Promise<RawFace[]>;
  /**
   * Human's face tensor for the mesh (facemeshutil.ts correctFaceRotation, rotation on): the frame
   * turned by `angle` about the box's center when |angle| > 0.2 (tf.image.rotateWithOffset), the box
   * cropped and resized to 192 (cutAndResize), / 255.
   */
  faceCrop(r: Raster, box: { startPoint: [number, number]; endPoint: [number, number] }, angle: number): Promise<Float32Array>;
  /** Runs blazeface, facemesh, iris or emotion on an NHWC float input; the outputs named (graph node names). */
  run(model: 'blazeface' | 'facemesh' | 'iris' | 'emotion', input: Float32Array, shape: number[], outputs: string[]): Promise<Float32Array[]>;
}

export async function openTfjsFaceReference(): Promise<TfjsFaceReference> {
  const dirs = { ...defaultFaceModelDirs(), wasm: path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) };
  const tf = await initTf(dirs.models);
  const tfc = require('@tensorflow/tfjs-converter') as typeof import('@tensorflow/tfjs-converter');
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
  // (after Human's load, which readies the wasm backend the raw graph models' weights are decoded on)
  const files = readVerifiedModelFiles(dirs.models);
  const models = new Map<string, GraphModel>();
  for (const name of ['blazeface', 'facemesh', 'iris', 'emotion']) {
    const j = JSON.parse(files.get(`${name}.json`)!.toString());
    const groups = j.weightsManifest as { paths: string[]; weights: never[] }[];
    const bin = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => files.get(p)!)));
    const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer;
    models.set(name, await tfc.loadGraphModel(tf.io.fromMemory({ modelTopology: j.modelTopology, weightSpecs: groups.flatMap((g) => g.weights), weightData })));
  }
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
    async humanFaces(r) {
      const t = input(r);
      try {
        return ((await full.detect(t, config(true))).face ?? []).map(toRaw);
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

let tfReady: Promise<Tf> | null = null;

/** tfjs with its wasm backend, and a load router serving the verified model files of `modelsDir` by their .json path. */
function initTf(modelsDir: string): Promise<Tf> {
  tfReady ??= (async () => {
    const tf = require('@tensorflow/tfjs-core') as Tf;
    require('@tensorflow/tfjs-converter');
    require('@tensorflow/tfjs-backend-wasm');
    const files = readVerifiedModelFiles(modelsDir);
    // (tfjs's IORouter type says IOHandler, but a router answers null for URLs that are not its own.)
    const router = (url: string | string[]) => {
      const key = Array.isArray(url) ? url[0] : url;
      const name = typeof key === 'string' && path.dirname(path.resolve(key)) === path.resolve(modelsDir) ? path.basename(key) : '';
      const json = files.get(name);
      if (!name.endsWith('.json') || !json) return null;
      return {
        load: async () => {
          const j = JSON.parse(json.toString('utf8'));
          const groups = j.weightsManifest as { paths: string[]; weights: unknown[] }[];
          const weights = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => files.get(p) ?? Buffer.alloc(0))));
          return {
            modelTopology: j.modelTopology,
            weightSpecs: groups.flatMap((g) => g.weights) as never,
            weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
            format: j.format, generatedBy: j.generatedBy, convertedBy: j.convertedBy, userDefinedMetadata: j.userDefinedMetadata,
          };
        },
      };
    };
    tf.io.registerLoadRouter(router as never);
    return tf;
  })();
  return tfReady;
}

/**
 * Human's settings: face detector, mesh, iris and emotion (the smile) only. `full` false: the
 * detector alone at GATE_CONFIDENCE, what the ONNX gate reproduces (tests run both). cacheSensitivity 0 and
 * no skipped frames: Human is built for video and may reuse the previous frame's faces when a
 * frame looks alike — the next photo of a burst, exactly where the eyes differ.
 */
export function config(full: boolean) {
  const off = { enabled: false };
  const noSkip = { skipFrames: 0, skipTime: 0 };
  return {
    cacheSensitivity: 0,
    filter: off,
    face: {
      enabled: true,
      // rotation: the mesh is fitted to the face turned upright (a tilted head's lids measured along the eye).
      detector: { modelPath: 'blazeface.json', rotation: true, maxDetected: MAX_FACES, minConfidence: full ? FULL_CONFIDENCE : GATE_CONFIDENCE, iouThreshold: IOU_THRESHOLD, return: false, ...noSkip },
      mesh: { enabled: full, modelPath: 'facemesh.json', ...noSkip },
      iris: { enabled: full, modelPath: 'iris.json', ...noSkip },
      // The smile estimate (RawFace.smile); minConfidence 0 so that every class's score is returned.
      emotion: { enabled: full, modelPath: 'emotion.json', minConfidence: 0, ...noSkip },
      description: off, antispoof: off, liveness: off, attention: off, gear: off,
    },
    body: off, hand: off, object: off, gesture: off, segmentation: off,
  };
}

interface HumanFace {
  box: [number, number, number, number];
  boxScore?: number;
  faceScore?: number;
  score: number;
  mesh: [number, number, number][];
  rotation?: { angle?: { yaw: number; pitch: number; roll: number } } | null;
  emotion?: { score: number; emotion: string }[];
}

function toRaw(f: HumanFace): RawFace {
  const [x, y, w, h] = f.box;
  const a = f.rotation?.angle;
  return {
    box: { x, y, w, h },
    boxScore: f.boxScore ?? f.score,
    meshScore: f.faceScore ?? f.score,
    mesh: f.mesh ?? [],
    smile: f.emotion ? (f.emotion.find((e) => e.emotion === 'happy')?.score ?? 0) : null,
    yaw: a?.yaw ?? 0,
    pitch: a?.pitch ?? 0,
    roll: a?.roll ?? 0,
  };
}
