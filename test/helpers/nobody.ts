// Running a check as the user "nobody" (uid and gid 65534). Root reads chmod-000 files and folders
// anyway, so the tests of unreadable files and folders run their case this way when they run as
// root (as in containers): a TypeScript script in a child process, as nobody.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { REPO_DIR } from './fixtures.ts';

export const isRoot = process.getuid?.() === 0;

/** `node --import tsx script ...args` as nobody, from the repository, with HOME `home` (a folder nobody may use). */
export function runAsNobody(script: string, args: string[], home: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPO_DIR,
    uid: 65534,
    gid: 65534,
    env: { ...process.env, HOME: home },
    encoding: 'utf8',
  });
}
