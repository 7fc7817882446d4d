// "My taste" in the window: what a fitted taste model's numbers mean in plain words, the @taste
// terms of what the user typed, and combining a taste ranking with attribute rankings the way the
// library combines attributes (weighted average of the 0…1 scores).
import type { TasteModelInfo } from '../../../common/api-types.ts';
import type { ScoredPhoto } from '../../../common/types.ts';

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

/** The chip label for a taste model. */
export function tasteLabel(name: string): string {
  return name === DEFAULT_TASTE ? 'My taste' : `Taste: ${name}`;
}

export interface TasteTerm {
  name: string;
  weight: number;
}

/**
 * Splits typed text into its @taste terms and the rest, at top-level "+" (outside quotes):
 * "@taste + 0.5*sharp vs blurry" → taste [{ name: "my taste", weight: 1 }], rest "0.5*sharp vs blurry".
 * "0.5*@taste:weddings" → weight 0.5. Returns null when there is no @taste term.
 */
export function splitTasteTerms(text: string): { taste: TasteTerm[]; rest: string } | null {
  if (!/@taste\b/i.test(text)) return null;
  const terms: string[] = [];
  let quote: string | null = null;
  let cur = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote || (quote === '“' && ch === '”')) quote = null;
    } else if (ch === '"' || ch === "'" || ch === '“') quote = ch;
    else if (ch === '+') {
      terms.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  terms.push(cur);
  const taste: TasteTerm[] = [];
  const rest: string[] = [];
  for (const raw of terms) {
    const t = raw.trim();
    const m = /^(?:(\d+(?:\.\d+)?|\.\d+)\s*\*\s*)?@taste(?:\s*:\s*(.+))?$/i.exec(t);
    if (!m) {
      if (t) rest.push(t);
      continue;
    }
    const name = (m[2] ?? '').trim().replace(/^(["'“])(.*)(["'”])$/, '$2').trim() || DEFAULT_TASTE;
    taste.push({ name, weight: m[1] === undefined ? 1 : Number(m[1]) });
  }
  return taste.length ? { taste, rest: rest.join(' + ') } : null;
}

export interface RankingPart {
  label: string;
  weight: number;
  results: ScoredPhoto[];
}

/**
 * Weighted average of several rankings (as the library combines attributes), best first; a photo
 * missing from any part is left out (it has no score there). Each photo's parts list every
 * ranking's score (and an attribute ranking's own parts).
 */
export function combineRankings(parts: RankingPart[]): ScoredPhoto[] {
  const used = parts.filter((p) => p.weight > 0);
  if (!used.length) return [];
  const total = used.reduce((s, p) => s + p.weight, 0);
  const acc = new Map<number, { path: string; sum: number; n: number; parts: Record<string, number> }>();
  for (const part of used) {
    for (const r of part.results) {
      let a = acc.get(r.id);
      if (!a) acc.set(r.id, (a = { path: r.path, sum: 0, n: 0, parts: {} }));
      a.sum += part.weight * r.score;
      a.n++;
      if (r.parts && Object.keys(r.parts).length) Object.assign(a.parts, r.parts);
      else a.parts[part.label] = r.score;
    }
  }
  const out: ScoredPhoto[] = [];
  for (const [id, a] of acc) if (a.n === used.length) out.push({ id, path: a.path, score: a.sum / total, parts: a.parts });
  out.sort((x, y) => y.score - x.score || x.id - y.id);
  return out;
}
