// Crash-safe files in a folder Cull writes to (export destinations, report folders, the originals'
// folders for sidecars): temp names (".cull-export-<pid>-<hex>.tmp", ".cull-xmp-…", dot-names the
// walker ignores), atomic replacement (temp, fsync, rename, fsync of the folder), and the removal of
// temps a killed process left behind (by the next export that writes there).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fsPath, nameFromBytes } from '../indexing/walk.ts';

/** A folder's entries in stored-name form (see walk.ts); none when it cannot be listed. */
export function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(fsPath(dir), { encoding: 'buffer' }).map((b) => nameFromBytes(b));
  } catch {
    return [];
  }
}

/** Temp names export and sidecar writes use: ".cull-export-<pid>-<12 hex>.tmp", ".cull-xmp-…". */
const TEMP_RE = /^\.cull-(?:export|xmp)-(\d+)-[0-9a-f]{12}\.tmp$/;

/** A temp name of an export or sidecar write (never a final name; removed once its writer is gone). */
export function isCullTemp(name: string): boolean {
  return TEMP_RE.test(name);
}

/** A fresh temp path in `dir` for `kind` ('export' for copies and reports, 'xmp' for sidecars). */
export function tempPath(dir: string, kind: 'export' | 'xmp'): string {
  return path.join(dir, `.cull-${kind}-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tmp`);
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
  }
}

/**
 * Removes the temps in `dir` whose writer process is gone (a crashed or killed export). Returns how
 * many were removed. `entries` (stored-name form) saves listing the folder again.
 */
export async function removeStaleTemps(dir: string, entries?: readonly string[]): Promise<number> {
  let removed = 0;
  for (const name of entries ?? safeReaddir(dir)) {
    const m = TEMP_RE.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await fs.promises.rm(fsPath(path.join(dir, name)), { force: true });
    removed++;
  }
  return removed;
}

/** Makes a rename or link in `dir` durable; file systems that cannot fsync a folder are left be. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(fsPath(dir), 'r');
    await fh.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms and file systems: nothing more to do.
  } finally {
    await fh?.close();
  }
}

/** Writes `content` to `file` atomically: temp file beside it, fsync, rename; the temp never lingers. */
export async function writeFileAtomic(file: string, content: string | Buffer, mode?: number): Promise<void> {
  const dir = path.dirname(file);
  const tmp = fsPath(tempPath(dir, 'xmp'));
  const fh = await fs.promises.open(tmp, 'wx', mode ?? 0o644);
  try {
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, fsPath(file));
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}
