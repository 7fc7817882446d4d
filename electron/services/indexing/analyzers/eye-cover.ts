// What the raster says about eyes the mesh reads as shut. The face mesh places eyelids even where it
// cannot see them: behind lenses or fingers its lids are a guess and may read as shut. Three
// measures, pure functions of the working raster and the mesh (no I/O); docs/judgement.md,
// "Covered eyes", gives their figures and how each was tested on covers written after it:
//   - flatness (eyesCovered): an eye, open or shut, has detail — iris and white, or the lash line —
//     that a lens or a hand does not. Per eye, a patch over the eye (0.8 × 0.4 eye widths along the
//     eye line) against a patch of the same face's cheek: the eye patch's luminance spread (10th to
//     90th percentile) over the cheek's median. Both eyes flatter than COVER_FLAT: covered (one
//     covered eye is left to the wink rule). Chosen on ../shared/faces with lenses and a skin patch
//     painted at measure time (test/judgement/occlude.ts);
//   - the lash line (noLashLine): a shut eye shows a thin line darker than the skin above and below
//     it, at the mesh's lid line; a lens is even or smoothly shaded, a hand is skin;
//   - lines like fingers' (linesLikeFingers): a gap between fingers passes for a lash line, but a
//     lash line ends at the eye's corners and has a lower lid below it — not a line through the nose
//     bridge, nor another just below.
// Those two only turn "closed" into "can't tell" (face-measures.ts eyeState); their thresholds come
// from the real shut eyes of ../shared/faces (below the faintest lash line, above the strongest
// line elsewhere), so they cost no blink found there.
import { lumaAt, type Raster } from './analyzer.ts';

export const COVER_FLAT = 0.2;
/**
 * The lash line, per eye (EyeLash.lash): at three points across the eye, the luminance profile through the lids
 * (along the eye's normal); its darkest point within 0.1 eye widths of the lid line against the
 * skin on either side (0.12–0.3 eye widths away; the darker side counts). Contrast = skin over
 * line, depth = (skin − line) over the cheek's median; the eye's figure is the median of the three
 * points. On the 33 faces of ../shared/faces read as closed, the fainter eye measures contrast
 * ≥ 1.13 and depth ≥ 0.068 (docs/judgement.md, "Covered eyes"); "closed" needs both eyes at or
 * above these, set just under them.
 */
export const LASH_CONTRAST = 1.1;
export const LASH_DEPTH = 0.05;

type Pt = [number, number, number];

/**
 * Each eye's points in the MediaPipe face mesh: corners, three upper-lid and the facing three
 * lower-lid points, and the cheek point below it (the one table face-measures.ts also reads).
 */
export const EYE_POINTS = [
  { corners: [33, 133], upper: [160, 159, 158], lower: [144, 145, 153], cheek: 205 }, // the eye on the photo's left (the person's right)
  { corners: [362, 263], upper: [385, 386, 387], lower: [380, 374, 373], cheek: 425 },
] as const;

export interface EyeCover {
  /** Luminance spread (p90 − p10) of the eye patch over the cheek's median. */
  flat: number;
}

/** A thin dark line: skin over line (1 = no line), and skin − line over the cheek's median. */
export interface Line {
  contrast: number;
  depth: number;
}

/** Lines at an eye's lids (measured only for lids read as shut: the rest of the rule needs none). */
export interface EyeLash {
  /** The lash line across the lids. */
  lash: Line;
  /** The strongest line 0.3–0.7 eye widths below the lash line. */
  below: Line;
}

/** Luminances of a rectangle centred on c, half-sides `along` (on direction u) and `across`. */
function patch(r: Raster, c: [number, number], u: [number, number], along: number, across: number): number[] {
  const out: number[] = [];
  const ext = Math.ceil(Math.hypot(along, across));
  const x0 = Math.max(0, Math.floor(c[0] - ext)), x1 = Math.min(r.width - 1, Math.ceil(c[0] + ext));
  const y0 = Math.max(0, Math.floor(c[1] - ext)), y1 = Math.min(r.height - 1, Math.ceil(c[1] + ext));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x - c[0], dy = y - c[1];
      if (Math.abs(dx * u[0] + dy * u[1]) <= along && Math.abs(-dx * u[1] + dy * u[0]) <= across) out.push(lumaAt(r.data, (y * r.width + x) * 3));
    }
  }
  return out;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))];
}

/** An eye's frame: unit vector corner to corner, width, its patch's luminances and its cheek's median; null when too small to see. */
function eyeFrame(raster: Raster, mesh: Pt[], e: (typeof EYE_POINTS)[number]) {
  const a = mesh[e.corners[0]], b = mesh[e.corners[1]];
  const w = Math.hypot(b[0] - a[0], b[1] - a[1]);
  if (!(w >= 4)) return null; // an eye of a few pixels: nothing to see
  const u: [number, number] = [(b[0] - a[0]) / w, (b[1] - a[1]) / w];
  const cheek = patch(raster, [mesh[e.cheek][0], mesh[e.cheek][1]], u, 0.3 * w, 0.3 * w).sort((x, y) => x - y);
  if (cheek.length < 4) return null;
  const eye = patch(raster, [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], u, 0.4 * w, 0.2 * w);
  if (eye.length < 16) return null;
  const ref = Math.max(quantile(cheek, 0.5), 8); // a cheek in deep shadow: do not divide by ~0
  return { u, w, eye, ref };
}

/** Each eye's flatness (photo's left eye first), or null when the mesh or the raster cannot give them. */
export function eyeCover(raster: Raster, mesh: Pt[]): [EyeCover, EyeCover] | null {
  if (mesh.length < 468) return null;
  const out: EyeCover[] = [];
  for (const e of EYE_POINTS) {
    const f = eyeFrame(raster, mesh, e);
    if (!f) return null;
    const eye = f.eye.sort((x, y) => x - y);
    out.push({ flat: (quantile(eye, 0.9) - quantile(eye, 0.1)) / f.ref });
  }
  return [out[0], out[1]];
}

/** Each eye's lash line and the line below it (photo's left eye first), or null when the mesh or the raster cannot give them. */
export function lashLines(raster: Raster, mesh: Pt[]): [EyeLash, EyeLash] | null {
  if (mesh.length < 468) return null;
  const out: EyeLash[] = [];
  for (const e of EYE_POINTS) {
    const f = eyeFrame(raster, mesh, e);
    if (!f) return null;
    out.push(lashLine(raster, mesh, e, f.u, f.w, f.ref));
  }
  return [out[0], out[1]];
}

/** The rule above: both eyes covered (one covered eye is left to the wink rule: an eye hidden). */
export function eyesCovered(cover: [EyeCover, EyeCover] | null): boolean {
  if (!cover) return false;
  return cover[0].flat < COVER_FLAT && cover[1].flat < COVER_FLAT;
}

/** An eye without a lash line at its lids (LASH_CONTRAST, LASH_DEPTH): lids read as shut there are a guess (covered eyes?). */
export function noLashLine(lashes: [EyeLash, EyeLash] | null): boolean {
  if (!lashes) return true; // nothing measurable: no evidence of a shut eye either
  return lashes.some((e) => e.lash.contrast < LASH_CONTRAST || e.lash.depth < LASH_DEPTH);
}

/** Bilinear luminance at (x, y), clamped to the raster. */
function lumaBilinear(r: Raster, x: number, y: number): number {
  x = Math.min(r.width - 1.001, Math.max(0, x));
  y = Math.min(r.height - 1.001, Math.max(0, y));
  const x0 = Math.floor(x), y0 = Math.floor(y), fx = x - x0, fy = y - y0;
  const at = (xx: number, yy: number) => lumaAt(r.data, (yy * r.width + xx) * 3);
  return (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A thin dark line through c, across direction u (w: the eye width, the unit of distance): the
 * profile along u's normal, averaged over a short stretch along u (noise); its darkest point within
 * 0.1 w of c, and the skin on either side 0.12–0.3 w from it (the darker side's median).
 */
function lineThrough(r: Raster, c: [number, number], u: [number, number], w: number): { line: number; skin: number; at: number } {
  const at = (t: number) => {
    let sum = 0;
    for (const s of [-0.04, 0, 0.04]) sum += lumaBilinear(r, c[0] + (s * u[0] - t * u[1]) * w, c[1] + (s * u[1] + t * u[0]) * w);
    return sum / 3;
  };
  let line = Infinity, tl = 0;
  for (let i = -5; i <= 5; i++) {
    const p = at(i * 0.02);
    if (p < line) (line = p), (tl = i * 0.02);
  }
  const side = (sign: number) => median([0, 1, 2, 3, 4, 5, 6].map((i) => at(tl + sign * (0.12 + i * 0.03))));
  return { line, skin: Math.min(side(-1), side(1)), at: tl };
}

/** The lash-line measure above for one eye (u: unit vector corner to corner, w: eye width, ref: the cheek's median). */
function lashLine(r: Raster, mesh: Pt[], e: (typeof EYE_POINTS)[number], u: [number, number], w: number, ref: number): EyeLash {
  const contrast: number[] = [], depth: number[] = [], below: Line[] = [];
  for (let k = 0; k < 3; k++) {
    const up = mesh[e.upper[k]], lo = mesh[e.lower[k]];
    const c: [number, number] = [(up[0] + lo[0]) / 2, (up[1] + lo[1]) / 2];
    const { line, skin, at } = lineThrough(r, c, u, w);
    contrast.push(skin / Math.max(line, 4));
    depth.push((skin - line) / ref);
    // The strongest line 0.3–0.7 eye widths below it (a lower lid has none; the next finger's edge does).
    let best = { contrast: 0, depth: 0 };
    for (const off of [0.4, 0.6]) {
      const t = at + off;
      const l = lineThrough(r, [c[0] - t * u[1] * w, c[1] + t * u[0] * w], u, w);
      const m = { contrast: l.skin / Math.max(l.line, 4), depth: (l.skin - l.line) / ref };
      if (m.contrast > best.contrast) best = m;
    }
    below.push(best);
  }
  const mid = (xs: Line[]) => ({ contrast: median(xs.map((x) => x.contrast)), depth: median(xs.map((x) => x.depth)) });
  return { lash: { contrast: median(contrast), depth: median(depth) }, below: mid(below) };
}

/**
 * A lash line ends at the eye's corners, and below it there is a lower lid, not another line. A
 * line that runs on through the nose bridge at the lids' level, or a second strong line just below
 * the "lash line", is something lying across the eyes: the gaps between fingers. The bridge: the
 * same measure as the lash line, midway between the inner corners, at the mean level of the two
 * lids' middles; below: EyeLash.below. On the 33 real faces of ../shared/faces read as closed the
 * bridge shows contrast ≤ 1.28 and depth ≤ 0.22, the line below ≤ 1.43 and ≤ 0.18
 * (docs/judgement.md, "Covered eyes"); FINGER_CONTRAST and FINGER_DEPTH are set above both.
 */
export const FINGER_CONTRAST = 1.5;
export const FINGER_DEPTH = 0.3;

/** The line-through-the-bridge measure above, or null when the mesh cannot give it. */
export function bridgeLine(raster: Raster, mesh: Pt[]): Line | null {
  if (mesh.length < 468) return null;
  const [l, r] = EYE_POINTS;
  const a = mesh[l.corners[1]], b = mesh[r.corners[0]]; // the inner corners
  const d = Math.hypot(b[0] - a[0], b[1] - a[1]);
  const w = (Math.hypot(a[0] - mesh[l.corners[0]][0], a[1] - mesh[l.corners[0]][1]) + Math.hypot(mesh[r.corners[1]][0] - b[0], mesh[r.corners[1]][1] - b[1])) / 2;
  if (!(d >= 4) || !(w >= 4)) return null;
  const u: [number, number] = [(b[0] - a[0]) / d, (b[1] - a[1]) / d];
  const mid: [number, number] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  // The lids' level: how far below the corner line the middles of the two lids sit, on average.
  let below = 0;
  for (const e of EYE_POINTS) {
    const p = mesh[e.upper[1]], q = mesh[e.lower[1]];
    below += (((p[0] + q[0]) / 2 - mid[0]) * -u[1] + ((p[1] + q[1]) / 2 - mid[1]) * u[0]) / 2;
  }
  const c: [number, number] = [mid[0] - below * u[1], mid[1] + below * u[0]];
  let ref = 0;
  for (const e of EYE_POINTS) ref += quantile(patch(raster, [mesh[e.cheek][0], mesh[e.cheek][1]], u, 0.3 * w, 0.3 * w).sort((x, y) => x - y), 0.5) / 2;
  const { line, skin } = lineThrough(raster, c, u, w);
  return { contrast: skin / Math.max(line, 4), depth: (skin - line) / Math.max(ref, 8) };
}

/** Lines like fingers' across the eyes (FINGER_CONTRAST, FINGER_DEPTH): through the bridge, or a second one below either lash line. */
export function linesLikeFingers(lashes: [EyeLash, EyeLash] | null, bridge: Line | null): boolean {
  const strong = (m: Line | null) => !!m && m.contrast >= FINGER_CONTRAST && m.depth >= FINGER_DEPTH;
  return strong(bridge) || (!!lashes && lashes.some((e) => strong(e.below)));
}
