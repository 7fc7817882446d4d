// The face model: @vladmandic/human's BlazeFace detector, face mesh (468 points), iris model
// (which refines the eyelid contours) and emotion classifier (its 'happy' class: the smile
// estimate), run by TensorFlow.js on its WebAssembly backend — no native download at install, no
// network at run time. What it returns is raw geometry in the raster's pixels (and the smile);
// what it means (eye state, face focus) is electron/services/indexing/analyzers/face-measures.ts.
// Each frame is first asked "any face?" by the gate (face-gate.ts: the same BlazeFace converted to
// ONNX, on onnxruntime, giving Human's verdict), then by the mesh check (face-mesh-check.ts: the
// full pass's boxes and Human's mesh score, also on onnxruntime); only a frame both pass gets the
// full tfjs pass.
//
// Integrity: every model file is read once, checked against the SHA-256 pinned below, and served
// to TensorFlow.js from those very bytes (a load router for the models folder's paths), so what
// was checked is what runs; a changed or missing file refuses to load, naming the file. Human's own
// loader would fetch file:// URLs, which Node's fetch does not serve: the router answers instead.
// The tfjs engine is one per process, so the model is opened once per process (openFaceModel
// caches it) and calls are serialised.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../common/errors.ts';
import { openFaceGate } from './face-gate.ts';
import { openFaceMeshCheck } from './face-mesh-check.ts';
import type { Raster } from './preprocess.ts';

const require = createRequire(import.meta.url);

/** The files used, with their SHA-256 (from @vladmandic/human 3.3.6's models folder). */
export const FACE_MODEL_FILES: Readonly<Record<string, string>> = {
  'blazeface.json': 'cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f',
  'blazeface.bin': 'dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72',
  'facemesh.json': 'b60ca26f404724f43bd2b1575761d8265180e1f053cc0731caa68462927309e7',
  'facemesh.bin': '3826da640b0a3021161605369ee6af293f75d518040355b960ec71a3390c1c0b',
  'iris.json': '49038ac9dcc09aa05474d91d98e9db5b47af4830929bcf102ed5a56bfbabb465',
  'iris.bin': 'd7f296d184274213d4642681ae186112cbbec77fd2ab066257d3c56a1940bc71',
  // Oarriaga's face_classification emotion CNN (MIT; trained on FER-2013), 64 × 64 grey face crop
  // → 7 classes; only its 'happy' class is used, as the smile estimate.
  'emotion.json': '56f7e557eb0c863a8b9ab04ac7ccba756e93bf2c27dce135ef0e8712b80b7ad2',
  'emotion.bin': '927ac8224f356ab1e68c2bcfbfa07b0c8567047d1bcf817388ba6e38214c4987',
};

/** The models loaded (each a .json and its .bin in FACE_MODEL_FILES). */
const MODEL_NAMES = ['blazeface', 'facemesh', 'iris', 'emotion'];

/**
 * At most this many faces per photo: BlazeFace looks at a 256 × 256 view of the whole frame, so a
 * crowd of hundreds yields faces too small to judge anyway; the cap bounds the mesh work per photo.
 */
export const MAX_FACES = 24;

/** One face as the models see it, in the raster's pixels. */
export interface RawFace {
  box: { x: number; y: number; w: number; h: number };
  /** Detector (BlazeFace) confidence 0..1. */
  boxScore: number;
  /** Face mesh confidence 0..1 (low: the mesh is a guess — covered, turned away or not a face). */
  meshScore: number;
  /** 478 [x, y, z] points: the 468 mesh points (eyelids refined by the iris model) and 10 iris points. */
  mesh: [number, number, number][];
  /**
   * Smile estimate 0..0.99: the emotion model's 'happy' probability for the face, truncated by
   * Human to two decimals (null: not run). A facial-expression classifier on a 64 × 64 grey crop,
   * not a mouth measure (docs/judgement.md, "Smile and laughing squints").
   */
  smile: number | null;
  /** Head rotation in radians (yaw: left/right, pitch: up/down, roll: tilt). */
  yaw: number;
  pitch: number;
  roll: number;
}

export interface FaceModel {
  detect(raster: Raster): Promise<RawFace[]>;
}

/** The models folder inside the installed @vladmandic/human package, and tfjs-backend-wasm's .wasm folder. */
export function defaultFaceModelDirs(): { models: string; wasm: string } {
  const human = path.dirname(require.resolve('@vladmandic/human')); // …/human/dist (its exports map has no package.json subpath)
  const wasm = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  return { models: path.join(human, '..', 'models'), wasm };
}

/** A face model file is missing or is not the one Cull was built with. */
export class FaceModelError extends UserError {
  override name = 'FaceModelError';
  constructor(message: string, readonly file: string) {
    super(message, 'internal');
  }
}

/** Reads and checks every pinned file of `dir`: name → bytes. */
export function readVerifiedModelFiles(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [name, sha] of Object.entries(FACE_MODEL_FILES)) {
    const file = path.join(dir, name);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      throw new FaceModelError(`The face model file ${file} is missing: reinstall Cull (faces cannot be analysed without it).`, file);
    }
    const got = crypto.createHash('sha256').update(bytes).digest('hex');
    if (got !== sha) {
      throw new FaceModelError(
        `The face model file ${file} is damaged or was changed (SHA-256 ${got.slice(0, 12)}…, expected ${sha.slice(0, 12)}…): refusing to load it. Reinstall Cull.`,
        file,
      );
    }
    out.set(name, bytes);
  }
  return out;
}

type Tf = typeof import('@tensorflow/tfjs-core');
/** Verified model bytes by the absolute path of their .json, as the router is asked for them. */
const served = new Map<string, { json: Buffer; files: Map<string, Buffer> }>();
let tfReady: Promise<Tf> | null = null;

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

async function initTf(): Promise<Tf> {
  const tf = require('@tensorflow/tfjs-core') as Tf;
  require('@tensorflow/tfjs-converter');
  require('@tensorflow/tfjs-backend-wasm');
  // (tfjs's IORouter type says IOHandler, but a router answers null for URLs that are not its own.)
  const router = (url: string | string[]) => {
    const key = Array.isArray(url) ? url[0] : url;
    const entry = typeof key === 'string' ? served.get(path.resolve(key)) : undefined;
    if (!entry) return null;
    return {
      load: async () => {
        const j = JSON.parse(entry.json.toString('utf8'));
        const groups = j.weightsManifest as { paths: string[]; weights: unknown[] }[];
        const weights = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => entry.files.get(p) ?? Buffer.alloc(0))));
        return {
          modelTopology: j.modelTopology,
          weightSpecs: groups.flatMap((g) => g.weights) as never,
          weightData: toArrayBuffer(weights),
          format: j.format,
          generatedBy: j.generatedBy,
          convertedBy: j.convertedBy,
          userDefinedMetadata: j.userDefinedMetadata,
        };
      },
    };
  };
  tf.io.registerLoadRouter(router as never);
  return tf;
}

const opened = new Map<string, Promise<FaceModel>>();

/** Opens (once per process and folder) the face model; rejects with a FaceModelError if a file is missing or changed. */
export function openFaceModel(dirs: { models: string; wasm: string } = defaultFaceModelDirs()): Promise<FaceModel> {
  const key = path.resolve(dirs.models);
  let p = opened.get(key);
  if (!p) {
    p = load(key, dirs.wasm);
    opened.set(key, p);
    p.catch(() => opened.delete(key)); // a later attempt checks the files again
  }
  return p;
}

async function load(modelsDir: string, wasmDir: string): Promise<FaceModel> {
  const files = readVerifiedModelFiles(modelsDir);
  const gate = await openFaceGate(files, { minConfidence: GATE_CONFIDENCE, maxDetected: MAX_FACES, iouThreshold: IOU_THRESHOLD });
  const meshCheck = await openFaceMeshCheck(files, gate, { minConfidence: FULL_CONFIDENCE, margin: MESH_MARGIN });
  tfReady ??= initTf();
  const tf = await tfReady;
  for (const name of MODEL_NAMES) {
    served.set(path.join(modelsDir, name + '.json'), { json: files.get(name + '.json')!, files });
  }
  const { Human } = require(path.join(path.dirname(require.resolve('@vladmandic/human')), 'human.node-wasm.js'));
  const human = new Human({
    ...config(true),
    backend: 'wasm',
    wasmPath: wasmDir.endsWith(path.sep) ? wasmDir : wasmDir + path.sep,
    modelBasePath: modelsDir + path.sep,
    cacheModels: false,
    debug: false,
    async: true,
    warmup: 'none',
  });
  await human.load();
  for (const name of MODEL_NAMES) {
    if (!human.models?.models?.[name]) throw new FaceModelError(`The face model ${name} did not load from ${modelsDir}: reinstall Cull.`, name);
  }
  const run = async (r: Raster, full: boolean): Promise<HumanFace[]> => {
    const input = tf.tensor4d(r.data, [1, r.height, r.width, 3], 'int32');
    try {
      // The whole configuration each call: Human merges a call's settings into its own.
      return ((await human.detect(input, config(full))).face ?? []) as HumanFace[];
    } finally {
      input.dispose();
    }
  };
  const detectOne = async (r: Raster): Promise<RawFace[]> => {
    // BlazeFace sees the frame at 256 × 256 whatever it is given; handing it the 1500 px raster
    // adds an int32 tensor, a cast and a resize of 1.5 M pixels. So first the detector alone on a
    // small copy (libvips, antialiased), on onnxruntime (face-gate.ts: the same answer as Human's
    // detector with config(false), at a fraction of tfjs's cost); only a frame where it finds a face
    // pays for the full pass (detector again, then the mesh and the iris model cropped from the
    // working raster). Before it, the mesh check (face-mesh-check.ts, onnxruntime): the full pass's
    // detector boxes and Human's mesh confidence on each, so that a texture the gate took for a face
    // (most frames without people that pass it) stops here instead of in tfjs's mesh.
    if (Math.max(r.width, r.height) > GATE_SIDE) {
      const small = await downscale(r, GATE_SIDE);
      if (!(await gate.check(small)).passes) return [];
    }
    if (!(await meshCheck.check(r)).passes) return [];
    return (await run(r, true)).map(toRaw);
  };
  let queue: Promise<unknown> = Promise.resolve();
  return {
    detect(r: Raster) {
      const next = queue.then(() => detectOne(r));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

/** Long side of the copy the face detector first looks at (it sees 256 × 256 anyway). */
export const GATE_SIDE = 320;

/**
 * BlazeFace's confidence on the small copy for a frame to get the full pass. At 0.25 (below the full
 * pass's 0.3) 21 of the bench's 48 photos without people passed — a texture, most scoring
 * 0.3–0.5 — and paid the full pass (~90 ms) for the mesh to reject it. At 0.5 the faces judgement
 * (test/judgement/faces.ts on ../shared/faces) is the same face for face, and a photo without
 * faces costs 67 instead of 94.5 ms CPU on average over those 48 (docs/performance.md, "The faces analyzer").
 * A frame whose only face scores under 0.5 on the copy is no longer analysed: such faces are
 * small or unclear, which the eye rules mostly answer "can't tell" anyway.
 */
export const GATE_CONFIDENCE = 0.5;
/** Human's detector.minConfidence in the full pass; its mesh keeps a face whose score (rounded to 0.01) is above it too. */
export const FULL_CONFIDENCE = 0.3;
/**
 * How far below FULL_CONFIDENCE the mesh check (face-mesh-check.ts) still passes a frame: boxes
 * scoring above 0.2 are meshed and a mesh score above 0.2 passes. Measured on the 200 bench photos
 * and the 103 of ../shared/faces (test/judgement/face-mesh-check-parity.ts): every face Human keeps
 * scores 0.33 or more on the check, every box of a real frame where it keeps none 0.056 or less;
 * without the margin the check's verdict is Human's on all 303.
 */
export const MESH_MARGIN = 0.1;
/** Human's non-max suppression overlap for BlazeFace's boxes (the gate reproduces it). */
const IOU_THRESHOLD = 0.1;

export async function downscale(r: Raster, side: number): Promise<Raster> {
  const { data, info } = await sharp(r.data, { raw: { width: r.width, height: r.height, channels: 3 } })
    .resize(side, side, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
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
