// The attribute bar's chips: each chip is one term of the query (typed antonym prompts, a preset or
// a taste model, both named signals) with its own weight; the chips together form the one
// AttributeQuery sent to api.score / api.explain / api.groups, which combine the terms in the core.
import type { AttributeQuery, QueryTerm, SignalTerm } from '../../../common/types.ts';
import { tasteLabel, tasteNameOf, tasteSignal } from './taste.ts';

export interface AttributeChip {
  key: string; // stable key for the UI (label + counter)
  term: QueryTerm; // without its weight: the chip's weight is the one in the query
  weight: number;
  preset?: string; // preset id when it came from a preset chip
  taste?: string; // taste model name when the term is a taste signal ("@taste", "@taste:NAME")
}

let counter = 0;

export function isSignalTerm(term: QueryTerm): term is SignalTerm {
  return 'signal' in term && typeof term.signal === 'string';
}

/** The term without its weight (the chip holds the weight). */
function bare(term: QueryTerm): QueryTerm {
  if (isSignalTerm(term)) return { label: term.label, signal: term.signal };
  return { label: term.label, positive: term.positive, negative: term.negative };
}

/**
 * Parsed terms → chips. A taste term gets the window's name for its model ("My taste",
 * "Taste: weddings") as its label: the label keys the term's part in the results, so the chip,
 * the loupe's rows and the export report all say the same.
 */
export function chipsFromQuery(query: AttributeQuery, preset?: string): AttributeChip[] {
  return query.attributes.map((t) => {
    const taste = isSignalTerm(t) ? tasteNameOf(t.signal) : null;
    if (taste !== null) return tasteChip(taste, t.weight ?? 1);
    return { key: `${t.label}#${++counter}`, term: bare(t), weight: t.weight ?? 1, preset };
  });
}

/** Typed "@contrast" is the preset's chip too (its button shows as on, a click removes it). */
export function markPresets(chips: AttributeChip[], presetIds: Iterable<string>): AttributeChip[] {
  const ids = new Set(presetIds);
  return chips.map((c) => (c.preset === undefined && c.taste === undefined && isSignalTerm(c.term) && ids.has(c.term.signal) ? { ...c, preset: c.term.signal } : c));
}

/** Adds chips, replacing any existing chip with the same label (typing it again updates it). */
export function mergeChips(existing: AttributeChip[], added: AttributeChip[]): AttributeChip[] {
  const labels = new Set(added.map((c) => c.term.label));
  return [...existing.filter((c) => !labels.has(c.term.label)), ...added];
}

/** A chip for a taste model ("My taste"): a signal term combined in the core like any attribute. */
export function tasteChip(name: string, weight = 1): AttributeChip {
  return { key: `taste:${name}#${++counter}`, term: { label: tasteLabel(name), signal: tasteSignal(name) }, weight, taste: name };
}

/** Chips → the query sent to the library (every kind of term); chips at weight 0 are left out. */
export function combineChips(chips: AttributeChip[]): AttributeQuery | null {
  const attributes: QueryTerm[] = chips
    .filter((c) => Number.isFinite(c.weight) && c.weight > 0)
    .map((c) => ({ ...c.term, weight: c.weight }));
  return attributes.length ? { attributes } : null;
}

/** One line describing the combination, e.g. "sharp vs blurry + 0.5×bright vs dark". */
export function describeChips(chips: AttributeChip[]): string {
  return chips
    .filter((c) => c.weight > 0)
    .map((c) => (c.weight === 1 ? c.term.label : `${+c.weight.toFixed(2)}×${c.term.label}`))
    .join(' + ');
}

/** The chip's tooltip: the prompts of a typed attribute, or what the signal is. */
export function describeTerm(chip: AttributeChip): string {
  const t = chip.term;
  if (chip.taste !== undefined) return `Taste model "${chip.taste}", learned from your decisions`;
  if (isSignalTerm(t)) return `@${t.signal}`;
  return `${t.positive.prompts.join(' / ')}  vs  ${t.negative.prompts.join(' / ')}`;
}

export function clampWeight(value: number): number {
  if (!Number.isFinite(value)) return 1;
  return Math.max(0, Math.min(10, Math.round(value * 100) / 100));
}
