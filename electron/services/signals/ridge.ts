// Ridge regression on embeddings with the penalty chosen by k-fold cross-validation.
//
// Model: f(x) = w·(x − μ) + ȳ, fitted by minimising Σ(yᵢ − f(xᵢ))² + λ‖w‖² (the intercept is not
// penalised: data and targets are centred per training set). λ is given relative to the data as
// λ = α · tr(XcᵀXc)/d, the mean eigenvalue of the centred Gram matrix, so one α grid means the same
// amount of shrinkage for 30 labelled photos as for 30 000.
//
// Every fold is solved in closed form, in whichever space is smaller: the primal d × d system
// (XcᵀXc + λI)w = Xcᵀyc when the training part has at least d rows, else the dual n × n system
// (XcXcᵀ + λI)a = yc with w = Xcᵀa. Both give the same w. Each fold's matrix is tridiagonalised
// once (matrix/solve.ts), so the whole α grid costs O(d²) per α instead of one factorisation each.
import { gramBatched, matmul, outerGram } from '../matrix/gram.ts';
import { pearson, ranks, rocAuc } from '../matrix/metrics.ts';
import { prng } from '../matrix/prng.ts';
import { applyQ, applyQt, choleskySolve, solveShiftedTridiagonal, tridiagonalize } from '../matrix/solve.ts';

/** Half-decades from 1e-3 to 1e3 (times the mean eigenvalue). */
export const DEFAULT_ALPHAS: readonly number[] = Array.from({ length: 13 }, (_, i) => 10 ** (-3 + i / 2));

export interface RidgeOptions {
  /** Cross-validation folds (default 5, fewer when there are few rows). */
  folds?: number;
  alphas?: readonly number[];
  /** Seed of the fold assignment (deterministic by default). */
  seed?: number;
}

export interface RidgeCvPoint {
  alpha: number;
  /** Spearman correlation of the out-of-fold predictions with the targets. */
  spearman: number;
  /** Mean squared error of the out-of-fold predictions. */
  mse: number;
}

export interface RidgeResult {
  /** f(x) = weights·x + bias (the centring folded into the bias). */
  weights: Float64Array;
  bias: number;
  alpha: number;
  lambda: number;
  folds: number;
  /** Cross-validated Spearman correlation at the chosen α. */
  spearman: number;
  /** Cross-validated ROC AUC at the chosen α when the targets take exactly two values, else null. */
  auc: number | null;
  cv: RidgeCvPoint[];
  /** Out-of-fold predictions at the chosen α, per row. */
  outOfFold: Float64Array;
  /** Space the final fit was solved in. */
  form: 'primal' | 'dual';
}


/** Fold of each row, stratified by target: rows sorted by y (random tie order) are dealt round-robin. */
export function assignFolds(y: ArrayLike<number>, folds: number, seed = 1): Int32Array {
  const rnd = prng(seed);
  const key = Array.from({ length: y.length }, () => rnd());
  const order = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => y[a] - y[b] || key[a] - key[b]);
  const out = new Int32Array(y.length);
  // A random start per run of folds keeps fold sizes balanced without always favouring fold 0.
  const start = Math.floor(rnd() * folds);
  order.forEach((row, i) => (out[row] = (i + start) % folds));
  return out;
}

function mean(values: ArrayLike<number>, rows: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < rows.length; i++) s += values[rows[i]];
  return rows.length ? s / rows.length : 0;
}

/** The column means μ of n × d rows and the rows minus μ (float32, as the products take them). */
function centre(x: Float32Array, n: number, d: number): { mu: Float64Array; xc: Float32Array } {
  const mu = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mu[j] += x[r * d + j];
  for (let j = 0; j < d; j++) mu[j] /= n;
  const xc = new Float32Array(n * d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) xc[r * d + j] = x[r * d + j] - mu[j];
  return { mu, xc };
}

/** Σ over `rows` of xc[r] (a d-vector), float64. */
function sumRows(xc: Float32Array, d: number, rows: ArrayLike<number>, weights?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(d);
  for (let i = 0; i < rows.length; i++) {
    const o = rows[i] * d;
    const w = weights ? weights[i] : 1;
    if (w === 0) continue;
    for (let j = 0; j < d; j++) out[j] += w * xc[o + j];
  }
  return out;
}

interface FoldSystem {
  train: Int32Array;
  test: Int32Array;
  /** Mean of the centred data over the training rows (δ = μ_train − μ). */
  delta: Float64Array;
  yMean: number;
  form: 'primal' | 'dual';
  /** The centred system matrix: d × d (primal) or nTrain × nTrain (dual). */
  matrix: Float64Array;
  size: number;
  /** Right-hand side: Xcᵀyc (primal) or yc (dual). */
  rhs: Float64Array;
  trace: number;
}

/**
 * Ridge regression of `y` on the rows of `x` (n × d, row-major), with α picked from `alphas` by the
 * cross-validated Spearman correlation (ties: the larger α, i.e. the simpler model).
 */
export async function fitRidgeCv(x: Float32Array, n: number, d: number, y: ArrayLike<number>, opts: RidgeOptions = {}): Promise<RidgeResult> {
  if (x.length !== n * d) throw new Error(`Ridge: ${x.length} values for ${n} × ${d}.`);
  if (y.length !== n) throw new Error(`Ridge: ${y.length} targets for ${n} rows.`);
  const alphas = [...(opts.alphas ?? DEFAULT_ALPHAS)].sort((a, b) => a - b);
  if (!alphas.length || alphas.some((a) => !(a > 0))) throw new Error('Ridge: the α grid must hold positive numbers.');
  const k = Math.min(opts.folds ?? 5, Math.floor(n / 2));
  if (k < 2) throw new Error(`Ridge: ${n} rows are too few to cross-validate.`);
  let yMin = Infinity;
  let yMax = -Infinity;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(y[i])) throw new Error(`Ridge: target ${i} is not a number.`);
    yMin = Math.min(yMin, y[i]);
    yMax = Math.max(yMax, y[i]);
  }
  if (yMin === yMax) throw new Error('Ridge: every target is the same; there is nothing to learn.');

  // Centre once by the global mean (float32 products of centred data lose far less to cancellation).
  const { mu, xc } = centre(x, n, d);

  const fold = assignFolds(y, k, opts.seed ?? 1);
  const members: number[][] = Array.from({ length: k }, () => []);
  for (let r = 0; r < n; r++) members[fold[r]].push(r);
  const tests = members.map((m) => Int32Array.from(m));
  const trains = members.map((_, f) => Int32Array.from(members.flatMap((m, g) => (g === f ? [] : m))));

  const needPrimal = trains.some((t) => t.length >= d) || n >= d;
  const needDual = trains.some((t) => t.length < d) || n < d;

  // Primal: per-fold Gram matrices of the centred rows in one batched product; train = all − fold.
  let foldGrams: Float64Array | null = null;
  let fullGram: Float64Array | null = null;
  if (needPrimal) {
    const rows = Math.max(...tests.map((t) => t.length));
    const packed = new Float32Array(k * rows * d);
    tests.forEach((t, f) => t.forEach((r, i) => packed.set(xc.subarray(r * d, (r + 1) * d), (f * rows + i) * d)));
    foldGrams = await gramBatched(packed, k, rows, d);
    fullGram = new Float64Array(d * d);
    for (let f = 0; f < k; f++) {
      const g = foldGrams.subarray(f * d * d, (f + 1) * d * d);
      for (let i = 0; i < d * d; i++) fullGram[i] += g[i];
    }
  }
  // Dual: all dot products of centred rows once; each fold takes its training block.
  const kernel = needDual ? await outerGram(xc, n, d) : null;

  // Per-fold sums of xc and of xc·y: a training set's sums are then the total minus its fold's.
  const foldSum = new Float64Array(k * d);
  const foldSumY = new Float64Array(k * d);
  for (let r = 0; r < n; r++) {
    const fo = fold[r] * d;
    const o = r * d;
    const yr = y[r];
    for (let j = 0; j < d; j++) {
      const v = xc[o + j];
      foldSum[fo + j] += v;
      foldSumY[fo + j] += v * yr;
    }
  }
  const trainSums = (foldIndex: number | null): { sum: Float64Array; sumY: Float64Array } => {
    const sum = new Float64Array(d);
    const sumY = new Float64Array(d);
    for (let f = 0; f < k; f++) {
      if (f === foldIndex) continue;
      for (let j = 0; j < d; j++) {
        sum[j] += foldSum[f * d + j];
        sumY[j] += foldSumY[f * d + j];
      }
    }
    return { sum, sumY };
  };

  const systemFor = (train: Int32Array, test: Int32Array, foldIndex: number | null): FoldSystem => {
    const nt = train.length;
    const { sum: delta, sumY } = trainSums(foldIndex);
    for (let j = 0; j < d; j++) delta[j] /= nt;
    const yMean = mean(y, train);
    if (nt >= d) {
      // Σ_train (xc − δ)(xc − δ)ᵀ = Σ_train xc xcᵀ − nt δδᵀ.
      const g = Float64Array.from(fullGram!);
      if (foldIndex !== null) {
        const fg = foldGrams!.subarray(foldIndex * d * d, (foldIndex + 1) * d * d);
        for (let i = 0; i < d * d; i++) g[i] -= fg[i];
      }
      for (let i = 0; i < d; i++) {
        const di = nt * delta[i];
        for (let j = 0; j < d; j++) g[i * d + j] -= di * delta[j];
      }
      // Σ_train (xc − δ)(y − ȳ) = Σ_train xc·y − nt δ ȳ.
      const rhs = sumY;
      for (let j = 0; j < d; j++) rhs[j] -= nt * delta[j] * yMean;
      let trace = 0;
      for (let i = 0; i < d; i++) trace += g[i * d + i];
      return { train, test, delta, yMean, form: 'primal', matrix: g, size: d, rhs, trace };
    }
    // Double-centred kernel block: K_c = (I − 11ᵀ/nt) K (I − 11ᵀ/nt).
    const K = new Float64Array(nt * nt);
    const rowMean = new Float64Array(nt);
    for (let i = 0; i < nt; i++) {
      const ko = train[i] * n;
      let s = 0;
      for (let j = 0; j < nt; j++) {
        const v = kernel![ko + train[j]];
        K[i * nt + j] = v;
        s += v;
      }
      rowMean[i] = s / nt;
    }
    let all = 0;
    for (let i = 0; i < nt; i++) all += rowMean[i];
    all /= nt;
    let trace = 0;
    for (let i = 0; i < nt; i++) {
      for (let j = 0; j < nt; j++) K[i * nt + j] += all - rowMean[i] - rowMean[j];
      trace += K[i * nt + i];
    }
    const rhs = Float64Array.from(train, (r) => y[r] - yMean);
    return { train, test, delta, yMean, form: 'dual', matrix: K, size: nt, rhs, trace };
  };

  /** w (d) from a solution of the fold's system. */
  const weightsFrom = (sys: FoldSystem, u: Float64Array): Float64Array => {
    if (sys.form === 'primal') return u;
    // w = Σ aᵢ(xcᵢ − δ) = Σ aᵢ xcᵢ, because Σ aᵢ = 0 (the centred kernel has 1 in its null space).
    return sumRows(xc, d, sys.train, u);
  };

  // Out-of-fold predictions for every α.
  const oof = alphas.map(() => new Float64Array(n));
  const oofRank = alphas.map(() => new Float64Array(n));
  for (let f = 0; f < k; f++) {
    const sys = systemFor(trains[f], tests[f], f);
    const tri = tridiagonalize(sys.matrix, sys.size);
    const c = applyQt(tri, Float64Array.from(sys.rhs));
    const scale = sys.trace / d;
    const W = new Float32Array(d * alphas.length);
    const bias = new Float64Array(alphas.length);
    alphas.forEach((alpha, a) => {
      const u = applyQ(tri, solveShiftedTridiagonal(tri, alpha * scale, c));
      const w = weightsFrom(sys, u);
      let dw = 0;
      for (let j = 0; j < d; j++) {
        W[j * alphas.length + a] = w[j];
        dw += sys.delta[j] * w[j];
      }
      bias[a] = sys.yMean - dw;
    });
    const test = sys.test;
    const xt = new Float32Array(test.length * d);
    test.forEach((r, i) => xt.set(xc.subarray(r * d, (r + 1) * d), i * d));
    const pred = await matmul(xt, W, test.length, d, alphas.length);
    for (let i = 0; i < test.length; i++) {
      for (let a = 0; a < alphas.length; a++) {
        oof[a][test[i]] = pred[i * alphas.length + a] + bias[a];
        // Ranked without the fold's intercept ȳ_train: with strong shrinkage the predictions vary
        // less than the folds' intercepts do, and pooling them would rank folds, not photos.
        oofRank[a][test[i]] = oof[a][test[i]] - sys.yMean;
      }
    }
  }

  const yRanks = ranks(y);
  const cv: RidgeCvPoint[] = alphas.map((alpha, a) => {
    let se = 0;
    for (let i = 0; i < n; i++) se += (oof[a][i] - y[i]) ** 2;
    return { alpha, spearman: pearson(ranks(oofRank[a]), yRanks), mse: se / n };
  });
  let best = 0;
  for (let a = 1; a < cv.length; a++) if (cv[a].spearman >= cv[best].spearman - 1e-12) best = a;

  // Final fit on every row at the chosen α (one factorisation: Cholesky).
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const sys = systemFor(all, new Int32Array(0), null);
  const lambda = alphas[best] * (sys.trace / d);
  const w = weightsFrom(sys, choleskySolve(sys.matrix, sys.size, lambda, sys.rhs));
  // f(x) = w·(x − μ − δ) + ȳ with δ = 0 for the full set → bias = ȳ − w·μ.
  let wmu = 0;
  for (let j = 0; j < d; j++) wmu += w[j] * (mu[j] + sys.delta[j]);
  const binary = (() => {
    const values = new Set<number>();
    for (let i = 0; i < n && values.size <= 2; i++) values.add(y[i]);
    return values.size === 2;
  })();
  return {
    weights: w,
    bias: sys.yMean - wmu,
    alpha: alphas[best],
    lambda,
    folds: k,
    spearman: cv[best].spearman,
    auc: binary ? rocAuc(oofRank[best], Array.from({ length: n }, (_, i) => y[i] === yMax)) : null,
    cv,
    outOfFold: oof[best],
    form: sys.form,
  };
}

/** Plain ridge fit at one α (no cross-validation), in the primal or dual form: for tests and tools. */
export async function fitRidge(x: Float32Array, n: number, d: number, y: ArrayLike<number>, alpha: number, form: 'primal' | 'dual' = n >= d ? 'primal' : 'dual'): Promise<{ weights: Float64Array; bias: number; lambda: number }> {
  const { mu, xc } = centre(x, n, d);
  let ym = 0;
  for (let i = 0; i < n; i++) ym += y[i];
  ym /= n;
  const yc = Float64Array.from({ length: n }, (_, i) => y[i] - ym);
  let w: Float64Array;
  let lambda: number;
  if (form === 'primal') {
    const g = await gramBatched(xc, 1, n, d);
    let trace = 0;
    for (let i = 0; i < d; i++) trace += g[i * d + i];
    lambda = (alpha * trace) / d;
    const all = Int32Array.from({ length: n }, (_, i) => i);
    w = choleskySolve(g, d, lambda, sumRows(xc, d, all, yc));
  } else {
    const K = await outerGram(xc, n, d);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += K[i * n + i];
    lambda = (alpha * trace) / d;
    const a = choleskySolve(K, n, lambda, yc);
    w = sumRows(xc, d, Int32Array.from({ length: n }, (_, i) => i), a);
  }
  let wmu = 0;
  for (let j = 0; j < d; j++) wmu += w[j] * mu[j];
  return { weights: w, bias: ym - wmu, lambda };
}
