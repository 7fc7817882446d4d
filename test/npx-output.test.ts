// `npx cull …` prints nothing but its own output (issue 12): no `npm warn Unknown project config`
// from .npmrc, while onnxruntime-node's CUDA download stays skipped at install.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_DIR } from './helpers/fixtures.ts';

const run = promisify(execFile);

describe('npx cull prints nothing but its own output', () => {
  it('npx cull --help writes no "npm warn" (no unknown key in .npmrc)', async () => {
    const { stdout, stderr } = await run('npx', ['--no-install', 'cull', '--help'], { cwd: REPO_DIR, env: { ...process.env } });
    expect(stdout).toMatch(/^Usage: cull/);
    expect(stderr).not.toMatch(/npm warn/i);
    expect(stderr).toBe('');
  });

  it("onnxruntime-node's CUDA download stays skipped: npm never runs its install script, and .ci/run's variable makes it a no-op", async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'package.json'), 'utf8'));
    expect(pkg.allowScripts['onnxruntime-node']).toBe(false);
    expect(fs.readFileSync(path.join(REPO_DIR, '.ci', 'run'), 'utf8')).toMatch(/^export ONNXRUNTIME_NODE_INSTALL=skip$/m);
    // Run the install script as .ci/run's environment would (were npm to run it): it exits at once. The variable is
    // onnxruntime's own, not an npm_config_ one, so npm never warns about it (CI runs `npx` too).
    const script = path.join(REPO_DIR, 'node_modules', 'onnxruntime-node', 'script', 'install.js');
    const r = await run(process.execPath, [script], { env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' }, timeout: 20_000 });
    expect(r.stdout + r.stderr).toBe('');
  });
});
