// The `cull` command end to end, as a user runs it: a real child process, a real SQLite file, the
// generated tiny ONNX model, generated photos (plus broken files), index → score → rate → export.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { Library } from '../electron/services/library.ts';
import { REPO_DIR, tempDir, writePhotoSet, badFiles } from './helpers/fixtures.ts';
import { runCull, type CliResult } from './helpers/cli.ts';



describe('cull CLI', () => {
  const dir = tempDir('cull-cli-');
  const modelDir = path.join(dir, 'model');
  const photos = path.join(dir, 'shoot');
  const db = path.join(dir, 'library.db');
  const env = { ...process.env, CULL_MODEL_DIR: modelDir, CULL_DATA_DIR: path.join(dir, 'data') };
  let originals: Map<string, string>;

  const cull = (...args: string[]): Promise<CliResult> => runCull(db, args, { env, cwd: photos });

  function checksums(): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of fs.readdirSync(photos)) {
      const file = path.join(photos, name);
      const stat = fs.statSync(file);
      out.set(name, crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex') + '@' + stat.mtimeMs);
    }
    return out;
  }

  beforeAll(async () => {
    await makeTestModel({ out: modelDir, size: 'tiny', seed: 1 });
    fs.mkdirSync(photos, { recursive: true });
    await writePhotoSet(photos, 12, { seed: 7 });
    for (const bad of await badFiles()) fs.writeFileSync(path.join(photos, bad.name), bad.content);
    originals = checksums();
  });

  it('indexes a folder, reports each bad file with its reason, and exits 0', async () => {
    const r = await cull('index', photos);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Done in .*: 12 indexed, 0 unchanged, \d+ failed/);
    const failed = Number(/(\d+) failed/.exec(r.stdout)![1]);
    expect(failed).toBeGreaterThan(0);
    // every failure names its file and a reason
    const lines = r.stdout.split('\n').filter((l) => l.includes('failed: '));
    expect(lines).toHaveLength(failed);
    for (const l of lines) expect(l).toMatch(new RegExp(`failed: ${photos.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/.+: .+`));
    expect(r.stderr).toMatch(/random weights/); // never presents a random model's scores as quality

    const again = await cull('--json', 'index');
    expect(again.code).toBe(0);
    const summary = JSON.parse(again.stdout);
    expect(summary.indexed).toBe(0); // incremental: nothing changed
    expect(summary.skipped).toBe(12 + failed);
  });

  it('scores any typed pair best first, matching the services ranking, with aligned table or JSON', async () => {
    const r = await cull('--json', 'score', 'scary vs peaceful');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { path: string; score: number }[];
    expect(rows).toHaveLength(12);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1].score).toBeGreaterThanOrEqual(rows[i].score);

    const lib = await Library.open({ dbPath: db, modelDir });
    try {
      const direct = await lib.score('scary vs peaceful');
      expect(rows.map((x) => x.path)).toEqual(direct.map((x) => x.path));
      rows.forEach((x, i) => expect(x.score, x.path).toBeCloseTo(direct[i].score, 6));
    } finally {
      await lib.close();
    }

    const top = await cull('score', '--pos', 'Outstanding picture.', '--neg', 'Horrible picture.', '--top', '3');
    expect(top.code).toBe(0);
    const table = top.stdout.trim().split('\n');
    expect(table[0]).toMatch(/^#\s+score\s+path$/);
    expect(table).toHaveLength(2 + 3);
  });

  it('rates, flags and labels photos by name, and refuses unknown ones with a clear message', async () => {
    const name = 'p000.jpg'; // an indexed photo (the broken files are named otherwise)
    expect((await cull('rate', name, '--pick', '--stars', '4', '--label', 'green')).code).toBe(0);
    const row = new Database(db, { readonly: true }).prepare('SELECT flag, rating, label FROM photos WHERE path = ?').get(path.join(photos, name));
    expect(row).toEqual({ flag: 1, rating: 4, label: 'green' });

    const bad = await cull('rate', 'no-such-photo.jpg', '--pick');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/no-such-photo\.jpg" is not in this library/);
    const badStars = await cull('rate', name, '--stars', '9');
    expect(badStars.code).not.toBe(0);
    expect(badStars.stderr).toMatch(/0 to 5/);
  });

  it("says where --link is offered that a hard link shares the original's bytes (copy stays the default)", async () => {
    const r = await cull('export', '--help');
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain("Copy is the default: a hard link shares the original's bytes: editing the exported file edits the original");
    // The export dialog offers the same choice and says the same.
    const dialog = fs.readFileSync(path.join(REPO_DIR, 'renderer/src/components/ExportDialog.svelte'), 'utf8');
    expect(dialog).toContain("a hard link shares the original's bytes: editing the exported file edits the original.");
    expect(dialog).toContain("let mode = $state<'copy' | 'link'>('copy');");
  });

  it('exports the top share with a report and XMP sidecars, never touching the originals', async () => {
    const to = path.join(dir, 'picks');
    const report = path.join(dir, 'picks.csv');
    const r = await cull('export', '--by', 'good vs bad', '--top', '25%', '--to', to, '--xmp', '--report', report);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exported 3 photo\(s\) to/);
    const photosIn = (d: string) => fs.readdirSync(d).filter((f) => f !== '.cull-export'); // the export marker
    expect(photosIn(to)).toHaveLength(3);
    const csv = fs.readFileSync(report, 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^path,name,score/);
    expect(csv).toHaveLength(4);
    // Exporting again neither overwrites nor duplicates: the identical copies are already there.
    expect((await cull('export', '--by', 'good vs bad', '--top', '3', '--to', to)).code).toBe(0);
    expect(photosIn(to)).toHaveLength(3);
    // Originals are byte-identical with the same mtime; only sidecars were added beside them.
    const after = checksums();
    for (const [name, sum] of originals) expect(after.get(name), name).toBe(sum);
    const added = [...after.keys()].filter((n) => !originals.has(n));
    // Sidecars only for photos Cull decided (one photo was rated above; issue #12: no Rating="0" for the rest).
    const written = Number(/Wrote (\d+) XMP sidecar/.exec(r.stdout)?.[1] ?? 0);
    expect(added.length).toBe(written);
    expect(written).toBeLessThanOrEqual(1);
    for (const n of added) expect(n).toMatch(/\.xmp$/);
  });

  it('explains one photo across every preset', async () => {
    const name = 'p000.jpg'; // an indexed photo (the broken files are named otherwise)
    const r = await cull('--json', 'explain', name);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { scores: Record<string, number> };
    expect(Object.keys(out.scores)).toContain('sharpness: sharp vs blurry');
    expect(Object.keys(out.scores).length).toBeGreaterThanOrEqual(12);
  });

  it("lists a photo's faces, says so in explain, and ranks by @eyes-open (frames without faces: neutral)", async () => {
    const json = await cull('--json', 'faces', 'p000.jpg');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ analyzed: true, faces: [] });
    const human = await cull('faces', 'p000.jpg');
    expect(human.stdout).toMatch(/Faces: no faces found \(neutral for @eyes-open\)/);
    const explained = JSON.parse((await cull('--json', 'explain', 'p000.jpg')).stdout) as { faces: unknown; scores: Record<string, number | null> };
    expect(explained.faces).toEqual({ analyzed: true, faces: [] });
    expect(explained.scores['eyes open (faces)']).toBe(1);
    expect(explained.scores['face focus (faces)']).toBeNull(); // no face to measure (NaN in JSON)
    expect((await cull('explain', 'p000.jpg')).stdout).toMatch(/face focus \(faces\)\s+–\s+no face to measure/);
    const ranked = JSON.parse((await cull('--json', 'score', '@eyes-open')).stdout) as { score: number }[];
    expect(ranked).toHaveLength(12);
    expect(ranked.every((r) => r.score === 1)).toBe(true);
  });

  it('explains a broken model folder and a bad attribute instead of crashing', async () => {
    const broken = path.join(dir, 'broken-model');
    fs.cpSync(modelDir, broken, { recursive: true });
    fs.rmSync(path.join(broken, 'onnx', 'text_model.onnx'));
    const r = await cull('--model', broken, 'score', 'sharp vs blurry'); // stats needs no model: it would not load it
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/text_model\.onnx/);

    const q = await cull('score', 'sharp vs');
    expect(q.code).not.toBe(0);
    expect(q.stderr).toMatch(/empty/i);
  });
});
