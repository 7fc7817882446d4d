// The face model's full pass on onnxruntime: what @vladmandic/human computed on TensorFlow.js's
// WebAssembly backend (human/src/face/facemesh.ts predict, iris.ts, face.ts, gear/emotion.ts with
// Cull's settings, native-models/faces.ts), step for step, with Human's graph models converted to
// ONNX in memory (tfjs-to-onnx.ts):
//   1. BlazeFace on the working raster at the full pass's threshold (the gate's session: its boxes,
//      enlarged and squared, best first);
//   2. per box, Human's 192 px face crop (face-crop.ts humanFaceCrop: turned upright when the
//      eyes tilt) and the face mesh; a face is kept when its mesh score, rounded to 0.01, is above
//      the threshold — a texture the gate took for a face stops here, after one mesh run per box;
//   3. for a kept face, the iris model on both eyes cut from that crop, its contours written over
//      the mesh's eyelids, the mesh back to the frame, the face box and the head's angles
//      (face-landmarks.ts), and the emotion model on the same crop (its 'happy' class: the smile).
// Each model runs once per face; nothing runs twice. test/face-pass.test.ts and
// test/judgement/face-pass-parity.ts compare the result with Human's on drawn and real faces.
import * as ort from 'onnxruntime-node';
import type { FaceBox, FaceGate } from './face-gate.ts';
import { augmentIris, clampBox, EMOTION_SIZE, emotionInput, eyeBox, faceAngles, IRIS_SIZE, irisInput, meshBox, toFrame, type Pt3 } from './face-landmarks.ts';
import { faceAngle, humanFaceCrop, MESH_SIZE } from './face-crop.ts';
import type { RawFace } from './faces.ts';
import type { Raster } from './preprocess.ts';
import { sessionOptions } from './runtime.ts';
import { parseTfjsGraph, tfjsToOnnx } from './tfjs-to-onnx.ts';

/** The emotion model's classes (Oarriaga's, Human's order for a one-channel model); 'happy' is the smile. */
const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const HAPPY = EMOTIONS.indexOf('happy');

export interface FacePass {
  /** Human's faces on `raster` (the full pass's result, in its order: the detector's best box first). */
  detect(raster: Raster): Promise<RawFace[]>;
  release(): Promise<void>;
}

async function session(files: ReadonlyMap<string, Buffer>, name: string, threads: number) {
  const s = await ort.InferenceSession.create(tfjsToOnnx(parseTfjsGraph(files.get(`${name}.json`)!, files), name), sessionOptions(threads));
  return { s, input: s.inputNames[0] };
}

/** Opens the pass on the gate's detector and the verified facemesh, iris and emotion files (one thread each, as the gate). */
export async function openFacePass(files: ReadonlyMap<string, Buffer>, gate: FaceGate, minConfidence: number, threads = 1): Promise<FacePass> {
  const mesh = await session(files, 'facemesh', threads);
  const iris = await session(files, 'iris', threads);
  const emotion = await session(files, 'emotion', threads);
  if (MESH_SIZE % EMOTION_SIZE) throw new Error('emotionInput assumes the mesh crop is a whole multiple of the emotion input');
  const crop = new Float32Array(MESH_SIZE * MESH_SIZE * 3);

  const run = async (m: typeof mesh, data: Float32Array, dims: number[]): Promise<Float32Array[]> => {
    const out = await m.s.run({ [m.input]: new ort.Tensor('float32', data, dims) });
    try {
      return m.s.outputNames.map((n) => out[n].data as Float32Array).map((d) => d.slice());
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  };

  const face = async (r: Raster, box: FaceBox): Promise<RawFace | null> => {
    const angle = faceAngle(box);
    humanFaceCrop(r, box, crop);
    const outs = await run(mesh, crop, [1, MESH_SIZE, MESH_SIZE, 3]);
    // Human picks the outputs by their last dimension: 1 the face flag, 1404 the 468 points.
    // Human drops the face when the score rounded to 0.01 is under the detector's minConfidence, and
    // keeps it only when that score is above it.
    const meshScore = Math.round(100 * outs.find((d) => d.length === 1)![0]) / 100;
    if (!(meshScore > minConfidence)) return null;
    const flat = outs.find((d) => d.length === 1404)!;
    let raw: Pt3[] = Array.from({ length: 468 }, (_, i) => [flat[i * 3], flat[i * 3 + 1], flat[i * 3 + 2]]);
    const eyes: [ReturnType<typeof eyeBox>, ReturnType<typeof eyeBox>] = [eyeBox(raw, 'left'), eyeBox(raw, 'right')];
    const [irisOut] = await run(iris, irisInput(crop, MESH_SIZE, eyes), [2, IRIS_SIZE, IRIS_SIZE, 3]);
    raw = augmentIris(raw, irisOut, eyes);
    const points = toFrame(raw, box, angle, MESH_SIZE);
    const b = meshBox(points, box);
    const [probs] = await run(emotion, emotionInput(crop, MESH_SIZE), [1, EMOTION_SIZE, EMOTION_SIZE, 1]);
    // Human lists the classes above minConfidence (0), each truncated to 0.01 and capped at 0.99.
    const happy = probs[HAPPY] > 0 ? Math.min(0.99, Math.trunc(100 * probs[HAPPY]) / 100) : 0;
    return {
      box: clampBox(b, r.width, r.height),
      boxScore: Math.round(100 * box.confidence) / 100,
      meshScore,
      mesh: points,
      smile: happy,
      ...faceAngles(points, b, r.width, r.height, MESH_SIZE),
    };
  };

  return {
    async detect(r: Raster): Promise<RawFace[]> {
      const out: RawFace[] = [];
      for (const box of await gate.boxes(r, minConfidence)) {
        const f = await face(r, box);
        if (f) out.push(f);
      }
      return out;
    },
    release: async () => {
      await Promise.all([mesh.s.release(), iris.s.release(), emotion.s.release()]);
    },
  };
}
