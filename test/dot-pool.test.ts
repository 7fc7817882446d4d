// Scoring passes split over the cores (dot-pool.ts): helper threads run the row kernel over chunks
// of the rows in the store's shared WebAssembly memory. The split pass must give exactly the dots of
// the one-thread kernel (the same kernel over the same rows: identical bits).
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { logistic } from '../electron/services/matrix/dot.ts';
import { dotPool, PARALLEL_DOT_MIN_ROWS } from '../electron/services/matrix/dot-pool.ts';
import { prng } from '../electron/services/matrix/prng.ts';
import { RowStore, simdAvailable } from '../electron/services/matrix/row-store.ts';

const DIM = 64;

afterEach(() => {
  RowStore.passes = 'auto';
});

const multiCore = os.availableParallelism() >= 2 && simdAvailable();

describe.skipIf(!multiCore)('scoring passes over every core', () => {
  for (const format of ['i8', 'f32'] as const) {
    it(`splits a ${format} pass of ${PARALLEL_DOT_MIN_ROWS}+ rows over the helper threads, with the one-thread kernel's exact dots`, async () => {
      const rows = PARALLEL_DOT_MIN_ROWS + 1234; // chunks of unequal length
      const store = new RowStore(format, DIM, rows);
      const rand = prng(3);
      const v = new Float32Array(DIM);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < DIM; j++) s += (v[j] = rand() * 2 - 1) ** 2;
        for (let j = 0; j < DIM; j++) v[j] /= Math.sqrt(s);
        store.setRow(r, v);
      }
      expect(store.threadsFor(rows)).toBe(dotPool()!.threads);
      expect(store.threadsFor(PARALLEL_DOT_MIN_ROWS - 1)).toBe(1); // short passes stay on one thread
      expect(new RowStore(format, DIM, 100).threadsFor(100)).toBe(1);
      expect(await store.poolReady()).toBe(true);
      const d = new Float32Array(DIM).map((_, j) => Math.sin(j) * 0.3);

      RowStore.passes = 'one-thread';
      const alone = store.dot(d, rows);
      const before = { ...dotPool()!.stats };
      RowStore.passes = 'helpers-only'; // every chunk to the helpers: their path surely runs
      const split = store.dot(d, rows);
      const after = { ...dotPool()!.stats };
      expect(after.helperChunks).toBeGreaterThan(before.helperChunks);
      expect(after.mainChunks).toBe(before.mainChunks);
      expect(split).toEqual(alone);
      RowStore.passes = 'auto';
      expect(store.dot(d, rows)).toEqual(alone); // and with the calling thread taking chunks too
      expect(dotPool()!.stats.passes).toBe(after.passes + 1);

      // Dots mapped through the logistic inside the pass: every thread gives logistic(s, dot) with
      // the bits of the one-thread mapping (the helpers repeat dot.ts's line in plain JavaScript).
      const s = Math.fround(100.0000076); // a logit scale as a model stores it
      const want = alone.map((v) => logistic(s, v));
      expect(want).not.toEqual(alone);
      RowStore.passes = 'one-thread';
      expect(store.dot(d, rows, undefined, s)).toEqual(want);
      const helperChunks = dotPool()!.stats.helperChunks;
      RowStore.passes = 'helpers-only';
      expect(store.dot(d, rows, undefined, s)).toEqual(want);
      expect(dotPool()!.stats.helperChunks).toBeGreaterThan(helperChunks);
      RowStore.passes = 'auto';
      expect(store.dot(d, rows, undefined, s)).toEqual(want);
      expect(store.dot(d, rows)).toEqual(alone); // the next pass without it: plain dots again
    });
  }
});

describe.skipIf(!multiCore)('a released store', () => {
  it('runs its passes on the calling thread once released, with the same dots', async () => {
    const rows = PARALLEL_DOT_MIN_ROWS;
    const store = new RowStore('i8', DIM, rows);
    const rand = prng(5);
    for (let r = 0; r < rows; r++) store.setRow(r, Float32Array.from({ length: DIM }, () => rand() - 0.5));
    const d = new Float32Array(DIM).fill(0.1);
    expect(store.threadsFor(rows)).toBe(dotPool()!.threads);
    const before = store.dot(d, rows);
    store.release();
    expect(store.threadsFor(rows)).toBe(1);
    const passes = dotPool()!.stats.passes;
    expect(store.dot(d, rows)).toEqual(before);
    expect(dotPool()!.stats.passes).toBe(passes); // not through the pool
  });
});
