// The exposure half of the technical analyzer (technical-measures.ts has the rest and the formula's
// rationale in its header): the luma histogram and clipped/blocked counts of a raster, and the
// @exposure score from them — unused headroom in stops, blown highlights beyond 2 %, blocked shadows.

/** sRGB level (0…255) to linear light (0…1). */
const linear = (v: number) => {
  const x = v / 255;
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
};

/** Stops between the 99th percentile of luminance and near-white (245): the range an exposure left unused. */
export function headroomEv(p99: number): number {
  return Math.max(0, Math.log2(linear(245) / Math.max(linear(p99), 1e-4)));
}

export function exposureScore(clippedHigh: number, blockedLow: number, p99: number): number {
  const headroom = headroomEv(p99);
  return Math.exp(-(headroom * headroom + Math.max(0, clippedHigh - 0.02) / 0.05 + blockedLow / 0.5));
}

/** The luma histogram and per-channel clipped (≥ 250) / blocked (≤ 5) counts over every `step`-th row; returns the luma sum. */
export function exposureCounts(data: Uint8Array, L: Float32Array, w: number, h: number, hist: Uint32Array, hi: number[], lo: number[], step: number): number {
  let total = 0;
  let hr = 0, hg = 0, hb = 0, lr = 0, lg = 0, lb = 0;
  for (let y = 0; y < h; y += step) {
    for (let i = y * w, s = i * 3, end = i + w; i < end; i++, s += 3) {
      const v = L[i];
      total += v;
      hist[(v + 0.5) | 0]++;
      const r = data[s];
      const g = data[s + 1];
      const b = data[s + 2];
      // Most pixels are mid-tones: one test each for them.
      if (r >= 250) hr++;
      else if (r <= 5) lr++;
      if (g >= 250) hg++;
      else if (g <= 5) lg++;
      if (b >= 250) hb++;
      else if (b <= 5) lb++;
    }
  }
  hi[0] = hr; hi[1] = hg; hi[2] = hb;
  lo[0] = lr; lo[1] = lg; lo[2] = lb;
  return total;
}
