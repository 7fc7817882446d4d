// The library remembers its model (issue 12, item 6): `cull index DIR --model M` once, then every
// later command and the window use M without --model or CULL_MODEL_DIR; another model only when
// asked, with a note that it embeds again; commands that need no model (rate, stats, export by
// rating or flag, presets) load and download none. Real child processes, a real SQLite file, the
// generated tiny model; every network access is cut (fetch throws) and the data folder is empty,
// so nothing could be downloaded.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { AppServices } from '../electron/services/app-services.ts';
import { Library } from '../electron/services/library.ts';
import { UserError } from '../common/errors.ts';
import { tempDir, writePhotoSet } from './helpers/fixtures.ts';
import { writeImage } from './helpers/fixtures.ts';
import { CULL, runCull, type CliResult } from './helpers/cli.ts';

const run = promisify(execFile);


describe('a library remembers its model; commands that need none load none', () => {
  const dir = tempDir('cull-model-memory-');
  const modelA = path.join(dir, 'model-a'); // test-tiny-seed1
  const modelB = path.join(dir, 'model-b'); // test-tiny-seed2
  const photos = path.join(dir, 'shoot');
  const data = path.join(dir, 'data'); // an empty data folder: no downloaded model
  const noNet = path.join(dir, 'no-network.mjs');
  // No CULL_MODEL_DIR: the model must come from the library itself.
  const env: NodeJS.ProcessEnv = { ...process.env, CULL_DATA_DIR: data };
  delete env.CULL_MODEL_DIR;

  const cull = (db: string, ...args: string[]): Promise<CliResult> => runCull(db, args, { env, cwd: photos, nodeArgs: ['--import', noNet] });

  /** Nothing tried the network and nothing was downloaded into the data folder. */
  function offline(r: CliResult): void {
    expect(r.stderr).not.toMatch(/network is cut|huggingface|cannot reach/i);
    expect(fs.existsSync(path.join(data, 'models'))).toBe(false);
  }

  beforeAll(async () => {
    fs.writeFileSync(noNet, "globalThis.fetch = async (url) => { throw new Error('network is cut in this test: ' + url); };\n");
    await makeTestModel({ out: modelA, size: 'tiny', seed: 1 });
    await makeTestModel({ out: modelB, size: 'tiny', seed: 2 });
    fs.mkdirSync(photos, { recursive: true });
    fs.mkdirSync(data, { recursive: true });
    await writePhotoSet(photos, 6, { seed: 3 });
  });

  it('index --model M, then score with no --model and no CULL_MODEL_DIR works offline, and so does the window', async () => {
    const db = path.join(dir, 'remembers.db');
    const indexed = await cull(db, '--json', 'index', photos, '--model', modelA);
    expect(indexed.code, indexed.stderr).toBe(0);
    expect(JSON.parse(indexed.stdout).indexed).toBe(6);

    const scored = await cull(db, '--json', 'score', 'sharp vs blurry');
    expect(scored.code, scored.stderr).toBe(0);
    expect(JSON.parse(scored.stdout)).toHaveLength(6);
    offline(scored);
    expect(scored.stderr).not.toMatch(/embed .* again/);

    const stats = await cull(db, '--json', 'stats');
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout).model.id).toBe('test-tiny-seed1');

    // The window's path (Electron and `npm run serve`): no --model, no CULL_MODEL_DIR.
    const services = new AppServices({ db, env: { CULL_DATA_DIR: data } });
    try {
      const status = await services.start();
      expect(status.state, status.error).toBe('ready');
      expect(status.model?.id).toBe('test-tiny-seed1');
      expect(status.dir).toBe(modelA);
      const lib = (await services.getLibrary())!;
      expect(await lib.score('sharp vs blurry')).toHaveLength(6);
    } finally {
      await services.close();
    }
    expect(fs.existsSync(path.join(data, 'models'))).toBe(false);
  });

  it('uses another model only when asked, saying it will embed the photos again and how many', async () => {
    const db = path.join(dir, 'switch.db');
    expect((await cull(db, 'index', photos, '--model', modelA)).code).toBe(0);

    const asked = await cull(db, '--json', '--model', modelB, 'score', 'sharp vs blurry');
    expect(asked.code, asked.stderr).toBe(0);
    expect(asked.stderr).toMatch(/indexed with .*\(test-tiny-seed1\); using .*\(test-tiny-seed2\) as asked/);
    expect(asked.stderr).toMatch(/cull index will embed the library's 6 photo\(s\) again/);
    // Scoring alone does not change what the library remembers.
    expect(JSON.parse((await cull(db, '--json', 'stats')).stdout).model.id).toBe('test-tiny-seed1');

    // Indexing with it does: from then on the library uses it without --model.
    const reindexed = await cull(db, '--json', '--model', modelB, 'index');
    expect(reindexed.code, reindexed.stderr).toBe(0);
    const stats = JSON.parse((await cull(db, '--json', 'stats')).stdout);
    expect(stats.model.id).toBe('test-tiny-seed2');
    expect(stats.embedded).toBe(6);
    const after = await cull(db, '--json', 'score', 'sharp vs blurry');
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toHaveLength(6);
    expect(after.stderr).not.toMatch(/as asked/);
    offline(after);
  });

  it('says so clearly when the remembered model folder is gone, and CULL_MODEL_DIR can say where it went', async () => {
    const db = path.join(dir, 'moved.db');
    const moving = path.join(dir, 'model-moving');
    fs.cpSync(modelA, moving, { recursive: true });
    expect((await cull(db, 'index', photos, '--model', moving)).code).toBe(0);
    const moved = path.join(dir, 'model-moved');
    fs.renameSync(moving, moved);

    const r = await cull(db, 'score', 'sharp vs blurry');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`indexed with`);
    expect(r.stderr).toContain(`${moving}, which is no longer there`);
    expect(r.stderr).toMatch(/--model DIR/);
    offline(r);

    const viaEnv = await run(process.execPath, ['--import', noNet, CULL, '--db', db, '--json', 'score', 'sharp vs blurry'], {
      env: { ...env, CULL_MODEL_DIR: moved },
      cwd: photos,
    });
    expect(JSON.parse(viaEnv.stdout)).toHaveLength(6);
    expect(viaEnv.stderr).not.toMatch(/as asked/); // the same model, moved: nothing to embed again
  });

  it('rate, stats, export by rating or flag and presets work with no model present at all and no network', async () => {
    const db = path.join(dir, 'catalog.db');
    const gone = path.join(dir, 'model-deleted');
    fs.cpSync(modelA, gone, { recursive: true });
    expect((await cull(db, 'index', photos, '--model', gone)).code).toBe(0);
    fs.rmSync(gone, { recursive: true }); // the model the library remembers is gone …

    const check = async (remembers: string) => {
      const rated = await cull(db, 'rate', 'p000.jpg', '--pick', '--stars', '4');
      expect(rated.code, rated.stderr).toBe(0);
      expect(rated.stdout).toMatch(/pick\s+★★★★/);
      offline(rated);

      const stats = await cull(db, '--json', 'stats');
      expect(stats.code, stats.stderr).toBe(0);
      expect(JSON.parse(stats.stdout)).toMatchObject({ photos: 6, picks: 1, rated: 1, model: { id: remembers } });
      offline(stats);

      const human = await cull(db, 'stats');
      expect(human.stdout).toMatch(remembers ? /Model: .*test-tiny-seed1/ : /Model: +none yet/);

      const picks = path.join(dir, `picks-${remembers || 'none'}`);
      const byFlag = await cull(db, 'export', '--picks', '--to', picks);
      expect(byFlag.code, byFlag.stderr).toBe(0);
      expect(byFlag.stdout).toMatch(/Exported 1 photo\(s\)/);
      expect(fs.readdirSync(picks)).toContain('p000.jpg');
      offline(byFlag);

      const rated3 = path.join(dir, `rated-${remembers || 'none'}`);
      const report = path.join(dir, `rated-${remembers || 'none'}.csv`);
      const byRating = await cull(db, 'export', '--min-rating', '3', '--to', rated3, '--report', report);
      expect(byRating.code, byRating.stderr).toBe(0);
      expect(fs.readdirSync(rated3)).toContain('p000.jpg');
      expect(fs.readFileSync(report, 'utf8')).toContain('p000.jpg');
      offline(byRating);

      const presets = await cull(db, '--json', 'presets');
      expect(presets.code, presets.stderr).toBe(0);
      expect(JSON.parse(presets.stdout).map((p: { id: string }) => p.id)).toContain('quality');
      offline(presets);

      // What needs the model still says what is wrong.
      const score = await cull(db, 'score', 'sharp vs blurry');
      expect(score.code).not.toBe(0);
    };

    await check('test-tiny-seed1'); // … but remembered
    const sqlite = new Database(db);
    sqlite.prepare("DELETE FROM meta WHERE key = 'model'").run(); // … and now not even remembered
    sqlite.close();
    await check('');
  });

  it('cull groups --by-time finds bursts by capture time with no model present at all', async () => {
    const db = path.join(dir, 'bursts.db');
    const burst = path.join(dir, 'burst');
    fs.rmSync(path.join(data, 'models'), { recursive: true, force: true }); // an earlier test's failed `score` may have made it
    const at = (s: string) => ({ make: 'Canon', model: 'EOS R5', dateTimeOriginal: `2026:06:01 12:${s}` });
    for (const [name, time] of [['b1.jpg', '00:00'], ['b2.jpg', '00:01'], ['b3.jpg', '00:02'], ['later.jpg', '05:00']] as const) {
      await writeImage(path.join(burst, name), { seed: name.length + time.length, exif: at(time) });
    }
    const gone = path.join(dir, 'model-for-bursts');
    fs.cpSync(modelA, gone, { recursive: true });
    expect((await cull(db, 'index', burst, '--model', gone)).code).toBe(0);
    fs.rmSync(gone, { recursive: true }); // no model anywhere from here on
    expect((await cull(db, 'rate', path.join(burst, 'b2.jpg'), '--stars', '5')).code).toBe(0);
    const r = await cull(db, '--json', 'groups', '--by-time');
    expect(r.code, r.stderr).toBe(0);
    offline(r);
    const groups = JSON.parse(r.stdout) as { ids: number[]; bestId: number; paths: string[]; reason: string }[];
    expect(groups).toHaveLength(1); // later.jpg is five minutes away: no burst
    expect(groups[0].paths.map((p) => path.basename(p))).toEqual(['b2.jpg', 'b1.jpg', 'b3.jpg']); // the five stars first
    expect(groups[0].reason).toBe('burst');
    // Ranking needs the model: without it the embedding grouping says so.
    expect((await cull(db, 'groups')).code).not.toBe(0);
  });

  it('opens a library without a model (catalog mode): culling and stats work, scoring says no-model', async () => {
    const db = path.join(dir, 'catalog-api.db');
    expect((await cull(db, 'index', photos, '--model', modelA)).code).toBe(0);
    const lib = await Library.open({ dbPath: db, catalog: true });
    try {
      const p = await lib.resolvePhoto('p000.jpg');
      await lib.setCulling([p.id], { flag: -1 });
      expect((await lib.photo(p.id))?.flag).toBe(-1);
      expect((await lib.stats()).rejects).toBe(1);
      expect(lib.rememberedModel()?.source).toEqual({ kind: 'folder', path: modelA });
      const err = await lib.score('sharp vs blurry').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect(err).toMatchObject({ code: 'no-model', message: expect.stringMatching(/needs the library's CLIP model/) });
      await expect(lib.index(undefined)).rejects.toMatchObject({ code: 'no-model' });
    } finally {
      await lib.close();
    }
  });
});
