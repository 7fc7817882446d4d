// What makes a frame flawed, in one place: out of focus (the window's "Out of focus" filter), soft
// against the sharpest frame of its stack, and closed eyes (the "Closed eyes" filter, and the
// stack rule in group-service.ts). Reads the technical analyzer's @focus and the faces analyzer's
// eye states (db/judged.ts); photos an analyzer has not measured are never called flawed.
//
// The thresholds come from docs/judgement.md (30 real photos, each blurred by known amounts at a
// 1500 px working size; `npx tsx test/judgement/technical.ts --only blur --json out.json`):
// - OUT_OF_FOCUS_BELOW = 0.45. @focus of the originals: lowest 0.34 (Storm.jpg, clouds with no crisp
//   edge anywhere), then 0.50, 0.60, …; of σ 2 blurred copies: 22 of 29 below 0.45; of σ 4 copies: 25
//   of 25. So the filter shows clearly blurred frames and, among sharp originals, only 1 of 29 (a
//   cloudscape soft by nature); at 0.50 it would also take YellowFlower.jpg (a macro with a thin focal
//   plane). One fixed number for every photo: the filter means the same across a library, because
//   @focus was measured to order different photos (AUC 0.989 for σ ≥ 2 blur across photos).
// - SOFT_GAP = 0.25. Within a stack, a frame whose @focus is at least 0.25 below the stack's
//   sharpest is "soft": on the same photos a σ 2 blur lowered @focus by 0.26 or more in 28 of 29, a
//   σ 1 blur (barely visible at 1500 px) by 0.25 or more in only 5 of 29; burst frames of one scene
//   differ by far less than that when both are sharp.
import type { PhotoProblems } from '../../../common/types.ts';
import type { DB } from '../../../db/database.ts';
import { closedEyes, eyeCountsOf, focusBelow, focusOf } from '../../../db/judged.ts';

export const OUT_OF_FOCUS_BELOW = 0.45;
export const SOFT_GAP = 0.25;

/** Per photo: how many faces and how many of them with closed eyes (only photos the faces analyzer has seen). */
export type EyeCounts = Map<number, { faces: number; closed: number }>;

/** What the stack rule needs about `ids` (the members of stacks): their @focus and eye counts. */
export function judgedFrames(db: DB, ids: number[]): { focus: Map<number, number | null>; eyes: EyeCounts } {
  return { focus: focusOf(db, ids), eyes: eyeCountsOf(db, ids) };
}

/** The window's two filters: out of focus (below one fixed @focus) and closed eyes (any face). */
export function photoProblems(db: DB): PhotoProblems {
  const focus = focusBelow(db, OUT_OF_FOCUS_BELOW);
  const eyes = closedEyes(db);
  return { outOfFocus: focus.ids, closedEyes: eyes.ids, outOfFocusBelow: OUT_OF_FOCUS_BELOW, focusMeasured: focus.measured, facesMeasured: eyes.measured };
}

/** What is wrong with one frame of a stack, in words; empty when nothing is. */
export interface FrameFlaws {
  closedEyes: string | null;
  soft: string | null;
}

/**
 * Each member's flaws against the others: closed eyes (any face), and soft when its @focus is
 * SOFT_GAP or more below the stack's sharpest frame. Unmeasured frames have no flaws.
 */
export function frameFlaws(ids: number[], focus: Map<number, number | null>, eyes: EyeCounts): FrameFlaws[] {
  const values = ids.map((id) => focus.get(id) ?? null);
  const sharpest = Math.max(-Infinity, ...values.filter((v): v is number => v !== null));
  return ids.map((id, i) => {
    const e = eyes.get(id);
    const v = values[i];
    return {
      closedEyes: e && e.closed > 0 ? `eyes closed: ${e.closed} of ${e.faces} face${e.faces === 1 ? '' : 's'}` : null,
      soft: v !== null && sharpest - v >= SOFT_GAP ? `softer than the sharpest frame (focus ${v.toFixed(2)} vs ${sharpest.toFixed(2)})` : null,
    };
  });
}

/** How bad a frame's flaws are for "best of the stack": closed eyes weigh more than softness. */
export function flawWeight(f: FrameFlaws): number {
  return (f.closedEyes ? 2 : 0) + (f.soft ? 1 : 0);
}
