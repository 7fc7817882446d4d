// The TypeScript of every process type-checks: the main process, CLI and tests (tsconfig.json) and
// the renderer's .ts files (renderer/tsconfig.json, with the DOM's types). Vite strips types
// without checking them, so without this a renderer type error only ever showed in an editor.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_DIR } from './helpers/fixtures.ts';

const run = promisify(execFile);
const TSC = path.join(REPO_DIR, 'node_modules', 'typescript', 'bin', 'tsc');

async function typecheck(project: string): Promise<string> {
  try {
    await run(process.execPath, [TSC, '--noEmit', '-p', project], { cwd: REPO_DIR, timeout: 170_000, maxBuffer: 16 << 20 });
    return '';
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? err);
  }
}

describe('type check', () => {
  it('the main process, CLI and tests', async () => expect(await typecheck('.')).toBe(''), 180_000);
  it('the renderer', async () => expect(await typecheck('renderer')).toBe(''), 180_000);
});
