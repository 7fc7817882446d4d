// Score distribution for the attribute bar: ~40 bins, with the threshold cut drawn on top.

export interface Histogram {
  counts: number[];
  min: number;
  max: number;
  binWidth: number;
  maxCount: number;
  total: number;
}

/**
 * The range to bin over. Attribute scores live in [0, 1] and are shown on that fixed scale so
 * two queries can be compared by eye; other scores (search cosines, aesthetic) use their own
 * min..max.
 */
export function scoreDomain(values: ArrayLike<number>): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Infinity) return [0, 1];
  if (min >= 0 && max <= 1) return [0, 1];
  if (max === min) return [min - 0.5, max + 0.5];
  return [min, max];
}

export function histogram(values: ArrayLike<number>, bins = 40, domain?: [number, number]): Histogram {
  const n = Math.max(1, Math.floor(bins));
  const [min, max] = domain ?? scoreDomain(values);
  const width = (max - min) / n || 1;
  const counts = new Array<number>(n).fill(0);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v) || v < min || v > max) continue;
    // The maximum itself belongs to the last bin (bins are [lo, hi), the last one [lo, hi]).
    const b = Math.min(n - 1, Math.floor((v - min) / width));
    counts[b]++;
    total++;
  }
  return { counts, min, max, binWidth: width, maxCount: Math.max(0, ...counts), total };
}

/** How many values pass the threshold (>= cut); null cut passes everything. */
export function countAtLeast(values: ArrayLike<number>, cut: number | null): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (cut === null || values[i] >= cut) n++;
  return n;
}

/** Position of a value on the histogram's x axis, 0..1. */
export function domainFraction(h: Pick<Histogram, 'min' | 'max'>, v: number): number {
  if (h.max === h.min) return 0;
  return Math.max(0, Math.min(1, (v - h.min) / (h.max - h.min)));
}
