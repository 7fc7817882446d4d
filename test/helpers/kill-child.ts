// Killing a child indexer mid-run, for the crash tests: the script runs with tsx from the repository,
// its database is watched (read-only) until enough is stored, then the child gets SIGKILL — no chance
// to clean up, as when the power goes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { openDatabase, type DB } from '../../db/database.ts';
import { REPO_DIR } from './fixtures.ts';

/**
 * Runs `node --import tsx script args…`; every `everyMs` reads `count(db)` from `dbPath` until it
 * reaches `atLeast` (or the child ends, or 1200 polls pass), then SIGKILLs the child and waits for
 * it. Returns the last count seen and what the child wrote to stderr.
 */
export async function killOnceStored(
  script: string,
  args: string[],
  dbPath: string,
  count: (db: DB) => number,
  opts: { atLeast: number; everyMs: number },
): Promise<{ stored: number; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let stored = 0;
  for (let i = 0; i < 1200 && stored < opts.atLeast; i++) {
    await new Promise((r) => setTimeout(r, opts.everyMs));
    if (child.exitCode !== null) break;
    if (!fs.existsSync(dbPath)) continue;
    try {
      const probe = openDatabase(dbPath, { readonly: true });
      stored = count(probe);
      probe.close();
    } catch {
      // busy, or the schema is not created yet
    }
  }
  child.kill('SIGKILL');
  await exited;
  return { stored, stderr };
}
