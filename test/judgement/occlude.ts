// Covered eyes made at measure time (../shared/faces has no sunglasses and no hand over the eyes):
// on a copy of a working raster, from a face's mesh (where the model found its eyes on the
// unmodified photo), paint
//   - sunglasses: two dark grey opaque lenses (ellipses over each eye, along the eye line) with a
//     bridge between them, shaded top to bottom, each with a slight specular highlight;
//   - a hand: one skin patch over both eyes, its texture taken from the same face's cheek (mirrored
//     tiles), shaded like a rounded surface, with a soft edge.
// Never written to disk: the judgement script paints, analyses and forgets (the photos' licences
// allow measuring, not shipping). Also used on generated rasters by test/eye-cover.test.ts.
import { EYE_POINTS as EYES } from '../../electron/services/indexing/analyzers/eye-cover.ts';
import type { Raster } from '../../native-models/preprocess.ts';

type Pt = [number, number, number];
export type Cover = 'sunglasses' | 'hand';

interface EyeGeo {
  c: [number, number];
  w: number;
  u: [number, number];
}

function eyeGeo(mesh: Pt[]): [EyeGeo, EyeGeo] {
  const g = EYES.map((e) => {
    const a = mesh[e.corners[0]], b = mesh[e.corners[1]];
    const w = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
    return { c: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] as [number, number], w, u: [(b[0] - a[0]) / w, (b[1] - a[1]) / w] as [number, number] };
  });
  return [g[0], g[1]];
}

/** Calls fn(x, y, s, t) for raster pixels where (s, t) — coordinates along u and across, in units of the semi-axes — is inside the unit disc (or rectangle). */
function each(r: Raster, c: [number, number], u: [number, number], a: number, b: number, shape: 'ellipse' | 'rect', fn: (i: number, s: number, t: number) => void) {
  const ext = Math.ceil(Math.hypot(a, b));
  for (let y = Math.max(0, Math.floor(c[1] - ext)); y <= Math.min(r.height - 1, Math.ceil(c[1] + ext)); y++) {
    for (let x = Math.max(0, Math.floor(c[0] - ext)); x <= Math.min(r.width - 1, Math.ceil(c[0] + ext)); x++) {
      const dx = x - c[0], dy = y - c[1];
      const s = (dx * u[0] + dy * u[1]) / a, t = (-dx * u[1] + dy * u[0]) / b;
      if (shape === 'ellipse' ? s * s + t * t <= 1 : Math.abs(s) <= 1 && Math.abs(t) <= 1) fn((y * r.width + x) * 3, s, t);
    }
  }
}

const mix = (d: Buffer, i: number, rgb: [number, number, number], alpha: number) => {
  for (let k = 0; k < 3; k++) d[i + k] = Math.round(d[i + k] * (1 - alpha) + rgb[k] * alpha);
};

/** A copy of `raster` with every face's eyes covered (faces: meshes of ≥ 468 points). */
export function occlude(raster: Raster, meshes: Pt[][], cover: Cover): Raster {
  const data = Buffer.from(raster.data);
  const out = { ...raster, data };
  for (const mesh of meshes) {
    if (mesh.length < 468) continue;
    if (cover === 'sunglasses') sunglasses(out, mesh);
    else hand(out, raster, mesh);
  }
  return out;
}

function sunglasses(r: Raster, mesh: Pt[]) {
  const eyes = eyeGeo(mesh);
  const w = (eyes[0].w + eyes[1].w) / 2;
  const u: [number, number] = [eyes[1].c[0] - eyes[0].c[0], eyes[1].c[1] - eyes[0].c[1]];
  const n = Math.hypot(u[0], u[1]) || 1;
  u[0] /= n, u[1] /= n;
  // Bridge: between the lenses, a little above the eye line.
  const mid: [number, number] = [(eyes[0].c[0] + eyes[1].c[0]) / 2 + 0.1 * w * u[1], (eyes[0].c[1] + eyes[1].c[1]) / 2 - 0.1 * w * u[0]];
  each(r, mid, u, n / 2, 0.08 * w, 'rect', (i) => mix(r.data, i, [38, 38, 40], 1));
  for (const e of eyes) {
    const a = 0.95 * e.w, b = 0.72 * e.w;
    const c: [number, number] = [e.c[0] + 0.05 * e.w * u[1], e.c[1] - 0.05 * e.w * u[0]]; // a touch above the eye's centre
    each(r, c, u, a, b, 'ellipse', (i, _s, t) => {
      const g = Math.round(42 - 14 * t); // darker towards the bottom (a gradient lens)
      mix(r.data, i, [g, g, g + 2], 1);
    });
    // Specular highlight: a thin bright streak at the upper outer part of the lens.
    const hc: [number, number] = [c[0] - 0.4 * a * u[0] + 0.45 * b * u[1], c[1] - 0.4 * a * u[1] - 0.45 * b * u[0]];
    each(r, hc, u, 0.28 * a, 0.07 * b, 'ellipse', (i, s, t) => mix(r.data, i, [210, 212, 218], 0.55 * (1 - s * s - t * t)));
  }
}

function hand(r: Raster, original: Raster, mesh: Pt[]) {
  const eyes = eyeGeo(mesh);
  const w = (eyes[0].w + eyes[1].w) / 2;
  const u: [number, number] = [eyes[1].c[0] - eyes[0].c[0], eyes[1].c[1] - eyes[0].c[1]];
  const n = Math.hypot(u[0], u[1]) || 1;
  u[0] /= n, u[1] /= n;
  const c: [number, number] = [(eyes[0].c[0] + eyes[1].c[0]) / 2, (eyes[0].c[1] + eyes[1].c[1]) / 2];
  const a = n / 2 + 0.9 * w, b = 0.8 * w;
  // Texture source: a square of the photo's-left cheek, read from the unmodified raster.
  const cheek = mesh[EYES[0].cheek];
  const half = Math.max(2, Math.floor(0.3 * w));
  const cx = Math.round(cheek[0]), cy = Math.round(cheek[1]);
  const src = (dx: number, dy: number) => {
    // Mirrored tiling of the (2·half) square: seamless, no visible repeat edge.
    const m = (v: number) => {
      const p = ((v % (4 * half)) + 4 * half) % (4 * half);
      return p < 2 * half ? p - half : 3 * half - p - 1;
    };
    const x = Math.min(original.width - 1, Math.max(0, cx + m(dx))), y = Math.min(original.height - 1, Math.max(0, cy + m(dy)));
    return (y * original.width + x) * 3;
  };
  each(r, c, u, a, b, 'ellipse', (i, s, t) => {
    const p = i / 3, x = p % r.width, y = Math.floor(p / r.width);
    const j = src(Math.round(x - c[0]), Math.round(y - c[1]));
    const shade = 1.04 - 0.12 * t * t - 0.06 * s * s; // lit from the front, rounding off at the edges
    const edge = Math.min(1, (1 - Math.hypot(s, t)) * 12); // a soft edge a few pixels wide
    const rgb: [number, number, number] = [0, 1, 2].map((k) => Math.min(255, original.data[j + k] * shade)) as [number, number, number];
    mix(r.data, i, rgb, edge);
  });
}
