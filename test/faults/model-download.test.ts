// Issue #5 (D): model downloads beyond test/download.test.ts. A download in a child process is
// SIGKILLed at seeded random moments; after each kill the folder is either refused by
// loadModelFolder (and by the app's model resolution) with a clear message, or complete and
// verified. A download never writes outside its folder (symlinked sub-folders, unsafe manifest
// names) and fetches plain http only from loopback, only when allowed.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModel } from '../../electron/services/model-source.ts';
import { downloadModel, verifyModel } from '../../native-models/download.ts';
import { DownloadError, ModelFolderError } from '../../native-models/errors.ts';
import { DOWNLOAD_MARKER, MANIFEST_FILE, loadModelFolder } from '../../native-models/folder.ts';
import type { RegistryEntry } from '../../native-models/registry.ts';
import { makeTestModel } from '../../native-models/testmodel/index.ts';
import { prng, REPO_DIR, tempDir } from '../helpers/fixtures.ts';
import { startHubServer, type HubServer } from '../helpers/hub-server.ts';

const REPO = 'acme/tiny-clip';
const REV = '0123456789abcdef0123456789abcdef01234567';
const FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'onnx/vision_model.onnx', 'onnx/text_model.onnx'];
const entry: RegistryEntry = { id: 'tiny-clip', name: 'Tiny CLIP', repo: REPO, revision: REV, license: 'MIT', files: FILES.map((p) => ({ path: p })) };
const KILLS = 8;

let tmp: string;
let hub: HubServer;
let script: string;

beforeAll(async () => {
  tmp = tempDir('cull-dl-faults-');
  const src = path.join(tmp, 'src');
  await makeTestModel({ out: src, size: 'tiny', seed: 31 });
  hub = await startHubServer(REPO, REV, new Map(FILES.map((f) => [f, fs.readFileSync(path.join(src, f))])), 1);
  script = path.join(tmp, 'download-child.mts');
  fs.writeFileSync(
    script,
    `import { downloadModel } from ${JSON.stringify(path.join(REPO_DIR, 'native-models/download.ts'))};
const [dir, base, entry] = process.argv.slice(2);
await downloadModel(JSON.parse(entry), { dir, baseUrl: base, allowHttp: true, onProgress: (p) => process.stdout.write('P ' + p.file + ' ' + p.bytes + '\\n') });
process.stdout.write('DONE\\n');
`,
  );
}, 120_000);

afterAll(async () => {
  await hub?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** One download in a child; with `killIn`, SIGKILLed at its first progress line for that file. */
function runDownload(dir: string, killIn: string | null): Promise<{ killed: boolean; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, hub.base, JSON.stringify(entry)], { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let buf = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (killIn !== null && lines.at(-1)!.split(' ')[1] === killIn) child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => { // 'close', not 'exit': stdout fully read
      if (signal === 'SIGKILL') resolve({ killed: true, lines });
      else if (code === 0 && !err) resolve({ killed: false, lines });
      else reject(new Error(`download child failed (${code}): ${err}`));
    });
  });
}

/** A folder is either refused as an unfinished download, or complete and verified. */
async function checkFolder(dir: string): Promise<'refused' | 'complete'> {
  let loaded = false;
  try {
    loadModelFolder(dir);
    loaded = true;
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFolderError);
    expect((err as Error).message).toMatch(/download into .* did not finish \((partial file [\w/.]+\.part|cull-download\.incomplete is still there)\); run `cull models download` again/);
    // The app's model resolution refuses it the same way.
    await expect(resolveModel({ model: dir })).rejects.toThrow(/did not finish/);
  }
  if (!loaded) return 'refused';
  expect(fs.existsSync(path.join(dir, DOWNLOAD_MARKER))).toBe(false);
  expect(await verifyModel(dir)).toMatchObject({ ok: true, files: FILES.length });
  return 'complete';
}

describe('a half-downloaded model is never loaded', () => {
  it(`survives ${KILLS} SIGKILLs mid-download at seeded random moments, then resumes to a verified model`, async () => {
    const dir = path.join(tmp, 'killed');
    const rnd = prng(0xd0d0);
    const outcomes: string[] = [];
    let refused = 0;
    for (let k = 0; k < KILLS; k++) {
      // Files without pinned hashes are fetched again by each run, so every run reaches each file.
      const file = FILES[Math.floor(rnd() * FILES.length)];
      const run = await runDownload(dir, file);
      const state = await checkFolder(dir);
      if (state === 'refused') refused++;
      const parts = ['', 'onnx'].flatMap((s) => (fs.existsSync(path.join(dir, s)) ? fs.readdirSync(path.join(dir, s)).filter((f) => f.endsWith('.part')) : []));
      const at = run.lines.at(-1)?.split(' ');
      outcomes.push(`kill ${k + 1} in ${file}: ${run.killed ? `killed at ${at?.[2]} bytes` : 'finished first'} → ${state}${parts.length ? ` (${parts.join(', ')})` : ''}`);
    }
    console.log(`download kills:\n  ${outcomes.join('\n  ')}`);
    expect(refused).toBeGreaterThanOrEqual(KILLS - 1);
    const done = await runDownload(dir, null);
    expect(done.lines.at(-1)).toBe('DONE');
    expect(await checkFolder(dir)).toBe('complete');
    expect(fs.readdirSync(tmp).sort()).toEqual(['download-child.mts', 'killed', 'src']); // nothing beside it
  });

  it('refuses a folder with a leftover .part file or a file whose size differs from the download record', async () => {
    const dir = path.join(tmp, 'complete');
    hub.chunkDelayMs = 0;
    await downloadModel(entry, { dir, baseUrl: hub.base, allowHttp: true });
    expect(loadModelFolder(dir).id).toBe('tiny-clip');

    fs.writeFileSync(path.join(dir, 'onnx', 'text_model.onnx.part'), 'half');
    expect(() => loadModelFolder(dir)).toThrow(/did not finish \(partial file onnx\/text_model\.onnx\.part\)/);
    fs.rmSync(path.join(dir, 'onnx', 'text_model.onnx.part'));

    const onnx = path.join(dir, 'onnx', 'vision_model.onnx');
    const full = fs.readFileSync(onnx);
    fs.writeFileSync(onnx, full.subarray(0, full.length - 100)); // truncated behind the manifest's back
    const err = (() => {
      try {
        loadModelFolder(dir);
      } catch (e) {
        return e as ModelFolderError;
      }
      throw new Error('expected a refusal');
    })();
    expect(err).toBeInstanceOf(ModelFolderError);
    expect(err.file).toBe('onnx/vision_model.onnx');
    expect(err.message).toMatch(new RegExp(`onnx/vision_model.onnx in .* is ${full.length - 100} bytes but the download recorded ${full.length}`));
    fs.writeFileSync(onnx, full);
    expect(loadModelFolder(dir).id).toBe('tiny-clip');

    // A manifest naming files outside the folder is refused, not followed.
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'));
    manifest.files['../../etc/passwd'] = { sha256: '0'.repeat(64), size: 1 };
    fs.writeFileSync(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest));
    expect(() => loadModelFolder(dir)).toThrow(/lists an unsafe file name "\.\.\/\.\.\/etc\/passwd"/);
  });
});

describe('a download never writes outside the model folder', () => {
  it('refuses a model folder whose onnx/ is a symbolic link elsewhere', async () => {
    hub.chunkDelayMs = 0;
    const dir = path.join(tmp, 'linked');
    const outside = tempDir('cull-dl-outside-');
    try {
      fs.mkdirSync(dir);
      fs.symlinkSync(outside, path.join(dir, 'onnx'));
      const err = await downloadModel(entry, { dir, baseUrl: hub.base, allowHttp: true }).then(
        () => null,
        (e: unknown) => e as DownloadError,
      );
      expect(err).toBeInstanceOf(DownloadError);
      expect(err!.kind).toBe('unsafe');
      expect(err!.message).toMatch(/refusing to write "onnx\/vision_model\.onnx": it would land outside the model folder/);
      expect(fs.readdirSync(outside)).toEqual([]);
      expect(() => loadModelFolder(dir)).toThrow(/did not finish/);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe('only https outside tests', () => {
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as DownloadError);

  it('allowHttp accepts plain http from loopback only, before any request', async () => {
    const before = hub.requests.length;
    for (const base of ['http://example.com', 'http://10.0.0.1:8080', 'http://127.0.0.1.example.net', 'ftp://127.0.0.1']) {
      const err = await failure(downloadModel(entry, { dir: path.join(tmp, 'never'), baseUrl: base, allowHttp: true }));
      expect(err?.kind, base).toBe('unsafe');
      expect(err!.message).toMatch(/only https downloads are allowed/);
    }
    // Without allowHttp (what the app and the CLI pass), even loopback http is refused.
    const err = await failure(downloadModel(entry, { dir: path.join(tmp, 'never'), baseUrl: hub.base }));
    expect(err?.kind).toBe('unsafe');
    expect(hub.requests.length).toBe(before);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
  });

  it('refuses a redirect to plain http on another host', async () => {
    hub.chunkDelayMs = 0;
    hub.redirects.set('tokenizer.json', 'http://10.255.255.1/cdn/tokenizer.json');
    try {
      const dir = path.join(tmp, 'redirected');
      const err = await failure(downloadModel(entry, { dir, baseUrl: hub.base, allowHttp: true }));
      expect(err?.kind).toBe('unsafe');
      expect(err!.message).toMatch(/refusing http URL http:\/\/10\.255\.255\.1/);
      expect(() => loadModelFolder(dir)).toThrow(/did not finish/);
    } finally {
      hub.redirects.clear();
    }
  });
});
