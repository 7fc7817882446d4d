// Whether a face's eyes are covered (sunglasses, a hand): the face mesh places eyelids even where
// it cannot see them, so behind dark lenses or fingers its lids are a guess and may read as shut.
// This looks at the working raster instead: an eye — open or shut — has detail (iris and white,
// or the lash line and the lid crease) that a lens or a hand does not. Per eye, a patch over the
// eye (0.8 × 0.4 eye widths along the eye line, from the mesh's corners) against a patch of the
// same face's cheek (the mesh's cheek point): its flatness is the spread of the eye patch's
// luminance (10th to 90th percentile) over the cheek's median luminance. Measured on
// ../shared/faces (docs/judgement.md, "Covered eyes"): unmodified eyes 0.24 and up for the more
// detailed eye of a face (0.26 for shut ones: the lash line), under painted lenses median 0.05,
// under painted hands median 0.24 with a long tail. Covered: both eyes flatter than COVER_FLAT —
// one covered eye is left to the wink rule (an eye hidden). The threshold was chosen on those photos with lenses and hands
// painted at measure time (test/judgement/occlude.ts); a pure function of the raster and the
// mesh, no I/O. Where the mesh, guessing, puts the eyes off the cover (on a lens's rim, or on the
// mouth of a face whose top is hidden), the patch sees detail and the rule does not fire.
// Second measure, same patches: how dark the eye patch's darkest tenth is against the cheek. A shut
// eye shows its lash line; lids the mesh guessed on a hand's skin show nothing darker than skin,
// so "closed" there becomes "can't tell" (noLashLine, LASH_DARK; applied in face-measures.ts).
import { lumaAt, type Raster } from './analyzer.ts';

export const COVER_FLAT = 0.2;
/**
 * A shut eye shows its lash line (an open one its iris): the darkest tenth of the eye patch is
 * well below the cheek. Under a painted hand the mesh's "closed" lids sit on skin whose darkest
 * tenth is 0.60 of the cheek or more; on the 33 shut faces of ../shared/faces read as closed it
 * is at most 0.52 for the darker eye (docs/judgement.md, "Covered eyes"). "Closed" needs one eye
 * darker than this.
 */
export const LASH_DARK = 0.56;

type Pt = [number, number, number];

/** Each eye's corners (MediaPipe mesh indices) and the cheek point below it. */
export const EYE_CHEEK = [
  { corners: [33, 133], cheek: 205 }, // the eye on the photo's left (the person's right)
  { corners: [362, 263], cheek: 425 },
] as const;

export interface EyeCover {
  /** Luminance spread (p90 − p10) of the eye patch over the cheek's median. */
  flat: number;
  /** The eye patch's 10th-percentile luminance over the cheek's median (a lash line or an iris: low). */
  dark: number;
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

/** Each eye's flatness (photo's left eye first), or null when the mesh or the raster cannot give them. */
export function eyeCover(raster: Raster, mesh: Pt[]): [EyeCover, EyeCover] | null {
  if (mesh.length < 468) return null;
  const out: EyeCover[] = [];
  for (const e of EYE_CHEEK) {
    const a = mesh[e.corners[0]], b = mesh[e.corners[1]];
    const w = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (!(w >= 4)) return null; // an eye of a few pixels: nothing to see
    const u: [number, number] = [(b[0] - a[0]) / w, (b[1] - a[1]) / w];
    const eye = patch(raster, [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], u, 0.4 * w, 0.2 * w).sort((x, y) => x - y);
    const cheek = patch(raster, [mesh[e.cheek][0], mesh[e.cheek][1]], u, 0.3 * w, 0.3 * w).sort((x, y) => x - y);
    if (eye.length < 16 || cheek.length < 4) return null;
    const ref = Math.max(quantile(cheek, 0.5), 8); // a cheek in deep shadow: do not divide by ~0
    out.push({ flat: (quantile(eye, 0.9) - quantile(eye, 0.1)) / ref, dark: quantile(eye, 0.1) / ref });
  }
  return [out[0], out[1]];
}

/** The rule above: both eyes covered (one covered eye is left to the wink rule: an eye hidden). */
export function eyesCovered(cover: [EyeCover, EyeCover] | null): boolean {
  if (!cover) return false;
  return cover[0].flat < COVER_FLAT && cover[1].flat < COVER_FLAT;
}

/** Neither eye shows anything darker than skin (LASH_DARK): lids read as shut there are a guess (a hand over the eyes?). */
export function noLashLine(cover: [EyeCover, EyeCover] | null): boolean {
  if (!cover) return false;
  return cover[0].dark >= LASH_DARK && cover[1].dark >= LASH_DARK;
}
