// A stack's proposed best prefers a sharp, eyes-open frame (electron/services/culling/flaws.ts and
// group-service.ts), and the window's "Out of focus" / "Closed eyes" filters (problems()), on a real
// SQLite library: embeddings from the generated model's dimension, faces and technical rows
// written through db/faces.ts and db/technical.ts as the analyzers would store them.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database.ts';
import { photoQueries } from '../db/photos.ts';
import { loadModelFolder } from '../native-models/folder.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { Library } from '../electron/services/library.ts';
import { OUT_OF_FOCUS_BELOW } from '../electron/services/culling/flaws.ts';
import { prng } from '../electron/services/matrix/prng.ts';
import { tempDir } from './helpers/fixtures.ts';
import { withLibraryFile, writeFaces, writeTechnical } from './helpers/judged-rows.ts';

function unit(v: Float64Array): Float64Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe('a stack of a real library: best frame, flaws and filters', () => {
  let tmp: string;
  let dbPath: string;
  let lib: Library;
  let burst: number[] = [];
  let single: number;
  const face = (x: number, state: 'open' | 'closed' | 'unknown') => ({ box: { x, y: 0.2, w: 0.15, h: 0.2 }, state });

  beforeAll(async () => {
    tmp = tempDir('cull-stack-flaws-');
    await makeTestModel({ out: path.join(tmp, 'model'), size: 'tiny', seed: 4 });
    const model = loadModelFolder(path.join(tmp, 'model'));
    const rnd = prng(5);
    const scene = unit(Float64Array.from({ length: model.dim }, () => rnd() - 0.5));
    dbPath = path.join(tmp, 'library.db');
    const db = openDatabase(dbPath);
    const q = photoQueries(db);
    const T0 = Date.UTC(2024, 4, 4, 12);
    const add = (n: number, v: Float64Array, takenAt: number) => {
      const file = path.join(tmp, 'photos', `IMG_${String(n).padStart(4, '0')}.jpg`);
      const id = q.upsertPhoto({ path: file, size: 1000 + n, mtimeMs: T0, fingerprint: `fp${n}`, width: 600, height: 400, takenAt, camera: 'Burst Camera', lens: null, thumb: null });
      q.storeEmbedding(id, model.id, v);
      return id;
    };
    db.transaction(() => {
      // Four frames of one burst, 300 ms apart, nearly the same picture; one unrelated photo.
      for (let f = 0; f < 4; f++) burst.push(add(f, unit(scene.map((x) => x + (rnd() - 0.5) * 0.02)), T0 + f * 300));
      single = add(9, unit(Float64Array.from({ length: model.dim }, () => rnd() - 0.5)), T0 + 3_600_000);
    })();
    db.close();
    lib = await Library.open({ dbPath, model, threads: 1 });
  });

  afterAll(async () => {
    await lib?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const theStack = async () => {
    const groups = await lib.groups();
    expect(groups).toHaveLength(1);
    expect([...groups[0].ids].sort((a, b) => a - b)).toEqual([...burst].sort((a, b) => a - b));
    return groups[0];
  };

  it('proposes the highest score when nothing is measured, with no reason to give', async () => {
    const g = await theStack();
    expect(g.why).toEqual([]);
    expect(g.scores[0]).toBeGreaterThanOrEqual(Math.max(...g.scores));
  });

  it('passes over the best-scoring frame when a face in it has closed eyes, and says why', async () => {
    const before = await theStack();
    const [top, second] = before.ids;
    withLibraryFile(dbPath, (db) => {
      writeFaces(db, top, [face(0.1, 'open'), face(0.6, 'closed')]);
      for (const id of before.ids.slice(1)) writeFaces(db, id, [face(0.1, 'open'), face(0.6, 'open')]);
    });
    const g = await theStack();
    expect(g.bestId).toBe(second);
    expect(g.ids[0]).toBe(second);
    expect(g.ids[1]).toBe(top); // the others keep their score order
    expect(g.scores[0]).toBeLessThanOrEqual(g.scores[1]);
    expect(g.why).toHaveLength(1);
    expect(g.why[0]).toMatch(/^IMG_\d{4}\.jpg scores higher but is passed over: eyes closed: 1 of 2 faces$/);
    expect(g.why[0]).toContain(path.basename((await lib.photo(top))!.path));

    // `cull groups` gives the same reason (the CLI reads the same library file).
    const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(new URL('../bin/cull.js', import.meta.url)), '--db', dbPath, 'groups'], {
      env: { ...process.env, CULL_MODEL_DIR: path.join(tmp, 'model'), CULL_DATA_DIR: path.join(tmp, 'data') },
    });
    expect(stdout).toContain(`Group 1: ${g.why[0]}`);

    // "Can't tell" is not "closed": the top frame is the best again.
    withLibraryFile(dbPath, (db) => writeFaces(db, top, [face(0.1, 'open'), face(0.6, 'unknown')]));
    expect((await theStack()).bestId).toBe(top);
  });

  it('passes over a frame far softer than the sharpest of its stack, but not one a little softer', async () => {
    const { ids } = await theStack();
    const [top, second] = ids;
    withLibraryFile(dbPath, (db) => {
      writeTechnical(db, top, 0.7);
      for (const id of ids.slice(1)) writeTechnical(db, id, 0.9);
    });
    expect((await theStack()).bestId).toBe(top); // 0.2 below the sharpest: within a burst's spread

    withLibraryFile(dbPath, (db) => writeTechnical(db, top, 0.6));
    const g = await theStack();
    expect(g.bestId).toBe(second);
    expect(g.why[0]).toMatch(/passed over: softer than the sharpest frame \(focus 0\.60 vs 0\.90\)$/);
  });

  it('keeps the score order when every frame is equally flawed', async () => {
    const { ids } = await theStack();
    withLibraryFile(dbPath, (db) => {
      for (const id of ids) writeFaces(db, id, [face(0.3, 'closed')]);
      for (const id of ids) writeTechnical(db, id, 0.8);
    });
    const g = await theStack();
    expect(g.why).toEqual([]);
    expect(g.scores).toEqual([...g.scores].sort((a, b) => b - a));
  });

  it('filters out-of-focus photos by one fixed @focus and closed eyes by any face', async () => {
    const { ids } = await theStack();
    withLibraryFile(dbPath, (db) => {
      writeTechnical(db, ids[0], OUT_OF_FOCUS_BELOW - 0.01);
      writeTechnical(db, ids[1], OUT_OF_FOCUS_BELOW + 0.01);
      writeTechnical(db, ids[2], null); // too little detail to tell: neither
      writeFaces(db, ids[0], [face(0.1, 'open'), face(0.5, 'closed')]);
      writeFaces(db, ids[1], [face(0.1, 'unknown')]);
      writeFaces(db, ids[2], []);
    });
    const p = await lib.problems();
    expect(p.outOfFocusBelow).toBe(OUT_OF_FOCUS_BELOW);
    expect(p.outOfFocus).toEqual([ids[0]]);
    expect(p.focusMeasured).toBe(3); // ids[3] keeps 0.8 from before; the null one does not count
    expect(p.closedEyes.sort((a, b) => a - b)).toEqual([ids[0], ids[3]].sort((a, b) => a - b));
    expect(p.facesMeasured).toBe(4);
    expect(p.outOfFocus).not.toContain(single);
  });

  it("serves a photo's focus map for the loupe, null before it is measured", async () => {
    expect(await lib.focusMap(single)).toBeNull();
    const map = new Float32Array(256).fill(NaN);
    map[0] = 0.25;
    map[17] = 0.875;
    withLibraryFile(dbPath, (db) => writeTechnical(db, single, 0.5, map));
    const info = (await lib.focusMap(single))!;
    expect(info.grid).toBe(16);
    expect(info.focus).toBe(0.5);
    expect(info.tiles).toHaveLength(256);
    expect(info.tiles[0]).toBe(0.25);
    expect(info.tiles[17]).toBe(0.875);
    expect(info.tiles[1]).toBeNull();
    expect(JSON.parse(JSON.stringify(info))).toEqual(info); // crosses a transport as JSON unchanged
  });
});
