// The loupe's "why": rows of small bars for one photo, from the active terms' scores (api.explain),
// the taste models' and every preset's (api.explainAll).
import type { PhotoExplanation } from '../../../common/api-types.ts';
import type { AttributeChip } from './attributes.ts';
import { tasteLabel } from './taste.ts';

export interface ExplainRow {
  section: 'active' | 'taste' | 'preset';
  label: string;
  value: number;
  /** Bar length 0…1 (scores outside 0…1, such as the LAION 1–10 scale, are scaled to it). */
  fraction: number;
  taste: boolean;
}

function fraction(label: string, v: number): number {
  const f = /1–10|1-10/.test(label) || v > 1 ? v / 10 : v;
  return Math.max(0, Math.min(1, Number.isFinite(f) ? f : 0));
}

export function explainRows(chips: AttributeChip[], parts: Record<string, number> | null, all: PhotoExplanation | null): ExplainRow[] {
  const rows: ExplainRow[] = [];
  for (const c of chips) {
    if (!(c.weight > 0)) continue;
    // Each term's part is keyed by its label (api.explain / api.score); a taste model's score is
    // also in explainAll, shown until the explanation arrives.
    const label = c.term.label;
    const v = parts?.[label] ?? (c.taste !== undefined ? all?.taste[c.taste] : undefined);
    if (v === undefined) continue;
    rows.push({ section: 'active', label, value: v, fraction: fraction(label, v), taste: c.taste !== undefined });
  }
  for (const [name, v] of Object.entries(all?.taste ?? {})) {
    rows.push({ section: 'taste', label: tasteLabel(name), value: v, fraction: fraction('', v), taste: true });
  }
  for (const [label, v] of Object.entries(all?.presets ?? {})) {
    rows.push({ section: 'preset', label, value: v, fraction: fraction(label, v), taste: false });
  }
  return rows;
}

/**
 * What the score bars say for a signal without a value: a face signal of a photo the faces analyzer
 * has seen had no face to measure ("no face"); anything else is waiting for its analyzer.
 */
export function noValue(label: string, facesAnalyzed: boolean): string {
  return facesAnalyzed && /\(faces\)$/.test(label) ? 'no face' : 'not measured yet';
}
