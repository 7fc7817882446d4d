// Bursts and near-duplicates: thresholds, planted groups recovered exactly (exhaustive and hashed
// search, isotropic and CLIP-like embeddings), the best photo of each group, and the library path
// through a real SQLite file (group, reject the others with undo, best-of-groups export list).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.ts';
import { photoQueries } from '../db/photos.ts';
import { loadModelFolder } from '../native-models/folder.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import type { ModelInfo } from '../native-models/types.ts';
import { DEFAULT_STRICTNESS, groupPhotos, groupingThresholds, type GroupInput, type PhotoGroup } from '../electron/services/culling/groups.ts';
import { planLsh } from '../electron/services/culling/near-duplicates.ts';
import { EmbeddingMatrix } from '../electron/services/matrix/embedding-matrix.ts';
import { Library } from '../electron/services/library.ts';
import { prng } from '../electron/services/matrix/prng.ts';
import { disableSimdKernels } from '../electron/services/matrix/wasm/dense-kernels.ts';
import { tempDir } from './helpers/fixtures.ts';
import { adjustedRandIndex, benchmarkGrouping, groupLabels, syntheticGroupLibrary } from './helpers/synthetic-groups.ts';

const sortedKey = (ids: number[]) => [...ids].sort((a, b) => a - b).join(',');
const partition = (groups: { ids: number[] }[]) => new Set(groups.map((g) => sortedKey(g.ids)));

function gaussian(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(rnd() || 1e-300)) * Math.cos(2 * Math.PI * rnd());
}

function unit(v: Float64Array): Float64Array {
  let s = 0;
  for (const x of v) s += x * x;
  return v.map((x) => x / Math.sqrt(s));
}

function randomUnit(dim: number, rnd: () => number): Float64Array {
  return unit(Float64Array.from({ length: dim }, () => gaussian(rnd)));
}

/** A unit vector at exactly cosine `c` from unit vector `a`. */
function atCosine(a: Float64Array, c: number, rnd: () => number): Float64Array {
  const r = randomUnit(a.length, rnd);
  let d = 0;
  for (let j = 0; j < a.length; j++) d += r[j] * a[j];
  const u = unit(r.map((x, j) => x - d * a[j]));
  return a.map((x, j) => c * x + Math.sqrt(1 - c * c) * u[j]);
}

function cos(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}

describe('groupingThresholds', () => {
  it('maps strictness 0…100 to the documented cosine, burst cosine and burst gap', () => {
    expect(groupingThresholds(0)).toMatchObject({ cosine: 0.8, burstCosine: 0.7, burstGapMs: 10_000 });
    const mid = groupingThresholds(DEFAULT_STRICTNESS);
    expect(mid.cosine).toBeCloseTo(0.89, 10);
    expect(mid.burstCosine).toBeCloseTo(0.8, 10);
    expect(mid.burstGapMs).toBeCloseTo(10_000 / Math.sqrt(10), 6);
    const strict = groupingThresholds(100);
    expect(strict.cosine).toBeCloseTo(0.98, 10);
    expect(strict.burstCosine).toBeCloseTo(0.9, 10);
    expect(strict.burstGapMs).toBeCloseTo(1000, 6);
    expect(groupingThresholds(250)).toEqual(strict);
    expect(groupingThresholds(-5)).toEqual(groupingThresholds(0));
    expect(() => groupingThresholds(Number.NaN)).toThrow(/strictness/i);
    let last = groupingThresholds(0);
    for (let s = 10; s <= 100; s += 10) {
      const t = groupingThresholds(s);
      expect(t.cosine).toBeGreaterThan(last.cosine);
      expect(t.burstCosine).toBeGreaterThan(last.burstCosine);
      expect(t.burstGapMs).toBeLessThan(last.burstGapMs);
      last = t;
    }
  });

  it('plans enough hash tables for a pair at the default threshold', () => {
    for (const n of [1_000, 10_000, 100_000]) {
      const plan = planLsh(n, groupingThresholds(DEFAULT_STRICTNESS).cosine);
      expect(plan.recall).toBeGreaterThan(0.95);
      expect(plan.L).toBeLessThanOrEqual(128);
    }
  });
});

describe('groupPhotos on planted groups', () => {
  // Scene centres are random unit vectors; members are centre + noise (cosine ≥ 0.92 between
  // members); half the groups are bursts 0.4 s apart on one camera, half near-duplicates shot at
  // random times; everything else is a random photo far from all others.
  const iso = syntheticGroupLibrary({ photos: 3000, dim: 256, seed: 11 });
  const clipLike = syntheticGroupLibrary({ photos: 3000, dim: 256, seed: 12, shared: 0.7 });

  function checkRecovered(lib: typeof iso, groups: PhotoGroup[]) {
    expect(groups.length).toBe(lib.truth.length);
    expect(partition(groups)).toEqual(partition(lib.truth));
    expect(adjustedRandIndex(groupLabels(lib.input.ids, lib.truth), groupLabels(lib.input.ids, groups))).toBe(1);
    const truth = new Map(lib.truth.map((t) => [sortedKey(t.ids), t]));
    for (const g of groups) {
      const t = truth.get(sortedKey(g.ids))!;
      // Bursts are linked by time alone; near-duplicates only by similarity.
      expect(g.reason).toBe(t.kind);
      // The sharpest (highest score) member is proposed; the rest follow by score.
      expect(g.bestId).toBe(t.bestId);
      expect(g.ids[0]).toBe(g.bestId);
      expect(g.scores).toHaveLength(g.ids.length);
      for (let i = 1; i < g.scores!.length; i++) expect(g.scores![i]).toBeLessThanOrEqual(g.scores![i - 1]);
    }
  }

  it('recovers every planted group exactly by exhaustive comparison', () => {
    const groups = groupPhotos(iso.input, { scores: iso.scores, method: 'exact' });
    checkRecovered(iso, groups);
  });

  it('recovers the same groups with hashing (isotropic embeddings)', () => {
    const groups = groupPhotos(iso.input, { scores: iso.scores, method: 'lsh' });
    checkRecovered(iso, groups);
  });

  it('recovers the same groups with hashing when embeddings share a large common component (as CLIP)', () => {
    // Unrelated photos have cosine ≈ 0.5 here, as in CLIP: the sketches are mean-centred.
    const rows = [1, 2, 3, 2000, 2500];
    expect(cos(clipLike.input.vectors.subarray(rows[3] * 256, rows[3] * 256 + 256), clipLike.input.vectors.subarray(rows[4] * 256, rows[4] * 256 + 256))).toBeGreaterThan(0.3);
    const exact = groupPhotos(clipLike.input, { scores: clipLike.scores, method: 'exact' });
    const hashed = groupPhotos(clipLike.input, { scores: clipLike.scores, method: 'lsh' });
    checkRecovered(clipLike, exact);
    expect(partition(hashed)).toEqual(partition(exact));
  });

  it('gives the same groups with the JavaScript fallback of the SIMD kernels', () => {
    disableSimdKernels(true);
    try {
      const groups = groupPhotos(clipLike.input, { scores: clipLike.scores, method: 'lsh' });
      checkRecovered(clipLike, groups);
    } finally {
      disableSimdKernels(false);
    }
  });

  it('only refines groups as strictness rises', () => {
    // Looser noise so that strictness matters: some members fall below the strict threshold.
    const lib = syntheticGroupLibrary({ photos: 1500, dim: 128, seed: 13, noise: 0.45 });
    const loose = groupPhotos(lib.input, { strictness: 20 });
    const strict = groupPhotos(lib.input, { strictness: 80 });
    expect(strict.length).toBeGreaterThan(0);
    const groupOf = new Map<number, number>();
    loose.forEach((g, k) => g.ids.forEach((id) => groupOf.set(id, k)));
    for (const g of strict) {
      const k = groupOf.get(g.ids[0]);
      expect(k).toBeDefined();
      for (const id of g.ids) expect(groupOf.get(id)).toBe(k);
    }
    const covered = (gs: PhotoGroup[]) => gs.reduce((s, g) => s + g.ids.length, 0);
    expect(covered(strict)).toBeLessThan(covered(loose));
  });

  it('reports its figures for the benchmark', () => {
    const t = performance.now();
    const r = benchmarkGrouping({ photos: 2000, dim: 64, seed: 3 });
    const wallMs = performance.now() - t;
    expect(r).toMatchObject({ photos: 2000, dim: 64, strictness: DEFAULT_STRICTNESS, recovered: r.planted, ari: 1 });
    expect(r.groups).toBe(r.planted);
    // The grouping time it reports is a part of the call's own wall time, in milliseconds.
    expect(r.ms).toBeGreaterThan(0);
    expect(r.ms).toBeLessThanOrEqual(wallMs);
  });
});

describe('groupPhotos links', () => {
  const dim = 64;
  const rnd = prng(5);
  const T0 = Date.UTC(2024, 5, 1, 12);

  function input(vs: Float64Array[], takenAt: (number | null)[], camera: (string | null)[]): GroupInput {
    const vectors = new Float32Array(vs.length * dim);
    vs.forEach((v, i) => vectors.set(v, i * dim));
    return { ids: vs.map((_, i) => 101 + i), vectors, dim, takenAt, camera };
  }

  it('joins a burst whose frames are less alike than near-duplicates, on one camera within the gap', () => {
    const a = randomUnit(dim, rnd);
    const b = atCosine(a, 0.85, rnd); // above burstCosine 0.80, below the near-duplicate 0.89
    const far = randomUnit(dim, rnd);
    const groups = groupPhotos(input([a, b, far], [T0, T0 + 500, T0 + 1000], ['R5', 'R5', 'R5']));
    expect(groups).toEqual([{ ids: [101, 102], bestId: 101, reason: 'burst' }]);
    // Another camera, or too long a pause, and the pair is no burst (nor alike enough otherwise).
    expect(groupPhotos(input([a, b, far], [T0, T0 + 500, T0 + 1000], ['R5', 'Z8', 'R5']))).toEqual([]);
    expect(groupPhotos(input([a, b, far], [T0, T0 + 5000, T0 + 9000], ['R5', 'R5', 'R5']))).toEqual([]);
    // Loosest strictness: 10 s and cosine 0.70 make it a burst again.
    expect(groupPhotos(input([a, b, far], [T0, T0 + 5000, T0 + 9000], ['R5', 'R5', 'R5']), { strictness: 0 })).toHaveLength(1);
    // Without a capture time a photo is never part of a burst.
    expect(groupPhotos(input([a, b, far], [T0, null, T0 + 1000], ['R5', 'R5', 'R5']))).toEqual([]);
  });

  it('splits a burst where the subject changes', () => {
    const a = randomUnit(dim, rnd);
    const other = randomUnit(dim, rnd);
    expect(groupPhotos(input([a, other], [T0, T0 + 300], ['R5', 'R5']))).toEqual([]);
  });

  it("labels a group that needs both kinds of link 'both', and orders members by score", () => {
    const a = randomUnit(dim, rnd);
    const b = atCosine(a, 0.85, rnd); // burst partner of a
    const c = atCosine(b, 0.95, rnd); // near-duplicate of b, shot a day later
    const vs = [a, b, c];
    const takenAt = [T0, T0 + 400, T0 + 86_400_000];
    const groups = groupPhotos(input(vs, takenAt, ['R5', 'R5', 'R5']), { scores: [0.2, 0.9, 0.5] });
    expect(groups).toEqual([{ ids: [102, 103, 101], bestId: 102, reason: 'both', scores: [0.9, 0.5, 0.2] }]);
  });

  it('proposes the sharpest frame of a burst, whatever its position', () => {
    const scene = randomUnit(dim, rnd);
    const frames = Array.from({ length: 6 }, () => atCosine(scene, 0.96, rnd));
    const sharpness = [0.31, 0.52, 0.12, 0.97, 0.44, 0.6];
    const groups = groupPhotos(input(frames, frames.map((_, i) => T0 + i * 200), frames.map(() => 'A7')), { scores: sharpness });
    expect(groups).toHaveLength(1);
    expect(groups[0].bestId).toBe(104);
    expect(groups[0].ids).toEqual([104, 106, 102, 105, 101, 103]);
  });

  it('hashes small embeddings and ignores corrupt rows', () => {
    const lib = syntheticGroupLibrary({ photos: 900, dim: 8, seed: 19, groupedShare: 0.1, noise: 0.05 });
    const exact = groupPhotos(lib.input, { method: 'exact', strictness: 100 });
    expect(exact.length).toBeGreaterThan(0);
    expect(partition(groupPhotos(lib.input, { method: 'lsh', strictness: 100 }))).toEqual(partition(exact));
    const broken = Float32Array.from(lib.input.vectors);
    broken.fill(Number.NaN, 0, 8);
    broken.fill(0, 8, 16);
    const withBroken = groupPhotos({ ...lib.input, vectors: broken }, { method: 'lsh', strictness: 100 });
    for (const g of withBroken) expect(g.ids).not.toContain(lib.input.ids[0]), expect(g.ids).not.toContain(lib.input.ids[1]);
    expect(withBroken.length).toBeGreaterThan(0);
  });

  it('rejects rows out of range and mismatched inputs', () => {
    const v = randomUnit(dim, rnd);
    expect(() => groupPhotos({ ...input([v], [T0], ['x']), rows: [3] })).toThrow(/out of range/);
    expect(() => groupPhotos({ ids: [1, 2], vectors: new Float32Array(dim), dim })).toThrow(/values/);
  });
});

describe('Library.groups on a real library', () => {
  let tmp: string;
  let model: ModelInfo;
  let lib: Library;
  const planted: number[][] = [];
  let allIds: number[] = [];

  beforeAll(async () => {
    tmp = tempDir('cull-groups-');
    await makeTestModel({ out: path.join(tmp, 'model'), size: 'tiny', seed: 4 });
    model = loadModelFolder(path.join(tmp, 'model'));
    const dim = model.dim;
    const rnd = prng(21);
    const dbPath = path.join(tmp, 'library.db');
    // Rows are written through a separate connection, as the indexer would.
    const db = openDatabase(dbPath);
    const q = photoQueries(db);
    const T0 = Date.UTC(2023, 8, 9, 15);
    let n = 0;
    const add = (v: Float64Array, takenAt: number | null, camera: string | null) => {
      const file = path.join(tmp, 'photos', `IMG_${String(n++).padStart(4, '0')}.jpg`);
      const id = q.upsertPhoto({ path: file, size: 1000 + n, mtimeMs: T0, fingerprint: `fp${n}`, width: 600, height: 400, takenAt, camera, lens: null, thumb: null });
      q.storeEmbedding(id, model.id, v);
      return id;
    };
    db.transaction(() => {
      for (let s = 0; s < 12; s++) {
        const scene = randomUnit(dim, rnd);
        const burst = s % 2 === 0;
        const start = T0 + s * 3_600_000;
        const ids: number[] = [];
        for (let m = 0; m < 2 + (s % 4); m++) {
          ids.push(add(atCosine(scene, 0.97, rnd), burst ? start + m * 300 : start + m * 600_000, 'Canon EOS R5'));
        }
        planted.push(ids);
        for (let k = 0; k < 5; k++) add(randomUnit(dim, rnd), start + 100_000 + k * 60_000, 'Canon EOS R5');
      }
    })();
    allIds = (db.prepare('SELECT id FROM photos ORDER BY id').pluck().all() as number[]);
    db.close();
    lib = await Library.open({ dbPath, model, threads: 1 });
  });

  afterAll(async () => {
    await lib?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('finds the planted groups, best first by the default quality + sharpness score', async () => {
    const groups = await lib.groups();
    expect(partition(groups)).toEqual(partition(planted.map((ids) => ({ ids }))));
    const byScore = await lib.score('@quality + @sharpness');
    const score = new Map(byScore.map((r) => [r.id, r.score]));
    for (const g of groups) {
      expect(g.by).toBe('@quality + @sharpness');
      expect(g.ids[0]).toBe(g.bestId);
      expect(g.scores[0]).toBeCloseTo(score.get(g.bestId)!, 6);
      for (const id of g.ids) expect(score.get(id)!).toBeLessThanOrEqual(score.get(g.bestId)! + 1e-9);
      expect(g.paths[0]).toMatch(/IMG_\d{4}\.jpg$/);
      const k = planted.findIndex((p) => sortedKey(p) === sortedKey(g.ids));
      expect(g.reason).toBe(k % 2 === 0 ? 'burst' : 'near-duplicate');
    }
  });

  it('ranks members by another attribute when asked', async () => {
    const groups = await lib.groups({ by: 'dark vs bright' });
    const ranked = await lib.score('dark vs bright');
    const score = new Map(ranked.map((r) => [r.id, r.score]));
    for (const g of groups) {
      expect(g.by).toBe('dark vs bright');
      expect(g.bestId).toBe([...g.ids].sort((a, b) => score.get(b)! - score.get(a)! || a - b)[0]);
    }
    await expect(lib.groups({ by: '@taste:nobody' })).rejects.toThrow(/no taste model "nobody"/i);
  });

  it('rejects the others with one call, keeps picks, and undoes', async () => {
    const groups = await lib.groups();
    const picked = groups[0].ids[1];
    await lib.setCulling([picked], { flag: 1 });
    const previous = await lib.rejectGroupCandidates(groups);
    const others = groups.flatMap((g) => g.ids.slice(1)).filter((id) => id !== picked);
    expect(previous.map((p) => p.id).sort((a, b) => a - b)).toEqual([...others].sort((a, b) => a - b));
    for (const id of others) expect((await lib.photo(id))!.flag).toBe(-1);
    for (const g of groups) expect((await lib.photo(g.bestId))!.flag).toBe(0);
    expect((await lib.photo(picked))!.flag).toBe(1);

    // Rejected photos leave the pool: only the group whose pick survived is still there.
    const after = await lib.groups();
    expect(after.map((g) => sortedKey(g.ids))).toEqual([sortedKey([groups[0].bestId, picked])]);
    expect(await lib.groups({ includeRejected: true })).toHaveLength(groups.length);

    // Best of each group for export: everything except the rejected candidates.
    const best = await lib.bestOfGroupIds();
    expect(best.sort((a, b) => a - b)).toEqual(allIds.filter((id) => !others.includes(id)));

    await lib.restoreCulling(previous);
    await lib.setCulling([picked], { flag: 0 });
    for (const id of others) expect((await lib.photo(id))!.flag).toBe(0);
    const bestOnly = await lib.bestOfGroupIds({ includeUngrouped: false });
    expect(bestOnly.sort((a, b) => a - b)).toEqual(groups.map((g) => g.bestId).sort((a, b) => a - b));
    await expect(lib.rejectGroupCandidates([{ ids: [1, 2], bestId: 3 }])).rejects.toThrow(/not a member/);
  });

  it('groups the same photos when the matrix holds int8 codes (very large libraries)', async () => {
    const before = await lib.groups();
    // The matrix the services are handed (the library's context), not just the facade's getter.
    const holder = (lib as unknown as { loaded: { matrix: EmbeddingMatrix; ctx: { matrix: EmbeddingMatrix } } }).loaded;
    const f32 = holder.matrix;
    holder.matrix = holder.ctx.matrix = EmbeddingMatrix.load(lib.db, model.id, { format: 'i8' });
    try {
      expect(holder.matrix.format).toBe('i8');
      const after = await lib.groups();
      expect(after.map((g) => g.ids)).toEqual(before.map((g) => g.ids));
      expect(after.map((g) => g.paths)).toEqual(before.map((g) => g.paths));
    } finally {
      holder.matrix = holder.ctx.matrix = f32;
    }
  });

  it('groups only the photos of a filter', async () => {
    const folderGroups = await lib.groups({ filter: { folder: path.join(tmp, 'elsewhere') } });
    expect(folderGroups).toEqual([]);
    const inFolder = await lib.groups({ filter: { folder: path.join(tmp, 'photos') } });
    expect(inFolder).toHaveLength(planted.length);
  });
});
