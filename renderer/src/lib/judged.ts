// What the loupe says about focus and faces, as pure functions (unit-tested under Node): the focus
// map's tiles as coloured cells with a word each, eye states as words and
// colours, the "why" in words ("eyes closed: 2 of 5 faces", "sharpest region soft") for the loupe's
// panel and, shorter, each survey cell's caption, the 100 % face crops of the faces view and the
// rows that line the same face up across the frames of a stack or survey.
import type { EyeState, FocusMapInfo, PhotoFace, PhotoFaces } from '../../../common/types.ts';

/** Tile sharpness (re-blur V/D) at which focus is "soft" or "sharp": the @focus mapping's ends (technical-measures.ts). */
const SOFT_VD = 0.2;
const CRISP_VD = 0.85;

export type FocusBand = 'sharp' | 'fair' | 'soft';

export interface FocusCell {
  /** Tile position and size in tiles (x, y: column and row). */
  x: number;
  y: number;
  band: FocusBand;
  /** 0…1 along soft → sharp (the @focus scale). */
  level: number;
  /** Fill colour: red (soft) … amber … green (sharp). */
  fill: string;
}

/** A tile's sharpness on the @focus scale (0 soft … 1 crisp). */
export function focusLevel(vd: number): number {
  return Math.min(1, Math.max(0, (vd - SOFT_VD) / (CRISP_VD - SOFT_VD)));
}

export function focusBand(level: number): FocusBand {
  return level >= 0.6 ? 'sharp' : level >= 0.3 ? 'fair' : 'soft';
}

/** The overlay's cells: one per tile with a value (tiles with too little detail to tell are left clear). */
export function focusCells(map: FocusMapInfo): FocusCell[] {
  const out: FocusCell[] = [];
  map.tiles.forEach((v, t) => {
    if (v === null) return;
    const level = focusLevel(v);
    const hue = Math.round(level * 120); // 0 red … 120 green
    out.push({ x: t % map.grid, y: Math.floor(t / map.grid), band: focusBand(level), level, fill: `hsl(${hue} 85% 48%)` });
  });
  return out;
}

/** How the sharpest region reads against the filter threshold, or why it has no value. */
export type FocusGrade = 'unmeasured' | 'flat' | 'soft' | 'fair' | 'sharp';

/** The one place focus becomes a grade: the loupe's sentence and the survey's caption both say it. `below`: the "Out of focus" filter's threshold. */
export function focusGrade(map: FocusMapInfo | null, below: number): FocusGrade {
  if (!map) return 'unmeasured';
  if (map.focus === null) return 'flat';
  return map.focus < below ? 'soft' : map.focus < 0.65 ? 'fair' : 'sharp';
}

/** The focus sentence of the loupe's "why". `below`: the "Out of focus" filter's threshold. */
export function focusWords(map: FocusMapInfo | null, below: number): string {
  const grade = focusGrade(map, below);
  if (grade === 'unmeasured') return 'focus not measured yet: run Index on its folder';
  if (grade === 'flat') return 'focus: too little detail to tell (a smooth sky, fog, a plain wall)';
  const f = map!.focus!.toFixed(2);
  return grade === 'soft' ? `sharpest region soft (focus ${f}): out of focus` : `sharpest region ${grade} (focus ${f})`;
}

/** The same grade in a few words, for a survey cell's caption. */
function focusShort(grade: FocusGrade): string {
  if (grade === 'unmeasured') return 'focus not measured yet';
  if (grade === 'flat') return "focus: can't tell";
  return grade === 'soft' ? 'sharpest region soft' : `sharpest region ${grade}`;
}

export interface EyeLook {
  /** Words shown on the box (never colour alone). */
  text: string;
  /** CSS class: open / closed / unknown. */
  cls: EyeState;
}

export function eyeLook(state: EyeState): EyeLook {
  if (state === 'open') return { text: 'eyes open', cls: 'open' };
  if (state === 'closed') return { text: 'eyes closed', cls: 'closed' };
  return { text: "eyes: can't tell", cls: 'unknown' };
}

/**
 * What a face box says: its eye state and why it can't tell. Never a smile: the smile estimate
 * (the expression model's 'happy' probability) has no labelled photos to say how often it is right,
 * and on real photos it reads 0.93 for a neutral face with shut eyes and 0.74–0.88 for a grimace
 * (docs/judgement.md, "Smile and laughing squints"); the faces view shows it as a number.
 */
export function faceTag(f: Pick<PhotoFace, 'eyes'>): string {
  const look = eyeLook(f.eyes.state);
  const mark = look.cls === 'closed' ? '✕' : look.cls === 'open' ? '◉' : '?';
  const why = f.eyes.state === 'unknown' && f.eyes.reason ? ` (${f.eyes.reason})` : '';
  return `${mark} ${look.text}${why}`;
}

/** The faces sentence of the loupe's "why" (and of each survey cell's caption). */
export function facesWords(f: PhotoFaces | null): string {
  if (!f || !f.analyzed) return 'faces not looked at yet: run Index on its folder';
  const n = f.faces.length;
  if (!n) return 'no faces found';
  const of = `${n} face${n === 1 ? '' : 's'}`;
  const closed = f.faces.filter((x) => x.eyes.state === 'closed').length;
  const unknown = f.faces.filter((x) => x.eyes.state === 'unknown').length;
  const parts: string[] = [];
  if (closed) parts.push(`eyes closed: ${closed} of ${of}`);
  else if (unknown < n) parts.push(unknown ? `eyes open: ${n - unknown} of ${of}` : `eyes open: ${n === 1 ? 'the one face' : `all ${n} faces`}`);
  if (unknown) parts.push(`can't tell: ${unknown} of ${of}`);
  return parts.join('; ');
}

/** A face's crop in image pixels: its box with a margin, at most `maxSide` per side, kept inside the photo. */
export interface Crop {
  left: number;
  top: number;
  width: number;
  height: number;
}

export function faceCrop(face: Pick<PhotoFace, 'box'>, image: { w: number; h: number }, maxSide: number, margin = 0.25): Crop {
  const bw = face.box.w * image.w;
  const bh = face.box.h * image.h;
  const width = Math.max(1, Math.min(maxSide, Math.round(bw * (1 + 2 * margin)), image.w));
  const height = Math.max(1, Math.min(maxSide, Math.round(bh * (1 + 2 * margin)), image.h));
  // Centred on the face, a little above its middle (the eyes) when the crop is smaller than the face.
  const cx = (face.box.x + face.box.w / 2) * image.w;
  const cy = (face.box.y + face.box.h * (height < bh ? 0.4 : 0.5)) * image.h;
  const left = Math.round(Math.min(image.w - width, Math.max(0, cx - width / 2)));
  const top = Math.round(Math.min(image.h - height, Math.max(0, cy - height / 2)));
  return { left, top, width, height };
}

/**
 * Lines the faces of several frames up: row k holds, per frame, the face nearest to the k-th face
 * of the frame with the most faces (by box centre, within `maxDistance` of the photo's size), or
 * null. Each face appears once; faces no row claimed get rows of their own.
 */
export function faceRows(frames: PhotoFace[][], maxDistance = 0.12): (PhotoFace | null)[][] {
  if (!frames.length) return [];
  const ref = frames.reduce((a, b) => (b.length > a.length ? b : a), frames[0]);
  const centre = (f: PhotoFace) => [f.box.x + f.box.w / 2, f.box.y + f.box.h / 2];
  const used = frames.map(() => new Set<number>());
  const claim = (anchor: PhotoFace): (PhotoFace | null)[] =>
    frames.map((faces, i) => {
      const [ax, ay] = centre(anchor);
      let best = -1;
      let bestD = maxDistance;
      faces.forEach((f, j) => {
        if (used[i].has(j)) return;
        const [x, y] = centre(f);
        const d = Math.hypot(x - ax, y - ay);
        if (d <= bestD) [best, bestD] = [j, d];
      });
      if (best < 0) return null;
      used[i].add(best);
      return faces[best];
    });
  const rows = ref.map(claim);
  frames.forEach((faces, i) => faces.forEach((f, j) => !used[i].has(j) && rows.push(claim(f))));
  return rows;
}

/**
 * A survey cell's caption: focus and faces in a few words ("sharpest region sharp · eyes closed: 1
 * of 3 faces"), from the loupe's own grades and sentences; `title` the loupe's full sentences.
 */
export function judgedCaption(map: FocusMapInfo | null, faces: PhotoFaces | null, below: number): { text: string; title: string } {
  const facesPart = faces?.analyzed ? facesWords(faces) : 'faces not looked at yet';
  return { text: `${focusShort(focusGrade(map, below))} · ${facesPart}`, title: `${focusWords(map, below)}\n${facesWords(faces)}` };
}
