// Human's face geometry between the models of the full pass (face-pass.ts), reproduced from
// @vladmandic/human 3.3.6 (src/face/facemeshutil.ts, iris.ts, angles.ts, gear/emotion.ts) so that the
// numbers Cull stores are the ones Human computed when TensorFlow.js ran the pass: the eye crops fed
// to the iris model, the iris model's eye contours written over the mesh's, the mesh taken from the
// 192 px crop back to the frame (truncated to whole pixels, as Human does), the face box around the
// mesh, the head's yaw, pitch and roll, and the emotion model's 64 × 64 grey input. Pure functions:
// no model, no I/O. test/face-pass.test.ts and test/judgement/face-pass-parity.ts compare the
// result with Human's own.
import { cropAndResize, isLargeAngle } from './face-crop.ts';
import type { FaceBox } from './face-gate.ts';

export type Pt3 = [number, number, number];
interface Box {
  startPoint: [number, number];
  endPoint: [number, number];
}

/** The iris model's input side (iris.json: [n, 64, 64, 3]) and the emotion model's (emotion.json: [n, 64, 64, 1]). */
export const IRIS_SIZE = 64;
export const EMOTION_SIZE = 64;
/** Human's face.iris.scale: each eye's corner-to-corner box is enlarged this much before it is squared. */
const IRIS_SCALE = 2.3;
/** The iris model's 76 points: 71 eye contour points, then 5 iris points. */
const IRIS_POINTS = 76;
const IRIS_FIRST = 71;

/**
 * Human's meshAnnotations for each eye's contours (facemeshcoords.ts; Human's "left" is the
 * person's left eye, on the photo's right), keyed as irisIndices: which mesh points the iris
 * model's points replace.
 */
const EYE_CONTOURS: Record<'left' | 'right', Record<string, number[]>> = {
  left: {
    EyeUpper0: [466, 388, 387, 386, 385, 384, 398], EyeLower0: [263, 249, 390, 373, 374, 380, 381, 382, 362],
    EyeUpper1: [467, 260, 259, 257, 258, 286, 414], EyeLower1: [359, 255, 339, 254, 253, 252, 256, 341, 463],
    EyeUpper2: [342, 445, 444, 443, 442, 441, 413], EyeLower2: [446, 261, 448, 449, 450, 451, 452, 453, 464],
    EyeLower3: [372, 340, 346, 347, 348, 349, 350, 357, 465],
    EyebrowUpper: [383, 300, 293, 334, 296, 336, 285, 417], EyebrowLower: [265, 353, 276, 283, 282, 295],
  },
  right: {
    EyeUpper0: [246, 161, 160, 159, 158, 157, 173], EyeLower0: [33, 7, 163, 144, 145, 153, 154, 155, 133],
    EyeUpper1: [247, 30, 29, 27, 28, 56, 190], EyeLower1: [130, 25, 110, 24, 23, 22, 26, 112, 243],
    EyeUpper2: [113, 225, 224, 223, 222, 221, 189], EyeLower2: [226, 31, 228, 229, 230, 231, 232, 233, 244],
    EyeLower3: [143, 111, 117, 118, 119, 120, 121, 128, 245],
    EyebrowUpper: [156, 70, 63, 105, 66, 107, 55, 193], EyebrowLower: [35, 124, 46, 53, 52, 65],
  },
};
/** Human's irisIndices: for each contour, the iris model's points that replace it, in order. */
const IRIS_INDICES: [string, number[]][] = [
  ['EyeUpper0', [9, 10, 11, 12, 13, 14, 15]], ['EyeUpper1', [25, 26, 27, 28, 29, 30, 31]],
  ['EyeUpper2', [41, 42, 43, 44, 45, 46, 47]], ['EyeLower0', [0, 1, 2, 3, 4, 5, 6, 7, 8]],
  ['EyeLower1', [16, 17, 18, 19, 20, 21, 22, 23, 24]], ['EyeLower2', [32, 33, 34, 35, 36, 37, 38, 39, 40]],
  ['EyeLower3', [54, 55, 56, 57, 58, 59, 60, 61, 62]], ['EyebrowUpper', [63, 64, 65, 66, 67, 68, 69, 70]],
  ['EyebrowLower', [48, 49, 50, 51, 52, 53]],
];
/** Each eye's two corners (the first and last point of its EyeLower0): what its iris crop is built around. */
const EYE_BOUNDS = { left: [263, 362], right: [33, 133] } as const;

const center = (b: Box): [number, number] => [b.startPoint[0] + (b.endPoint[0] - b.startPoint[0]) / 2, b.startPoint[1] + (b.endPoint[1] - b.startPoint[1]) / 2];
const size = (b: Box): [number, number] => [Math.abs(b.endPoint[0] - b.startPoint[0]), Math.abs(b.endPoint[1] - b.startPoint[1])];

/** Human's getEyeBox: the two corners' bounding box enlarged 2.3× and squared (whole pixels of the 192 px crop). */
export function eyeBox(raw: Pt3[], eye: 'left' | 'right'): Box {
  const [a, b] = EYE_BOUNDS[eye].map((i) => raw[i]);
  const lo: [number, number] = [Math.min(a[0], b[0]), Math.min(a[1], b[1])];
  const hi: [number, number] = [Math.max(a[0], b[0]), Math.max(a[1], b[1])];
  const c = center({ startPoint: lo, endPoint: hi });
  const s = size({ startPoint: lo, endPoint: hi });
  const half = Math.max(IRIS_SCALE * s[0], IRIS_SCALE * s[1]) / 2; // enlargeBox then squarifyBox
  return { startPoint: [Math.round(c[0] - half), Math.round(c[1] - half)], endPoint: [Math.round(c[0] + half), Math.round(c[1] + half)] };
}

/**
 * The iris model's input for both eyes ([2, 64, 64, 3]: left then right) from the mesh's 192 px face
 * crop. Human flips both crops left–right (tfjs's wasm backend has FlipLeftRight) but mirrors back
 * only the left eye's points (augmentIris); that is reproduced, since parity is the point.
 */
export function irisInput(face: Float32Array, meshSize: number, boxes: Box[], out = new Float32Array(2 * IRIS_SIZE * IRIS_SIZE * 3)): Float32Array {
  boxes.forEach((b, k) => {
    const cut: [number, number, number, number] = [b.startPoint[1] / meshSize, b.startPoint[0] / meshSize, b.endPoint[1] / meshSize, b.endPoint[0] / meshSize];
    cropAndResize(face, meshSize, meshSize, 3, cut, IRIS_SIZE, out.subarray(k * IRIS_SIZE * IRIS_SIZE * 3, (k + 1) * IRIS_SIZE * IRIS_SIZE * 3), true);
  });
  return out;
}

/** Human's augmentIris after the model: the eye contours replaced by the iris model's, then the 10 iris points appended (478 in all). */
export function augmentIris(raw: Pt3[], iris: Float32Array, boxes: [Box, Box]): Pt3[] {
  const eyeCoords = (k: number, flip: boolean): Pt3[] => {
    const b = boxes[k];
    const s = size(b);
    const d = iris.subarray(k * IRIS_POINTS * 3, (k + 1) * IRIS_POINTS * 3);
    const pts: Pt3[] = [];
    for (let i = 0; i < IRIS_POINTS; i++) {
      const x = d[i * 3] / IRIS_SIZE;
      pts.push([(flip ? 1 - x : x) * s[0] + b.startPoint[0], (d[i * 3 + 1] / IRIS_SIZE) * s[1] + b.startPoint[1], d[i * 3 + 2]]);
    }
    return pts;
  };
  const left = eyeCoords(0, true);
  const right = eyeCoords(1, false);
  const replace = (pts: Pt3[], eye: 'left' | 'right', keys: string[] | null) => {
    for (const [key, indices] of IRIS_INDICES) {
      if (keys && !keys.includes(key)) continue;
      const original = EYE_CONTOURS[eye][key];
      indices.forEach((index, j) => {
        raw[original[j]] = [pts[index][0], pts[index][1], (pts[index][2] + raw[original[j]][2]) / 2];
      });
    }
  };
  const depth = raw[EYE_BOUNDS.left[0]][2] - raw[EYE_BOUNDS.right[0]][2];
  if (Math.abs(depth) < 30) { // looking ahead: both eyes
    replace(left, 'left', null);
    replace(right, 'right', null);
  } else if (depth < 1) replace(left, 'left', ['EyeUpper0', 'EyeLower0']); // turned: only the nearer eye's lid line
  else replace(right, 'right', ['EyeUpper0', 'EyeLower0']);
  // getAdjustedIrisCoords: the iris points' z from the lid centres around them.
  const adjusted = (pts: Pt3[], eye: 'left' | 'right'): Pt3[] => {
    const upper = raw[EYE_CONTOURS[eye].EyeUpper0[3]][2];
    const lower = raw[EYE_CONTOURS[eye].EyeLower0[4]][2];
    const mean = (upper + lower) / 2;
    return pts.slice(IRIS_FIRST).map((p, i) => [p[0], p[1], i === 2 ? upper : i === 4 ? lower : mean]);
  };
  return raw.concat(adjusted(left, 'left'), adjusted(right, 'right'));
}

type Mat = number[][];
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const mul = (m1: Mat, m2: Mat): Mat => m1.map((row) => m2[0].map((_, c) => dot(row, m2.map((r) => r[c]))));
const FIXED: Mat = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
function rotationMatrix(rotation: number, c: [number, number]): Mat {
  const [cos, sin] = [Math.cos(rotation), Math.sin(rotation)];
  const t = (x: number, y: number): Mat => [[1, 0, x], [0, 1, y], [0, 0, 1]];
  return mul(mul(t(c[0], c[1]), [[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]]), t(-c[0], -c[1]));
}
function invert(m: Mat): Mat {
  const rot = [[m[0][0], m[1][0]], [m[0][1], m[1][1]]];
  const tr = [m[0][2], m[1][2]];
  return [[...rot[0], -dot(rot[0], tr)], [...rot[1], -dot(rot[1], tr)], [0, 0, 1]];
}


/** Human's transformRawCoords: the mesh's points (in the 192 px crop) back to the frame's whole pixels. */
export function toFrame(raw: Pt3[], box: FaceBox, angle: number, meshSize: number): Pt3[] {
  const s = size(box);
  const c = center(box);
  const large = isLargeAngle(angle);
  const rot = large ? rotationMatrix(angle, [0, 0]) : FIXED;
  const inverse = large ? invert(rotationMatrix(-angle, c)) : FIXED;
  const hc = [c[0], c[1], 1];
  const off = [dot(hc, inverse[0]), dot(hc, inverse[1])];
  return raw.map((p) => {
    const q = [(s[0] / meshSize) * (p[0] - meshSize / 2), (s[1] / meshSize) * (p[1] - meshSize / 2), p[2] || 0];
    const [x, y] = large ? [dot(q, rot[0]), dot(q, rot[1])] : q;
    return [Math.trunc(x + off[0]), Math.trunc(y + off[1]), Math.trunc(q[2] || 0)];
  });
}

/** Human's face box: the detector box's size centred on the mesh's extent (calculateFaceBox), unclamped. */
export function meshBox(mesh: Pt3[], box: FaceBox): Box {
  const xs = mesh.map((p) => p[0]);
  const ys = mesh.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const c = [x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2];
  const s = size(box);
  return { startPoint: [c[0] - s[0] / 2, c[1] - s[1] / 2], endPoint: [c[0] + s[0] / 2, c[1] + s[1] / 2] };
}

/** Human's clampBox: [x, y, w, h] in whole pixels inside the frame. */
export function clampBox(b: Box, width: number, height: number): { x: number; y: number; w: number; h: number } {
  const x = Math.max(0, b.startPoint[0]);
  const y = Math.max(0, b.startPoint[1]);
  return { x: Math.trunc(x), y: Math.trunc(y), w: Math.trunc(Math.min(width, b.endPoint[0]) - x), h: Math.trunc(Math.min(height, b.endPoint[1]) - y) };
}

/** Human's calculateFaceAngle (angles.ts): yaw, pitch and roll from the mesh's top, bottom, left and right points. */
export function faceAngles(mesh: Pt3[], box: Box, width: number, height: number, meshSize: number): { yaw: number; pitch: number; roll: number } {
  // Human works on meshRaw (x / width, y / height, z / meshSize) and boxRaw, scaled back by the image size.
  const s = Math.max(((box.endPoint[0] - box.startPoint[0]) / width) * width, ((box.endPoint[1] - box.startPoint[1]) / height) * height) / 1.5;
  const pts = [10, 152, 234, 454].map((i) => [((mesh[i][0] / width) * width) / s, ((mesh[i][1] / height) * height) / s, mesh[i][2] / meshSize]);
  const norm = (v: number[]) => {
    const l = Math.hypot(v[0], v[1], v[2]);
    return [v[0] / l, v[1] / l, v[2] / l];
  };
  const cross = (a: number[], b: number[]) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const sub = (a: number[], b: number[]) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const yAxis = norm(sub(pts[1], pts[0]));
  let xAxis = norm(sub(pts[3], pts[2]));
  const zAxis = norm(cross(xAxis, yAxis));
  xAxis = cross(yAxis, zAxis);
  const [r00, r10, r11, r12, r20] = [xAxis[0], yAxis[0], yAxis[1], yAxis[2], zAxis[0]];
  let tx: number, ty: number, tz: number;
  if (r10 < 1) {
    if (r10 > -1) {
      tz = Math.atan2(r10, Math.sqrt(r00 * r00 + r20 * r20));
      ty = Math.atan2(-r20, r00);
      tx = Math.atan2(-r12, r11);
    } else [tz, ty, tx] = [-Math.PI / 2, -Math.atan2(zAxis[1], zAxis[2]), 0];
  } else [tz, ty, tx] = [Math.PI / 2, Math.atan2(zAxis[1], zAxis[2]), 0];
  const fix = (v: number) => (Number.isNaN(v) ? 0 : -v);
  return { pitch: fix(tx), yaw: fix(ty), roll: fix(tz) };
}

/**
 * The emotion model's input from the mesh's 192 px face crop (0..1): tfjs's resizeBilinear to
 * 64 × 64 (no corner alignment, no half-pixel centres: at a factor of 3 each output is source pixel
 * (3x, 3y)), grey = 0.2989 R + 0.587 G + 0.114 B in float32, then (grey − 0.5) × 2.
 */
export function emotionInput(face: Float32Array, meshSize: number, out = new Float32Array(EMOTION_SIZE * EMOTION_SIZE)): Float32Array {
  const f = meshSize / EMOTION_SIZE;
  const [wr, wg, wb] = [Math.fround(0.2989), Math.fround(0.587), Math.fround(0.114)];
  for (let y = 0; y < EMOTION_SIZE; y++) {
    const sy = Math.min(meshSize - 1, Math.floor(y * f));
    for (let x = 0; x < EMOTION_SIZE; x++) {
      const o = (sy * meshSize + Math.min(meshSize - 1, Math.floor(x * f))) * 3;
      const grey = Math.fround(Math.fround(Math.fround(face[o] * wr) + Math.fround(face[o + 1] * wg)) + Math.fround(face[o + 2] * wb));
      out[y * EMOTION_SIZE + x] = Math.fround(Math.fround(grey - 0.5) * 2);
    }
  }
  return out;
}
