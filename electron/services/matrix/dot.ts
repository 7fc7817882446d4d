// The dot product as plain JavaScript loops run it: the fallback of the SIMD kernels (solve.ts,
// row-store.ts) and the exact cosine of near-duplicate grouping (culling/groups.ts).

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
