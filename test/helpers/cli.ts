// Running the real `cull` command (bin/cull.js) in a child process, as a person would from a shell:
// its exit code and both outputs, whatever the code.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_DIR } from './fixtures.ts';

export const CULL = path.join(REPO_DIR, 'bin', 'cull.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const run = promisify(execFile);

/** `node [nodeArgs…] bin/cull.js --db db args…`; resolves with the exit code and outputs (a failure is a result, not a rejection). */
export async function runCull(db: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; nodeArgs?: string[] } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...(opts.nodeArgs ?? []), CULL, '--db', db, ...args], { env: opts.env, cwd: opts.cwd, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
