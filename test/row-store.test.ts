// The embedding storage behind scoring: WebAssembly SIMD kernels against plain loops, int8 rows
// with exact re-ranking, and the matrix snapshot beside the database.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import { decodeF16, encodeF16, encodeF32 } from '../db/vectors.ts';
import { parseAttribute } from '../electron/services/signals/attributes.ts';
import { EmbeddingMatrix, FAST_SHADOW_MIN_ROWS } from '../electron/services/matrix/embedding-matrix.ts';
import { libraryStamp, snapshotPath, SNAPSHOT_MIN_ROWS } from '../electron/services/matrix/matrix-snapshot.ts';
import { quantiseDirection, RowStore, simdAvailable } from '../electron/services/matrix/row-store.ts';
import { rowKernelModule, type RowKernels } from '../electron/services/matrix/wasm/row-kernels.ts';
import { Scorer } from '../electron/services/signals/scoring.ts';
import type { ClipModel, ModelInfo } from '../native-models/types.ts';
import { prng, tempDir } from './helpers/fixtures.ts';

function unitRows(n: number, dim: number, seed: number): Float32Array {
  const rnd = prng(seed);
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (out[r * dim + j] = rnd() - 0.5) ** 2;
    for (let j = 0; j < dim; j++) out[r * dim + j] /= Math.sqrt(s);
  }
  return out;
}

const naiveDot = (rows: Float32Array, dim: number, r: number, d: ArrayLike<number>) => {
  let s = 0;
  for (let j = 0; j < dim; j++) s += rows[r * dim + j] * d[j];
  return s;
};

describe('RowStore', () => {
  it('has the WebAssembly SIMD kernels on this runtime', () => {
    expect(simdAvailable()).toBe(true);
  });

  it('float32 rows: the kernel matches a plain loop for kernel-sized and odd dimensions', () => {
    for (const dim of [512, 768, 24, 7]) {
      const n = 57;
      const rows = unitRows(n, dim, dim);
      const d = unitRows(1, dim, 99);
      const store = new RowStore('f32', dim, n);
      for (let r = 0; r < n; r++) store.setRow(r, rows, r * dim);
      const got = store.dot(d, n);
      for (let r = 0; r < n; r++) {
        expect(got[r]).toBeCloseTo(naiveDot(rows, dim, r, d), 5);
        expect(store.dotRow(r, d)).toBeCloseTo(naiveDot(rows, dim, r, d), 5);
      }
    }
  });

  it('int8 rows: dots within the quantisation bound, codes use the full ±127 range', () => {
    const dim = 512;
    const n = 300;
    const rows = unitRows(n, dim, 3);
    const d = unitRows(1, dim, 4);
    const store = new RowStore('i8', dim, n);
    for (let r = 0; r < n; r++) store.setRow(r, rows, r * dim);
    const got = store.dot(d, n);
    let l1 = 0;
    for (let j = 0; j < dim; j++) l1 += Math.abs(d[j]);
    let worst = 0;
    for (let r = 0; r < n; r++) {
      const exact = naiveDot(rows, dim, r, d);
      // |error| ≤ (scale/2)·‖d‖₁ per row (rounding) plus the direction's int16 rounding.
      expect(Math.abs(got[r] - exact)).toBeLessThanOrEqual((store.scales[r] / 2) * l1 + 1e-4);
      worst = Math.max(worst, Math.abs(got[r] - exact));
      let max = 0;
      for (const c of store.codes.subarray(r * dim, (r + 1) * dim)) max = Math.max(max, Math.abs(c));
      expect(max).toBe(127);
    }
    expect(worst).toBeGreaterThan(0); // it really is approximate
    expect(worst).toBeLessThan(5e-3);
  });

  it('float16 ingest equals decode + normalise + store, and refuses rows it cannot handle', () => {
    const dim = 512;
    for (const format of ['f32', 'i8'] as const) {
      const viaKernel = new RowStore(format, dim, 4);
      const viaJs = new RowStore(format, dim, 4);
      const raw = unitRows(4, dim, 11).map((v, i) => v * (i < dim ? 3 : i < 2 * dim ? 1e-4 : 1)); // unnormalised, subnormal halves
      for (let r = 0; r < 3; r++) {
        const blob = encodeF16(raw.subarray(r * dim, (r + 1) * dim));
        const v = decodeF16(blob);
        const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
        viaJs.setRow(r, v.map((x) => x / norm));
        expect(viaKernel.setRowF16(r, blob)).toBe(true);
        const a = viaKernel.getRow(r);
        const b = viaJs.getRow(r);
        const step = format === 'i8' ? viaJs.scales[r] * 1.001 : 1e-6;
        for (let j = 0; j < dim; j++) expect(Math.abs(a[j] - b[j])).toBeLessThanOrEqual(step);
      }
      const bad = new Float32Array(dim).fill(0.01);
      bad[7] = Infinity;
      expect(viaKernel.setRowF16(3, encodeF16(bad))).toBe(false);
      expect(viaKernel.setRowF16(3, encodeF16(new Float32Array(dim)))).toBe(false);
    }
  });

  it('int8 ingest gives exactly the codes and scale of decode → float32 lane sums → round(x·127/max)', () => {
    // The kernel's arithmetic written out in float32 (Math.fround): the sum of squares in 4 lanes
    // (element j into lane j % 4) added up lane 0 + 1, + 2, + 3; codes round-half-even(x · (127 / max))
    // of the row as decoded; scale max · (1/√sum) / 127. Any change to the ingest must keep these
    // bits: the matrices' hashes (bench, snapshot) depend on them.
    const f = Math.fround;
    const even = (x: number) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x));
    const dim = 512;
    const store = new RowStore('i8', dim, 6);
    const raw = unitRows(6, dim, 17).map((v, i) => v * [3, 1e-4, 1, 250, 7e-6, 0.5][Math.floor(i / dim)]);
    raw[5 * dim + 9] = 0.5; // exact ties: x · 127 / max lands on .5 for some values
    for (let r = 0; r < 6; r++) {
      const blob = encodeF16(raw.subarray(r * dim, (r + 1) * dim));
      const x = decodeF16(blob);
      const lanes = [0, 0, 0, 0];
      let max = 0;
      for (let j = 0; j < dim; j++) {
        lanes[j % 4] = f(lanes[j % 4] + f(x[j] * x[j]));
        max = Math.max(max, Math.abs(x[j]));
      }
      const inv = f(1 / f(Math.sqrt(f(f(f(lanes[0] + lanes[1]) + lanes[2]) + lanes[3]))));
      const w = f(127 / max);
      expect(store.setRowF16(r, blob)).toBe(true);
      expect(store.scales[r]).toBe(f(f(max * inv) / 127));
      const codes = Array.from(x, (v) => even(f(v * w)) + 0); // + 0: an int8 has no −0
      expect(Array.from(store.codes.subarray(r * dim, (r + 1) * dim))).toEqual(codes);
    }
  });

  it('int8 ingest needs no float32 scratch row: the address passed for one is never written', () => {
    if (!simdAvailable()) return;
    const dim = 512;
    const mem = new WebAssembly.Memory({ initial: 2 });
    const k = new WebAssembly.Instance(rowKernelModule()!, { env: { mem } }).exports as unknown as RowKernels;
    const bytes = new Uint8Array(mem.buffer);
    const src = 16;
    const scratch = src + dim * 2;
    const codes = scratch + dim * 4;
    bytes.set(encodeF16(unitRows(1, dim, 23)), src);
    bytes.fill(0xa5, scratch, codes);
    expect(k.ingest(src, dim, scratch, codes, codes + dim)).toBe(1);
    expect(bytes.subarray(scratch, codes).every((b) => b === 0xa5)).toBe(true);
  });

  it('grows keeping its rows', () => {
    const dim = 16;
    const rows = unitRows(10, dim, 5);
    const store = new RowStore('i8', dim, 2);
    store.setRow(0, rows, 0);
    store.setRow(1, rows, dim);
    const before = [store.getRow(0), store.getRow(1)];
    store.grow(10);
    for (let r = 2; r < 10; r++) store.setRow(r, rows, r * dim);
    expect(store.getRow(0)).toEqual(before[0]);
    expect(store.getRow(1)).toEqual(before[1]);
    const d = unitRows(1, dim, 6);
    const got = store.dot(d, 10);
    for (let r = 0; r < 10; r++) expect(got[r]).toBeCloseTo(naiveDot(rows, dim, r, d), 2);
  });

  it('quantises a direction without int32 overflow at any dimension', () => {
    for (const dim of [8, 512, 1024, 4096]) {
      const { codes, scale } = quantiseDirection(new Float32Array(dim).fill(-1));
      expect(scale).toBeGreaterThan(0);
      expect(Math.abs(codes[0]) * 127 * dim).toBeLessThan(2 ** 31);
    }
  });
});

// ---- the matrix over a real database --------------------------------------------------------------

let dir: string;
let db: DB;

beforeEach(() => {
  dir = tempDir('cull-rowstore-');
  db = openDatabase(path.join(dir, 'library.db'));
});

afterEach(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function addPhotos(rows: Float32Array, dim: number, model = 'm', firstId = 1, indexedAt = 1000): void {
  const photo = db.prepare("INSERT INTO photos (id, path, folder, size, mtime_ms, fingerprint, status, indexed_at) VALUES (?, ?, '/p', 1, 0, ?, 'ok', ?)");
  const emb = db.prepare('INSERT INTO embeddings (photo_id, model_id, vec) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let r = 0; r < rows.length / dim; r++) {
      const id = firstId + r;
      photo.run(id, `/p/${id}.jpg`, `fp${id}`, indexedAt);
      emb.run(id, model, encodeF16(rows.subarray(r * dim, (r + 1) * dim)));
    }
  })();
}

/** A ClipModel whose only job is to return cached text features (they are stored beforehand). */
function cachedTextModel(dim: number): ClipModel {
  const info = { id: 'm', dim, logitScale: 100 } as ModelInfo;
  return {
    info,
    embedImages: async () => {
      throw new Error('not used');
    },
    embedTexts: async () => {
      throw new Error('text features must come from the cache in this test');
    },
    dispose: async () => {},
  };
}

/** Two nearby prompt directions (cosine ~0.99, as real antonym prompts are): CLIP-IQA scores spread over 0..1. */
function nearbyPrompts(dim: number, seed: number): [Float32Array, Float32Array] {
  const pos = unitRows(1, dim, seed);
  const noise = unitRows(1, dim, seed + 1);
  const neg = pos.map((v, j) => v + 0.15 * noise[j]);
  const norm = Math.hypot(...neg);
  return [pos, neg.map((v) => v / norm)];
}

/** CLIP-IQA score of one pair: softmax(100·cos₊, 100·cos₋) at the positive prompt. */
const clipIqa = (cp: number, cn: number) => 1 / (1 + Math.exp(100 * (cn - cp)));

/**
 * The exact ranking in float64: every stored float16 row decoded and normalised in float64,
 * dotted with the prompts in float64. Returns each row's score by photo id (1-based, dense) and
 * the ids best first (ties by id).
 */
function float64Ranking(db: DB, model: string, dim: number, pos: Float32Array, neg: Float32Array): { score: Float64Array; order: number[] } {
  const rows = db.prepare('SELECT photo_id AS id, vec FROM embeddings WHERE model_id = ? ORDER BY photo_id').all(model) as { id: number; vec: Buffer }[];
  const score = new Float64Array(rows.length + 1).fill(NaN);
  for (const { id, vec } of rows) {
    const v = decodeF16(vec);
    let ss = 0;
    let cp = 0;
    let cn = 0;
    for (let j = 0; j < dim; j++) {
      ss += v[j] * v[j];
      cp += v[j] * pos[j];
      cn += v[j] * neg[j];
    }
    score[id] = clipIqa(cp / Math.sqrt(ss), cn / Math.sqrt(ss));
  }
  const order = rows.map((r) => r.id).sort((a, b) => score[b] - score[a] || a - b);
  return { score, order };
}

/** Scores spread out, not saturated: none within 1e-4 of 0 or 1, a wide spread, the top 1000 all distinct. */
function expectSpread(exact: { score: Float64Array; order: number[] }): void {
  const all = exact.order.map((id) => exact.score[id]);
  const saturated = all.filter((x) => x > 1 - 1e-4 || x < 1e-4).length;
  expect(saturated, 'scores saturated at 0 or 1').toBe(0);
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  expect(Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length), 'standard deviation of the scores').toBeGreaterThan(0.1);
  expect(new Set(all.slice(0, 1000)).size, 'distinct scores among the top 1000').toBe(1000);
}

/**
 * Agreement of a ranking with the exact one: Spearman's ρ over the exact top 1000 (their ranks
 * by `scoreOf` against their exact ranks) and recall@100 (share of the exact top 100 in `top100`).
 */
function agreement(exact: { order: number[] }, scoreOf: (id: number) => number, top100: number[]): { spearman: number; recallAt100: number } {
  const ids = exact.order.slice(0, 1000);
  const byApprox = [...ids].sort((a, b) => scoreOf(b) - scoreOf(a) || a - b);
  const rankOf = new Map(byApprox.map((id, i) => [id, i]));
  const n = ids.length;
  const d2 = ids.reduce((s, id, i) => s + (rankOf.get(id)! - i) ** 2, 0);
  const want = new Set(exact.order.slice(0, 100));
  return { spearman: 1 - (6 * d2) / (n * (n * n - 1)), recallAt100: top100.filter((id) => want.has(id)).length / 100 };
}

/** Ids of the 100 best rows of `values` (per matrix row), best first. */
const top100Of = (values: ArrayLike<number>, ids: ArrayLike<number>) =>
  Array.from({ length: values.length }, (_, r) => r).sort((a, b) => values[b] - values[a] || ids[a] - ids[b]).slice(0, 100).map((r) => ids[r]);

describe('EmbeddingMatrix with int8 rows', () => {
  it('int8 storage (libraries beyond COMPACT_ABOVE_BYTES, ~131k photos): spread-out scores, the float64 ranking recovered', async () => {
    const dim = 64;
    const n = 20_000;
    const rows = unitRows(n, dim, 21);
    addPhotos(rows, dim);
    const [pos, neg] = nearbyPrompts(dim, 31);
    const text = unitRows(1, dim, 33);
    const put = db.prepare("INSERT INTO text_features (model_id, prompt, vec) VALUES ('m', ?, ?)");
    const attr = parseAttribute('sharp vs blurry');
    put.run(attr.positive.prompts[0], encodeF32(pos));
    put.run(attr.negative.prompts[0], encodeF32(neg));
    put.run('a query', encodeF32(text));
    const exactRanking = float64Ranking(db, 'm', dim, pos, neg);
    expectSpread(exactRanking);

    const model = cachedTextModel(dim);
    const exact = new Scorer({ db, model, matrix: EmbeddingMatrix.load(db, 'm', { format: 'f32' }) });
    const compactMatrix = EmbeddingMatrix.load(db, 'm', { format: 'i8' });
    expect(compactMatrix.approximate).toBe(true);
    expect(compactMatrix.bytes).toBeLessThan(n * dim * 4 * 0.3);
    const compact = new Scorer({ db, model, matrix: compactMatrix });

    // The int8 pass alone (before any exact re-rank) already ranks nearly as float64 does.
    const [dp, dn] = [compactMatrix.dot(pos), compactMatrix.dot(neg)];
    const approx = Float64Array.from(dp, (v, r) => clipIqa(v, dn[r]));
    const raw = agreement(exactRanking, (id) => approx[compactMatrix.indexOf(id)], top100Of(approx, compactMatrix.ids));
    expect(raw.spearman, 'int8 pass: Spearman over the top 1000').toBeGreaterThan(0.999);
    expect(raw.recallAt100, 'int8 pass: recall@100').toBeGreaterThanOrEqual(0.95);

    // What the scorer shows: the exact ranking and exact scores.
    const shown = await compact.score({ attributes: [attr] }, { top: 1000 });
    const shownScore = new Map(shown.map((x) => [x.id, x.score]));
    const got = agreement(exactRanking, (id) => shownScore.get(id) ?? -1, shown.slice(0, 100).map((x) => x.id));
    expect(got.recallAt100, 'shown: recall@100').toBe(1);
    expect(got.spearman, 'shown: Spearman over the top 1000').toBeGreaterThan(0.99999);
    for (const x of shown) expect(Math.abs(x.score - exactRanking.score[x.id]), `photo ${x.id}`).toBeLessThan(1e-5);
    for (const top of [1, 25, 200]) {
      const a = await exact.score({ attributes: [attr] }, { top });
      const b = await compact.score({ attributes: [attr] }, { top });
      expect(b.map((x) => x.id)).toEqual(a.map((x) => x.id));
      b.forEach((x, i) => {
        expect(x.score).toBeCloseTo(a[i].score, 5); // re-scored from the stored float16 rows
        expect(x.path).toBe(`/p/${x.id}.jpg`);
      });
    }
    const sa = await exact.search('a query', { top: 50 });
    const sb = await compact.search('a query', { top: 50 });
    expect(sb.map((x) => x.id)).toEqual(sa.map((x) => x.id));
    sb.forEach((x, i) => expect(x.score).toBeCloseTo(sa[i].score, 5));

    // explain reads the photo's exact row too
    const [one] = await exact.explain(sa[0].id, [attr]).then((e) => Object.values(e));
    const [two] = await compact.explain(sa[0].id, [attr]).then((e) => Object.values(e));
    expect(two).toBeCloseTo(one, 5);
  });

  it('large float32 matrices score over an int8 shadow, kept in step, with the exact ranking shown', async () => {
    const dim = 64;
    const n = FAST_SHADOW_MIN_ROWS + 500;
    addPhotos(unitRows(n, dim, 51), dim);
    // Two nearby prompts, as real antonym prompts are (cosine ~0.99): scores spread over 0..1
    // instead of saturating at 0 and 1, so the ranking has no ties for rounding to decide.
    const [pos, neg] = nearbyPrompts(dim, 52);
    const put = db.prepare("INSERT INTO text_features (model_id, prompt, vec) VALUES ('m', ?, ?)");
    const attr = parseAttribute('sharp vs blurry');
    put.run(attr.positive.prompts[0], encodeF32(pos));
    put.run(attr.negative.prompts[0], encodeF32(neg));
    const matrix = EmbeddingMatrix.load(db, 'm', { snapshot: false });
    expect(matrix.format).toBe('f32');
    const scorer = new Scorer({ db, model: cachedTextModel(dim), matrix });
    const query = { attributes: [attr] };
    /** The exact ranking: every row's exact score (no shadow), best first, ties by id. */
    const exactRanking = async () => {
      const { combined } = await scorer.scoreAll(query);
      const ids = matrix.ids;
      const order = Array.from({ length: matrix.length }, (_, r) => r).sort((a, b) => combined[b] - combined[a] || ids[a] - ids[b]);
      return order.map((r) => ({ id: ids[r], score: combined[r] }));
    };
    // The first pass is exact and starts the shadow's background build; later passes use it.
    expect(matrix.dotFast(pos).approximate).toBe(false);
    await matrix.warmFast();
    if (simdAvailable()) expect(matrix.dotFast(pos).approximate).toBe(true);

    // Against the float64 ranking, on spread-out scores: the shadow's own pass, then what is shown.
    const exact64 = float64Ranking(db, 'm', dim, pos, neg);
    expectSpread(exact64);
    if (simdAvailable()) {
      const [sp, sn] = [matrix.dotFast(pos), matrix.dotFast(neg)];
      expect(sp.approximate && sn.approximate).toBe(true);
      const approx = Float64Array.from(sp.values, (v, r) => clipIqa(v, sn.values[r]));
      const raw = agreement(exact64, (id) => approx[matrix.indexOf(id)], top100Of(approx, matrix.ids));
      expect(raw.spearman, 'int8 shadow pass: Spearman over the top 1000').toBeGreaterThan(0.999);
      expect(raw.recallAt100, 'int8 shadow pass: recall@100').toBeGreaterThanOrEqual(0.95);
    }
    const shown = await scorer.score(query, { top: 1000 });
    const shownScore = new Map(shown.map((x) => [x.id, x.score]));
    const got = agreement(exact64, (id) => shownScore.get(id) ?? -1, shown.slice(0, 100).map((x) => x.id));
    expect(got.recallAt100, 'shown: recall@100').toBe(1);
    expect(got.spearman, 'shown: Spearman over the top 1000').toBeGreaterThan(0.99999);

    /**
     * `got` is the exact ranking: the same score at every rank, and each photo's own exact score.
     * (The reference sums in float32 SIMD, the re-rank in float64: neighbours closer than 1e-6
     * may trade places, nothing else.)
     */
    const expectExact = (got: { id: number; score: number }[], ref: { id: number; score: number }[]) => {
      const byId = new Map(ref.map((x) => [x.id, x.score]));
      got.forEach((x, i) => {
        expect(Math.abs(x.score - ref[i].score)).toBeLessThan(1e-6);
        expect(Math.abs(x.score - byId.get(x.id)!)).toBeLessThan(1e-6);
      });
      const misplaced = got.filter((x, i) => x.id !== ref[i].id).length;
      expect(misplaced).toBeLessThan(got.length / 50 + 2);
    };
    let want = await exactRanking();
    for (const top of [1, 100, 1000]) expectExact(await scorer.score(query, { top }), want.slice(0, top));
    // The whole library: exact first 1000, then every other photo once.
    const all = await scorer.score(query);
    expect(all).toHaveLength(n);
    expectExact(all.slice(0, 1000), want.slice(0, 1000));
    expect(new Set(all.map((x) => x.id)).size).toBe(n);

    // Rows appended and re-indexed after the shadow was built are in it too.
    addPhotos(unitRows(300, dim, 54), dim, 'm', n + 1, 7000);
    const sharpest = pos.map((v, j) => v - neg[j]); // the direction the attribute measures
    const len = Math.hypot(...sharpest);
    db.prepare('UPDATE embeddings SET vec = ? WHERE photo_id = 7').run(encodeF16(sharpest.map((v) => v / len))); // photo 7 re-indexed as the sharpest
    db.prepare('UPDATE photos SET indexed_at = 7000 WHERE id = 7').run();
    expect(matrix.refresh(db)).toMatchObject({ added: 300, updated: 1 });
    want = await exactRanking();
    const after = await scorer.score(query, { top: 200 });
    expectExact(after, want.slice(0, 200));
    expect(after[0].id).toBe(7);
  });

  it('refresh appends and updates int8 rows', () => {
    const dim = 32;
    addPhotos(unitRows(20, dim, 1), dim);
    const m = EmbeddingMatrix.load(db, 'm', { format: 'i8' });
    addPhotos(unitRows(30, dim, 2), dim, 'm', 21, 2000);
    expect(m.refresh(db)).toEqual({ added: 30, updated: 0, rebuilt: false });
    const fresh = EmbeddingMatrix.load(db, 'm', { format: 'f32' });
    const d = unitRows(1, dim, 3);
    const a = m.dot(d);
    const b = fresh.dot(d);
    for (let id = 1; id <= 50; id++) expect(a[m.indexOf(id)]).toBeCloseTo(b[fresh.indexOf(id)], 2);
    expect(m.pathsOf([m.indexOf(42)])).toEqual(['/p/42.jpg']);
  });
});

describe('matrix snapshot', () => {
  const dim = 16;
  const n = SNAPSHOT_MIN_ROWS + 10;

  it('is written on the first load, used by the next, and reconciled once the library changes', () => {
    addPhotos(unitRows(n, dim, 7), dim);
    const first = EmbeddingMatrix.load(db, 'm');
    expect(first.loadedFrom).toBe('database');
    const file = snapshotPath(db, 'm')!;
    expect(fs.existsSync(file)).toBe(true);

    const second = EmbeddingMatrix.load(db, 'm');
    expect(second.loadedFrom).toBe('snapshot');
    expect([...second.ids]).toEqual([...first.ids]);
    const d = unitRows(1, dim, 8);
    expect(Array.from(second.dot(d))).toEqual(Array.from(first.dot(d)));

    // Ratings and moves leave it valid; a photo going missing does not.
    db.prepare('UPDATE photos SET rating = 4, path = ? WHERE id = 5').run('/elsewhere/5.jpg');
    const third = EmbeddingMatrix.load(db, 'm');
    expect(third.loadedFrom).toBe('snapshot');
    expect(third.pathsOf([third.indexOf(5)])).toEqual(['/elsewhere/5.jpg']);
    const stamp = libraryStamp(db, 'm');
    db.prepare("UPDATE photos SET status = 'missing' WHERE id = 9").run();
    expect(libraryStamp(db, 'm')).not.toEqual(stamp);
    // A stale snapshot is reconciled by id: only what changed is read from the database.
    const fourth = EmbeddingMatrix.load(db, 'm');
    expect(fourth.loadedFrom).toBe('snapshot+database');
    expect(fourth.length).toBe(n - 1);
    expect(fourth.indexOf(9)).toBe(-1);
    expect(EmbeddingMatrix.load(db, 'm').loadedFrom).toBe('snapshot'); // rewritten fresh
  });

  it('a stale snapshot reconciled with additions, re-indexed rows and removals equals a load from the database', () => {
    addPhotos(unitRows(n, dim, 21), dim);
    const base = EmbeddingMatrix.load(db, 'm');
    expect(base.loadedFrom).toBe('database');
    // Another process changes the library behind the snapshot's back.
    addPhotos(unitRows(40, dim, 22), dim, 'm', n + 1, 3000); // new photos
    const reindexed = unitRows(3, dim, 23);
    [3, 300, n - 1].forEach((id, k) => {
      db.prepare('UPDATE embeddings SET vec = ? WHERE photo_id = ?').run(encodeF16(reindexed.subarray(k * dim, (k + 1) * dim)), id);
      db.prepare('UPDATE photos SET indexed_at = 4000 WHERE id = ?').run(id);
    });
    db.prepare("UPDATE photos SET status = 'missing' WHERE id IN (1, 2, 1000)").run();
    db.prepare('DELETE FROM embeddings WHERE photo_id = 77').run(); // lost its embedding

    const m = EmbeddingMatrix.load(db, 'm');
    expect(m.loadedFrom).toBe('snapshot+database');
    const fresh = EmbeddingMatrix.load(db, 'm', { snapshot: false });
    expect(fresh.loadedFrom).toBe('database');
    expect(m.length).toBe(fresh.length);
    expect(m.length).toBe(n + 40 - 4);
    expect([...m.ids].sort((a, b) => a - b)).toEqual([...fresh.ids]);
    const d = unitRows(1, dim, 24);
    const a = m.dot(d);
    const b = fresh.dot(d);
    for (const id of [3, 4, 300, n - 1, n + 1, n + 40]) expect(a[m.indexOf(id)]).toBeCloseTo(b[fresh.indexOf(id)], 6);
    for (const id of [1, 2, 77, 1000]) expect(m.indexOf(id)).toBe(-1);
    let worst = 0;
    for (let r = 0; r < m.length; r++) worst = Math.max(worst, Math.abs(a[r] - b[fresh.indexOf(m.ids[r])]));
    expect(worst).toBeLessThan(1e-6);
  });

  it('refresh after removals drops rows in place instead of reloading', () => {
    addPhotos(unitRows(n, dim, 31), dim);
    const m = EmbeddingMatrix.load(db, 'm');
    db.prepare("UPDATE photos SET status = 'missing' WHERE id IN (10, 20, 30)").run();
    addPhotos(unitRows(5, dim, 32), dim, 'm', n + 1, 5000);
    expect(m.refresh(db)).toEqual({ added: 5, updated: 0, removed: 3, rebuilt: false });
    expect(m.length).toBe(n + 2);
    expect(m.indexOf(20)).toBe(-1);
    const fresh = EmbeddingMatrix.load(db, 'm', { snapshot: false });
    const d = unitRows(1, dim, 33);
    const a = m.dot(d);
    const b = fresh.dot(d);
    for (let r = 0; r < m.length; r++) expect(a[r]).toBeCloseTo(b[fresh.indexOf(m.ids[r])], 6);
    expect(EmbeddingMatrix.load(db, 'm').loadedFrom).toBe('snapshot'); // refresh rewrote it
  });

  it('a deferred snapshot is written off the load, never describing rows that changed meanwhile', async () => {
    addPhotos(unitRows(n, dim, 41), dim);
    const m = EmbeddingMatrix.load(db, 'm', { deferSnapshot: true });
    const file = snapshotPath(db, 'm')!;
    expect(fs.existsSync(file)).toBe(false); // not written inside the load
    // The library changes before the write has run: that write gives up, the refresh's own wins.
    addPhotos(unitRows(5, dim, 42), dim, 'm', n + 1, 6000);
    expect(m.refresh(db)).toMatchObject({ added: 5, rebuilt: false });
    await m.flush();
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const next = EmbeddingMatrix.load(db, 'm');
    expect(next.loadedFrom).toBe('snapshot');
    expect(next.length).toBe(n + 5);
    const d = unitRows(1, dim, 43);
    expect(Array.from(next.dot(d))).toEqual(Array.from(m.dot(d)));
  });

  it('a damaged snapshot is ignored and rewritten', () => {
    addPhotos(unitRows(n, dim, 9), dim);
    EmbeddingMatrix.load(db, 'm');
    const file = snapshotPath(db, 'm')!;
    fs.truncateSync(file, fs.statSync(file).size - 100);
    const m = EmbeddingMatrix.load(db, 'm');
    expect(m.loadedFrom).toBe('database');
    expect(m.length).toBe(n);
    expect(EmbeddingMatrix.load(db, 'm').loadedFrom).toBe('snapshot');
  });

  it('is not kept for small libraries or in-memory databases', () => {
    addPhotos(unitRows(50, dim, 10), dim);
    EmbeddingMatrix.load(db, 'm');
    expect(fs.existsSync(snapshotPath(db, 'm')!)).toBe(false);
    const mem = openDatabase(':memory:');
    expect(snapshotPath(mem, 'm')).toBeNull();
    mem.close();
  });
});
