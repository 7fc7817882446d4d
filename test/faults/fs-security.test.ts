// File-system boundaries (issue 14 items 2, 7, 8, 9), with real files, real symlinks, a real
// SQLite library, the real HTTP server and the `cull` CLI as a child process:
//  - symlinks are followed only when they resolve inside a library folder: indexing, GET /image/<id>
//    and export all refuse a photo swapped after indexing for a link to a private file;
//  - roots, export destinations and reports refuse the disk root and system folders (links resolved),
//    in the API and the CLI alike, while ~/Pictures and ~/picks work;
//  - control characters in file names never reach the terminal or a report raw;
//  - every failure of an export is counted in the CLI's normal output, and a report that cannot be
//    written after the copies were made reports what was copied, then the failure.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Library } from '../../electron/services/library.ts';
import { sidecarPath } from '../../electron/services/culling/xmp.ts';
import { startServer, type RunningServer } from '../../electron/transport/server.ts';
import { makeTestModel } from '../../native-models/testmodel/index.ts';
import { noiseJpeg, sha256File, tempDir } from '../helpers/fixtures.ts';
import { runCull, type CliResult } from '../helpers/cli.ts';


const tmp = tempDir('cull-fs-sec-');
const modelDir = path.join(tmp, 'model');
const root = path.join(tmp, 'library');
const outside = path.join(tmp, 'private');
const privateJpeg = path.join(outside, 'private.jpg');
let library: Library;
let server: RunningServer;

function request(p: string, opts: { method?: string; body?: string } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: p,
        method: opts.method ?? 'GET',
        headers: { 'x-cull-token': server.token, 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

async function api(method: string, ...args: unknown[]): Promise<{ status: number; json: any }> {
  const r = await request(`/api/${method}`, { method: 'POST', body: JSON.stringify(args) });
  return { status: r.status, json: JSON.parse(r.body.toString('utf8')) };
}


function cull(env: Record<string, string>, db: string, ...args: string[]): Promise<CliResult> {
  return runCull(db, args, { env: { ...process.env, CULL_MODEL_DIR: modelDir, CULL_DATA_DIR: path.join(tmp, 'data'), ...env } });
}

const idOf = async (file: string) => (await library.photos()).find((p) => p.path === file)?.id;

beforeAll(async () => {
  await makeTestModel({ out: modelDir, size: 'tiny', seed: 1 });
  fs.mkdirSync(path.join(root, '.hidden'), { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(root, `p${i}.jpg`), await noiseJpeg(64, 48, i + 1));
  fs.writeFileSync(path.join(root, '.hidden', 'kept.jpg'), await noiseJpeg(64, 48, 20));
  fs.writeFileSync(privateJpeg, await noiseJpeg(64, 48, 99));
  fs.mkdirSync(path.join(outside, 'album'));
  fs.writeFileSync(path.join(outside, 'album', 'o.jpg'), await noiseJpeg(64, 48, 98));
  // Inside direction: links whose target lies in the root (here in a dot-folder the walk skips).
  fs.symlinkSync(path.join(root, '.hidden', 'kept.jpg'), path.join(root, 'shown.jpg'));
  fs.symlinkSync(path.join(root, '.hidden'), path.join(root, 'hidden-folder'));
  // Outside direction: a file link and a folder link to the private folder.
  fs.symlinkSync(privateJpeg, path.join(root, 'secret.jpg'));
  fs.symlinkSync(path.join(outside, 'album'), path.join(root, 'elsewhere'));

  library = await Library.open({ dbPath: path.join(tmp, 'library.db'), modelDir, threads: 1 });
  await library.addRoot(root);
  server = await startServer({ library, progressIntervalMs: 0 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await library?.close();
});

describe('symlinks: followed only inside the library folders', () => {
  it('indexing follows links into the root and reports links out of it, without indexing them', async () => {
    const summary = await library.index(undefined);
    const paths = (await library.photos()).map((p) => path.relative(root, p.path)).sort();
    // shown.jpg and hidden-folder/kept.jpg name one file (in a dot-folder the walk skips): indexed once.
    expect(paths).toEqual(['p0.jpg', 'p1.jpg', 'p2.jpg', 'p3.jpg', 'shown.jpg']);
    const notFollowed = summary.errors.filter((e) => /outside the library folders/.test(e.reason)).map((e) => path.relative(root, e.path));
    expect(notFollowed.sort()).toEqual(['elsewhere', 'secret.jpg']);
    expect(summary.errors.every((e) => e.path.startsWith(root))).toBe(true);
  });

  it('serves a photo reached through an inside link, refuses one swapped for a link to a private file', async () => {
    const inside = await idOf(path.join(root, 'shown.jpg'));
    const ok = await request(`/image/${inside}`);
    expect(ok.status).toBe(200);
    expect(ok.body.equals(fs.readFileSync(path.join(root, '.hidden', 'kept.jpg')))).toBe(true);

    const victim = path.join(root, 'p0.jpg');
    const id = (await idOf(victim))!;
    expect((await request(`/image/${id}`)).status).toBe(200);
    fs.rmSync(victim);
    fs.symlinkSync(privateJpeg, victim); // swapped after indexing
    const refused = await request(`/image/${id}`);
    expect(refused.status).toBe(403);
    expect(refused.body.includes(fs.readFileSync(privateJpeg).subarray(0, 64))).toBe(false);
    expect(await library.isInsideLibrary(victim)).toBe(false);
  });

  it('export refuses the swapped photo and a photo whose content changed, copies the real file of an inside link', async () => {
    const dest = path.join(tmp, 'export-links');
    const swapped = (await idOf(path.join(root, 'p0.jpg')))!;
    const changed = path.join(root, 'p1.jpg');
    const changedId = (await idOf(changed))!;
    fs.writeFileSync(changed, await noiseJpeg(64, 48, 77)); // other content under the indexed name
    const inside = (await idOf(path.join(root, 'shown.jpg')))!;
    const r = await api('exportPhotos', { photoIds: [swapped, changedId, inside], to: dest, mode: 'copy', createFolder: true });
    expect(r.status).toBe(200);
    const result = r.json;
    expect(result.failed.map((f: { id: number }) => f.id).sort()).toEqual([swapped, changedId].sort());
    expect(result.failed.find((f: { id: number }) => f.id === swapped).reason).toMatch(/outside the library folders/);
    expect(result.failed.find((f: { id: number }) => f.id === changedId).reason).toMatch(/changed since it was indexed/);
    const copied = fs.readdirSync(dest).filter((n) => !n.startsWith('.'));
    expect(copied).toEqual(['shown.jpg']);
    expect(sha256File(path.join(dest, 'shown.jpg'))).toBe(sha256File(path.join(root, '.hidden', 'kept.jpg')));
    for (const n of copied) expect(sha256File(path.join(dest, n))).not.toBe(sha256File(privateJpeg));
    // Hard links too: a link made from the swapped path would have been a link to the private file.
    const linkDest = path.join(tmp, 'export-hardlinks');
    const l = await api('exportPhotos', { photoIds: [swapped], to: linkDest, mode: 'link', createFolder: true });
    expect(l.json.exported).toEqual([]);
    expect(fs.readdirSync(linkDest).filter((n) => !n.startsWith('.'))).toEqual([]);
  });
});

describe('system folders: refused as roots, export destinations and report folders', () => {
  it('the API refuses /root, /home, /var, /opt, the disk root and system folders behind a link', async () => {
    const link = path.join(tmp, 'looks-like-photos');
    fs.symlinkSync('/', link);
    const varLink = path.join(tmp, 'var-link');
    fs.symlinkSync('/var', varLink);
    for (const dir of ['/root', '/home', '/var', '/opt', '/var/log', '/etc', link, varLink]) {
      if (!fs.existsSync(dir)) continue;
      const r = await api('addRoot', dir);
      expect(r.status, dir).toBe(400);
      expect(r.json.error.code).toBe('invalid-argument');
      expect(r.json.error.message).toMatch(/root of a disk|system folder|every user's|home folder/);
    }
    const id = (await library.photos())[0].id;
    for (const to of ['/var/tmp', '/etc', '/usr/local', varLink]) {
      const r = await api('exportPhotos', { photoIds: [id], to, mode: 'copy' });
      expect(r.status, to).toBe(400);
      expect(r.json.error.message).toMatch(/system folder|root of a disk/);
    }
    const fine = path.join(tmp, 'picks');
    fs.mkdirSync(fine);
    const report = await api('exportPhotos', { photoIds: [id], to: fine, mode: 'copy', report: '/var/tmp/cull-report.csv' });
    expect(report.status).toBe(400);
    expect(report.json.error.message).toMatch(/report.*system folder/);
    expect(fs.existsSync('/var/tmp/cull-report.csv')).toBe(false);
    expect(await library.roots()).toEqual([root]);
  });

  it('the CLI refuses the same, links resolved, and accepts ~/Pictures and ~/picks', async () => {
    const home = path.join(tmp, 'home');
    const pictures = path.join(home, 'Pictures');
    fs.mkdirSync(pictures, { recursive: true });
    fs.writeFileSync(path.join(pictures, 'a.jpg'), await noiseJpeg(64, 48, 50));
    const env = { HOME: home };
    const db = path.join(tmp, 'cli-folders.db');
    const diskLink = path.join(tmp, 'disk');
    fs.symlinkSync('/', diskLink);
    for (const dir of [diskLink, '/etc', '/usr', home]) {
      const r = await cull(env, db, 'index', dir);
      expect(r.code, dir).not.toBe(0);
      expect(r.stderr).toMatch(/root of a disk|system folder|every user's|home folder/);
      expect(r.stderr).toContain(dir);
    }
    const ok = await cull(env, db, 'index', pictures);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/1 indexed/);
    for (const args of [['--to', '/var/lib/cull-picks'], ['--to', path.join(home, 'picks'), '--report', '/etc/cull-report.csv'], ['--to', diskLink]]) {
      const r = await cull(env, db, 'export', '--min-rating', '0', ...args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(/system folder|root of a disk/);
    }
    expect(fs.existsSync('/var/lib/cull-picks')).toBe(false);
    expect(fs.existsSync('/etc/cull-report.csv')).toBe(false);
    const exported = await cull(env, db, 'export', '--min-rating', '0', '--to', path.join(home, 'picks'));
    expect(exported.code, exported.stderr).toBe(0);
    expect(fs.readdirSync(path.join(home, 'picks'))).toContain('a.jpg');
  });
});

describe('control characters in names, and failures that must be seen', () => {
  const shoot = path.join(tmp, 'names');
  const db = path.join(tmp, 'cli-names.db');
  const evil = 'evil\x1b]0;pwned\x07\x1b[2J\rforged\nline.jpg';

  beforeAll(async () => {
    fs.mkdirSync(shoot);
    fs.writeFileSync(path.join(shoot, evil), await noiseJpeg(64, 48, 60));
    fs.writeFileSync(path.join(shoot, '=HYPERLINK("x").jpg'), await noiseJpeg(64, 48, 61));
    fs.writeFileSync(path.join(shoot, 'plain.jpg'), await noiseJpeg(64, 48, 62));
    fs.writeFileSync(path.join(shoot, 'bad\x1b[31mname.jpg'), 'not an image');
  });

  it('escapes ESC, CR and LF in every terminal line and in CSV/JSON reports', async () => {
    const indexed = await cull({}, db, 'index', shoot);
    expect(indexed.code).toBe(0);
    const scored = await cull({}, db, 'score', 'sharp vs blurry');
    const search = await cull({}, db, 'search', 'a photo');
    for (const out of [indexed.stdout, scored.stdout, search.stdout]) {
      expect(out).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/); // nothing but line ends
      expect(out.split('\n').some((l) => l.startsWith('line.jpg') || l.startsWith('forged'))).toBe(false);
    }
    expect(indexed.stdout).toContain('bad\\x1b[31mname.jpg');
    expect(scored.stdout).toContain('evil\\x1b]0;pwned\\x07\\x1b[2J\\rforged\\nline.jpg');

    const csv = path.join(tmp, 'names-report.csv');
    const json = path.join(tmp, 'names-report.json');
    for (const report of [csv, json]) {
      const r = await cull({}, db, 'export', '--min-rating', '0', '--to', path.join(tmp, `names-out-${path.extname(report).slice(1)}`), '--report', report);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    }
    const text = fs.readFileSync(csv, 'utf8');
    expect(text).not.toMatch(/[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]/);
    const lines = text.split('\r\n').filter(Boolean);
    expect(lines).toHaveLength(4); // header + 3 photos: no row split by a name
    expect(text).toContain('evil\\x1b]0;pwned\\x07\\x1b[2J\\rforged\\nline.jpg');
    expect(text).toContain(`"'=HYPERLINK(""x"").jpg"`); // the formula guard still holds
    const jsonText = fs.readFileSync(json, 'utf8');
    expect(jsonText).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    const parsed = JSON.parse(jsonText) as { photos: { path: string }[] };
    expect(parsed.photos.map((p) => p.path)).toContain(path.join(shoot, evil)); // exact path kept
  });

  it('counts failed XMP sidecars in the normal output', async () => {
    for (const name of [evil, 'plain.jpg']) fs.mkdirSync(sidecarPath(path.join(shoot, name)));
    const r = await cull({}, db, 'export', '--min-rating', '0', '--to', path.join(tmp, 'xmp-out'), '--xmp');
    // Sidecars are written only for photos Cull decided (#12): the third, undecided photo gets none;
    // the two whose sidecar path is a folder fail, and the normal output counts them.
    expect(r.stdout).toMatch(/Wrote 0 XMP sidecar\(s\) next to the originals, 2 failed\./);
    expect(r.stdout).toContain(`XMP sidecar failed: ${path.join(shoot, 'plain.jpg')}`);
    expect(r.stdout).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/);
    expect(r.code).not.toBe(0);
  });

  it('a report that cannot be written after the copies says what was copied, then why (CLI and API)', async () => {
    const longName = `${'r'.repeat(300)}.csv`; // too long for the file system: fails when placed
    const out = path.join(tmp, 'partial-cli');
    const r = await cull({}, db, 'export', '--min-rating', '0', '--to', out, '--report', path.join(tmp, longName));
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/Exported 3 photo\(s\) to /);
    expect(r.stderr).toMatch(/3 photos exported to .*partial-cli, but the report r+\.csv could not be written into .*: the drive holding .* does not accept the name "r+\.csv": too long/);
    expect(r.stderr).toMatch(/Use a shorter name .*\(the 3 photos already exported are not copied again\)\./);
    expect(fs.readdirSync(out).filter((n) => !n.startsWith('.'))).toHaveLength(3);

    if (!(await idOf(path.join(root, 'p2.jpg')))) await library.index(undefined);
    const id = (await idOf(path.join(root, 'p2.jpg')))!; // untouched by the tests above
    const to = path.join(tmp, 'partial-api');
    const a = await api('exportPhotos', { photoIds: [id], to, mode: 'copy', createFolder: true, report: path.join(tmp, longName) });
    expect(a.status).toBe(500);
    expect(a.json.error.code).toBe('incomplete');
    expect(a.json.error.message).toMatch(/1 photo exported to .*partial-api, but the report r+\.csv could not be written into .*: the drive holding .* does not accept the name/);
    expect(a.json.error.hint).toMatch(/^Use a shorter name/);
    expect(fs.readdirSync(to).filter((n) => !n.startsWith('.'))).toHaveLength(1);
  });
});

// The user's own home is refused as a root by the same rule (a sanity check of the list itself).
it('home, /home and the temporary folder itself are refused, their sub-folders are not', async () => {
  const { forbiddenFolderReason } = await import('../../electron/services/folders.ts');
  expect(forbiddenFolderReason(os.homedir())).toMatch(/is your home folder/);
  expect(forbiddenFolderReason('/home')).toMatch(/every user's/);
  expect(forbiddenFolderReason(path.join(os.homedir(), 'Pictures'))).toBeNull();
  expect(forbiddenFolderReason(tmp)).toBeNull();
});
