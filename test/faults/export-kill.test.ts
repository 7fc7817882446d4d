// Issue #5 (A): SIGKILL during export and XMP writing. A child process exports a few hundred photos
// (copy mode, XMP sidecars, CSV report) and is killed at seeded random moments. After every kill:
// each file under a final name in the destination is byte-identical to its source (plus, for a photo
// with decisions, exactly its XMP APP1 segment: jpegWithXmp, issue #12), every sidecar is
// a complete, parseable XMP (pre-existing ones either untouched or fully merged), the originals are
// unchanged, and leftovers are only recognised temp names. A re-run completes the export: nothing
// is overwritten (a foreign file keeps its name, the photo gets "(2)"), nothing is duplicated (the
// copies already there count as exported), and the temps of the killed runs are gone.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/database.ts';
import type { ExportResult } from '../../electron/services/culling/export.ts';
import { copyChange } from '../../electron/services/culling/export-decisions.ts';
import { EXPORT_MARKER } from '../../electron/services/indexing/walk.ts';
import { readXmpCulling, xmpLabel } from '../../electron/services/culling/xmp.ts';
import { jpegWithXmp } from '../../electron/services/culling/xmp-write.ts';
import { isCullTemp } from '../../electron/services/culling/safe-write.ts';
import crypto from 'node:crypto';
import type { Label } from '../../common/types.ts';
import { parseCsv } from '../helpers/csv.ts';
import {
  imageBuffer,
  noiseJpeg,
  prng,
  REPO_DIR,
  sha256File,
  snapshotFiles,
  tempDir,
  writeExportScript,
  type FileState,
} from '../helpers/fixtures.ts';

const N = 240;
const KILLS = 8;
const SEED = 0x5eed_0005;
const LABELS: (Label | null)[] = [null, 'red', 'yellow', 'green', 'blue', 'purple'];

interface Photo {
  id: number;
  path: string;
  folder: string;
  name: string;
  exportName: string;
  rating: number;
  flag: number;
  label: Label | null;
  existingSidecar: string | null; // pre-existing XMP with other applications' metadata
  state: FileState;
}

let tmp: string;
let dbPath: string;
let dest: string;
let script: string;
const photos: Photo[] = [];
const FOREIGN = "not a photo of ours: someone else's p005.jpg\n";

function foreignSidecar(i: number): string {
  return [
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0">',
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
    '  <rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"',
    '    xmlns:dc="http://purl.org/dc/elements/1.1/" crs:Exposure2012="+0.35" crs:Version="15.0">',
    `   <dc:subject><rdf:Bag><rdf:li>keeper-${i}</rdf:li></rdf:Bag></dc:subject>`,
    '  </rdf:Description>',
    ' </rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
    '',
  ].join('\n');
}

const sidecarOf = (p: Photo) => path.join(p.folder, `${path.basename(p.name, path.extname(p.name))}.xmp`);

beforeAll(async () => {
  tmp = tempDir('cull-kill-export-');
  const lib = path.join(tmp, 'library');
  dest = path.join(tmp, 'picks');
  dbPath = path.join(tmp, 'library.db');
  script = writeExportScript(tmp);
  const rnd = prng(SEED);
  const db = openDatabase(dbPath);
  const insert = db.prepare(
    'INSERT INTO photos (path, folder, size, mtime_ms, fingerprint, indexed_at, rating, flag, label) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)',
  );
  const when = new Date('2021-06-07T08:09:10Z');
  for (let i = 0; i < N; i++) {
    const folder = path.join(lib, `day${(i % 3) + 1}`);
    // Two photos named a.jpg in different folders (different content): "a.jpg" and "a (2).jpg".
    const name = i === 7 || i === 8 ? 'a.jpg' : `p${String(i).padStart(3, '0')}.jpg`;
    const file = path.join(folder, name);
    fs.mkdirSync(folder, { recursive: true });
    // Every 12th photo is a ~400 KB noise JPEG, so some copies take a while to write.
    fs.writeFileSync(file, i % 12 === 0 ? await noiseJpeg(480, 360, SEED + i) : await imageBuffer({ width: 64, height: 48, seed: SEED + i }));
    fs.utimesSync(file, when, new Date(when.getTime() + i * 1000));
    const existingSidecar = i % 20 === 3 ? foreignSidecar(i) : null;
    const rating = Math.floor(rnd() * 6);
    const flag = [-1, 0, 0, 1][Math.floor(rnd() * 4)];
    const label = LABELS[Math.floor(rnd() * LABELS.length)];
    const id = Number(insert.run(file, folder, fs.statSync(file).size, Math.round(fs.statSync(file).mtimeMs), `fp${i}`, rating, flag, label).lastInsertRowid);
    const exportName = i === 8 ? 'a (2).jpg' : i === 5 ? 'p005 (2).jpg' : name;
    photos.push({ id, path: file, folder, name, exportName, rating, flag, label, existingSidecar, state: snapshotFiles([file])[0] });
  }
  db.close();
  for (const p of photos) if (p.existingSidecar) fs.writeFileSync(sidecarOf(p), p.existingSidecar);
  fs.mkdirSync(dest);
  fs.writeFileSync(path.join(dest, 'p005.jpg'), FOREIGN); // a foreign file under one photo's name
}, 120_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  killed: boolean;
  lastDone: number;
  result: ExportResult | null;
}

/** One export in a child; with `killAt`, SIGKILLed shortly after it reports that many photos done. */
function runExport(killAt: number | null, delayMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dbPath, dest, 'copy', '1', path.join(dest, 'picks.csv')], {
      cwd: REPO_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let lastDone = 0;
    let result: ExportResult | null = null;
    let scheduled = false;
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('P ')) lastDone = Number(line.slice(2));
        if (line.startsWith('R ')) result = JSON.parse(line.slice(2));
        if (killAt !== null && !scheduled && lastDone >= killAt) {
          scheduled = true;
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => { // 'close', not 'exit': stdout fully read
      if (signal !== 'SIGKILL' && (code !== 0 || err)) reject(new Error(`export child failed (${code}): ${err}`));
      else resolve({ killed: signal === 'SIGKILL', lastDone, result });
    });
  });
}

interface Check {
  copies: number;
  sidecars: number;
  temps: number;
  reports: number;
}

/** Everything that must hold at any moment, killed or not. */
function checkInvariants(): Check {
  const byExportName = new Map(photos.map((p) => [p.exportName, p]));
  const check: Check = { copies: 0, sidecars: 0, temps: 0, reports: 0 };
  for (const name of fs.readdirSync(dest)) {
    const full = path.join(dest, name);
    if (name === EXPORT_MARKER) {
      const lines = fs.readFileSync(full, 'utf8').split('\n');
      expect(lines.pop()).toBe(''); // every line complete
      for (const l of lines) expect(JSON.parse(l)).toMatchObject({ name: expect.any(String), size: expect.any(Number) });
      continue;
    }
    if (isCullTemp(name)) {
      check.temps++;
      continue;
    }
    if (/^picks( \(\d+\))?\.csv$/.test(name)) {
      const rows = parseCsv(fs.readFileSync(full, 'utf8'));
      expect(rows).toHaveLength(N + 1);
      expect(rows[0].slice(0, 2)).toEqual(['path', 'name']);
      check.reports++;
      continue;
    }
    if (name === 'p005.jpg') {
      expect(fs.readFileSync(full, 'utf8'), 'the foreign file is never overwritten').toBe(FOREIGN);
      continue;
    }
    const p = byExportName.get(name);
    expect(p, `unexpected file in the destination: ${name}`).toBeDefined();
    const st = fs.statSync(full);
    const change = copyChange({ rating: p!.rating, flag: p!.flag, label: p!.label });
    if (change) {
      // The copy is the original with the photo's decisions in its own XMP (and nothing else changed).
      const expected = jpegWithXmp(fs.readFileSync(p!.path), change);
      expect(st.size, name).toBe(expected.length);
      expect(sha256File(full), name).toBe(crypto.createHash('sha256').update(expected).digest('hex'));
    } else {
      expect(st.size, name).toBe(p!.state.size);
      expect(sha256File(full), name).toBe(p!.state.sha256);
    }
    expect(st.mtimeMs, name).toBe(p!.state.mtimeMs);
    check.copies++;
  }
  // The originals and their sidecars.
  const folders = [...new Set(photos.map((p) => p.folder))];
  const known = new Set(photos.flatMap((p) => [p.name, path.basename(sidecarOf(p))]));
  for (const folder of folders) {
    for (const name of fs.readdirSync(folder)) {
      if (isCullTemp(name)) check.temps++;
      else expect(known.has(name), `unexpected file in the library: ${path.join(folder, name)}`).toBe(true);
    }
  }
  for (const p of photos) {
    expect(snapshotFiles([p.path])[0], p.path).toEqual(p.state);
    const sc = sidecarOf(p);
    if (!fs.existsSync(sc)) {
      expect(p.existingSidecar).toBeNull();
      continue;
    }
    const xml = fs.readFileSync(sc, 'utf8');
    if (p.existingSidecar && xml === p.existingSidecar) continue; // not merged yet: untouched
    // Only what Cull decided is written (issue #12): no Rating="0" for an unrated photo, no label it did not set.
    const rating = p.flag === -1 ? -1 : p.rating > 0 ? p.rating : null;
    expect(readXmpCulling(xml), sc).toEqual({ rating, label: xmpLabel(p.label) });
    if (p.existingSidecar) {
      expect(xml).toContain('crs:Exposure2012="+0.35"');
      expect(xml).toContain(`<rdf:li>keeper-${photos.indexOf(p)}</rdf:li>`);
    }
    check.sidecars++;
  }
  return check;
}

/** A photo with a rating, reject or label: something Cull writes into its sidecar. */
const hasXmpField = (p: Photo) => p.rating > 0 || p.flag === -1 || p.label !== null;

describe('SIGKILL during export and XMP writing', () => {
  it(`survives ${KILLS + 1} kills at seeded random moments, then completes without overwriting or duplicating`, async () => {
    const rnd = prng(SEED + 1);
    const log: string[] = [];
    let killed = 0;
    let tempsSeen = 0;
    let copies = 0;
    for (let k = 0; k < KILLS; k++) {
      // Somewhere in the work still to do, so each kill lands on new copies and sidecars.
      const share = Math.max(2, Math.floor((N - copies) / (KILLS - k + 1)));
      const killAt = Math.min(N - 1, copies + 1 + Math.floor(rnd() * share));
      const delayMs = Math.floor(rnd() * 4);
      const run = await runExport(killAt, delayMs);
      if (run.killed) killed++;
      const c = checkInvariants();
      copies = c.copies;
      tempsSeen += c.temps;
      log.push(`kill ${k + 1} at >=${killAt} (+${delayMs} ms): ${run.killed ? `killed after ${run.lastDone}` : 'finished first'}; ${c.copies} copies, ${c.sidecars} sidecars, ${c.temps} temps, ${c.reports} reports`);
    }
    // And once while the report is being written (after the last photo).
    const last = await runExport(N, 0);
    if (last.killed) killed++;
    const c = checkInvariants();
    log.push(`kill ${KILLS + 1} after the last photo (report phase): ${last.killed ? 'killed' : 'finished first'}; ${c.copies} copies, ${c.reports} complete reports, ${c.temps} temps`);
    console.log(`export kills:\n  ${log.join('\n  ')}`);
    expect(killed).toBeGreaterThanOrEqual(KILLS - 1); // the moments are spread over the run

    // A run to the end completes the export.
    const before = checkInvariants();
    const decided = photos.filter(hasXmpField).length;
    const done = await runExport(null, 0);
    const r = done.result!;
    expect(r.failed).toEqual([]);
    expect(r.exported).toHaveLength(N);
    expect(r.alreadyExported).toBe(before.copies);
    expect(before.copies).toBe(N);
    // Sidecars written by the killed runs are up to date: the last run writes only what was left.
    expect(r.xmpWritten).toBeLessThanOrEqual(decided);
    expect(r.exported.map((e) => path.basename(e.to))).toEqual(photos.map((p) => p.exportName));
    const after = checkInvariants();
    expect(after).toMatchObject({ copies: N, sidecars: decided, temps: 0 });
    // The report of the completed run lists every photo where it is.
    const rows = parseCsv(fs.readFileSync(r.report!, 'utf8'));
    const col = rows[0].indexOf('exported_to');
    expect(rows.slice(1).map((row) => row[col])).toEqual(photos.map((p) => path.join(dest, p.exportName)));
    // Every placed copy is listed in the marker (so indexing a library around it skips them).
    const listed = new Set(fs.readFileSync(path.join(dest, EXPORT_MARKER), 'utf8').trim().split('\n').map((l) => JSON.parse(l).name));
    for (const p of photos) expect(listed.has(p.exportName), p.exportName).toBe(true);

    // Once more: everything is already there; only a new report appears.
    const names = fs.readdirSync(dest).sort();
    const again = (await runExport(null, 0)).result!;
    expect(again.alreadyExported).toBe(N);
    expect(fs.readdirSync(dest).sort()).toEqual([...names, path.basename(again.report!)].sort());
    console.log(`export kills survived: ${killed}/${KILLS + 1}; temps left by kills and removed on re-run: ${tempsSeen}; files lost: 0`);
  });
});
