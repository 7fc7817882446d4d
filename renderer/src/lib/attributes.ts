// The attribute bar's chips: each chip is one parsed antonym attribute with its own weight;
// the chips together form the AttributeQuery sent to api.score / api.explain.
import type { Attribute, AttributeQuery } from '../../../common/types.ts';

export interface AttributeChip {
  key: string; // stable key for the UI (label + counter)
  attribute: Attribute;
  weight: number;
  preset?: string; // preset id when it came from a preset chip
  taste?: string; // taste model name: ranked by api.score("@taste:NAME"), not by prompts
}

let counter = 0;

export function chipsFromQuery(query: AttributeQuery, preset?: string): AttributeChip[] {
  return query.attributes.map((a) => ({
    key: `${a.label}#${++counter}`,
    attribute: { label: a.label, positive: a.positive, negative: a.negative },
    weight: a.weight ?? 1,
    preset,
  }));
}

/** Adds chips, replacing any existing chip with the same label (typing it again updates it). */
export function mergeChips(existing: AttributeChip[], added: AttributeChip[]): AttributeChip[] {
  const labels = new Set(added.map((c) => c.attribute.label));
  return [...existing.filter((c) => !labels.has(c.attribute.label)), ...added];
}

/** A chip for a taste model ("My taste"), combined with the others like any attribute. */
export function tasteChip(name: string, label: string, weight = 1): AttributeChip {
  return { key: `taste:${name}#${++counter}`, attribute: { label, positive: { prompts: [] }, negative: { prompts: [] } }, weight, taste: name };
}

/** The taste chips in use (weight above 0). */
export function tasteChips(chips: AttributeChip[]): AttributeChip[] {
  return chips.filter((c) => c.taste !== undefined && Number.isFinite(c.weight) && c.weight > 0);
}

/** Chips → query of the prompt attributes; chips at weight 0 (and taste chips) are left out of it. */
export function combineChips(chips: AttributeChip[]): AttributeQuery | null {
  const attributes: Attribute[] = chips
    .filter((c) => c.taste === undefined && Number.isFinite(c.weight) && c.weight > 0)
    .map((c) => ({ ...c.attribute, weight: c.weight }));
  return attributes.length ? { attributes } : null;
}

/** One line describing the combination, e.g. "sharp vs blurry + 0.5×bright vs dark". */
export function describeChips(chips: AttributeChip[]): string {
  return chips
    .filter((c) => c.weight > 0)
    .map((c) => (c.weight === 1 ? c.attribute.label : `${+c.weight.toFixed(2)}×${c.attribute.label}`))
    .join(' + ');
}

export function clampWeight(value: number): number {
  if (!Number.isFinite(value)) return 1;
  return Math.max(0, Math.min(10, Math.round(value * 100) / 100));
}
