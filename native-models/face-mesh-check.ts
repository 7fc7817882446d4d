// The mesh check: "would Human keep any face here?", asked of a frame the face gate (face-gate.ts)
// passed, before TensorFlow.js's full pass (faces.ts). Human keeps a face only when its face mesh,
// fitted to the detector's box, is confident (human/src/face/facemesh.ts predict: the mesh's
// face flag rounded to 0.01 must reach the detector's minConfidence, 0.3 in the full pass, and the
// face's score, that same value, be above it). A texture that fools BlazeFace on the small copy is
// rejected there — after ~110–150 ms of tfjs. Here the same steps run on onnxruntime: BlazeFace on
// the working raster at the full pass's threshold (the boxes the full pass would take), then for
// each box Human's crop (correctFaceRotation: the frame turned upright about the box's center when
// the eyes' line tilts more than 0.2 rad, tfjs's rotateWithOffset, nearest pixel, fill 0; then
// cropAndResize, bilinear, 192 × 192, / 255) and the face mesh converted to ONNX (tfjs-to-onnx.ts).
// A frame passes when some box's mesh score reaches the full pass's threshold less a margin, so
// the check only stops frames Human would certainly reject (test/judgement/face-mesh-check-parity.ts
// measures it on real photos; test/face-mesh-check.test.ts keeps the crop and the verdict Human's).
import * as ort from 'onnxruntime-node';
import type { FaceBox, FaceGate } from './face-gate.ts';
import type { Raster } from './preprocess.ts';
import { sessionOptions } from './runtime.ts';
import { parseTfjsGraph, tfjsToOnnx } from './tfjs-to-onnx.ts';

/** The face mesh's input side (facemesh.json: [n, 192, 192, 3]). */
export const MESH_SIZE = 192;
/** Human's rotation rule: the crop is turned upright only when the eyes' line tilts more than this (radians). */
const LARGE_ANGLE = 0.2;

export interface MeshCheckSettings {
  /** The full pass's detector.minConfidence: boxes above it are meshed, and a face is kept when its mesh score is above it. */
  minConfidence: number;
  /** Subtracted from minConfidence for both steps, so that float differences never stop a frame Human keeps. */
  margin: number;
}

export interface MeshCheckResult {
  /** The mesh score (raw, 0..1) of each box looked at, best detector score first, up to the first that passes. */
  scores: number[];
  /** Some box's mesh score reaches the threshold less the margin: the full pass is worth running. */
  passes: boolean;
}

export interface FaceMeshCheck {
  check(raster: Raster): Promise<MeshCheckResult>;
  release(): Promise<void>;
}

/** Opens the check on the gate's detector and the verified facemesh.json/.bin (one thread, as the gate). */
export async function openFaceMeshCheck(files: ReadonlyMap<string, Buffer>, gate: FaceGate, settings: MeshCheckSettings, threads = 1): Promise<FaceMeshCheck> {
  const graph = parseTfjsGraph(files.get('facemesh.json')!, files);
  const session = await ort.InferenceSession.create(tfjsToOnnx(graph, 'facemesh'), sessionOptions(threads));
  const input = session.inputNames[0];
  const threshold = settings.minConfidence - settings.margin;
  return {
    async check(r: Raster): Promise<MeshCheckResult> {
      // Best box first (the gate's order), one at a time: on a photo with people the first box is
      // nearly always a face and the check ends there; a texture pays for every box.
      const scores: number[] = [];
      const crop = new Float32Array(MESH_SIZE * MESH_SIZE * 3);
      for (const b of await gate.boxes(r, threshold)) {
        const out = await session.run({ [input]: new ort.Tensor('float32', humanFaceCrop(r, b, crop), [1, MESH_SIZE, MESH_SIZE, 3]) });
        try {
          // Human reads the output whose last dimension is 1: the face flag, already a probability.
          const c = (Object.values(out).find((t) => t.dims[t.dims.length - 1] === 1)!.data as Float32Array)[0];
          scores.push(c);
          if (Math.round(100 * c) / 100 > threshold) return { scores, passes: true };
        } finally {
          for (const t of Object.values(out)) t.dispose();
        }
      }
      return { scores, passes: false };
    },
    release: () => session.release(),
  };
}

/** Human's computeRotation of the detector's keypoints 3 and 2 (its BlazeFace symmetry line). */
export function faceAngle(b: FaceBox): number {
  const [p1, p2] = [b.landmarks[3], b.landmarks[2]];
  const a = Math.PI / 2 - Math.atan2(-(p2[1] - p1[1]), p2[0] - p1[0]);
  return a - 2 * Math.PI * Math.floor((a + Math.PI) / (2 * Math.PI));
}

/**
 * Human's face tensor for the mesh (facemeshutil.ts correctFaceRotation with rotation on), written
 * into `out` (192 × 192 × 3, 0..1): tfjs's rotateWithOffset of the whole frame about the box's
 * center when the tilt is large, then cropAndResize of the box (bilinear, corners aligned, 0 outside).
 */
export function humanFaceCrop(r: Raster, b: FaceBox, out: Float32Array): Float32Array {
  const { width: w, height: h, data } = r;
  const angle = faceAngle(b);
  const rotate = angle !== 0 && Math.abs(angle) > LARGE_ANGLE;
  const cx = b.startPoint[0] + (b.endPoint[0] - b.startPoint[0]) / 2;
  const cy = b.startPoint[1] + (b.endPoint[1] - b.startPoint[1]) / 2;
  // tfjs's wasm kernel computes in float32: the same rounding of the source pixel.
  const sin = Math.fround(Math.sin(angle));
  const cos = Math.fround(Math.cos(angle));
  const fcx = Math.fround((cx / w) * w);
  const fcy = Math.fround((cy / h) * h);
  /** Offset of pixel (x, y) of the (rotated) frame in `data`, or −1 where it is empty (fill 0). */
  const at = (x: number, y: number): number => {
    const dx = Math.fround(x - fcx);
    const dy = Math.fround(y - fcy);
    const sx = Math.round(Math.fround(Math.fround(Math.fround(dx * cos) - Math.fround(dy * sin)) + fcx));
    const sy = Math.round(Math.fround(Math.fround(Math.fround(dx * sin) + Math.fround(dy * cos)) + fcy));
    return sx >= 0 && sx < w && sy >= 0 && sy < h ? (sy * w + sx) * 3 : -1;
  };
  const value = (offset: number, c: number) => (offset < 0 ? 0 : data[offset + c]);
  // cropAndResize's box [y1, x1, y2, x2] as fractions of the frame (cutAndResize), then its sampling.
  const y1 = b.startPoint[1] / h;
  const x1 = b.startPoint[0] / w;
  const ys = ((b.endPoint[1] / h - y1) * (h - 1)) / (MESH_SIZE - 1);
  const xs = ((b.endPoint[0] / w - x1) * (w - 1)) / (MESH_SIZE - 1);
  for (let oy = 0; oy < MESH_SIZE; oy++) {
    const yIn = y1 * (h - 1) + oy * ys;
    const top = Math.floor(yIn);
    const bottom = Math.ceil(yIn);
    const yl = yIn - top;
    for (let ox = 0; ox < MESH_SIZE; ox++) {
      const o = (oy * MESH_SIZE + ox) * 3;
      const xIn = x1 * (w - 1) + ox * xs;
      if (yIn < 0 || yIn > h - 1 || xIn < 0 || xIn > w - 1) {
        out[o] = out[o + 1] = out[o + 2] = 0;
        continue;
      }
      const left = Math.floor(xIn);
      const right = Math.ceil(xIn);
      const xl = xIn - left;
      if (!rotate) { // the usual case: every corner inside the frame
        const [tl, tr, bl, br] = [(top * w + left) * 3, (top * w + right) * 3, (bottom * w + left) * 3, (bottom * w + right) * 3];
        for (let c = 0; c < 3; c++) {
          const t = data[tl + c] + (data[tr + c] - data[tl + c]) * xl;
          const btm = data[bl + c] + (data[br + c] - data[bl + c]) * xl;
          out[o + c] = (t + (btm - t) * yl) / 255;
        }
        continue;
      }
      const tl = at(left, top);
      const tr = at(right, top);
      const bl = at(left, bottom);
      const br = at(right, bottom);
      for (let c = 0; c < 3; c++) {
        const t = value(tl, c) + (value(tr, c) - value(tl, c)) * xl;
        const btm = value(bl, c) + (value(br, c) - value(bl, c)) * xl;
        out[o + c] = (t + (btm - t) * yl) / 255;
      }
    }
  }
  return out;
}
