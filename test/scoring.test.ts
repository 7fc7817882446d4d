// Score maths against hand computations, combinations, thresholds, top-N/%, search ranking and the
// in-memory matrix. The text side is a tiny ClipModel object returning fixed unit vectors (pure
// maths); the text cache with a real ONNX text model is covered by text-cache.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import { loadEmbeddingMatrix } from '../db/features.ts';
import { encodeF16 } from '../db/vectors.ts';
import { parseAttribute } from '../electron/services/signals/attributes.ts';
import { EmbeddingMatrix } from '../electron/services/matrix/embedding-matrix.ts';
import { Scorer, clipIqaScore, poleDirection, selectTop } from '../electron/services/signals/scoring.ts';
import type { Attribute } from '../common/types.ts';
import type { ClipModel, ModelInfo } from '../native-models/types.ts';
import { prng } from './helpers/fixtures.ts';

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
}

function randomUnit(dim: number, rand: () => number): Float32Array {
  return unit(Array.from({ length: dim }, () => rand() * 2 - 1));
}

/** A ClipModel whose text encoder is a lookup table (counts what it encodes). */
function tableModel(id: string, dim: number, table: Record<string, Float32Array>): ClipModel & { encoded: string[] } {
  const info: ModelInfo = {
    id,
    name: 'table model',
    dir: '/nowhere',
    dim,
    preprocess: { imageSize: 224, mean: [0, 0, 0], std: [1, 1, 1] },
    logitScale: 100,
    visionFile: '',
    textFile: '',
    tokenizerFile: '',
    quantized: false,
    architecture: null,
    randomWeights: true,
  };
  const encoded: string[] = [];
  return {
    info,
    encoded,
    async embedImages() {
      throw new Error('not used');
    },
    async embedTexts(texts: string[]) {
      encoded.push(...texts);
      const out = new Float32Array(texts.length * dim);
      texts.forEach((t, i) => {
        if (!table[t]) throw new Error(`no vector for prompt ${t}`);
        out.set(table[t], i * dim);
      });
      return out;
    },
    async dispose() {},
  };
}

let tmp: string;
let db: DB;

function addPhoto(id: number, vec: Float32Array | null, modelId = 'm', status = 'ok', indexedAt = 1000): void {
  db.prepare(
    'INSERT INTO photos (id, path, folder, size, mtime_ms, fingerprint, indexed_at, status) VALUES (?, ?, ?, 1, 0, ?, ?, ?)',
  ).run(id, `/photos/p${id}.jpg`, '/photos', `fp${id}`, indexedAt, status);
  if (vec) db.prepare('INSERT INTO embeddings (photo_id, model_id, vec) VALUES (?, ?, ?)').run(id, modelId, encodeF16(vec));
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-scoring-'));
  db = openDatabase(path.join(tmp, 'library.db'));
});

afterEach(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

// Text directions with hand-picked cosines to the axis images e1..e4 (all values exact in float32).
const T_POS = [0.3, 0.6, 0.2, Math.sqrt(1 - 0.09 - 0.36 - 0.04)];
const T_NEG = [0.28, 0.62, 0.3, Math.sqrt(1 - 0.0784 - 0.3844 - 0.09)];
const AXES = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];

describe('CLIP-IQA score', () => {
  it('equals the two-way softmax at s = 100, computed by hand', async () => {
    const model = tableModel('m', 4, { 'Good photo.': Float32Array.from(T_POS), 'Bad photo.': Float32Array.from(T_NEG) });
    AXES.forEach((a, i) => addPhoto(i + 1, Float32Array.from(a)));
    addPhoto(5, Float32Array.from([0.5, 0.5, 0.5, 0.5])); // exactly representable in float16
    const scorer = new Scorer({ db, model, matrix: EmbeddingMatrix.load(db, 'm') });
    const res = await scorer.score({ attributes: [parseAttribute('good vs bad')] });
    const byId = Object.fromEntries(res.map((r) => [r.id, r.score]));
    // softmax(100·c+, 100·c−) at the positive pole, with the cosines written out:
    const softmax = (cp: number, cn: number) => Math.exp(100 * cp) / (Math.exp(100 * cp) + Math.exp(100 * cn));
    expect(byId[1]).toBeCloseTo(softmax(0.3, 0.28), 6); // = 1/(1+e^-2) = 0.8808
    expect(byId[1]).toBeCloseTo(0.8807970779778823, 6);
    expect(byId[2]).toBeCloseTo(softmax(0.6, 0.62), 6); // 0.1192
    expect(byId[3]).toBeCloseTo(softmax(0.2, 0.3), 9); // 4.54e-5
    expect(byId[4]).toBeCloseTo(softmax(Math.sqrt(0.51), Math.sqrt(0.4472)), 6);
    const c5p = 0.5 * (0.3 + 0.6 + 0.2 + Math.sqrt(0.51));
    const c5n = 0.5 * (0.28 + 0.62 + 0.3 + Math.sqrt(0.4472));
    expect(byId[5]).toBeCloseTo(softmax(c5p, c5n), 5);
    // Sorted descending.
    // c+ − c−: photo 4 +0.045, 1 +0.02, 2 −0.02, 5 −0.027, 3 −0.1
    expect(res.map((r) => r.id)).toEqual([4, 1, 2, 5, 3]);
    expect(res[1].path).toBe('/photos/p1.jpg');
    expect(res[0].parts).toEqual({ 'good vs bad': res[0].score });
  });

  it('refuses a matrix that belongs to another model', () => {
    addPhoto(1, Float32Array.from([1, 0, 0, 0]), 'other');
    const model = tableModel('m', 4, {});
    expect(() => new Scorer({ db, model, matrix: EmbeddingMatrix.load(db, 'other') })).toThrow(/not the active model/);
  });

  it('never overflows for extreme cosine gaps', () => {
    expect(clipIqaScore(1, -1, 100)).toBe(1);
    expect(clipIqaScore(-1, 1, 100)).toBeCloseTo(0, 80);
    expect(clipIqaScore(-1, 1, 1000)).toBe(0);
    expect(Number.isNaN(clipIqaScore(-1, 1, 1000))).toBe(false);
  });

  it('averages (and weights) the prompts of a pole, then renormalises', async () => {
    const e = AXES.map((a) => Float32Array.from(a));
    expect([...poleDirection([e[0], e[1]])]).toEqual([...unit([1, 1, 0, 0])]);
    expect([...poleDirection([e[0], e[1]], [3, 1])]).toEqual([...unit([3, 1, 0, 0])]);
    expect(() => poleDirection([e[0], Float32Array.from([-1, 0, 0, 0])])).toThrow(/cancel/);

    const model = tableModel('m', 4, { A: e[0], B: e[1], C: e[2] });
    addPhoto(1, Float32Array.from([0.5, 0.5, 0.5, 0.5]));
    const scorer = new Scorer({ db, model, matrix: EmbeddingMatrix.load(db, 'm') });
    const attr: Attribute = { label: 'w', positive: { prompts: ['A', 'B'], weights: [3, 1] }, negative: { prompts: ['C'] } };
    const got = (await scorer.explain(1, [attr])).w;
    // t+ = (3,1,0,0)/√10 → c+ = 0.5·4/√10 ; t− = e3 → c− = 0.5
    const cp = 2 / Math.sqrt(10);
    expect(got).toBeCloseTo(Math.exp(100 * cp) / (Math.exp(100 * cp) + Math.exp(100 * 0.5)), 5);
  });
});

describe('combinations, thresholds and top-N', () => {
  async function setup() {
    const rand = prng(42);
    const dim = 16;
    const table: Record<string, Float32Array> = {};
    for (const p of ['Sharp photo.', 'Blurry photo.', 'Bright photo.', 'Dark photo.']) table[p] = randomUnit(dim, rand);
    for (let id = 1; id <= 40; id++) addPhoto(id, randomUnit(dim, rand));
    // Photo 41 duplicates photo 7: same embedding, so always the same score (tie → smaller id first).
    const dup = db.prepare('SELECT vec FROM embeddings WHERE photo_id = 7').get() as { vec: Buffer };
    addPhoto(41, null);
    db.prepare("INSERT INTO embeddings (photo_id, model_id, vec) VALUES (41, 'm', ?)").run(dup.vec);
    const model = tableModel('m', dim, table);
    const scorer = new Scorer({ db, model, matrix: EmbeddingMatrix.load(db, 'm') });
    return { scorer, model };
  }

  it('combines per-attribute scores by weighted average and reports the parts', async () => {
    const { scorer } = await setup();
    const sharp = parseAttribute('sharp vs blurry');
    const bright = { ...parseAttribute('bright vs dark'), weight: 0.5 };
    const a = await scorer.score({ attributes: [sharp] });
    const b = await scorer.score({ attributes: [bright] });
    const both = await scorer.score({ attributes: [sharp, bright] });
    const sa = new Map(a.map((r) => [r.id, r.score]));
    const sb = new Map(b.map((r) => [r.id, r.score]));
    expect(both).toHaveLength(41);
    for (const r of both) {
      expect(r.parts!['sharp vs blurry']).toBeCloseTo(sa.get(r.id)!, 6);
      expect(r.parts!['bright vs dark']).toBeCloseTo(sb.get(r.id)!, 6);
      expect(r.score).toBeCloseTo((1 * sa.get(r.id)! + 0.5 * sb.get(r.id)!) / 1.5, 6);
    }
    for (let i = 1; i < both.length; i++) expect(both[i - 1].score).toBeGreaterThanOrEqual(both[i].score);
    // explain() gives the same parts for one photo.
    const one = await scorer.explain(both[3].id, [sharp, bright]);
    expect(one['sharp vs blurry']).toBeCloseTo(both[3].parts!['sharp vs blurry'], 6);
    await expect(scorer.explain(999, [sharp])).rejects.toThrow(/no embedding/);
  });

  it('breaks ties by photo id', async () => {
    const { scorer } = await setup();
    const res = await scorer.score({ attributes: [parseAttribute('sharp vs blurry')] });
    const i7 = res.findIndex((r) => r.id === 7);
    expect(res[i7 + 1].id).toBe(41);
    expect(res[i7 + 1].score).toBe(res[i7].score);
  });

  it('filters by threshold, then keeps the top N or top %', async () => {
    const { scorer } = await setup();
    const q = { attributes: [parseAttribute('sharp vs blurry')] };
    const all = await scorer.score(q);
    const median = all[20].score;
    const above = await scorer.score({ ...q, minScore: median });
    expect(above.every((r) => r.score >= median)).toBe(true);
    expect(above.length).toBe(all.filter((r) => r.score >= median).length);
    expect(await scorer.score(q, { minScore: 1.01 }).catch((e) => e.message)).toMatch(/between 0 and 1/);

    const top5 = await scorer.score(q, { top: 5 });
    expect(top5.map((r) => r.id)).toEqual(all.slice(0, 5).map((r) => r.id));
    const pct = await scorer.score(q, { topPercent: 10 });
    expect(pct.map((r) => r.id)).toEqual(all.slice(0, Math.ceil(0.1 * 41)).map((r) => r.id));
    // top-% counts the photos left after the threshold.
    const both = await scorer.score({ ...q, minScore: median }, { topPercent: 50 });
    expect(both).toHaveLength(Math.ceil(above.length / 2));
    // Allow-list of ids.
    const some = await scorer.score(q, { ids: [3, 5, 8], top: 2 });
    expect(some.map((r) => r.id)).toEqual(all.filter((r) => [3, 5, 8].includes(r.id)).slice(0, 2).map((r) => r.id));
  });
});

describe('search', () => {
  it('ranks photos by cosine to the text as typed, top-k', async () => {
    const dim = 8;
    const query = unit([1, 0, 0, 0, 0, 0, 0, 0]);
    const model = tableModel('m', dim, { 'red car': query });
    // Photo i has cosine cos_i with the query: built from exact float16 values.
    const cosines: Record<number, number> = { 1: 0.25, 2: 0.75, 3: -0.5, 4: 0.5, 5: 1 };
    for (const [id, c] of Object.entries(cosines)) {
      addPhoto(Number(id), unit([c, Math.sqrt(1 - c * c), 0, 0, 0, 0, 0, 0]));
    }
    const scorer = new Scorer({ db, model, matrix: EmbeddingMatrix.load(db, 'm') });
    const res = await scorer.search('  red car ', { top: 3 });
    expect(model.encoded).toEqual(['red car']); // no "a photo of" template
    expect(res.map((r) => r.id)).toEqual([5, 2, 4]);
    expect(res[0].score).toBeCloseTo(1, 3);
    expect(res[1].score).toBeCloseTo(0.75, 3);
    expect((await scorer.search('red car')).map((r) => r.id)).toEqual([5, 2, 4, 1, 3]);
    await expect(scorer.search('  ')).rejects.toThrow(/Type something/);
  });

  it('partial selection returns exactly what a full sort would', () => {
    const rand = prng(3);
    const n = 5000;
    const scores = Float32Array.from({ length: n }, () => Math.round(rand() * 50) / 50); // many ties
    const ids = Int32Array.from({ length: n }, (_, i) => n - i); // ids not in row order
    const cands = Int32Array.from({ length: n }, (_, i) => i);
    const full = [...cands].sort((a, b) => scores[b] - scores[a] || ids[a] - ids[b]);
    for (const k of [0, 1, 17, 250, n]) expect(selectTop(scores, ids, cands, k)).toEqual(full.slice(0, k));
  });
});

describe('EmbeddingMatrix', () => {
  it('dot matches a naive loop for any dimension (unrolled loop tail)', () => {
    const rand = prng(9);
    for (const dim of [1, 7, 8, 37, 512]) {
      const n = 13;
      const data = new Float32Array(n * dim).map(() => rand() - 0.5);
      const d = new Float32Array(dim).map(() => rand() - 0.5);
      const m = EmbeddingMatrix.fromRows('x', Array.from({ length: n }, (_, i) => i + 1), data, dim);
      const got = m.dot(d);
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += data[r * dim + j] * d[j];
        expect(got[r]).toBeCloseTo(s, 5);
        expect(m.dotRow(r, d)).toBeCloseTo(s, 5);
      }
      expect(m.indexOf(5)).toBe(4);
      expect(m.indexOf(99)).toBe(-1);
    }
  });

  it('loads only status=ok photos of the model, renormalised, ordered by id', () => {
    const rand = prng(5);
    addPhoto(3, randomUnit(8, rand));
    addPhoto(1, randomUnit(8, rand));
    addPhoto(2, randomUnit(8, rand), 'other-model');
    addPhoto(4, randomUnit(8, rand), 'm', 'missing');
    addPhoto(5, null);
    const rows = loadEmbeddingMatrix(db, 'm');
    expect([...rows.ids]).toEqual([1, 3]);
    expect(rows.paths).toEqual(['/photos/p1.jpg', '/photos/p3.jpg']);
    expect(rows.dim).toBe(8);
    for (let r = 0; r < 2; r++) {
      let s = 0;
      for (let j = 0; j < 8; j++) s += rows.matrix[r * 8 + j] ** 2;
      expect(Math.sqrt(s)).toBeCloseTo(1, 6);
    }
    expect(loadEmbeddingMatrix(db, 'nothing').ids.length).toBe(0);
  });

  it('refresh appends new rows, updates re-indexed ones and drops removed ones', () => {
    const rand = prng(6);
    for (let id = 1; id <= 3; id++) addPhoto(id, randomUnit(8, rand), 'm', 'ok', 1000);
    const m = EmbeddingMatrix.load(db, 'm');
    expect(m.length).toBe(3);
    expect(m.refresh(db)).toEqual({ added: 0, updated: 0, rebuilt: false });

    for (let id = 4; id <= 40; id++) addPhoto(id, randomUnit(8, rand), 'm', 'ok', 2000);
    const v2 = randomUnit(8, rand);
    db.prepare("UPDATE embeddings SET vec = ? WHERE photo_id = 2 AND model_id = 'm'").run(encodeF16(v2));
    db.prepare('UPDATE photos SET indexed_at = 2500 WHERE id = 2').run();
    expect(m.refresh(db)).toEqual({ added: 37, updated: 1, rebuilt: false });
    expect(m.length).toBe(40);
    expect(m.ids.length).toBe(40);
    expect(m.data.length).toBe(40 * 8);
    const fresh = EmbeddingMatrix.load(db, 'm');
    const d = randomUnit(8, rand);
    const a = m.dot(d);
    const b = fresh.dot(d);
    for (let id = 1; id <= 40; id++) expect(a[m.indexOf(id)]).toBeCloseTo(b[fresh.indexOf(id)], 6);
    expect(m.paths[m.indexOf(40)]).toBe('/photos/p40.jpg');

    db.prepare("UPDATE photos SET status = 'missing' WHERE id = 10").run();
    expect(m.refresh(db)).toEqual({ added: 0, updated: 0, removed: 1, rebuilt: false });
    expect(m.length).toBe(39);
    expect(m.indexOf(10)).toBe(-1);
    const after = EmbeddingMatrix.load(db, 'm');
    const c = m.dot(d);
    const e = after.dot(d);
    for (let id = 1; id <= 40; id++) if (id !== 10) expect(c[m.indexOf(id)]).toBeCloseTo(e[after.indexOf(id)], 6);
  });
});
