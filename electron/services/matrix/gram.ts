// Matrix products for the taste model's ridge regression, O(n·d²) (Gram matrices of 10 000 × 512
// embeddings): in onnxruntime's MatMul, which is already loaded for CLIP and is ~25× faster than a
// JavaScript triple loop; small products stay in JavaScript, where a session run would cost more.
import * as ort from 'onnxruntime-node';
import { floatValue, modelBytes, node } from './onnx-writer.ts';

type Product = 'gram' | 'outer' | 'matmul';

/** The graph for: gram = xᵀx, outer = x xᵀ (batched over a leading axis), matmul = a b. */
function productModel(kind: Product): Uint8Array {
  if (kind === 'matmul') {
    return modelBytes(kind, [node('MatMul', ['a', 'b'], ['c'])], [floatValue('a', ['m', 'k']), floatValue('b', ['k', 'n'])], [floatValue('c', ['m', 'n'])]);
  }
  const nodes = [node('Transpose', ['x'], ['xt'], { perm: [0, 2, 1] }), node('MatMul', kind === 'gram' ? ['xt', 'x'] : ['x', 'xt'], ['y'])];
  const out = kind === 'gram' ? ['b', 'd', 'd'] : ['b', 'n', 'n'];
  return modelBytes(kind, nodes, [floatValue('x', ['b', 'n', 'd'])], [floatValue('y', out)]);
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
