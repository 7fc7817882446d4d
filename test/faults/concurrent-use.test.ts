// Issue #5, property 3: several processes on one library database at once. Processes opening a
// fresh library together; an indexing child running while two writer children set culling state
// as fast as a person never could (one column of some photos each, the other's column beside it)
// and the real `cull rate` CLI rates photos too. Nothing may surface "database is locked" or
// SQLITE_BUSY, no write may be lost, and the index must complete.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCulling } from '../../db/culling.ts';
import { openDatabase } from '../../db/database.ts';
import { MIGRATIONS } from '../../db/migrations.ts';
import { indexLibrary } from '../../electron/services/indexing/indexer.ts';
import type { ClipModel } from '../../native-models/types.ts';
import { REPO_DIR, tempDir, writeImage, writeIndexScript, writePhotoSet } from '../helpers/fixtures.ts';
import { checkInvariants, HEALTHY, spawnTsx, type Child } from './library-invariants.ts';
import { closeTinyModel, openTinyModel } from '../helpers/tiny-model.ts';

const run = promisify(execFile);
const WRITER = path.join(REPO_DIR, 'test/faults/culling-writer.ts');
const CULL = path.join(REPO_DIR, 'bin/cull.js');

let tmp: string;
let modelDir: string;
let model: ClipModel;
let twoIndexers = 'not run';

beforeAll(async () => ({ tmp, modelDir, model } = await openTinyModel('cull-concurrent-', 23)));
afterAll(() => closeTinyModel({ tmp, model }));

const OPENER = `import { openDatabase } from ${JSON.stringify(path.join(REPO_DIR, 'db/database.ts'))};
console.log('ready');
process.stdin.once('data', () => {
  const db = openDatabase(process.argv[2]);
  console.log('opened ' + db.pragma('user_version', { simple: true }));
  db.close();
  process.exit(0);
});
`;

describe('concurrent use of one library', () => {
  it('opens every library in WAL mode with a busy timeout', () => {
    const file = path.join(tmp, 'pragmas.db');
    const db = openDatabase(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5000);
    const reader = openDatabase(file, { readonly: true });
    expect(reader.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5000);
    reader.close();
    db.close();
  });

  it('lets several processes open (and so migrate) a fresh library at the same moment', async () => {
    // Each round: three processes load, say "ready", and open the same new file when told to.
    const script = path.join(tmp, 'opener.mts');
    fs.writeFileSync(script, OPENER);
    const ROUNDS = 4;
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const file = path.join(tmp, `fresh-${round}.db`);
      const children = [0, 1, 2].map(() => spawnTsx(script, [file]));
      await Promise.all(children.map((c) => c.waitFor((l) => l === 'ready')));
      for (const c of children) c.proc.stdin!.write('go\n');
      for (const c of children) {
        const exit = await c.exited;
        expect(c.stderr()).toBe(''); // e.g. "table roots already exists" from a migration applied twice
        expect(exit.code).toBe(0);
        outcomes.push(c.lines.at(-1)!);
      }
      const db = openDatabase(file);
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
    }
    expect(outcomes).toEqual(Array(ROUNDS * 3).fill(`opened ${MIGRATIONS.length}`));
  });

  it('lets two indexing processes run over the same folders at once, storing each photo once', async () => {
    // The CLI's `cull index` beside the app's own run: both decode and store, neither may fail.
    const root = path.join(tmp, 'twice');
    const files = await writePhotoSet(root, 100, { seed: 74_000, size: 64 });
    const dir = path.join(tmp, 'twice-lib');
    fs.mkdirSync(dir);
    const dbPath = path.join(dir, 'library.db');
    const thumbsDir = path.join(dir, 'thumbs');
    const script = writeIndexScript(dir, { events: true });
    const both = [0, 1].map(() => spawnTsx(script, [dbPath, modelDir, thumbsDir, '5', root]));
    const summaries = [];
    for (const c of both) {
      const exit = await c.exited;
      expect(c.stderr()).toBe('');
      expect(exit.code).toBe(0);
      summaries.push(JSON.parse(c.lines.at(-1)!));
    }
    for (const s of summaries) expect(s).toMatchObject({ failed: 0, errors: [], cancelled: false });
    // Both stored photos, at the same time: run one after the other, the second would store
    // nothing (every photo done) and the batches' times would not interleave.
    const batchTimes = both.map((c) => c.lines.filter((l) => l.startsWith('embedded ')).map((l) => Number(l.split(' ')[2])));
    for (const [i, s] of summaries.entries()) {
      expect(s.indexed, `indexer ${i} stored photos`).toBeGreaterThanOrEqual(1);
      expect(batchTimes[i].length, `indexer ${i} embedded batches`).toBeGreaterThanOrEqual(1);
    }
    expect(summaries[0].indexed + summaries[1].indexed, 'together they stored every photo').toBeGreaterThanOrEqual(files.length);
    const [ta, tb] = batchTimes;
    expect(ta[0], 'indexer 0 started before indexer 1 ended').toBeLessThan(tb.at(-1)!);
    expect(tb[0], 'indexer 1 started before indexer 0 ended').toBeLessThan(ta.at(-1)!);
    const db = openDatabase(dbPath);
    expect(checkInvariants(db, model.info.id, thumbsDir)).toMatchObject({ ...HEALTHY, ok: files.length, missing: 0, failed: 0 });
    expect(db.prepare('SELECT path FROM photos ORDER BY path').pluck().all()).toEqual([...files].sort());
    db.close();
    twoIndexers = `${summaries[0].indexed} + ${summaries[1].indexed} photos stored by the two indexers (${files.length} in the folder)`;
  });

  it('indexes while two writer processes and the cull CLI rate photos: no busy errors, no lost writes', async () => {
    const root = path.join(tmp, 'photos');
    const first = await writePhotoSet(root, 60, { seed: 70_000, size: 64 });
    const dir = path.join(tmp, 'lib');
    fs.mkdirSync(dir);
    const dbPath = path.join(dir, 'library.db');
    const thumbsDir = path.join(dir, 'thumbs');
    {
      const db = openDatabase(dbPath);
      await indexLibrary({ db, model, roots: [root], thumbsDir, batchSize: 8 });
      db.close();
    }
    // 160 more photos for the indexing child, and edits to 12 known ones whose rows it rewrites
    // while the writers rate them.
    const more = await writePhotoSet(path.join(root, 'day2'), 160, { seed: 71_000, size: 64 });
    const db = openDatabase(dbPath);
    const idOf = (p: string) => db.prepare('SELECT id FROM photos WHERE path = ?').pluck().get(p) as number;
    const ids = first.map(idOf);
    for (const p of first.slice(0, 24).filter((_, i) => i % 2 === 0)) {
      await writeImage(p, { width: 80, height: 60, seed: 72_000 + idOf(p), format: p.endsWith('.jpg') ? 'jpeg' : (p.endsWith('.tif') ? 'tiff' : path.extname(p).slice(1)) as 'png' });
    }
    const ownA = ids.slice(0, 20);
    const ownB = ids.slice(20, 40);
    const shared = ids.slice(40, 50);
    const byCli = first.slice(50, 54);

    const writerA = spawnTsx(WRITER, [dbPath, '1', ownA.join(','), 'rating', shared.join(',')]);
    const writerB = spawnTsx(WRITER, [dbPath, '2', ownB.join(','), 'label', shared.join(',')]);
    await Promise.all([writerA, writerB].map((w) => w.waitFor((l) => l === 'ready')));
    const indexer = spawnTsx(writeIndexScript(dir, { events: true }), [dbPath, modelDir, thumbsDir, '10', root]);
    await indexer.waitFor((l) => l.startsWith('decode '));
    for (const w of [writerA, writerB]) w.proc.stdin!.write('go\n');

    // The CLI rates its photos one command at a time while the index and the writers run.
    const cliWrites: { file: string; stars: number; label: string }[] = [];
    const env = { ...process.env, CULL_MODEL_DIR: modelDir, CULL_DATA_DIR: path.join(tmp, 'data') };
    let cliDuringIndex = 0;
    for (const [i, file] of byCli.entries()) {
      const stars = 1 + i;
      const label = ['red', 'green', 'blue', 'purple'][i];
      const { stderr, stdout } = await run(process.execPath, [CULL, '--db', dbPath, '--json', 'rate', file, '--stars', String(stars), '--label', label], { env, cwd: root });
      expect(stderr).toBe('');
      expect(JSON.parse(stdout)).toMatchObject([{ path: file, rating: stars, label }]);
      cliWrites.push({ file, stars, label });
      if (indexer.proc.exitCode === null) cliDuringIndex++;
    }

    const indexed = await indexer.exited;
    for (const w of [writerA, writerB]) w.proc.stdin!.end('stop\n');
    const results = [];
    for (const w of [writerA, writerB] as Child[]) {
      const exit = await w.exited;
      expect(w.stderr()).toBe(''); // no SQLITE_BUSY / "database is locked"
      expect(exit.code).toBe(0);
      results.push(JSON.parse(w.lines.at(-1)!) as {
        writes: number; lostWrites: number; firstWriteAt: number; lastWriteAt: number; own: [number, unknown][]; shared: [number, unknown][];
      });
    }
    expect(indexer.stderr()).toBe('');
    expect(indexed.code).toBe(0);
    const summary = JSON.parse(indexer.lines.at(-1)!);
    expect(summary).toMatchObject({ indexed: 160 + 12, failed: 0, errors: [], cancelled: false });
    // The writers were writing during the index run: each made writes, the first before the
    // indexer's last batch (they stop only after it ended).
    const batchTimes = indexer.lines.filter((l) => l.startsWith('embedded ')).map((l) => Number(l.split(' ')[2]));
    const batches = batchTimes.length;
    expect(batches).toBeGreaterThanOrEqual(Math.ceil(172 / 8));
    for (const [i, r] of results.entries()) {
      expect(r.writes, `writer ${i} made writes`).toBeGreaterThanOrEqual(1);
      expect(r.firstWriteAt, `writer ${i} wrote before the index run ended`).toBeLessThan(batchTimes.at(-1)!);
      expect(r.lastWriteAt, `writer ${i} still wrote after the index run's first batch`).toBeGreaterThan(batchTimes[0]);
    }

    // Every write of every process is there.
    const [a, b] = results;
    expect(a.lostWrites + b.lostWrites).toBe(0);
    const now = getCulling(db, ids);
    for (const [id, state] of [...a.own, ...b.own]) expect(now.get(id), `photo ${id}`).toEqual(state);
    const ratingOf = new Map(a.shared);
    const labelOf = new Map(b.shared);
    for (const id of shared) expect(now.get(id), `shared photo ${id}`).toMatchObject({ rating: ratingOf.get(id), label: labelOf.get(id) });
    for (const w of cliWrites) expect(now.get(idOf(w.file))).toMatchObject({ rating: w.stars, label: w.label });
    // And the index is complete and sound.
    expect(checkInvariants(db, model.info.id, thumbsDir)).toMatchObject({ ...HEALTHY, ok: 220, missing: 0, failed: 0 });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();

    console.log(
      `[faults] concurrent use: 3 processes opening a fresh library ×4 rounds ok; ${twoIndexers}; indexing ${more.length + 12} photos (${batches} batches stored) beside ` +
        `2 writer processes (${a.writes} + ${b.writes} culling writes, ${shared.length} photos written by both) and ${cliWrites.length} cull rate commands ` +
        `(${cliDuringIndex} while the index ran); busy/locked errors 0, lost writes ${a.lostWrites + b.lostWrites}, index failed ${summary.failed}`,
    );
  });
});
