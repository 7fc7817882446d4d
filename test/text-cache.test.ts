// The text-feature cache with a real ONNX text model (generated tiny CLIP, random weights): a known
// attribute needs no text encoding, a new one encodes exactly its prompts, the cache survives
// reopening the database and is keyed by model id.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../db/database.ts';
import { getTextFeatures, resetTextFeatureStats, textFeatureStats } from '../db/features.ts';
import { decodeF16, encodeF16 } from '../db/vectors.ts';
import { parseAttribute, parseQuery } from '../electron/services/signals/attributes.ts';
import { EmbeddingMatrix } from '../electron/services/matrix/embedding-matrix.ts';
import { signalLookup } from '../electron/services/signals/registry.ts';
import { Scorer } from '../electron/services/signals/scoring.ts';
import { loadModelFolder } from '../native-models/folder.ts';
import { openClipModel } from '../native-models/runtime.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import type { ClipModel, ModelInfo } from '../native-models/types.ts';

let tmp: string;
let dbFile: string;
let info: ModelInfo;
let real: ClipModel;

/** The real model, with every embedTexts call recorded. */
function counting(model: ClipModel, info: ModelInfo = model.info) {
  const calls: string[][] = [];
  const wrapped: ClipModel = {
    info,
    embedImages: (px, n) => model.embedImages(px, n),
    embedTexts: async (texts) => {
      calls.push([...texts]);
      return model.embedTexts(texts);
    },
    dispose: async () => {},
  };
  return { model: wrapped, calls, texts: () => calls.flat() };
}

function seedLibrary(db: DB, modelId: string, dim: number, n = 20): void {
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const insertPhoto = db.prepare(
    "INSERT INTO photos (id, path, folder, size, mtime_ms, fingerprint, indexed_at) VALUES (?, ?, '/p', 1, 0, ?, 1)",
  );
  const insertVec = db.prepare('INSERT INTO embeddings (photo_id, model_id, vec) VALUES (?, ?, ?)');
  for (let id = 1; id <= n; id++) {
    const v = Array.from({ length: dim }, rand);
    const norm = Math.hypot(...v);
    insertPhoto.run(id, `/p/${id}.jpg`, `fp${id}`);
    insertVec.run(id, modelId, encodeF16(v.map((x) => x / norm)));
  }
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-textcache-'));
  const dir = path.join(tmp, 'model');
  await makeTestModel({ out: dir, size: 'tiny', seed: 7 });
  info = loadModelFolder(dir);
  real = await openClipModel(info, { threads: 1 });
  dbFile = path.join(tmp, 'library.db');
  const db = openDatabase(dbFile);
  seedLibrary(db, info.id, info.dim);
  db.close();
});

afterAll(async () => {
  await real?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => resetTextFeatureStats());

/** CLIP-IQA computed here from the stored row: softmax(s·cos₊, s·cos₋) at the positive prompt. */
function clipIqa(db: DB, photoId: number, pos: Float32Array, neg: Float32Array): number {
  const v = decodeF16(db.prepare('SELECT vec FROM embeddings WHERE photo_id = ? AND model_id = ?').pluck().get(photoId, info.id) as Buffer);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);
  const n = Math.sqrt(dot(v, v));
  const cos = (t: Float32Array) => dot(v, t) / n / Math.sqrt(dot(t, t));
  return 1 / (1 + Math.exp(info.logitScale * (cos(neg) - cos(pos))));
}

describe('text-feature cache', () => {
  it('encodes a new attribute once (two prompts, one call) and never again', async () => {
    const db = openDatabase(dbFile);
    const { model, calls, texts } = counting(real);
    const scorer = new Scorer({ db, model, matrix: EmbeddingMatrix.load(db, info.id) });
    const first = await scorer.score({ attributes: [parseAttribute('sharp vs blurry')] });
    expect(calls).toHaveLength(1);
    expect(texts().sort()).toEqual(['Blurry photo.', 'Sharp photo.']);
    expect(first).toHaveLength(20);
    const [sharp, blurry] = await getTextFeatures(db, model, ['Sharp photo.', 'Blurry photo.']); // cached: no call
    for (const r of first) expect(r.score, `photo ${r.id}`).toBeCloseTo(clipIqa(db, r.id, sharp, blurry), 6);

    const again = await scorer.score({ attributes: [parseAttribute('sharp vs blurry')] });
    expect(calls).toHaveLength(1); // zero prompts encoded the second time
    expect(again.map((r) => [r.id, r.score])).toEqual(first.map((r) => [r.id, r.score]));

    await scorer.score({ attributes: [parseAttribute('bright vs dark')] });
    expect(texts()).toHaveLength(4); // exactly two more
    // "sharp vs dark" reuses two known prompts; @sharpness is the same pair.
    await scorer.score(parseQuery('sharp vs dark + @sharpness', signalLookup()));
    expect(texts()).toHaveLength(4);
    expect(textFeatureStats.encoded).toBe(4);
    expect(db.prepare('SELECT count(*) AS n FROM text_features WHERE model_id = ?').get(info.id)).toEqual({ n: 4 });
    db.close();
  });

  it('stores exactly what the model returned (float32) and survives reopening the file', async () => {
    const prompts = ['Warm photo.', 'Cold photo.'];
    const before = openDatabase(dbFile);
    const priming = counting(real);
    await getTextFeatures(before, priming.model, prompts);
    expect(priming.texts()).toEqual(prompts);
    before.close();

    const db = openDatabase(dbFile);
    const { model, calls } = counting(real);
    const cached = await getTextFeatures(db, model, prompts);
    expect(calls).toHaveLength(0);
    const direct = await real.embedTexts(prompts);
    expect([...cached[0]]).toEqual([...direct.subarray(0, info.dim)]);
    expect([...cached[1]]).toEqual([...direct.subarray(info.dim)]);
    const scorer = new Scorer({ db, model, matrix: EmbeddingMatrix.load(db, info.id) });
    const parts = await scorer.explain(3, [parseAttribute('warm vs cold')]);
    expect(parts['warm vs cold']).toBeCloseTo(clipIqa(db, 3, cached[0], cached[1]), 6);
    await scorer.search('Warm photo.');
    expect(calls).toHaveLength(0);
    db.close();
  });

  it('is keyed by model id: another model encodes again', async () => {
    const db = openDatabase(dbFile);
    const otherInfo = { ...info, id: `${info.id}-other` };
    const { model, texts } = counting(real, otherInfo);
    await getTextFeatures(db, model, ['Sharp photo.', 'Blurry photo.']);
    expect(texts().sort()).toEqual(['Blurry photo.', 'Sharp photo.']);
    await getTextFeatures(db, model, ['Sharp photo.', 'Blurry photo.', 'Sharp photo.']);
    expect(texts()).toHaveLength(2);
    db.close();
  });

  it('re-encodes a cached row of the wrong size instead of trusting it', async () => {
    const db = openDatabase(dbFile);
    db.prepare('INSERT OR REPLACE INTO text_features (model_id, prompt, vec) VALUES (?, ?, ?)').run(
      info.id,
      'Broken photo.',
      Buffer.alloc(12),
    );
    const { model, texts } = counting(real);
    const [v] = await getTextFeatures(db, model, ['Broken photo.']);
    expect(texts()).toEqual(['Broken photo.']);
    expect(v).toHaveLength(info.dim);
    const row = db.prepare('SELECT length(vec) AS n FROM text_features WHERE model_id = ? AND prompt = ?').get(info.id, 'Broken photo.');
    expect(row).toEqual({ n: info.dim * 4 });
    db.close();
  });
});
