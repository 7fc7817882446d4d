// The face model: @vladmandic/human's BlazeFace detector, face mesh (468 points), iris model
// (which refines the eyelid contours) and emotion classifier (its 'happy' class: the smile
// estimate), converted from Human's TensorFlow.js graph models to ONNX in memory
// (tfjs-to-onnx.ts) and run by onnxruntime-node — no native download at install, no network at run
// time. What it returns is raw geometry in the raster's pixels (and the smile), as Human computed it
// when TensorFlow.js ran these models (face-pass.ts, face-landmarks.ts); what it means (eye state,
// face focus) is electron/services/indexing/analyzers/face-measures.ts.
// Each frame is first asked "any face?" by the gate (face-gate.ts: BlazeFace on a small copy, giving
// Human's verdict); only a frame it passes gets the full pass (face-pass.ts: the detector on the
// working raster, then the mesh, iris and emotion models once per face).
//
// Integrity: every model file is read once, checked against the SHA-256 pinned below, and the ONNX
// graphs are built from those very bytes, so what was checked is what runs; a changed or missing
// file refuses to load, naming the file. The sessions run on one thread each (the CLIP encoder has
// the other core); the model is opened once per process and folder (openFaceModel caches it) and
// calls are serialised.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../common/errors.ts';
import { openFaceGate } from './face-gate.ts';
import { openFacePass } from './face-pass.ts';
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

/** The models folder inside the installed @vladmandic/human package. */
export function defaultFaceModelDirs(): { models: string } {
  const human = path.dirname(require.resolve('@vladmandic/human')); // …/human/dist (its exports map has no package.json subpath)
  return { models: path.join(human, '..', 'models') };
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

const opened = new Map<string, Promise<FaceModel>>();

/** Opens (once per process and folder) the face model; rejects with a FaceModelError if a file is missing or changed. */
export function openFaceModel(dirs: { models: string } = defaultFaceModelDirs()): Promise<FaceModel> {
  const key = path.resolve(dirs.models);
  let p = opened.get(key);
  if (!p) {
    p = load(key);
    opened.set(key, p);
    p.catch(() => opened.delete(key)); // a later attempt checks the files again
  }
  return p;
}

async function load(modelsDir: string): Promise<FaceModel> {
  const files = readVerifiedModelFiles(modelsDir);
  const gate = await openFaceGate(files, { minConfidence: GATE_CONFIDENCE, maxDetected: MAX_FACES, iouThreshold: IOU_THRESHOLD });
  const pass = await openFacePass(files, gate, FULL_CONFIDENCE);
  const detectOne = async (r: Raster): Promise<RawFace[]> => {
    // BlazeFace sees the frame at 256 × 256 whatever it is given, so the gate looks at a small copy
    // (libvips, antialiased): the same answer as Human's detector on the frame at a fraction of the
    // cost. Only a frame where it finds a face pays for the full pass, whose mesh score then stops
    // a texture the gate took for a face (most frames without people that pass it) before the
    // iris and emotion models.
    if (Math.max(r.width, r.height) > GATE_SIDE) {
      const small = await downscale(r, GATE_SIDE);
      if (!(await gate.check(small)).passes) return [];
    }
    return pass.detect(r);
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
/** Human's non-max suppression overlap for BlazeFace's boxes (the gate reproduces it). */
export const IOU_THRESHOLD = 0.1;

export async function downscale(r: Raster, side: number): Promise<Raster> {
  const { data, info } = await sharp(r.data, { raw: { width: r.width, height: r.height, channels: 3 } })
    .resize(side, side, { fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}
