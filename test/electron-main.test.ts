// The Electron main process as `npm start` builds it: build/build-electron.ts bundles
// electron/main.ts and the preload, the renderer is built with Vite, and the real bundle is run
// under Node with test/helpers/electron-harness.cjs standing in for the `electron` module (no
// Electron binary can run here). This catches what unit tests of window.ts and ipc.ts cannot:
// a bundle that does not load (an import esbuild could not resolve, import.meta in CommonJS, a
// worker or data file left behind), services that never open, IPC channels missing, the page
// not served through `cull:`, and a sandboxed preload that requires more than electron.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildElectron } from '../build/build-electron.ts';
import { API_METHOD_NAMES, channelFor } from '../common/api-types.ts';
import { METHOD_NAMES } from '../electron/transport/methods.ts';
import { APP_URL } from '../electron/desktop/window.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { buildRenderer } from './e2e/helpers.ts';
import { REPO_DIR, tempDir, writePhotoSet } from './helpers/fixtures.ts';

// Inside the repository so the bundle's external packages (sharp, onnxruntime-node, …) resolve
// from node_modules exactly as they do for `electron .`.
const APP_ROOT = path.join(REPO_DIR, 'test-output', `electron-main-${process.pid}`);
const HARNESS = path.join(REPO_DIR, 'test', 'helpers', 'electron-harness.cjs');

let tmp: string;
let modelDir: string;
let photosDir: string;

interface Report {
  sandboxEnabled: boolean;
  schemes: Array<{ scheme: string; privileges: Record<string, boolean> }>;
  protocolSchemes: string[];
  ipcChannels: string[];
  ipcLeftAtExit: string[];
  windows: number;
  windowOptions: { show: boolean; webPreferences: Record<string, unknown> } | null;
  urls: string[];
  shown: boolean;
  hasWindowOpenHandler: boolean;
  permissionHandlers: string[];
  results: Record<string, any>;
  errors: string[];
}

function runMain(env: Record<string, string>): Promise<{ code: number | null; report: Report | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', HARNESS, path.join(APP_ROOT, 'dist-electron', 'main.cjs')], {
      cwd: APP_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = output.split('\n').find((l) => l.startsWith('HARNESS '));
      resolve({ code, report: line ? (JSON.parse(line.slice('HARNESS '.length)) as Report) : null, output });
    });
  });
}

beforeAll(async () => {
  tmp = tempDir('cull-electron-main-');
  modelDir = path.join(tmp, 'model');
  photosDir = path.join(tmp, 'photos');
  fs.rmSync(APP_ROOT, { recursive: true, force: true });
  fs.mkdirSync(APP_ROOT, { recursive: true });
  await Promise.all([
    makeTestModel({ out: modelDir, size: 'tiny', seed: 11 }),
    writePhotoSet(photosDir, 6),
    // main.ts serves <app root>/dist/renderer: the production renderer build.
    buildRenderer(path.join(APP_ROOT, 'dist', 'renderer')),
    // native 'node': better-sqlite3 copied from node_modules (Node's ABI) into dist-electron/native,
    // the same path the Electron build fills with its rebuild.
    buildElectron({ root: REPO_DIR, outDir: path.join(APP_ROOT, 'dist-electron'), native: 'node', log: () => {} }),
  ]);
}, 300_000);

afterAll(() => {
  fs.rmSync(APP_ROOT, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the Electron main-process bundle', () => {
  it('loads, opens the library, serves the page and answers IPC as the app window would', async () => {
    const dataDir = path.join(tmp, 'data');
    // A stray VITE_DEV_SERVER_URL without --dev / CULL_DEV=1 (issue 14 item 10): the old bundle loaded it.
    const { code, report, output } = await runMain({ CULL_DATA_DIR: dataDir, CULL_MODEL_DIR: modelDir, CULL_HARNESS_ROOT: photosDir, VITE_DEV_SERVER_URL: 'http://127.0.0.1:9/', CULL_DEV: '' });
    expect(report, output).not.toBeNull();
    const r = report!;
    if (process.env.CULL_DEBUG_HARNESS) console.log(JSON.stringify(r, null, 1).slice(0, 6000));
    expect(r.errors, output).toEqual([]);
    expect(code, output).toBe(0);

    // Window: one, hardened, shown once ready, loading the app through cull:.
    expect(r.sandboxEnabled).toBe(true);
    expect(r.windows).toBe(1);
    expect(r.windowOptions!.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(path.basename(String(r.windowOptions!.webPreferences.preload))).toBe('preload.cjs');
    expect(fs.existsSync(String(r.windowOptions!.webPreferences.preload))).toBe(true);
    expect(r.urls).toEqual([APP_URL]);
    expect(output).toContain('VITE_DEV_SERVER_URL is ignored without --dev or CULL_DEV=1');
    expect(r.shown).toBe(true);
    expect(r.hasWindowOpenHandler).toBe(true);
    expect(r.permissionHandlers.sort()).toEqual(['check', 'request']);
    expect(r.schemes.map((s) => s.scheme)).toEqual(['cull']);
    expect(r.schemes[0].privileges).not.toHaveProperty('bypassCSP');
    expect(r.protocolSchemes).toEqual(['cull']);

    // Every API method has its channel.
    for (const m of [...API_METHOD_NAMES, 'chooseFolder']) expect(r.ipcChannels).toContain(channelFor(m as never));
    expect(new Set(r.ipcChannels).size).toBe(r.ipcChannels.length);
    expect(r.ipcLeftAtExit).toEqual([]); // quitting disposed the bridge

    // The production renderer, through the protocol, with its CSP; nothing outside it.
    const res = r.results;
    expect(res.page.status).toBe(200);
    expect(res.page.type).toMatch(/text\/html/);
    expect(res.page.html).toMatch(/<script[^>]+type="module"[^>]+src="\.\/assets\//);
    expect(res.page.csp).toMatch(/default-src 'none'|default-src 'self'/);
    expect(res.page.csp).not.toMatch(/unsafe-eval/);
    expect(res.outsideStatus).toBeGreaterThanOrEqual(400);

    // The services behind IPC: the generated model is open and flagged as random weights.
    expect(res.modelStatus.ok).toBe(true);
    expect(res.modelStatus.result.state).toBe('ready');
    expect(res.modelStatus.result.model.randomWeights).toBe(true);
    expect(res.stats.ok).toBe(true);
    expect(res.untrusted).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(res.badArgs).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });

    // A whole small job: add a folder, index it, score a typed pair, fetch a thumbnail.
    expect(res.addRoot.ok, JSON.stringify(res.addRoot)).toBe(true);
    expect(res.index.ok, JSON.stringify(res.index)).toBe(true);
    expect(res.statsAfter.result.photos).toBeGreaterThanOrEqual(6);
    expect(res.score.ok).toBe(true);
    expect(res.score.result).toHaveLength(3);
    expect(res.thumb).toMatchObject({ status: 200, type: 'image/jpeg' });
    expect(res.thumb.bytes).toBeGreaterThan(100);
    expect(res.events).toContain('index-done');

    // Navigation away and new windows are refused.
    expect(res.navigation).toBe(true);
    expect(res.windowOpen).toEqual({ action: 'deny' });

    // It closed the database on quit: the WAL was checkpointed into a library that opens again.
    expect(fs.existsSync(path.join(dataDir, 'library.db'))).toBe(true);
  });

  it('has a sandboxed preload that needs only electron and exposes every API method as window.cull', () => {
    const code = fs.readFileSync(path.join(APP_ROOT, 'dist-electron', 'preload.cjs'), 'utf8');
    const exposed: Record<string, unknown> = {};
    const required: string[] = [];
    const fakeElectron = {
      contextBridge: { exposeInMainWorld: (key: string, api: Record<string, unknown>) => (exposed[key] = api) },
      ipcRenderer: { invoke: async () => ({ ok: true, result: null }), on() {}, removeListener() {} },
    };
    // A sandboxed preload gets a require() that only knows electron (and a few builtins).
    const sandboxRequire = (name: string) => {
      required.push(name);
      if (name === 'electron') return fakeElectron;
      throw new Error(`a sandboxed preload cannot require ${name}`);
    };
    const module = { exports: {} };
    vm.runInNewContext(code, { require: sandboxRequire, module, exports: module.exports, console });
    expect(required).toEqual(['electron']);
    const api = exposed.cull as Record<string, unknown>;
    expect(api).toBeTruthy();
    for (const m of [...API_METHOD_NAMES, 'chooseFolder', 'thumbUrl', 'imageUrl', 'onEvent']) expect(typeof api[m], m).toBe('function');
    // Exactly the method table's entries (one IPC channel each) and the client-side helpers.
    expect(Object.keys(api).sort()).toEqual([...METHOD_NAMES, 'chooseFolder', 'thumbUrl', 'imageUrl', 'onEvent'].sort());
    expect((api.thumbUrl as (id: number) => string)(7)).toBe('cull://thumb/7');
  });
});
