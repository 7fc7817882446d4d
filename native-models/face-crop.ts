// Human's face crop for the face mesh (human/src/face/facemeshutil.ts correctFaceRotation with
// rotation on), reproduced in JS for the full pass on onnxruntime (face-pass.ts): the frame turned
// upright about the detector box's center when the eyes' line tilts more than 0.2 rad (tfjs's
// rotateWithOffset, nearest pixel, fill 0), then cropAndResize of the box (bilinear, 192 × 192),
// / 255. The mesh, the iris crops and the emotion model all read this one crop, as in Human; the
// iris crops are cut from it by the same cropAndResize (below). test/face-pass.test.ts compares
// the crop with tfjs's on upright and tilted boxes.
import type { FaceBox } from './face-gate.ts';
import type { Raster } from './preprocess.ts';

/** The face mesh's input side (facemesh.json: [n, 192, 192, 3]). */
export const MESH_SIZE = 192;
/** Human's rotation rule: the crop is turned upright only when the eyes' line tilts more than this (radians). */
const LARGE_ANGLE = 0.2;

/** Whether Human turned the face crop upright for this tilt (and so turns the mesh back). */
export const isLargeAngle = (angle: number) => angle !== 0 && Math.abs(angle) > LARGE_ANGLE;
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
  const rotate = isLargeAngle(angle);
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
  if (!rotate) return cropAndResize(data, w, h, 3, [y1, x1, b.endPoint[1] / h, b.endPoint[0] / w], MESH_SIZE, out, false, 255); // the usual case
  // Turned: the same sampling, each corner read from the frame rotated about the box's center.
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

/**
 * tfjs's cropAndResize (bilinear, extrapolation 0) of one box [y1, x1, y2, x2] (fractions of the
 * image) from an HWC image, into `out` (side × side × channels), each value divided by `divisor`
 * (Human's / 255 of the face crop); `flip` mirrors the result left–right (tf.image.flipLeftRight).
 */
export function cropAndResize(
  img: ArrayLike<number>, w: number, h: number, ch: number, box: [number, number, number, number], side: number, out: Float32Array,
  flip = false, divisor = 1,
): Float32Array {
  const [y1, x1, y2, x2] = box;
  const ys = ((y2 - y1) * (h - 1)) / (side - 1);
  const xs = ((x2 - x1) * (w - 1)) / (side - 1);
  for (let oy = 0; oy < side; oy++) {
    const yIn = y1 * (h - 1) + oy * ys;
    const top = Math.floor(yIn);
    const bottom = Math.ceil(yIn);
    const yl = yIn - top;
    for (let ox = 0; ox < side; ox++) {
      const o = (oy * side + (flip ? side - 1 - ox : ox)) * ch;
      const xIn = x1 * (w - 1) + ox * xs;
      if (yIn < 0 || yIn > h - 1 || xIn < 0 || xIn > w - 1) {
        for (let c = 0; c < ch; c++) out[o + c] = 0;
        continue;
      }
      const left = Math.floor(xIn);
      const right = Math.ceil(xIn);
      const xl = xIn - left;
      const [tl, tr, bl, br] = [(top * w + left) * ch, (top * w + right) * ch, (bottom * w + left) * ch, (bottom * w + right) * ch];
      for (let c = 0; c < ch; c++) {
        const t = img[tl + c] + (img[tr + c] - img[tl + c]) * xl;
        const b = img[bl + c] + (img[br + c] - img[bl + c]) * xl;
        out[o + c] = (t + (b - t) * yl) / divisor;
      }
    }
  }
  return out;
}
