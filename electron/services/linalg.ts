// Dense linear algebra for the taste model (ridge regression on embeddings), sized for d ≈ 512.
//
// The O(n·d²) products (Gram matrices of 10 000 × 512 embeddings) run in onnxruntime's MatMul,
// which is already loaded for CLIP and is ~25× faster than a JavaScript triple loop. The O(d³)
// factorisations stay in JavaScript: a Householder tridiagonalisation A = Q T Qᵀ, after which
// (A + λI)x = b is O(d²) for every further λ (a tridiagonal solve between two passes of Q), which
// is what makes a cross-validated λ grid affordable; and a Cholesky solve for a single λ.
import * as ort from 'onnxruntime-node';

// ---- onnxruntime products ------------------------------------------------------------------------

/** Protocol-buffer writer for the few ONNX messages a one-node graph needs (no onnx-proto at runtime). */
class Proto {
  private readonly bytes: number[] = [];

  private varint(v: number): void {
    while (v > 0x7f) {
      this.bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.bytes.push(v);
  }

  int(field: number, v: number): this {
    this.varint(field << 3);
    this.varint(v);
    return this;
  }

  bytesField(field: number, data: Uint8Array | number[]): this {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytesField(field, Buffer.from(s, 'utf8'));
  }

  msg(field: number, m: Proto): this {
    return this.bytesField(field, m.bytes);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INTS = 7; // AttributeProto.AttributeType.INTS

function valueInfo(name: string, dims: string[]): Proto {
  const shape = new Proto();
  for (const d of dims) shape.msg(1, new Proto().str(2, d)); // Dimension.dim_param
  const tensor = new Proto().int(1, FLOAT).msg(2, shape);
  return new Proto().str(1, name).msg(2, new Proto().msg(1, tensor));
}

function node(op: string, inputs: string[], outputs: string[], perm?: number[]): Proto {
  const n = new Proto();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, `${op}_${outputs[0]}`).str(4, op);
  if (perm) {
    const a = new Proto().str(1, 'perm').int(20, ATTR_INTS);
    for (const p of perm) a.int(8, p);
    n.msg(5, a);
  }
  return n;
}

type Product = 'gram' | 'outer' | 'matmul';

/** ModelProto (IR 8, opset 17) for: gram = xᵀx, outer = x xᵀ (batched over a leading axis), matmul = a b. */
function productModel(kind: Product): Uint8Array {
  const g = new Proto();
  if (kind === 'matmul') {
    g.msg(1, node('MatMul', ['a', 'b'], ['c']));
    g.str(2, kind).msg(11, valueInfo('a', ['m', 'k'])).msg(11, valueInfo('b', ['k', 'n'])).msg(12, valueInfo('c', ['m', 'n']));
  } else {
    g.msg(1, node('Transpose', ['x'], ['xt'], [0, 2, 1]));
    g.msg(1, node('MatMul', kind === 'gram' ? ['xt', 'x'] : ['x', 'xt'], ['y']));
    const out = kind === 'gram' ? ['b', 'd', 'd'] : ['b', 'n', 'n'];
    g.str(2, kind).msg(11, valueInfo('x', ['b', 'n', 'd'])).msg(12, valueInfo('y', out));
  }
  return new Proto().int(1, 8).msg(8, new Proto().int(2, 17)).msg(7, g).done();
}

const sessions = new Map<Product, Promise<ort.InferenceSession>>();

function session(kind: Product): Promise<ort.InferenceSession> {
  let s = sessions.get(kind);
  if (!s) {
    s = ort.InferenceSession.create(productModel(kind), { graphOptimizationLevel: 'all', executionMode: 'sequential' });
    s.catch(() => sessions.delete(kind));
    sessions.set(kind, s);
  }
  return s;
}

/** Below this many multiply-adds a JavaScript loop beats a session run. */
const ORT_MIN_WORK = 4e6;

/**
 * Batched Gram matrices: for each of `batch` blocks of `rows × dim` floats in `x`, its dim × dim
 * XᵀX. Returned as float64 (batch × dim × dim), exactly symmetric.
 */
export async function gramBatched(x: Float32Array, batch: number, rows: number, dim: number): Promise<Float64Array> {
  if (x.length !== batch * rows * dim) throw new Error(`gramBatched: ${x.length} values for ${batch} × ${rows} × ${dim}.`);
  const out = new Float64Array(batch * dim * dim);
  if (batch * rows * dim * dim < ORT_MIN_WORK) {
    for (let b = 0; b < batch; b++) {
      const g = out.subarray(b * dim * dim, (b + 1) * dim * dim);
      for (let r = 0; r < rows; r++) {
        const o = (b * rows + r) * dim;
        for (let i = 0; i < dim; i++) {
          const xi = x[o + i];
          if (xi === 0) continue;
          const gi = i * dim;
          for (let j = i; j < dim; j++) g[gi + j] += xi * x[o + j];
        }
      }
    }
  } else {
    const s = await session('gram');
    const res = await s.run({ x: new ort.Tensor('float32', x, [batch, rows, dim]) });
    const y = res.y.data as Float32Array;
    for (let i = 0; i < y.length; i++) out[i] = y[i];
    res.y.dispose?.();
  }
  // Symmetrise (the JS path filled the upper triangle; float32 products may differ in the last bit).
  for (let b = 0; b < batch; b++) {
    const o = b * dim * dim;
    for (let i = 0; i < dim; i++) {
      for (let j = i + 1; j < dim; j++) {
        const v = out[o + i * dim + j];
        out[o + i * dim + j] = out[o + j * dim + i] = v;
      }
    }
  }
  return out;
}

/** x xᵀ for `rows × dim` floats: the rows × rows matrix of dot products (float64, symmetric). */
export async function outerGram(x: Float32Array, rows: number, dim: number): Promise<Float64Array> {
  const out = new Float64Array(rows * rows);
  if (rows * rows * dim < 2 * ORT_MIN_WORK) {
    for (let i = 0; i < rows; i++) {
      for (let j = i; j < rows; j++) {
        let s = 0;
        for (let k = 0, a = i * dim, b = j * dim; k < dim; k++) s += x[a + k] * x[b + k];
        out[i * rows + j] = out[j * rows + i] = s;
      }
    }
    return out;
  }
  const s = await session('outer');
  const res = await s.run({ x: new ort.Tensor('float32', x, [1, rows, dim]) });
  const y = res.y.data as Float32Array;
  for (let i = 0; i < rows; i++) {
    out[i * rows + i] = y[i * rows + i];
    for (let j = i + 1; j < rows; j++) out[i * rows + j] = out[j * rows + i] = y[i * rows + j];
  }
  res.y.dispose?.();
  return out;
}

/** a (m × k) times b (k × n), float32 in, float64 out. */
export async function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Promise<Float64Array> {
  const out = new Float64Array(m * n);
  if (m * k * n < ORT_MIN_WORK) {
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < k; l++) {
        const v = a[i * k + l];
        if (v === 0) continue;
        for (let j = 0; j < n; j++) out[i * n + j] += v * b[l * n + j];
      }
    }
    return out;
  }
  const s = await session('matmul');
  const res = await s.run({ a: new ort.Tensor('float32', a, [m, k]), b: new ort.Tensor('float32', b, [k, n]) });
  const c = res.c.data as Float32Array;
  for (let i = 0; i < c.length; i++) out[i] = c[i];
  res.c.dispose?.();
  return out;
}

// ---- factorisations (float64, JavaScript) -------------------------------------------------------

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
 * Overwrites `a`. Both triangles are updated so every inner loop runs along a contiguous row:
 * 1.5× the flops of a one-triangle version but about 3× faster in V8.
 */
export function tridiagonalize(a: Float64Array, m: number): Tridiagonal {
  if (a.length !== m * m) throw new Error(`tridiagonalize: ${a.length} values for ${m} × ${m}.`);
  const V = new Float64Array(m * m);
  const beta = new Float64Array(m);
  const diag = new Float64Array(m);
  const off = new Float64Array(m);
  const p = new Float64Array(m);
  const w = new Float64Array(m);
  for (let k = 0; k < m - 2; k++) {
    const s0 = k + 1;
    const ko = k * m;
    let norm2 = 0;
    for (let j = s0; j < m; j++) norm2 += a[ko + j] * a[ko + j];
    const x0 = a[ko + s0];
    if (norm2 === 0 || norm2 === x0 * x0) {
      // Already tridiagonal in this row: no reflection.
      off[k] = x0;
      continue;
    }
    const alpha = x0 >= 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    for (let j = s0; j < m; j++) V[ko + j] = a[ko + j];
    V[ko + s0] = x0 - alpha;
    const b = 2 / (norm2 - x0 * x0 + (x0 - alpha) * (x0 - alpha));
    beta[k] = b;
    off[k] = alpha;
    // p = b·A₂₂v; w = p − (b/2)(pᵀv)v; A₂₂ ← A₂₂ − v wᵀ − w vᵀ.
    let pv = 0;
    for (let i = s0; i < m; i++) {
      const ro = i * m;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0; // prettier-ignore
      let j = s0;
      for (; j + 3 < m; j += 4) {
        a0 += a[ro + j] * V[ko + j];
        a1 += a[ro + j + 1] * V[ko + j + 1];
        a2 += a[ro + j + 2] * V[ko + j + 2];
        a3 += a[ro + j + 3] * V[ko + j + 3];
      }
      for (; j < m; j++) a0 += a[ro + j] * V[ko + j];
      p[i] = b * (a0 + a1 + a2 + a3);
      pv += p[i] * V[ko + i];
    }
    const c = 0.5 * b * pv;
    for (let i = s0; i < m; i++) w[i] = p[i] - c * V[ko + i];
    for (let i = s0; i < m; i++) {
      const ro = i * m;
      const vi = V[ko + i];
      const wi = w[i];
      let j = s0;
      for (; j + 1 < m; j += 2) {
        a[ro + j] -= vi * w[j] + wi * V[ko + j];
        a[ro + j + 1] -= vi * w[j + 1] + wi * V[ko + j + 1];
      }
      for (; j < m; j++) a[ro + j] -= vi * w[j] + wi * V[ko + j];
    }
  }
  for (let k = 0; k < m; k++) diag[k] = a[k * m + k];
  if (m >= 2) off[m - 2] = a[(m - 2) * m + m - 1];
  return { m, diag, off, reflectors: V, beta };
}

/** x ← Qᵀx (in place). */
export function applyQt(t: Tridiagonal, x: Float64Array): Float64Array {
  const { m, reflectors: V, beta } = t;
  for (let k = 0; k < m - 2; k++) {
    if (beta[k] === 0) continue;
    const ko = k * m;
    let s = 0;
    for (let j = k + 1; j < m; j++) s += V[ko + j] * x[j];
    s *= beta[k];
    for (let j = k + 1; j < m; j++) x[j] -= s * V[ko + j];
  }
  return x;
}

/** x ← Qx (in place). */
export function applyQ(t: Tridiagonal, x: Float64Array): Float64Array {
  const { m, reflectors: V, beta } = t;
  for (let k = m - 3; k >= 0; k--) {
    if (beta[k] === 0) continue;
    const ko = k * m;
    let s = 0;
    for (let j = k + 1; j < m; j++) s += V[ko + j] * x[j];
    s *= beta[k];
    for (let j = k + 1; j < m; j++) x[j] -= s * V[ko + j];
  }
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
  const L = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const io = i * m;
    for (let j = 0; j <= i; j++) {
      const jo = j * m;
      let s = a[io + j] + (i === j ? lambda : 0);
      for (let k = 0; k < j; k++) s -= L[io + k] * L[jo + k];
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
    for (let k = 0; k < i; k++) s -= L[i * m + k] * x[k];
    x[i] = s / L[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < m; k++) s -= L[k * m + i] * x[k];
    x[i] = s / L[i * m + i];
  }
  return x;
}

// ---- rank statistics --------------------------------------------------------------------------------

/** Ranks 1…n with ties sharing their average rank. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const out = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]] === values[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]] = r;
    i = j + 1;
  }
  return out;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error('pearson: arrays of different lengths.');
  let ma = 0, mb = 0; // prettier-ignore
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0, saa = 0, sbb = 0; // prettier-ignore
  for (let i = 0; i < n; i++) {
    const x = a[i] - ma;
    const y = b[i] - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Spearman rank correlation (Pearson correlation of tie-averaged ranks); 0 when either side is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/** Area under the ROC curve of `scores` for `positive[i]` (Mann–Whitney U with tie correction). */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const r = ranks(scores);
  let pos = 0;
  let sum = 0;
  for (let i = 0; i < r.length; i++) {
    if (positive[i]) {
      pos++;
      sum += r[i];
    }
  }
  const neg = r.length - pos;
  if (!pos || !neg) return NaN;
  return (sum - (pos * (pos + 1)) / 2) / (pos * neg);
}
