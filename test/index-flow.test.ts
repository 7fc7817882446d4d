// Issue 15, item 11, below the window: while the Library facade indexes, photos are listed before
// their embeddings (PhotoRecord.unscored) and rankings score the photos embedded so far; at the end
// every photo is scored and none is marked. Real SQLite, real ONNX (the tiny generated model).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhotoRecord, ScoredPhoto } from '../common/types.ts';
import { Library } from '../electron/services/library.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { tempDir, writePhotoSet } from './helpers/fixtures.ts';

const PHOTOS = 48;
let tmp: string;
let modelDir: string;

beforeAll(async () => {
  tmp = tempDir('cull-index-flow-');
  modelDir = path.join(tmp, 'model');
  await makeTestModel({ out: modelDir, size: 'tiny', seed: 3 });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('scores while indexing (Library facade)', () => {
  it('lists photos before their embeddings and scores those embedded so far, mid-run', async () => {
    const root = path.join(tmp, 'photos');
    await writePhotoSet(root, PHOTOS, { seed: 8100 });
    const lib = await Library.open({ dbPath: path.join(tmp, 'library.db'), modelDir, thumbsDir: path.join(tmp, 'thumbs') });
    try {
      let asked: Promise<[ScoredPhoto[], PhotoRecord[]]> | null = null;
      await lib.index([root], {
        onProgress: (p) => {
          // Once two batches are embedded and the run is not over: what would the window see now?
          if (!asked && p.indexed >= 16 && p.indexed < PHOTOS) asked = Promise.all([lib.score('bright vs dark'), lib.photos()]);
        },
      });
      expect(asked).not.toBeNull();
      const [scored, listed] = await asked!;
      // Scores for the photos embedded by then (the old facade had none until the run ended)…
      expect(scored.length).toBeGreaterThanOrEqual(16);
      expect(scored.length).toBeLessThan(PHOTOS);
      // …every listed photo either scored or marked unscored, never both, and some listed ahead.
      const ids = new Set(scored.map((s) => s.id));
      expect(listed.length).toBeGreaterThanOrEqual(scored.length);
      for (const p of listed) expect(p.unscored === true).toBe(!ids.has(p.id));

      // The end: every photo scored, none marked.
      expect(await lib.score('bright vs dark')).toHaveLength(PHOTOS);
      const after = await lib.photos();
      expect(after).toHaveLength(PHOTOS);
      expect(after.filter((p) => p.unscored)).toEqual([]);
      expect((await lib.photo(after[0].id))?.unscored).toBeUndefined();
    } finally {
      await lib.close();
    }
  });
});
