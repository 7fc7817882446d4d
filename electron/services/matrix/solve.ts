// Symmetric positive semi-definite solves in float64, sized for d ≈ 512: a Householder
// tridiagonalisation A = Q T Qᵀ, after which (A + λI)x = b costs O(d²) for every further λ (a
// tridiagonal solve between two passes of Q), which is what makes a cross-validated λ grid
// affordable; and a Cholesky solve for a single λ. The O(d³) loops run on the WebAssembly SIMD
// kernels (wasm/dense-kernels.ts) where they exist, else on the JavaScript loops here.
import { dot } from './dot.ts';
import { simdKernels } from './wasm/dense-kernels.ts';

/** A symmetric matrix as Q T Qᵀ: T tridiagonal (diag, off), Q a product of Householder reflectors. */
export interface Tridiagonal {
  m: number;
  diag: Float64Array;
  /** off[k] couples k and k+1 (length m; the last entry is unused). */
  off: Float64Array;
  /** Reflector k lives in row k of this m × m array, in columns k+1 … m−1. */
  reflectors: Float64Array;
  beta: Float64Array;
}

/**
 * Householder tridiagonalisation of a symmetric m × m matrix (row-major, both triangles filled).
 * `a` is used as scratch space. Both triangles are updated, so every inner loop runs along a
 * contiguous row (1.5× the flops of a one-triangle version, but simple SIMD loops).
 */
export function tridiagonalize(a: Float64Array, m: number): Tridiagonal {
  if (a.length !== m * m) throw new Error(`tridiagonalize: ${a.length} values for ${m} × ${m}.`);
  const k = simdKernels();
  // Work arrays: in WebAssembly memory (matrix, v, p, w back to back) or plain JS arrays.
  const mem = k ? k.view(m * m + 3 * m) : null;
  const A = mem ? mem.subarray(0, m * m) : a;
  const v = mem ? mem.subarray(m * m, m * m + m) : new Float64Array(m);
  const p = mem ? mem.subarray(m * m + m, m * m + 2 * m) : new Float64Array(m);
  const w = mem ? mem.subarray(m * m + 2 * m, m * m + 3 * m) : new Float64Array(m);
  if (mem) A.set(a);
  const [aAt, vAt, pAt, wAt] = [0, m * m * 8, (m * m + m) * 8, (m * m + 2 * m) * 8];
  const V = new Float64Array(m * m);
  const beta = new Float64Array(m);
  const diag = new Float64Array(m);
  const off = new Float64Array(m);
  for (let c = 0; c < m - 2; c++) {
    const s0 = c + 1;
    const co = c * m;
    let norm2 = 0;
    for (let j = s0; j < m; j++) norm2 += A[co + j] * A[co + j];
    const x0 = A[co + s0];
    if (norm2 === 0 || norm2 === x0 * x0) {
      off[c] = x0; // this row is already tridiagonal: no reflection
      continue;
    }
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    for (let j = s0; j < m; j++) v[j] = A[co + j];
    v[s0] = x0 - alpha;
    V.set(v.subarray(s0, m), co + s0);
    const b = 2 / (norm2 - x0 * x0 + (x0 - alpha) * (x0 - alpha));
    beta[c] = b;
    off[c] = alpha;
    // p = b·A₂₂v; w = p − (b/2)(pᵀv)v; A₂₂ ← A₂₂ − v wᵀ − w vᵀ.
    if (k) k.symv(aAt, vAt, pAt, m, s0);
    else symvJs(A, v, p, m, s0);
    let pv = 0;
    for (let i = s0; i < m; i++) {
      p[i] *= b;
      pv += p[i] * v[i];
    }
    const h = 0.5 * b * pv;
    for (let i = s0; i < m; i++) w[i] = p[i] - h * v[i];
    if (k) k.rank2(aAt, vAt, wAt, m, s0);
    else rank2Js(A, v, w, m, s0);
  }
  for (let i = 0; i < m; i++) diag[i] = A[i * m + i];
  if (m >= 2) off[m - 2] = A[(m - 2) * m + m - 1];
  return { m, diag, off, reflectors: V, beta };
}

function symvJs(a: Float64Array, v: Float64Array, p: Float64Array, m: number, s0: number): void {
  for (let i = s0; i < m; i++) p[i] = dot(a, i * m + s0, v, s0, m - s0);
}

function rank2Js(a: Float64Array, v: Float64Array, w: Float64Array, m: number, s0: number): void {
  for (let i = s0; i < m; i++) {
    const ro = i * m;
    const vi = v[i];
    const wi = w[i];
    for (let j = s0; j < m; j++) a[ro + j] -= vi * w[j] + wi * v[j];
  }
}

/** x ← (I − β vvᵀ)x for Householder reflector k of `t`. */
function reflect(t: Tridiagonal, k: number, x: Float64Array): void {
  const { m, reflectors: V, beta } = t;
  if (beta[k] === 0) return;
  const ko = k * m;
  let s = 0;
  for (let j = k + 1; j < m; j++) s += V[ko + j] * x[j];
  s *= beta[k];
  for (let j = k + 1; j < m; j++) x[j] -= s * V[ko + j];
}

/** x ← Qᵀx (in place). */
export function applyQt(t: Tridiagonal, x: Float64Array): Float64Array {
  for (let k = 0; k < t.m - 2; k++) reflect(t, k, x);
  return x;
}

/** x ← Qx (in place). */
export function applyQ(t: Tridiagonal, x: Float64Array): Float64Array {
  for (let k = t.m - 3; k >= 0; k--) reflect(t, k, x);
  return x;
}

/**
 * Solves (T + λI)u = c for the tridiagonal T of `t` (Thomas algorithm). T + λI is positive
 * definite for a positive semi-definite matrix and λ > 0, so no pivoting is needed.
 */
export function solveShiftedTridiagonal(t: Tridiagonal, lambda: number, c: Float64Array, out = new Float64Array(t.m)): Float64Array {
  const { m, diag, off } = t;
  const cp = new Float64Array(m);
  let denom = diag[0] + lambda;
  cp[0] = m > 1 ? off[0] / denom : 0;
  out[0] = c[0] / denom;
  for (let i = 1; i < m; i++) {
    denom = diag[i] + lambda - off[i - 1] * cp[i - 1];
    cp[i] = i < m - 1 ? off[i] / denom : 0;
    out[i] = (c[i] - off[i - 1] * out[i - 1]) / denom;
  }
  for (let i = m - 2; i >= 0; i--) out[i] -= cp[i] * out[i + 1];
  return out;
}

/** Solves (A + λI)x = b for a symmetric positive semi-definite m × m `a` (not modified) by Cholesky. */
export function choleskySolve(a: Float64Array, m: number, lambda: number, b: Float64Array): Float64Array {
  const k = simdKernels();
  // L overwrites the lower triangle of a copy of A + λI, row by row.
  const L = k ? k.view(m * m).subarray(0, m * m) : new Float64Array(m * m);
  L.set(a);
  for (let i = 0; i < m; i++) L[i * m + i] += lambda;
  for (let i = 0; i < m; i++) {
    const io = i * m;
    for (let j = 0; j <= i; j++) {
      const jo = j * m;
      let s = L[io + j];
      if (k) s -= k.dot(io * 8, jo * 8, j);
      else for (let c = 0; c < j; c++) s -= L[io + c] * L[jo + c];
      if (i === j) {
        if (!(s > 0)) throw new Error('Cholesky: the matrix is not positive definite (increase the regularisation).');
        L[io + i] = Math.sqrt(s);
      } else {
        L[io + j] = s / L[jo + j];
      }
    }
  }
  const x = Float64Array.from(b);
  for (let i = 0; i < m; i++) {
    let s = x[i];
    for (let c = 0; c < i; c++) s -= L[i * m + c] * x[c];
    x[i] = s / L[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i];
    for (let c = i + 1; c < m; c++) s -= L[c * m + i] * x[c];
    x[i] = s / L[i * m + i];
  }
  return x;
}
