// @eyes-open and @face-focus: the faces analyzer's results (indexing/analyzers/faces.ts) as
// signals on 0…1, higher = better, and the words that explain them ("eyes closed: 2 of 5 faces").
//
// @eyes-open is decided by the worst face of the frame:
//   - no face closed, or no face at all, or only faces it cannot tell (too small, profile…): 1.
//     A frame without faces is neutral, not penalised: combined with other terms
//     (`@eyes-open + sharp vs blurry`) it ranks by those, and a landscape never loses to a blink;
//   - some faces closed: 0.5 × (1 − closed / faces it could tell), below every frame without a
//     blink — 1 of 5 closed (0.4) ranks above 2 of 5 (0.3) and above a single closed face (0).
// @face-focus is the sharpest face's focus (the eye region at working resolution: the face the
// photographer focused on); frames without a face whose focus could be measured have no value
// (they rank nowhere by it, as @focus does where it cannot tell).
// A photo the analyzer has not seen yet has no value for either (run `cull index` to backfill).
import { allFaces, facesOf, type FaceRow } from '../../../db/faces.ts';
import type { SignalProvider } from './registry.ts';
import { UNIT_RANGE, type RowScores, type Signal, type SignalContext } from './signal.ts';

export type FaceScore = 'eyes-open' | 'face-focus';

export const FACE_SIGNALS: Record<FaceScore, { label: string; description: string }> = {
  'eyes-open': {
    label: 'eyes open (faces)',
    description:
      'Eyes open on every face (the worst face decides; 1 = no blink found, frames without faces count as 1). Faces too small, turned away or unclear are not counted as closed.',
  },
  'face-focus': {
    label: 'face focus (faces)',
    description: 'How sharp the sharpest face is, measured on the eyes at 1200 px; no value for frames without a face.',
  },
};

/** The note for a photo the faces analyzer has not seen. */
export const FACES_NOT_ANALYSED = 'faces not analysed yet: run `cull index` on its folder to find faces and eye states';

export function eyesOpenScore(faces: FaceRow[]): number {
  const known = faces.filter((f) => f.eyes.state !== 'unknown');
  const closed = known.filter((f) => f.eyes.state === 'closed').length;
  return closed ? 0.5 * (1 - closed / known.length) : 1;
}

export function faceFocusScore(faces: FaceRow[]): number {
  const s = faces.map((f) => f.sharpness).filter((x): x is number => x !== null);
  return s.length ? Math.max(...s) : NaN;
}

const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`;

/**
 * Why a frame scores what it does, in words: "eyes closed: 2 of 5 faces; 1 face too small to tell".
 * `analyzed` false: not analysed yet.
 */
export function describeFaces(analyzed: boolean, faces: FaceRow[]): string {
  if (!analyzed) return FACES_NOT_ANALYSED;
  if (!faces.length) return 'no faces found (neutral for @eyes-open)';
  const parts: string[] = [];
  const closed = faces.filter((f) => f.eyes.state === 'closed').length;
  const open = faces.filter((f) => f.eyes.state === 'open').length;
  if (closed) parts.push(`eyes closed: ${closed} of ${plural(faces.length, 'face')}`);
  else if (open) parts.push(open === faces.length ? `eyes open: ${open === 1 ? 'the face' : `all ${open} faces`}` : `eyes open: ${open} of ${plural(faces.length, 'face')}`);
  // The reasons for "can't tell", grouped: "2 faces too small to tell", "1 face turned away (profile)".
  const reasons = new Map<string, number>();
  for (const f of faces) if (f.eyes.state === 'unknown') reasons.set(f.eyes.reason ?? "can't tell", (reasons.get(f.eyes.reason ?? "can't tell") ?? 0) + 1);
  // "face too small to tell" → "2 faces too small to tell"; "eyes half closed" → "1 face: eyes half closed".
  for (const [reason, n] of reasons) parts.push(reason.startsWith('face ') ? `${plural(n, 'face')} ${reason.slice(5)}` : `${plural(n, 'face')}: ${reason}`);
  const focus = faceFocusScore(faces);
  if (Number.isFinite(focus)) parts.push(focus >= 0.5 ? 'sharpest face in focus' : focus >= 0.25 ? 'sharpest face a little soft' : 'faces out of focus');
  return parts.join('; ');
}

const isFace = (name: string): name is FaceScore => Object.hasOwn(FACE_SIGNALS, name);

class FaceSignal implements Signal {
  readonly range = UNIT_RANGE;
  readonly label: string;
  constructor(private readonly score: FaceScore) {
    this.label = FACE_SIGNALS[score].label;
  }

  private value(faces: FaceRow[]): number {
    return this.score === 'eyes-open' ? eyesOpenScore(faces) : faceFocusScore(faces);
  }

  async scoreRows(ctx: SignalContext): Promise<RowScores> {
    const { matrix } = ctx;
    const values = new Float32Array(matrix.length).fill(NaN);
    for (const [id, faces] of allFaces(ctx.db)) {
      const r = matrix.indexOf(id);
      if (r >= 0) values[r] = this.value(faces);
    }
    return { values, approximate: false };
  }

  async scoreRow(ctx: SignalContext, row: number): Promise<number> {
    const { analyzed, faces } = facesOf(ctx.db, ctx.matrix.ids[row]);
    return analyzed ? this.value(faces) : NaN;
  }
}

export const faceSignals: SignalProvider = {
  match(name) {
    const id = name.trim().toLowerCase();
    return isFace(id) ? { signal: id, label: FACE_SIGNALS[id].label } : null;
  },
  resolve: (name) => new FaceSignal(name as FaceScore),
  list: () => Object.entries(FACE_SIGNALS).map(([id, s]) => ({ id, label: s.label, description: s.description })),
};
