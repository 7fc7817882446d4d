// The dot product as plain JavaScript loops run it: the fallback of the SIMD kernels (solve.ts,
// row-store.ts) and the exact cosine of near-duplicate grouping (culling/groups.ts); and the
// logistic that scoring passes may map their dots through (row-store.ts, dot-pool.ts).

/**
 * Σ a[ao + j]·b[bo + j] for j < n, in four interleaved sums (so consecutive additions do not wait
 * on each other) added as s0 + s1 + s2 + s3, the odd tail going to s0.
 */
export function dot(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0; // prettier-ignore
  let j = 0;
  for (; j + 3 < n; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  for (; j < n; j++) s0 += a[ao + j] * b[bo + j];
  return s0 + s1 + s2 + s3;
}

/** 1 / (1 + e^(−logitScale·c)): CLIP-IQA's two-way softmax of a cosine difference `c`. */
export const logistic = (logitScale: number, c: number): number => 1 / (1 + Math.exp(-logitScale * c));

/**
 * values[i] = logistic(logitScale, values[i]) for from ≤ i < to. (dot-pool-worker.mjs repeats this
 * line for the helper threads' chunks; test/dot-pool.test.ts checks that both give the same bits.)
 */
export function logisticInPlace(values: Float32Array, from: number, to: number, logitScale: number): void {
  for (let i = from; i < to; i++) values[i] = logistic(logitScale, values[i]);
}
