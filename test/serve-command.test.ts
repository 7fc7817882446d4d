// `npm run serve` as a user runs it: the command's own process (tsx electron/serve.ts), its
// default renderer folder inside the repository, and a page served with the session's token.
// (The reshape of #10 moved serve.ts up a folder and its repository root pointed one level too
// high: `npm run serve` failed with "Cannot find module 'vite/package.json'" — no test ran it.)
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { REPO_DIR } from './helpers/fixtures.ts';

const run = promisify(execFile);
const SERVE = ['--import', 'tsx', path.join(REPO_DIR, 'electron', 'serve.ts')];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-serve-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('npm run serve', () => {
  it("builds and serves the repository's own dist/renderer by default", async () => {
    const { stdout } = await run(process.execPath, [...SERVE, '--help'], { cwd: REPO_DIR, timeout: 60_000 });
    const shown = /built renderer to serve \(default:\s*"([^"]+)"\)/.exec(stdout.replace(/\s+/g, ' '));
    expect(shown?.[1]).toBe(path.join(REPO_DIR, 'dist', 'renderer'));
  });

  /** Starts serve with `args`; resolves with the URL it prints and all it printed by then. */
  async function startServe(args: string[]): Promise<{ url: string; out: string; stop: () => Promise<void> }> {
    const child = spawn(process.execPath, [...SERVE, '--port', '0', ...args], { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const stop = async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    };
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL within 150 s:\n${out}`)), 150_000);
        const take = (b: Buffer) => {
          out += b.toString();
          const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        };
        child.stdout.on('data', take);
        child.stderr.on('data', take);
        child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
      });
      return { url, out, stop };
    } catch (err) {
      await stop();
      throw err;
    }
  }

  async function tinyModel(): Promise<string> {
    const model = path.join(tmp, 'model');
    if (!fs.existsSync(model)) await makeTestModel({ out: model, size: 'tiny', seed: 1 });
    return model;
  }

  it('opens the library and serves the page at the URL it prints, with its token', async () => {
    const site = path.join(tmp, 'site');
    fs.mkdirSync(site);
    fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>Cull</title><p>served</p>');
    const s = await startServe(['--db', path.join(tmp, 'lib.db'), '--model', await tinyModel(), '--static', site]);
    try {
      expect(s.out).toMatch(/test model with random weights/);
      const res = await fetch(s.url);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<p>served</p>');
    } finally {
      await s.stop();
    }
  }, 90_000);

  it('rebuilds a page older than the renderer sources (after a pull, never yesterday\'s window)', async () => {
    const index = path.join(REPO_DIR, 'dist', 'renderer', 'index.html');
    if (fs.existsSync(index)) fs.utimesSync(index, new Date('2000-01-01'), new Date('2000-01-01'));
    const s = await startServe(['--db', path.join(tmp, 'lib2.db'), '--model', await tinyModel()]);
    try {
      expect(s.out).toMatch(/building the renderer/);
      expect(fs.statSync(index).mtimeMs).toBeGreaterThan(fs.statSync(path.join(REPO_DIR, 'renderer', 'src')).mtimeMs);
      const page = await (await fetch(s.url)).text();
      expect(page).toContain('<div id="app">');
    } finally {
      await s.stop();
    }
  }, 240_000);
});
