// Issue #5, property 1: nothing is lost when the indexer is killed. A child process indexes 300
// small photos and is SIGKILLed at 10 seeded moments (after the n-th decode or the n-th model
// call, plus a few ms); after every kill the library must be intact and keep every rating, flag
// and label set before it, and after the last one a normal run completes the library.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setCulling } from '../../db/culling.ts';
import { openDatabase, type DB } from '../../db/database.ts';
import { decodeF16 } from '../../db/vectors.ts';
import { indexLibrary } from '../../electron/services/indexing/indexer.ts';
import { LABELS, type CullingChange } from '../../common/types.ts';
import type { ClipModel } from '../../native-models/types.ts';
import { prng, writeImage, writeIndexScript, writePhotoSet } from '../helpers/fixtures.ts';
import { checkInvariants, cullingOf, HEALTHY, HEALTHY_MID_RUN, LISTED_AHEAD_MAX, spawnTsx, type CullingState } from './library-invariants.ts';
import { closeTinyModel, hookedModel, openTinyModel } from '../helpers/tiny-model.ts';

const PHOTOS = 300;
const KILLS = 10;
const SEED = 0x5eed_0005;

let tmp: string;
let modelDir: string;
let model: ClipModel;

beforeAll(async () => ({ tmp, modelDir, model } = await openTinyModel('cull-crash-', 21)));
afterAll(() => closeTinyModel({ tmp, model }));

const okPaths = (db: DB) => db.prepare("SELECT path FROM photos WHERE status = 'ok' ORDER BY path").pluck().all() as string[];

function embeddingsByPath(db: DB, modelId: string): Map<string, Float32Array> {
  const rows = db
    .prepare('SELECT p.path, e.vec FROM photos p JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ?')
    .all(modelId) as { path: string; vec: Buffer }[];
  return new Map(rows.map((r) => [r.path, decodeF16(r.vec)]));
}

function randomChange(rnd: () => number): CullingChange {
  const change: CullingChange = {};
  const r = rnd();
  if (r < 0.7) change.rating = 1 + Math.floor(rnd() * 5);
  if (r > 0.4) change.flag = rnd() < 0.5 ? 1 : -1;
  if (rnd() < 0.5) change.label = LABELS[Math.floor(rnd() * LABELS.length)];
  if (!Object.keys(change).length) change.rating = 3;
  return change;
}

describe('crash safety of indexing', () => {
  it(`survives ${KILLS} SIGKILLs at seeded moments over ${PHOTOS} photos, losing nothing`, async () => {
    const rnd = prng(SEED);
    const root = path.join(tmp, 'photos');
    const files = await writePhotoSet(root, PHOTOS, { seed: 40_000, size: 64 });
    const dir = path.join(tmp, 'lib');
    fs.mkdirSync(dir);
    const dbPath = path.join(dir, 'library.db');
    const thumbsDir = path.join(dir, 'thumbs');
    const script = writeIndexScript(dir, { events: true });
    const modelId = model.info.id;

    // Before the crashes: the first 48 photos indexed (in this process), then rated, flagged and
    // labelled through the culling queries; some of those are then edited (their rows are
    // rewritten during the crashing runs) and some renamed (their rows are moved).
    const expected = new Map<number, CullingState>();
    let listedFirst = 0;
    const cull = (db: DB, ids: number[]) => {
      for (const id of ids) {
        setCulling(db, [id], randomChange(rnd));
        expected.set(id, cullingOf(db, [id]).get(id)!);
      }
    };
    {
      const db = openDatabase(dbPath);
      const stop = new AbortController();
      let embedded = 0;
      const stopping = hookedModel(model, {
        after: (n) => {
          if ((embedded += n) >= 48) stop.abort();
        },
      });
      await indexLibrary({ db, model: stopping, roots: [root], thumbsDir, batchSize: 8, signal: stop.signal });
      const ids = db.prepare('SELECT id FROM photos ORDER BY path').pluck().all() as number[];
      expect(db.prepare('SELECT COUNT(*) FROM embeddings').pluck().get()).toBe(48);
      // Photos decoded meanwhile are listed too (their embedding comes in a later run).
      expect(ids.length).toBeGreaterThanOrEqual(48);
      expect(ids.length).toBeLessThanOrEqual(48 + LISTED_AHEAD_MAX);
      listedFirst = ids.length;
      cull(db, ids.filter((_, i) => i % 2 === 0));
      db.close();
    }
    const rated = [...expected.keys()];
    const pathOf = (db: DB, id: number) => db.prepare('SELECT path FROM photos WHERE id = ?').pluck().get(id) as string;
    const edited: string[] = [];
    const renamed = new Map<number, string>(); // row id → new path
    const diskPaths = new Set(files); // the photo files as they are when the crashing runs start
    {
      const db = openDatabase(dbPath);
      for (const id of rated.slice(0, 8)) {
        const p = pathOf(db, id);
        edited.push(p);
        await writeImage(p, { width: 72, height: 54, seed: 90_000 + id, format: p.endsWith('.jpg') ? 'jpeg' : (path.extname(p).slice(1).replace('tif', 'tiff') as 'png') });
      }
      for (const id of rated.slice(8, 12)) {
        const to = path.join(root, 'renamed', `r-${path.basename(pathOf(db, id))}`);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        diskPaths.delete(pathOf(db, id));
        fs.renameSync(pathOf(db, id), to);
        diskPaths.add(to);
        renamed.set(id, to);
      }
      db.close();
    }

    // The crashing runs.
    const stored: number[] = [];
    const integrity: string[] = [];
    const moments: string[] = [];
    let rowsNow = listedFirst;
    for (let k = 0; k < KILLS; k++) {
      // The moment: after the n-th decode (anywhere in the run's work) or the n-th model call
      // (right before its batch is committed), then a few more ms. Photos with no row yet are
      // decoded for sure this run; n stays 48 short of them (6 batches) so the kill lands mid-run.
      const undecided = PHOTOS - rowsNow;
      const byDecode = rnd() < 0.6;
      const n = 1 + Math.floor(rnd() * (byDecode ? Math.min(40, undecided - 48) : Math.min(5, (undecided - 48) / 8)));
      const extraMs = Math.floor(rnd() * 25);
      moments.push(`${byDecode ? 'decode' : 'embedded'}#${n}+${extraMs}ms`);
      const child = spawnTsx(script, [dbPath, modelDir, thumbsDir, '20', root]);
      let seen = 0;
      await child.waitFor((line) => line.startsWith(byDecode ? 'decode ' : 'embedded ') && ++seen === n);
      if (extraMs) await new Promise((r) => setTimeout(r, extraMs));
      child.proc.kill('SIGKILL');
      const exit = await child.exited;
      expect(child.stderr()).toBe('');
      // Killed mid-run: the summary line (the run's last output) was never printed.
      expect(exit.signal).toBe('SIGKILL');
      expect(child.lines.some((l) => l.startsWith('{'))).toBe(false);

      const db = openDatabase(dbPath);
      const inv = checkInvariants(db, modelId, thumbsDir);
      expect(inv).toMatchObject({ ...HEALTHY_MID_RUN, failed: 0 });
      expect(inv.okWithoutEmbedding).toBeLessThanOrEqual(LISTED_AHEAD_MAX); // listed, embedding to come (whole thumbnails: okWithoutThumbnail 0)
      integrity.push(inv.integrity);
      stored.push(inv.ok);
      rowsNow = inv.ok + inv.missing;
      const now = cullingOf(db, [...expected.keys()]);
      for (const [id, state] of expected) expect(now.get(id), `culling of photo ${id} after kill ${k + 1}`).toEqual(state);
      for (const [id, to] of renamed) expect([to, ...files]).toContain(pathOf(db, id)); // moved, or not yet reached
      // Culling between crashes too: a few photos the crashed runs stored, and a change to an old one.
      const fresh = db
        .prepare("SELECT id FROM photos WHERE status = 'ok' AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id")
        .pluck()
        .all(JSON.stringify([...expected.keys()])) as number[];
      cull(db, [fresh[Math.floor(rnd() * fresh.length)], fresh[Math.floor(rnd() * fresh.length)]].filter((id) => id !== undefined));
      cull(db, [rated[Math.floor(rnd() * rated.length)]]);
      db.close();
    }

    // After the last kill, an ordinary run completes the library.
    const last = spawnTsx(script, [dbPath, modelDir, thumbsDir, '0', root]);
    const exit = await last.exited;
    expect(last.stderr()).toBe('');
    expect(exit.code).toBe(0);
    const summary = JSON.parse(last.lines.at(-1)!);
    expect(summary).toMatchObject({ failed: 0, errors: [], cancelled: false });

    const db = openDatabase(dbPath);
    const inv = checkInvariants(db, modelId, thumbsDir);
    expect(inv).toMatchObject({ ...HEALTHY, ok: PHOTOS, missing: 0, failed: 0 });
    integrity.push(inv.integrity);
    expect(okPaths(db)).toEqual([...diskPaths].sort());
    for (const [id, to] of renamed) expect(pathOf(db, id)).toBe(to);
    const now = cullingOf(db, [...expected.keys()]);
    for (const [id, state] of expected) expect(now.get(id), `culling of photo ${id} at the end`).toEqual(state);

    // Every stored embedding is the one of the file on disk now (edited photos were re-embedded),
    // compared with a clean index of the same folder made in this process.
    const refDb = openDatabase(path.join(tmp, 'reference.db'));
    await indexLibrary({ db: refDb, model, roots: [root], thumbsDir: path.join(tmp, 'ref-thumbs'), batchSize: 8 });
    const ref = embeddingsByPath(refDb, modelId);
    const got = embeddingsByPath(db, modelId);
    expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
    let stale = 0;
    for (const [p, v] of got) {
      const r = ref.get(p)!;
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += v[i] * r[i];
      if (dot < 0.999) stale++;
    }
    expect(stale).toBe(0);
    refDb.close();
    db.close();
    // The killed runs' unfinished thumbnail writes were cleaned up by the runs after them.
    expect(fs.readdirSync(thumbsDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    console.log(
      `[faults] crash safety: ${KILLS}/${KILLS} SIGKILLs survived over ${PHOTOS} photos (seed ${SEED}; moments ${moments.join(', ')}); ` +
        `photos stored at each kill: ${stored.join(', ')}; final run indexed ${summary.indexed}, skipped ${summary.skipped}, renamed ${summary.renamed}; ` +
        `integrity_check ${integrity.filter((r) => r === 'ok').length}/${integrity.length} ok; duplicates 0, orphan embeddings 0, stale embeddings ${stale}; ` +
        `culling states kept ${expected.size}/${expected.size}; edited ${edited.length}, renamed ${renamed.size}`,
    );
  });
});
