// The face gate: "is there a face in this frame at all?", asked of every photo before the face
// model's full pass (native-models/faces.ts). It is @vladmandic/human's BlazeFace detector
// (blazeface.json/.bin, SHA-256-checked by readVerifiedModelFiles) converted to ONNX in memory
// (tfjs-to-onnx.ts) and run by onnxruntime-node: on TensorFlow.js's WebAssembly backend the gate
// cost ~65 ms CPU per photo without faces, most of it tfjs's convolutions and garbage collection
// (docs/performance.md, "The faces analyzer").
//
// The answer must be Human's own, so its detector path is reproduced step for step
// (human/src/face/blazeface.ts getBoxes, facemesh.ts predict, with Cull's gate settings): the RGB
// raster as float, bilinear resize to 256 × 256 with tfjs's default (half_pixel_centers false =
// ONNX 'asymmetric'), x / 127.5 − 1 — all three inside the ONNX graph — then in JS: sigmoid of each
// anchor's logit, greedy non-max suppression (IoU 0.1, at most MAX_FACES), each kept box scaled,
// enlarged 1.4× and squared, dropped if it rounds to 0 px, and a face counted when its score rounded
// to 2 decimals is above the threshold (Human's `face.score > minConfidence`). test/face-gate.test.ts
// checks scores and verdicts against TensorFlow.js running Human on the same images.
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from './onnx-graph.ts';
import type { Raster } from './preprocess.ts';
import { sessionOptions } from './runtime.ts';
import { addTfjsGraph, parseTfjsGraph, type TfjsGraph } from './tfjs-to-onnx.ts';

export interface FaceGateSettings {
  /** Human's detector.minConfidence: a face counts when its score, rounded to 0.01, is above it. */
  minConfidence: number;
  /** Human's detector.maxDetected (non-max suppression keeps at most this many boxes). */
  maxDetected: number;
  /** Human's detector.iouThreshold. */
  iouThreshold: number;
}

export interface FaceGateResult {
  /** Highest BlazeFace score over all anchors (0..1), before any filtering. */
  maxScore: number;
  /** Human would report at least one face: the full pass is worth running. */
  passes: boolean;
}

/** One of Human's detector boxes (blazeface.ts DetectBox), in the raster's pixels: what the mesh is cropped from. */
export interface FaceBox {
  /** The box scaled, enlarged 1.4× and squared, corners rounded (Human's squarifyBox). */
  startPoint: [number, number];
  endPoint: [number, number];
  /** BlazeFace's 6 keypoints (eyes, nose, mouth, ears), scaled to the raster. */
  landmarks: [number, number][];
  /** The raw (unrounded) detector score. */
  confidence: number;
}

export interface FaceGate {
  check(raster: Raster): Promise<FaceGateResult>;
  /**
   * Human's detector boxes on `raster` at `minConfidence` (getBoxes: non-max suppression, score
   * above the threshold, box not empty), as its full pass would take them for the mesh.
   */
  boxes(raster: Raster, minConfidence: number): Promise<FaceBox[]>;
  release(): Promise<void>;
}

/** Human's detector.scale (default): each box is enlarged this much before it is squared. */
const BOX_SCALE = 1.4;

/** The converted BlazeFace with its preprocessing in front: input `pixels`, uint8 [1, h, w, 3]. */
export function buildFaceGateModel(graph: TfjsGraph): { bytes: Uint8Array; inputSize: number } {
  if (graph.inputs.length !== 1) throw new Error('BlazeFace: expected one input');
  const inputSize = graph.inputs[0].shape[2];
  const g = new GraphBuilder('blazeface-gate', 'cull-face-gate');
  const pixels = g.input('pixels', 'uint8', [1, 'height', 'width', 3]);
  const x = g.op1('Transpose', [g.op1('Cast', [pixels], { to: 1 /* FLOAT */ })], { perm: [0, 3, 1, 2] });
  const resized = g.op1('Resize', [x, '', '', g.i64('sizes', [1, 3, inputSize, inputSize])], {
    mode: 'linear', coordinate_transformation_mode: 'asymmetric',
  });
  const normalized = g.op1('Sub', [g.op1('Div', [resized, g.f32('c127_5', [], [127.5])]), g.f32('one', [], [1])]);
  for (const out of addTfjsGraph(g, graph, { [graph.inputs[0].name]: normalized })) g.output(out, 'float32', null);
  return { bytes: g.encode(), inputSize };
}

/** Opens the gate from the verified face model files (name → bytes). One thread: the CLIP encoder has the other core. */
export async function openFaceGate(files: ReadonlyMap<string, Buffer>, settings: FaceGateSettings, threads = 1): Promise<FaceGate> {
  const graph = parseTfjsGraph(files.get('blazeface.json')!, files);
  const { bytes, inputSize } = buildFaceGateModel(graph);
  const session = await ort.InferenceSession.create(bytes, sessionOptions(threads));
  const anchors = blazeFaceAnchors(inputSize);
  const detect = async <T>(r: Raster, then: (d: Decoded) => T): Promise<T> => {
    const pixels = new ort.Tensor('uint8', new Uint8Array(r.data.buffer, r.data.byteOffset, r.width * r.height * 3), [1, r.height, r.width, 3]);
    const out = await session.run({ pixels });
    try {
      // Human sorts the four outputs by size: classificators 384, 512, then regressors 384 × 16, 512 × 16.
      const [c384, c512, r384, r512] = session.outputNames.map((n) => out[n]).sort((a, b) => a.size - b.size).map((t) => t.data as Float32Array);
      return then(decode({ logits: [c512, c384], regs: [r512, r384] }, anchors)); // rows: the 512 stride-16 anchors first
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
  };
  return {
    check: (r) => detect(r, (d) => decide(d, inputSize, r.width, r.height, settings)),
    boxes: (r, minConfidence) => detect(r, (d) => humanBoxes(d, inputSize, r.width, r.height, { ...settings, minConfidence })),
    release: () => session.release(),
  };
}

/** Human's generateAnchors for BlazeFace's 256 px model: 2 per cell at stride 16, 6 per cell at stride 32. */
export function blazeFaceAnchors(inputSize: number): Float32Array {
  const out: number[] = [];
  for (const [stride, perCell] of [[inputSize / 16, 2], [inputSize / 8, 6]]) {
    const cells = Math.floor((inputSize + stride - 1) / stride);
    for (let y = 0; y < cells; y++) for (let x = 0; x < cells; x++) for (let n = 0; n < perCell; n++) out.push(stride * (x + 0.5), stride * (y + 0.5));
  }
  return Float32Array.from(out);
}

/** Every anchor's sigmoid score, box [x1, y1, x2, y2] and keypoint offsets, in the model's input pixels. */
interface Decoded {
  scores: Float32Array;
  boxes: Float32Array;
  /** Per anchor 12 values: the 6 keypoints' (x, y) offsets from the anchor (Human's batch columns 5–16). */
  keypoints: Float32Array;
  anchors: Float32Array;
  maxScore: number;
}

function decode(rows: { logits: Float32Array[]; regs: Float32Array[] }, anchors: Float32Array): Decoded {
  const count = anchors.length / 2;
  const scores = new Float32Array(count);
  const boxes = new Float32Array(count * 4);
  const keypoints = new Float32Array(count * 12);
  let maxScore = 0;
  for (let i = 0, part = 0, j = 0; i < count; i++, j++) {
    if (j === rows.logits[part].length) [part, j] = [part + 1, 0];
    scores[i] = 1 / (1 + Math.exp(-rows.logits[part][j]));
    if (scores[i] > maxScore) maxScore = scores[i];
    const reg = rows.regs[part].subarray(j * 16, j * 16 + 16);
    const cx = reg[0] + anchors[2 * i];
    const cy = reg[1] + anchors[2 * i + 1];
    boxes.set([cx - reg[2] / 2, cy - reg[3] / 2, cx + reg[2] / 2, cy + reg[3] / 2], i * 4);
    keypoints.set(reg.subarray(4, 16), i * 12);
  }
  return { scores, boxes, keypoints, anchors, maxScore };
}

/**
 * Human's verdict from the detector's outputs (see the header): its boxes (humanBoxes), and a face
 * counted when its score rounded to 2 decimals is above the threshold (facemesh.ts's face.score).
 */
function decide(d: Decoded, inputSize: number, width: number, height: number, s: FaceGateSettings): FaceGateResult {
  const passes = humanBoxes(d, inputSize, width, height, s).some((b) => Math.round(100 * b.confidence) / 100 > s.minConfidence);
  return { maxScore: d.maxScore, passes };
}

/** Human's getBoxes after the model: scaleBoxCoordinates, enlargeBox (1.4), squarifyBox, empty boxes dropped. */
function humanBoxes(d: Decoded, inputSize: number, width: number, height: number, s: FaceGateSettings): FaceBox[] {
  const fx = width / inputSize;
  const fy = height / inputSize;
  const out: FaceBox[] = [];
  for (const i of nonMaxSuppression(d.boxes, d.scores, s)) {
    const [x1, y1, x2, y2] = [d.boxes[i * 4] * fx, d.boxes[i * 4 + 1] * fy, d.boxes[i * 4 + 2] * fx, d.boxes[i * 4 + 3] * fy];
    const landmarks: [number, number][] = [];
    for (let k = 0; k < 6; k++) {
      landmarks.push([(d.keypoints[i * 12 + 2 * k] + d.anchors[2 * i]) * fx, (d.keypoints[i * 12 + 2 * k + 1] + d.anchors[2 * i + 1]) * fy]);
    }
    const [cx, cy] = [x1 + (x2 - x1) / 2, y1 + (y2 - y1) / 2];
    const [w, h] = [BOX_SCALE * Math.abs(x2 - x1), BOX_SCALE * Math.abs(y2 - y1)];
    const half = Math.max(w, h) / 2; // squarifyBox: the enlarged box's center and larger side
    if (!(Math.round(w) > 0 && Math.round(h) > 0 && d.scores[i] > s.minConfidence)) continue;
    out.push({
      startPoint: [Math.round(cx - half), Math.round(cy - half)],
      endPoint: [Math.round(cx + half), Math.round(cy + half)],
      landmarks,
      confidence: d.scores[i],
    });
  }
  return out;
}

/** tfjs's nonMaxSuppression (hard NMS): best first, dropping a box whose IoU with a kept one is ≥ the threshold. */
function nonMaxSuppression(boxes: Float32Array, scores: Float32Array, s: FaceGateSettings): number[] {
  const order = [...scores.keys()].filter((i) => scores[i] > s.minConfidence).sort((a, b) => scores[b] - scores[a] || a - b);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.length >= s.maxDetected) break;
    if (kept.every((k) => iou(boxes, i, k) < s.iouThreshold)) kept.push(i);
  }
  return kept;
}

function iou(b: Float32Array, i: number, j: number): number {
  const area = (k: number) => Math.abs(b[k * 4 + 2] - b[k * 4]) * Math.abs(b[k * 4 + 3] - b[k * 4 + 1]);
  const ai = area(i);
  const aj = area(j);
  if (ai <= 0 || aj <= 0) return 0;
  const lo = (k: number, d: number) => Math.min(b[k * 4 + d], b[k * 4 + d + 2]);
  const hi = (k: number, d: number) => Math.max(b[k * 4 + d], b[k * 4 + d + 2]);
  const ix = Math.max(Math.min(hi(i, 0), hi(j, 0)) - Math.max(lo(i, 0), lo(j, 0)), 0);
  const iy = Math.max(Math.min(hi(i, 1), hi(j, 1)) - Math.max(lo(i, 1), lo(j, 1)), 0);
  return (ix * iy) / (ai + aj - ix * iy);
}
