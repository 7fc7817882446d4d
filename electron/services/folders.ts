// Where Cull may read a library from or write exports and reports to: one rule for the API, the
// window and the CLI alike, applied to the path as given and to its real path (links resolved), so
// `cull index ~/link-to-root` is refused like `/` itself.
//
// Refused: a disk's root; the system's own trees and everything in them (/etc, /usr, /var, /proc,
// /opt, C:\Windows, …); and folders that hold other people's or the whole system's files, as
// themselves only: /home, /Users, /root, /mnt, /media, /srv and the user's own home folder. Their
// sub-folders are fine: `~/Pictures` as a library, `~/picks` or `/mnt/nas/picks` as an export.
// Sub-folders of the temporary folders (os.tmpdir(), /var/tmp, /dev/shm) are allowed even where
// they live in a system tree (macOS: /private/var/folders/…): scratch exports and tests go there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../common/errors.ts';

const WIN = process.platform === 'win32';

/** System trees: the folder and everything below it. */
export const SYSTEM_TREES = WIN
  ? ['C:\\Windows', 'C:\\Program Files', 'C:\\Program Files (x86)', 'C:\\ProgramData']
  : [
      ...['/proc', '/sys', '/dev', '/etc', '/boot', '/run', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/usr'],
      ...['/var', '/opt', '/snap', '/System', '/Library', '/Applications', '/private/etc', '/private/var'],
    ];

/** Folders refused as themselves only (their sub-folders are someone's files). */
export const SHARED_PARENTS = WIN ? ['C:\\Users'] : ['/home', '/Users', '/root', '/mnt', '/media', '/srv', '/tmp'];

const norm = (p: string) => (WIN ? p.toLowerCase() : p);

function inside(p: string, dir: string): boolean {
  const rel = path.relative(norm(dir), norm(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return p;
  }
}

/**
 * Why `dir` may not be a library folder, an export destination or a report's folder; null when it
 * may. Checks the path as given and its real path (a folder that does not exist yet is judged by
 * its nearest existing parent's real path plus the rest).
 */
export function forbiddenFolderReason(dir: string): string | null {
  const given = path.resolve(dir);
  let existing = given;
  let rest = '';
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) {
    rest = rest ? path.join(path.basename(existing), rest) : path.basename(existing);
    existing = path.dirname(existing);
  }
  const real = rest ? path.join(realOrSelf(existing), rest) : realOrSelf(existing);
  const tmp = [os.tmpdir(), realOrSelf(os.tmpdir()), ...(WIN ? [] : ['/dev/shm', '/var/tmp'])];
  const home = [os.homedir(), realOrSelf(os.homedir())];
  for (const p of new Set([given, real])) {
    const shown = p === given ? given : `${given} (a link to ${p})`;
    if (path.parse(p).root === p) return `${shown} is the root of a disk`;
    const underTmp = tmp.some((t) => inside(p, t) && norm(p) !== norm(t));
    const tree = SYSTEM_TREES.find((d) => inside(p, d));
    if (tree && !underTmp) return `${shown} is a system folder (${tree})`;
    if (home.some((d) => norm(d) === norm(p))) return `${shown} is your home folder, which holds all your files, not only photos`;
    if (SHARED_PARENTS.some((d) => norm(d) === norm(p))) return `${shown} holds every user's or the whole disk's files`;
  }
  return null;
}

/**
 * Throws a UserError naming the folder and the reason when `forbiddenFolderReason` refuses it:
 * `${what} ${reason}.` ("The export destination /etc is a system folder (/etc)."), `advice` its hint.
 */
export function checkAllowedFolder(dir: string, what: string, advice: string): void {
  const reason = forbiddenFolderReason(dir);
  if (reason) throw new UserError(`${what} ${reason}.`, 'invalid-argument', { hint: advice });
}

/**
 * A folder the photographer asks to add to the library, resolved: it must exist, be a folder and
 * be allowed (checkAllowedFolder); else a UserError saying which and what to do.
 */
export function checkLibraryFolder(dir: string): string {
  const abs = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new UserError(`Folder not found: ${abs}. Check the path and try again.`);
  }
  if (!stat.isDirectory()) throw new UserError(`${abs} is a file, not a folder: add the folder that holds your photos.`);
  checkAllowedFolder(abs, 'The folder', 'Add the folder that holds your photos, e.g. ~/Pictures.');
  return abs;
}
