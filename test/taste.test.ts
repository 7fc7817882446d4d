// Taste model: the linear algebra under it (WebAssembly kernels and their JavaScript fallback,
// onnxruntime products), ridge regression with cross-validation on embeddings with a hidden
// preference direction, and fit → store → reload → score through a real SQLite library.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.ts';
import { photoQueries } from '../db/photos.ts';
import { getTasteModel, listTasteModels, saveTasteModel } from '../db/taste.ts';
import { loadModelFolder } from '../native-models/folder.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import type { ModelInfo } from '../native-models/types.ts';
import type { PhotoRecord } from '../common/types.ts';
import { Library } from '../electron/services/library.ts';
import { gramBatched, matmul, outerGram } from '../electron/services/matrix/gram.ts';
import { ranks, rocAuc, spearman } from '../electron/services/matrix/metrics.ts';
import { prng } from '../electron/services/matrix/prng.ts';
import { applyQ, applyQt, choleskySolve, solveShiftedTridiagonal, tridiagonalize } from '../electron/services/matrix/solve.ts';
import { disableSimdKernels, kernelModuleBytes, simdKernels } from '../electron/services/matrix/wasm/dense-kernels.ts';
import { assignFolds, fitRidge, fitRidgeCv } from '../electron/services/signals/ridge.ts';
import { DEFAULT_TASTE, TASTE_SLOPE, tasteSignals, collectDecisions, decisionTarget, fitTasteModel, tasteScores } from '../electron/services/signals/taste.ts';
import { tempDir } from './helpers/fixtures.ts';

function gaussian(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(rnd() || 1e-300)) * Math.cos(2 * Math.PI * rnd());
}

/** A random symmetric positive semi-definite m × m matrix of rank `rank` (a Gram matrix). */
function randomGram(m: number, rank: number, rnd: () => number): Float64Array {
  const b = Float64Array.from({ length: m * rank }, () => gaussian(rnd));
  const a = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let r = 0; r < rank; r++) s += b[i * rank + r] * b[j * rank + r];
      a[i * m + j] = a[j * m + i] = s;
    }
  }
  return a;
}

function matVec(a: Float64Array, m: number, x: Float64Array): Float64Array {
  return Float64Array.from({ length: m }, (_, i) => {
    let s = 0;
    for (let j = 0; j < m; j++) s += a[i * m + j] * x[j];
    return s;
  });
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/**
 * Embeddings like CLIP's: unit vectors around a shared direction, with most of their variance in
 * a `latent`-dimensional subspace; the hidden preference is a direction in that subspace.
 */
function tasteWorld(n: number, dim: number, seed: number, latent = 24) {
  const rnd = prng(seed);
  const basis = Array.from({ length: latent }, () => Float64Array.from({ length: dim }, () => gaussian(rnd) / Math.sqrt(dim)));
  const shared = Float64Array.from({ length: dim }, () => gaussian(rnd) / Math.sqrt(dim));
  const hiddenLatent = Float64Array.from({ length: latent }, () => gaussian(rnd));
  const x = new Float32Array(n * dim);
  const hidden = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const z = Float64Array.from({ length: latent }, () => gaussian(rnd));
    const v = new Float64Array(dim);
    for (let j = 0; j < dim; j++) {
      let s = 1.2 * shared[j] + 0.05 * gaussian(rnd) / Math.sqrt(dim);
      for (let k = 0; k < latent; k++) s += z[k] * basis[k][j];
      v[j] = s;
    }
    let norm = 0;
    for (const e of v) norm += e * e;
    norm = Math.sqrt(norm);
    for (let j = 0; j < dim; j++) x[r * dim + j] = v[j] / norm;
    let h = 0;
    for (let k = 0; k < latent; k++) h += z[k] * hiddenLatent[k];
    hidden[r] = h / norm;
  }
  return { x, hidden, rnd };
}

/** Decisions from the hidden score plus noise: top 25 % picked, bottom 25 % rejected, the rest rated 1–5. */
function decide(hidden: Float64Array, rows: number, rnd: () => number, noise = 0.25): Float64Array {
  let sd = 0;
  for (let i = 0; i < rows; i++) sd += hidden[i] ** 2;
  sd = Math.sqrt(sd / rows);
  const noisy = Float64Array.from({ length: rows }, (_, i) => hidden[i] + noise * sd * gaussian(rnd));
  const q = ranks(noisy).map((r) => (r - 0.5) / rows);
  return q.map((u) => (u >= 0.75 ? decisionTarget(1, 0)! : u < 0.25 ? decisionTarget(-1, 0)! : decisionTarget(0, 1 + Math.floor(((u - 0.25) / 0.5) * 5))!));
}

function predict(x: Float32Array, dim: number, rows: number[], w: ArrayLike<number>, b: number): Float64Array {
  return Float64Array.from(rows, (r) => {
    let s = b;
    for (let j = 0; j < dim; j++) s += w[j] * x[r * dim + j];
    return s;
  });
}

describe('linear algebra', () => {
  it('assembles a valid WebAssembly SIMD module', () => {
    expect(WebAssembly.validate(kernelModuleBytes())).toBe(true);
    expect(simdKernels()).not.toBeNull();
  });

  for (const mode of ['simd', 'javascript'] as const) {
    it(`tridiagonalises and solves (A + λI)x = b exactly (${mode})`, () => {
      disableSimdKernels(mode === 'javascript');
      try {
        const rnd = prng(mode === 'simd' ? 1 : 2);
        for (const [m, rank] of [[1, 1], [2, 1], [3, 3], [7, 2], [33, 40], [64, 10]]) {
          const a = randomGram(m, rank, rnd);
          const b = Float64Array.from({ length: m }, () => gaussian(rnd));
          const t = tridiagonalize(a.slice(), m);
          // Similarity transform: the trace and the Frobenius norm survive.
          let tr = 0;
          let fro = 0;
          for (let i = 0; i < m; i++) tr += a[i * m + i];
          for (const v of a) fro += v * v;
          let tr2 = 0;
          let fro2 = 0;
          for (let i = 0; i < m; i++) {
            tr2 += t.diag[i];
            fro2 += t.diag[i] ** 2 + (i < m - 1 ? 2 * t.off[i] ** 2 : 0);
          }
          expect(tr2).toBeCloseTo(tr, 8);
          expect(fro2 / fro).toBeCloseTo(1, 10);
          for (const lambda of [1e-3, 0.5, 30]) {
            const x = applyQ(t, solveShiftedTridiagonal(t, lambda, applyQt(t, b.slice())));
            const ax = matVec(a, m, x).map((v, i) => v + lambda * x[i]);
            expect(maxAbs(ax, b)).toBeLessThan(1e-7 * (1 + Math.max(...b.map(Math.abs))));
            expect(maxAbs(choleskySolve(a, m, lambda, b), x)).toBeLessThan(1e-6 * (1 + Math.max(...x.map(Math.abs))));
          }
        }
      } finally {
        disableSimdKernels(false);
      }
    });
  }

  it('runs the Walsh–Hadamard kernel like the textbook transform', () => {
    const k = simdKernels()!;
    const rnd = prng(8);
    for (const n of [4, 8, 64, 512]) {
      const x = Float64Array.from({ length: n }, () => gaussian(rnd));
      const mem = new Float32Array(k.memory(4096 + n * 4), 4096, n);
      mem.set(x);
      k.fwht(4096, n);
      const ref = Float64Array.from(x);
      for (let h = 1; h < n; h <<= 1) {
        for (let i = 0; i < n; i += 2 * h) {
          for (let j = i; j < i + h; j++) [ref[j], ref[j + h]] = [ref[j] + ref[j + h], ref[j] - ref[j + h]];
        }
      }
      expect(maxAbs(new Float32Array(k.memory(0), 4096, n), ref)).toBeLessThan(1e-4 * Math.sqrt(n));
    }
  });

  it('rejects a matrix that is not positive definite', () => {
    expect(() => choleskySolve(Float64Array.from([1, 2, 2, 1]), 2, 0, Float64Array.from([1, 1]))).toThrow(/positive definite/);
  });

  it('computes Gram matrices and products in onnxruntime exactly as in JavaScript', async () => {
    const rnd = prng(3);
    const n = 300;
    const d = 128; // n·d² is above the threshold where onnxruntime takes over
    const x = Float32Array.from({ length: 2 * n * d }, () => gaussian(rnd));
    const g = await gramBatched(x, 2, n, d);
    for (const [b, i, j] of [[0, 0, 0], [0, 5, 77], [1, 127, 3], [1, 64, 64]]) {
      let s = 0;
      for (let r = 0; r < n; r++) s += x[(b * n + r) * d + i] * x[(b * n + r) * d + j];
      expect(g[b * d * d + i * d + j]).toBeCloseTo(s, 2);
      expect(g[b * d * d + j * d + i]).toBe(g[b * d * d + i * d + j]);
    }
    const k = await outerGram(x.subarray(0, n * d), n, d);
    let s = 0;
    for (let c = 0; c < d; c++) s += x[3 * d + c] * x[250 * d + c];
    expect(k[3 * n + 250]).toBeCloseTo(s, 2);
    const w = Float32Array.from({ length: d * 5 }, () => gaussian(rnd));
    const p = await matmul(x.subarray(0, n * d), w, n, d, 5);
    let s2 = 0;
    for (let c = 0; c < d; c++) s2 += x[7 * d + c] * w[c * 5 + 4];
    expect(p[7 * 5 + 4]).toBeCloseTo(s2, 2);
  });

  it('ranks with ties, Spearman and ROC AUC', () => {
    expect(Array.from(ranks([10, 20, 20, 5, 30]))).toEqual([2, 3.5, 3.5, 1, 5]);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 1, 1], [1, 2, 3])).toBe(0);
    expect(rocAuc([0.9, 0.8, 0.3, 0.1], [true, true, false, false])).toBe(1);
    expect(rocAuc([0.1, 0.8, 0.3, 0.9], [true, true, false, false])).toBe(0.25);
    expect(rocAuc([0.5, 0.5], [true, false])).toBe(0.5);
  });
});

describe('ridge regression', () => {
  it('gives the same model in the primal and the dual form', async () => {
    const { x, hidden } = tasteWorld(150, 96, 5);
    const y = Array.from(hidden.subarray(0, 150));
    for (const alpha of [0.01, 1]) {
      const primal = await fitRidge(x, 150, 96, y, alpha, 'primal');
      const dual = await fitRidge(x, 150, 96, y, alpha, 'dual');
      expect(primal.lambda).toBeCloseTo(dual.lambda, 6);
      expect(maxAbs(primal.weights, dual.weights)).toBeLessThan(1e-4 * Math.max(...primal.weights.map(Math.abs)));
      expect(primal.bias).toBeCloseTo(dual.bias, 4);
    }
  });

  it('stratifies folds by target', () => {
    const y = Array.from({ length: 50 }, (_, i) => (i < 10 ? 1 : 0));
    const folds = assignFolds(y, 5, 9);
    for (let f = 0; f < 5; f++) {
      expect(y.filter((v, i) => v === 1 && folds[i] === f)).toHaveLength(2);
      expect(Array.from(folds).filter((g) => g === f)).toHaveLength(10);
    }
  });

  // The bar: a model fitted on noisy decisions ranks unseen photos like the hidden preference does
  // (Spearman > 0.8), and its cross-validated score says so; with the decisions shuffled the
  // cross-validated score drops below 0.2.
  for (const [label, labelled, dim] of [
    ['more decisions than dimensions (primal)', 1200, 128],
    ['fewer decisions than dimensions (dual)', 150, 256],
  ] as const) {
    it(`learns a hidden preference: ${label}`, async () => {
      const unseen = 800;
      const { x, hidden, rnd } = tasteWorld(labelled + unseen, dim, 17);
      const y = decide(hidden, labelled, rnd);
      const fit = await fitRidgeCv(x.subarray(0, labelled * dim), labelled, dim, y);
      expect(fit.form).toBe(labelled >= dim ? 'primal' : 'dual');
      expect(fit.folds).toBe(5);
      expect(fit.cv).toHaveLength(13);
      expect(fit.spearman).toBeGreaterThan(0.6);
      const rows = Array.from({ length: unseen }, (_, i) => labelled + i);
      const agreement = spearman(predict(x, dim, rows, fit.weights, fit.bias), rows.map((r) => hidden[r]));
      expect(agreement).toBeGreaterThan(0.8);

      const shuffled = Float64Array.from(y);
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      const noise = await fitRidgeCv(x.subarray(0, labelled * dim), labelled, dim, shuffled);
      expect(noise.spearman).toBeLessThan(0.2);
      expect(fit.spearman - noise.spearman).toBeGreaterThan(0.4);
    });
  }

  it('reports the AUC for pick/reject decisions only', async () => {
    const { x, hidden } = tasteWorld(300, 64, 23);
    const y = Array.from(hidden.subarray(0, 300), (h) => (h > 0 ? 1 : 0));
    const fit = await fitRidgeCv(x.subarray(0, 300 * 64), 300, 64, y);
    expect(fit.auc).toBeGreaterThan(0.85);
    const rated = await fitRidgeCv(x.subarray(0, 300 * 64), 300, 64, Array.from(hidden.subarray(0, 300)));
    expect(rated.auc).toBeNull();
  });

  it('refuses what it cannot fit', async () => {
    const x = new Float32Array(20 * 4).fill(0.5);
    await expect(fitRidgeCv(x, 20, 4, new Array(20).fill(1))).rejects.toThrow(/same/);
    await expect(fitRidgeCv(x.subarray(0, 12), 3, 4, [0, 1, 0])).rejects.toThrow(/too few/);
  });
});

describe('taste helpers', () => {
  it('turns decisions into targets', () => {
    expect(decisionTarget(-1, 5)).toBe(0);
    expect(decisionTarget(1, 0)).toBe(1);
    expect(decisionTarget(1, 2)).toBe(1);
    expect(decisionTarget(0, 3)).toBeCloseTo(0.6, 12);
    expect(decisionTarget(0, 5)).toBe(1);
    expect(decisionTarget(0, 0)).toBeNull();
  });

  it('reads @taste queries', () => {
    const name = (text: string) => tasteSignals.match(text)?.signal ?? null;
    expect(name('taste')).toBe(`taste:${DEFAULT_TASTE}`);
    expect(name('  Taste  ')).toBe(`taste:${DEFAULT_TASTE}`);
    expect(name('taste:wedding')).toBe('taste:wedding');
    expect(name('taste: "Anna & Ben"')).toBe('taste:Anna & Ben');
    expect(name('tasteful')).toBeNull();
    expect(name('sharp vs blurry')).toBeNull();
  });

  it('needs enough, and varied, decisions', async () => {
    const { x } = tasteWorld(30, 16, 2);
    const few = { ids: Int32Array.from([1, 2, 3]), rows: Int32Array.from([0, 1, 2]), targets: Float64Array.from([0, 1, 1]), picks: 2, rejects: 1, rated: 0 };
    await expect(fitTasteModel(x.subarray(0, 3 * 16), 16, few)).rejects.toThrow(/at least 10 decisions/);
    // Decisions on photos indexing has listed but not embedded yet are named, not silently dropped.
    const listed = (id: number, flag: 1 | -1) => ({ id, status: 'ok', flag, rating: 0 }) as PhotoRecord;
    const decided = collectDecisions([listed(1, 1), listed(2, -1), listed(3, 1)], { indexOf: (id) => (id === 1 ? 0 : -1) });
    expect(decided).toMatchObject({ picks: 1, pending: 2 });
    await expect(fitTasteModel(x.subarray(0, 16), 16, decided)).rejects.toThrow('there is 1, and 2 more on photos not scored yet');
    const same = { ids: Int32Array.from({ length: 12 }, (_, i) => i + 1), rows: Int32Array.from({ length: 12 }, (_, i) => i), targets: new Float64Array(12).fill(1), picks: 12, rejects: 0, rated: 0 };
    await expect(fitTasteModel(x.subarray(0, 12 * 16), 16, same)).rejects.toThrow(/every decision is the same/i);
    await expect(fitTasteModel(x, 16, { ...same, targets: Float64Array.from({ length: 12 }, (_, i) => i % 2) })).rejects.toThrow(/values for 12 decisions/);
  });
});

describe('taste models in a real library', () => {
  let tmp: string;
  let dbPath: string;
  let model: ModelInfo;
  let hidden: Map<number, number>;
  let ids: number[];
  const LABELLED = 160;

  beforeAll(async () => {
    tmp = tempDir('cull-taste-');
    await makeTestModel({ out: path.join(tmp, 'model'), size: 'tiny', seed: 6 });
    model = loadModelFolder(path.join(tmp, 'model'));
    const world = tasteWorld(400, model.dim, 31, 12);
    dbPath = path.join(tmp, 'library.db');
    const db = openDatabase(dbPath);
    const q = photoQueries(db);
    hidden = new Map();
    ids = [];
    db.transaction(() => {
      for (let r = 0; r < 400; r++) {
        const folder = r % 2 ? 'wedding' : 'portraits';
        const id = q.upsertPhoto({
          path: path.join(tmp, folder, `p${r}.jpg`), size: 1, mtimeMs: r, fingerprint: `f${r}`, width: 10, height: 10,
          takenAt: Date.UTC(2024, 0, 1) + r * 3_600_000, camera: 'X', lens: null, thumb: null,
        });
        q.storeEmbedding(id, model.id, world.x.subarray(r * model.dim, (r + 1) * model.dim));
        hidden.set(id, world.hidden[r]);
        ids.push(id);
      }
    })();
    db.close();
  });

  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function decideInLibrary(lib: Library, rows: number[], seed: number) {
    const rnd = prng(seed);
    const y = decide(Float64Array.from(rows, (r) => hidden.get(ids[r])!), rows.length, rnd, 0.15);
    for (let i = 0; i < rows.length; i++) {
      const id = ids[rows[i]];
      if (y[i] === 1) await lib.setCulling([id], { flag: 1 });
      else if (y[i] === 0) await lib.setCulling([id], { flag: -1 });
      else await lib.setCulling([id], { rating: Math.round(y[i] / 0.2) });
    }
  }

  it('fits, stores, reloads and scores a named model', async () => {
    let lib = await Library.open({ dbPath, model, threads: 1 });
    let before: Awaited<ReturnType<Library['score']>>;
    try {
      await expect(lib.fitTaste('wedding')).rejects.toThrow(/at least 10 decisions/);
      await expect(lib.score('@taste:wedding')).rejects.toThrow(/no taste model "wedding"/i);
      await decideInLibrary(lib, Array.from({ length: LABELLED }, (_, i) => i), 41);
      const info = await lib.fitTaste('wedding');
      const photos = await lib.photos();
      const decided = photos.filter((p) => p.flag !== 0 || p.rating > 0);
      expect(info).toMatchObject({ name: 'wedding', modelId: model.id, kind: 'ridge', dim: model.dim, examples: LABELLED, metric: 'spearman', folds: 5, scope: null });
      expect(info.picks + info.rejects + info.rated).toBe(decided.length);
      expect(info.picks).toBe(decided.filter((p) => p.flag === 1).length);
      expect(info.validation!).toBeGreaterThan(0.5);
      expect(info).not.toHaveProperty('weights');

      before = await lib.score('@taste:wedding');
      expect(before).toHaveLength(400);
      // On the photos it never saw, it ranks like the hidden preference.
      const unseen = before.filter((r) => ids.indexOf(r.id) >= LABELLED);
      expect(spearman(unseen.map((r) => r.score), unseen.map((r) => hidden.get(r.id)!))).toBeGreaterThan(0.8);
      // The stored weights give the documented 0–1 mapping, for every photo.
      const stored = getTasteModel(lib.db, 'wedding', model.id)!;
      for (const r of before) {
        const row = lib.matrix.indexOf(r.id);
        let raw = stored.bias;
        for (let j = 0; j < model.dim; j++) raw += stored.weights[j] * lib.matrix.row(row)[j];
        expect(r.score, `photo ${r.id}`).toBeCloseTo(1 / (1 + Math.exp(-TASTE_SLOPE * (raw - 0.5))), 5);
      }

      expect((await lib.score('@taste:wedding', { top: 5 })).map((r) => r.id)).toEqual(before.slice(0, 5).map((r) => r.id));
      const inFolder = await lib.score('@taste:wedding', { filter: { folder: path.join(tmp, 'portraits') } });
      expect(inFolder).toHaveLength(200);
      expect(inFolder.every((r) => r.path.includes(`${path.sep}portraits${path.sep}`))).toBe(true);

      // Used as the "best of group" attribute.
      await expect(lib.groups({ by: '@taste:wedding' })).resolves.toBeInstanceOf(Array);
    } finally {
      await lib.close();
    }

    // A new process: the model is read back from the file, with identical scores.
    lib = await Library.open({ dbPath, model, threads: 1 });
    try {
      const models = await lib.tasteModels();
      expect(models.map((m) => m.name)).toEqual(['wedding']);
      const after = await lib.score('@taste:wedding');
      expect(after.map((r) => r.id)).toEqual(before!.map((r) => r.id));
      expect(maxAbs(after.map((r) => r.score), before!.map((r) => r.score))).toBe(0);
    } finally {
      await lib.close();
    }
  });

  it('keeps a model per scope and refits after enough new decisions', async () => {
    const lib = await Library.open({ dbPath, model, threads: 1 });
    try {
      const scoped = await lib.fitTaste('portraits only', { filter: { folder: path.join(tmp, 'portraits') } });
      expect(scoped.scope).toEqual({ folder: path.join(tmp, 'portraits') });
      expect(scoped.examples).toBe(LABELLED / 2);
      expect((await lib.tasteModels()).map((m) => m.name)).toEqual(['portraits only', 'wedding']);

      // A few new decisions: nothing to do yet.
      await decideInLibrary(lib, [LABELLED, LABELLED + 1, LABELLED + 2], 42);
      expect(await lib.maybeRefitTaste('wedding', 20)).toBeNull();
      expect(await lib.maybeRefitTaste('nobody', 20)).toBeNull();
      // Twenty more: refitted on all of them, and a refit keeps the model's scope.
      await decideInLibrary(lib, Array.from({ length: 20 }, (_, i) => LABELLED + 3 + i), 43);
      const refit = await lib.maybeRefitTaste('wedding', 20);
      expect(refit?.examples).toBe(LABELLED + 23);
      const scopedRefit = await lib.fitTaste('portraits only');
      expect(scopedRefit.scope).toEqual(scoped.scope);
      expect(scopedRefit.examples).toBeGreaterThan(scoped.examples);

      expect(await lib.deleteTaste('portraits only')).toBe(true);
      expect(await lib.deleteTaste('portraits only')).toBe(false);
      expect((await lib.tasteModels()).map((m) => m.name)).toEqual(['wedding']);
    } finally {
      await lib.close();
    }
  });

  it('stores weights losslessly and refuses a damaged row', () => {
    const db = openDatabase(dbPath);
    try {
      const weights = Float32Array.from({ length: 8 }, (_, i) => i / 7 - 0.5);
      saveTasteModel(db, {
        name: 'tiny', modelId: 'other-model', kind: 'ridge', dim: 8, weights, bias: 0.25, lambda: 0.1, examples: 12, picks: 6,
        rejects: 6, rated: 0, metric: 'spearman', validation: 0.42, auc: 0.8, folds: 5, scope: { minRating: 2 }, createdAt: 1700000000000,
      });
      const back = getTasteModel(db, 'tiny', 'other-model')!;
      expect(Array.from(back.weights)).toEqual(Array.from(weights));
      expect(back).toMatchObject({ bias: 0.25, validation: 0.42, auc: 0.8, scope: { minRating: 2 }, createdAt: 1700000000000 });
      expect(listTasteModels(db, 'other-model')).toHaveLength(1);
      expect(listTasteModels(db).length).toBeGreaterThanOrEqual(2);
      db.prepare("UPDATE taste_models SET dim = 9 WHERE name = 'tiny'").run();
      expect(() => getTasteModel(db, 'tiny', 'other-model')).toThrow(/damaged/);
    } finally {
      db.close();
    }
  });

  it('scores a whole matrix through tasteScores and checks the dimension', () => {
    const decisions = collectDecisions([], { indexOf: () => -1 });
    expect(decisions.rows).toHaveLength(0);
    const m = { dim: 4, length: 2, dot: (w: Float32Array) => Float32Array.from([w[0], -w[0]]) };
    const s = tasteScores(m, { name: 'x', dim: 4, weights: Float32Array.from([0.5, 0, 0, 0]), bias: 0.5 });
    expect(s[0]).toBeCloseTo(1 / (1 + Math.exp(-TASTE_SLOPE * 0.5)), 6);
    expect(s[1]).toBeCloseTo(1 / (1 + Math.exp(TASTE_SLOPE * 0.5)), 6);
    expect(() => tasteScores(m, { name: 'x', dim: 3, weights: new Float32Array(3), bias: 0 })).toThrow(/Fit it again/);
  });
});
