// @focus, @exposure, @clean as signals, and the backfill that brings them to a library indexed
// before the technical analyzer existed: the next index runs just that analyzer (nothing is
// embedded again), and until then the photos have no value and rank nowhere.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.ts';
import { technicalCount, technicalOf } from '../db/technical.ts';
import { ClipAnalyzer } from '../electron/services/indexing/analyzers/index.ts';
import { indexLibrary } from '../electron/services/indexing/indexer.ts';
import { Library } from '../electron/services/library.ts';
import type { ClipModel } from '../native-models/types.ts';
import { writePhotoSet } from './helpers/fixtures.ts';
import { closeTinyModel, countingModel, openTinyModel } from './helpers/tiny-model.ts';

let tmp: string;
let model: ClipModel;

beforeAll(async () => {
  ({ tmp, model } = await openTinyModel('cull-technical-', 5));
});

afterAll(() => closeTinyModel({ tmp, model }));

describe('a library indexed before the technical analyzer', () => {
  it('has no @focus values until the next index backfills them, without embedding anything again', async () => {
    const root = path.join(tmp, 'photos');
    const files = await writePhotoSet(root, 6, { seed: 40, size: 400 });
    const dbPath = path.join(tmp, 'library.db');
    const db = openDatabase(dbPath);
    const spy = countingModel(model);
    const thumbsDir = path.join(tmp, 'thumbs');
    await indexLibrary({ db, model: spy.model, analyzers: [new ClipAnalyzer(spy.model)], roots: [root], thumbsDir });
    expect(spy.embedded).toBe(files.length);
    expect(technicalCount(db)).toBe(0);

    const lib = await Library.open({ dbPath, model: model.info, threads: 1, thumbsDir });
    try {
      expect(await lib.score('@focus')).toEqual([]); // not measured: no value, ranks nowhere
      const id = (await lib.photos())[0].id;
      const before = await lib.explainAll(id);
      expect(Object.keys(before)).toEqual(expect.arrayContaining(['focus (measured)', 'exposure (measured)', 'clean (measured noise)']));
      expect(before['focus (measured)']).toBeNaN();

      // The next index (the default analyzers: CLIP and technical) runs only the technical analyzer.
      spy.embedded = 0;
      const summary = await indexLibrary({ db, model: spy.model, roots: [root], thumbsDir });
      expect(summary).toMatchObject({ failed: 0, cancelled: false });
      expect(spy.embedded).toBe(0);
      expect(technicalCount(db)).toBe(files.length);
      const row = technicalOf(db, id)!;
      expect(row.focusMap.length).toBe(256);
      expect(row.width).toBe(400);

      for (const name of ['@focus', '@exposure', '@clean']) {
        const ranked = await lib.score(name);
        expect(ranked).toHaveLength(files.length);
        for (const r of ranked) expect(r.score).toBeGreaterThanOrEqual(0), expect(r.score).toBeLessThanOrEqual(1);
        expect(ranked.map((r) => r.score)).toEqual([...ranked.map((r) => r.score)].sort((a, b) => b - a));
      }
      const combined = await lib.score('@focus + sharp vs blurry');
      expect(combined).toHaveLength(files.length);
      expect(Object.keys(combined[0].parts!)).toEqual(['focus (measured)', 'sharp vs blurry']);
      const after = await lib.explainAll(id);
      expect(after['focus (measured)']).toBeCloseTo(row.focus!, 5);
      expect(after['clean (measured noise)']).toBeCloseTo(row.clean, 5);
    } finally {
      await lib.close();
      db.close();
    }
  }, 120_000);
});
