// "My taste" in the window: what a fitted taste model's numbers mean in plain words, and how a
// taste model is named in a query (the signal "taste" or "taste:NAME"; the core combines it with
// the other terms).
import type { TasteModelInfo } from '../../../common/api-types.ts';

export const DEFAULT_TASTE = 'my taste';
/** Below this many decisions the model is a rough guess (electron/services/signals/taste.ts FEW_TASTE_DECISIONS). */
export const FEW_DECISIONS = 20;
/** Fewer than this and there is nothing to fit (MIN_TASTE_DECISIONS). */
export const MIN_DECISIONS = 10;
/** Refit automatically after this many new decisions. */
export const REFIT_EVERY = 10;

export type TasteLevel = 'none' | 'weak' | 'fair' | 'good';

export interface TasteQuality {
  level: TasteLevel;
  /** Short verdict, e.g. "Not learned yet". */
  headline: string;
  /** One sentence: why, and what to do. */
  detail: string;
}

/**
 * The cross-validated rank correlation (validation) as words. Thresholds: below 0.1 (or too few
 * decisions) nothing has been learned; below 0.3 a weak lean; below 0.5 fair; above that good.
 */
export function tasteQuality(m: Pick<TasteModelInfo, 'examples' | 'validation' | 'auc'> | null, decisions?: number): TasteQuality {
  if (!m) {
    const n = decisions ?? 0;
    return n < MIN_DECISIONS
      ? { level: 'none', headline: 'Not learned yet', detail: `Pick, reject or rate at least ${MIN_DECISIONS} photos, then fit (${n} so far).` }
      : { level: 'none', headline: 'Not learned yet', detail: `${n} decisions so far: press Fit to learn from them.` };
  }
  if (m.examples < FEW_DECISIONS) {
    return { level: 'none', headline: 'Not learned yet', detail: `Only ${m.examples} decisions: a rough guess until you have made at least ${FEW_DECISIONS}.` };
  }
  const v = m.validation;
  if (v === null || !Number.isFinite(v) || v < 0.1) {
    return { level: 'none', headline: 'Not learned yet', detail: 'Your decisions are not predictable from the photos yet: make more of them, then refit.' };
  }
  if (v < 0.3) return { level: 'weak', headline: 'Weak', detail: 'It leans your way on photos it has not seen, but often disagrees.' };
  if (v < 0.5) return { level: 'fair', headline: 'Fair', detail: 'It mostly agrees with you on photos it has not seen.' };
  return { level: 'good', headline: 'Good', detail: 'It agrees with you on most photos it has not seen.' };
}

/** "0.42" or "–" for the agreement figure. */
export function formatAgreement(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '–' : v.toFixed(2);
}

/** The query text that ranks by a taste model: "@taste" or "@taste:NAME". */
export function tasteQuery(name: string): string {
  return name === DEFAULT_TASTE ? '@taste' : `@taste:${name}`;
}

/** The signal that ranks by a taste model: "taste" (the default model) or "taste:NAME". */
export function tasteSignal(name: string): string {
  return name === DEFAULT_TASTE ? 'taste' : `taste:${name}`;
}

/** The taste model a signal names ("taste" → the default model), or null for another signal. */
export function tasteNameOf(signal: string): string | null {
  if (signal === 'taste') return DEFAULT_TASTE;
  const m = /^taste:(.+)$/s.exec(signal);
  return m ? m[1].trim() || DEFAULT_TASTE : null;
}

/** The chip label for a taste model. */
export function tasteLabel(name: string): string {
  return name === DEFAULT_TASTE ? 'My taste' : `Taste: ${name}`;
}
