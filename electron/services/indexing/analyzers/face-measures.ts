// What a face found by the face model (native-models/faces.ts) means for culling: eye state, face
// focus, box in fractions of the photo. Pure functions of the model's geometry and the working
// raster; no I/O. The analyzer (faces.ts), the judgement script (test/judgement/faces.ts) and the
// tests call this, so the rules measured are the rules shipped.
//
// Eyelid opening, per eye: the mean distance between the upper and the lower lid at three points
// across the eye, over the eye's width (corner to corner), from the face mesh with its eyelids
// refined by the iris model. Scale-free, so it is the same for a face of 100 px and of 1000 px.
// Measured on ../shared/faces (docs/judgement.md, "Faces"): frontal open eyes 0.22–0.55, their mean
// over the two eyes ≥ 0.28; closed eyes mostly 0.05–0.2, but the mesh often draws one of a closed
// pair 0.2–0.3 open, so the rule looks at the mean of the two eyes.
//
// Eye state — "closed" only when the model can tell, "unknown" with a reason otherwise:
//   - the face is smaller than MIN_FACE_PX working pixels (the eyelids are a pixel or two apart);
//   - the head is turned away (|yaw| > MAX_YAW: a profile, one eye hidden or foreshortened) or bowed
//     or thrown back (|pitch| > MAX_PITCH: lids seen edge-on, a look down reads as closed);
//   - the mesh is unsure (meshScore < MIN_MESH: covered, blurred or not quite a face);
//   - the eyes are covered (sunglasses, a hand: eye-cover.ts — the mesh draws lids it cannot see);
//   - one eye clearly open and the other clearly shut (a wink, or an eye hidden by hair or a hand:
//     below WINK_SHUT and at least WINK_OPEN), or the mean between the closed and the open
//     thresholds (a laughing squint, half-closed lids).
// Closed: the two eyes' mean opening below CLOSED_BELOW, both eyes showing a lash line at the lids
// (eye-cover.ts noLashLine: behind a lens or a hand the mesh guesses lids it cannot see), and no
// lines like fingers' around it (linesLikeFingers: through the nose bridge, or another just below).
// Open: the mean at or above OPEN_FROM.
// The thresholds were chosen on the same labelled photos the figures are measured on (there are
// too few for a held-out set): the published rates are optimistic, the counts say how few.
//
// Face sharpness: the technical analyzer's re-blur measure (technical-measures.ts windowSharpness)
// over the eye region (both eyes with a margin: lashes, iris and lid edges are where a photographer
// judges focus on a face) at working resolution, mapped to 0..1 as @focus maps its sharpness.
import type { PhotoFace } from '../../../../common/types.ts';
import type { RawFace } from '../../../../native-models/faces.ts';
import { luminance, type Raster } from './analyzer.ts';
import { bridgeLine, EYE_POINTS, eyeCover, eyesCovered, lashLines, linesLikeFingers, noLashLine } from './eye-cover.ts';
import { clamp01, focusScore, windowSharpness } from './technical-measures.ts';

/** Faces smaller than this (box side, working pixels) get "unknown" (docs/judgement.md: where eye state stops being reliable). */
export const MIN_FACE_PX = 80;
export const MAX_YAW = 0.6; // radians, ≈ 35°
export const MAX_PITCH = 0.6;
export const MIN_MESH = 0.7;
export const CLOSED_BELOW = 0.2;
export const OPEN_FROM = 0.24;
export const WINK_SHUT = 0.12;
export const WINK_OPEN = 0.28;

/** Mesh indices (MediaPipe face mesh) of each eye: eye-cover.ts's table; `left` is the eye on the photo's left (the person's right eye). */
const EYES = { left: EYE_POINTS[0], right: EYE_POINTS[1] } as const;

type Pt = [number, number, number];
const dist = (a: Pt, b: Pt) => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** Eyelid opening of one eye (lid distance / eye width), or null when the mesh lacks the points. */
export function eyeOpening(mesh: Pt[], eye: keyof typeof EYES): number | null {
  const e = EYES[eye];
  if (mesh.length < 468) return null;
  const width = dist(mesh[e.corners[0]], mesh[e.corners[1]]);
  if (!(width > 0)) return null;
  let lid = 0;
  for (let k = 0; k < 3; k++) lid += dist(mesh[e.upper[k]], mesh[e.lower[k]]);
  return lid / 3 / width;
}

export interface EyeVerdict {
  state: PhotoFace['eyes']['state'];
  reason?: string;
}

/** The reason given for shut lids with no lash line to be seen (explain: "can't tell: …"). */
export const NO_LASH_LINE = 'no lash line at the lids (sunglasses or a hand over the eyes?)';

/** The reason given for shut lids whose "lash line" has lines like fingers' around it (explain: "can't tell: …"). */
export const LINE_ACROSS = 'lines like fingers across the eyes (a hand over the eyes?)';

/** The reason given for covered eyes (explain: "can't tell: eyes covered …"). */
export const EYES_COVERED = 'eyes covered (sunglasses or a hand?)';

/**
 * The eye state rule above, from a face's geometry, its two openings, whether its eyes look
 * covered, and — asked only for lids read as shut — why the raster cannot confirm them shut
 * (shutUnseen below; null when it can).
 */
export function eyeState(
  face: Pick<RawFace, 'yaw' | 'pitch' | 'meshScore'>,
  sizePx: number,
  left: number | null,
  right: number | null,
  covered = false,
  unseen: (() => string | null) | null = null,
): EyeVerdict {
  if (sizePx < MIN_FACE_PX) return { state: 'unknown', reason: 'face too small to tell' };
  if (Math.abs(face.yaw) > MAX_YAW) return { state: 'unknown', reason: 'face turned away (profile)' };
  if (Math.abs(face.pitch) > MAX_PITCH) return { state: 'unknown', reason: 'head bowed or tilted back' };
  if (covered) return { state: 'unknown', reason: EYES_COVERED };
  if (face.meshScore < MIN_MESH) return { state: 'unknown', reason: 'face unclear or partly hidden' };
  if (left === null || right === null) return { state: 'unknown', reason: 'eyes not found' };
  const v = openingState(left, right);
  const why = v.state === 'closed' && unseen ? unseen() : null;
  return why ? { state: 'unknown', reason: why } : v;
}

/** Why the raster cannot confirm lids read as shut (eye-cover.ts: no lash line, or lines like fingers), or null: a lash line at both lids. */
export function shutUnseen(raster: Raster, mesh: Pt[]): string | null {
  const lashes = lashLines(raster, mesh);
  return noLashLine(lashes) ? NO_LASH_LINE : linesLikeFingers(lashes, bridgeLine(raster, mesh)) ? LINE_ACROSS : null;
}

/** The state the two eyes' openings alone give (eyeState without the face's size, pose and mesh checks). */
export function openingState(left: number, right: number): EyeVerdict {
  if (Math.min(left, right) < WINK_SHUT && Math.max(left, right) >= WINK_OPEN) {
    return { state: 'unknown', reason: 'one eye open, one closed (a wink, or an eye hidden)' };
  }
  const mean = (left + right) / 2;
  if (mean < CLOSED_BELOW) return { state: 'closed' };
  if (mean >= OPEN_FROM) return { state: 'open' };
  return { state: 'unknown', reason: 'eyes half closed (squinting or laughing?)' };
}

/** The eye region (both eyes with a margin of half an eye width), in raster pixels, clipped to the raster. */
function eyeRegion(mesh: Pt[], w: number, h: number): [number, number, number, number] | null {
  if (mesh.length < 468) return null;
  const pts = EYE_POINTS.flatMap((e) => [...e.corners, ...e.upper, ...e.lower].map((i) => mesh[i]));
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const p of pts) {
    x0 = Math.min(x0, p[0]); x1 = Math.max(x1, p[0]);
    y0 = Math.min(y0, p[1]); y1 = Math.max(y1, p[1]);
  }
  const m = (x1 - x0) / 8; // ≈ half an eye width (the region spans about four eye widths)
  const r = [Math.max(0, Math.floor(x0 - m)), Math.max(0, Math.floor(y0 - m)), Math.min(w, Math.ceil(x1 + m)), Math.min(h, Math.ceil(y1 + m))] as [number, number, number, number];
  return r[2] - r[0] >= 8 && r[3] - r[1] >= 8 ? r : null;
}

/** The re-blur sharpness (V/D) of the eye region, or NaN when it cannot tell. */
export function eyeSharpness(raster: Raster, mesh: Pt[]): number {
  const r = eyeRegion(mesh, raster.width, raster.height);
  if (!r) return NaN;
  const [x0, y0, x1, y1] = r;
  const cw = x1 - x0;
  const crop = Buffer.allocUnsafe(cw * (y1 - y0) * 3);
  for (let y = y0; y < y1; y++) raster.data.copy(crop, (y - y0) * cw * 3, (y * raster.width + x0) * 3, (y * raster.width + x1) * 3);
  const L = luminance({ data: crop, width: cw, height: y1 - y0, channels: 3 });
  return windowSharpness(L, cw, 0, 0, cw, y1 - y0);
}

/**
 * One face as stored and shown. `scale`: original pixels per raster pixel (for `px`). Faces come
 * largest first (index 0 = the largest).
 */
export function measureFaces(raw: RawFace[], raster: Raster, scale: number): (PhotoFace & { px: number })[] {
  const { width: W, height: H } = raster;
  const sorted = [...raw].sort((a, b) => Math.max(b.box.w, b.box.h) - Math.max(a.box.w, a.box.h));
  return sorted.map((f, index) => {
    const x0 = Math.max(0, f.box.x), y0 = Math.max(0, f.box.y);
    const x1 = Math.min(W, f.box.x + f.box.w), y1 = Math.min(H, f.box.y + f.box.h);
    const sizePx = Math.max(f.box.w, f.box.h);
    const left = eyeOpening(f.mesh, 'left');
    const right = eyeOpening(f.mesh, 'right');
    const verdict = eyeState(f, sizePx, left, right, eyesCovered(eyeCover(raster, f.mesh)), () => shutUnseen(raster, f.mesh));
    const s = sizePx >= MIN_FACE_PX / 2 ? eyeSharpness(raster, f.mesh) : NaN;
    const sharp = focusScore(s, 0);
    return {
      index,
      box: { x: x0 / W, y: y0 / H, w: Math.max(0, x1 - x0) / W, h: Math.max(0, y1 - y0) / H },
      confidence: clamp01(f.boxScore),
      eyes: { state: verdict.state, left: round(left), right: round(right), ...(verdict.reason ? { reason: verdict.reason } : {}) },
      sharpness: Number.isFinite(sharp) ? sharp : null,
      smile: f.smile === null ? null : round(clamp01(f.smile)),
      px: Math.round(sizePx * scale),
    };
  });
}

const round = (x: number | null) => (x === null || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);
