// Where an export's files go, and how, so that nothing is ever overwritten or half-written: names
// ("a.jpg", "a (2).jpg", … within 255 bytes, never outside the destination), the first free one taken
// with a create that fails rather than replaces, copies made under a temp name
// (".cull-export-<pid>-<hex>.tmp"), fsynced and then linked into place (mtimes restored on the copy
// only). Without hard links (FAT/exFAT) the name is claimed with an exclusive create and the temp
// renamed over that claim, so no file system lets an export replace a file (see claimThenRename).
// A name whose file already holds the same bytes counts as the photo's earlier export.
//
// Every file placed is listed in the destination's ".cull-export" marker (one JSON line per file,
// written before the file appears), so exporting into a folder inside the library never gets the
// copies indexed as new photos (walk.ts skips listed files below a root).
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../../common/errors.ts';
import { EXPORT_MARKER, fsPath } from '../indexing/walk.ts';
import { tempPath } from './safe-write.ts';
import { withoutXmpApp1 } from './xmp-write.ts';

/**
 * A file name from the library that cannot leave the destination: last path segment only (either
 * separator), no control characters, never "" / "." / "..".
 */
export function safeFileName(libraryPath: string, id: number): string {
  let name = libraryPath.split(/[\\/]/).pop() ?? '';
  name = name.replace(/[\u0000-\u001f\u007f]/g, '');
  if (process.platform === 'win32') name = name.replace(/[<>:"|?*]/g, '_').replace(/[. ]+$/, '');
  if (!name || name === '.' || name === '..') name = `photo-${id}${path.extname(libraryPath).replace(/[\\/]/g, '')}`;
  return name;
}

/** Bytes of a stored name on disk (escaped non-UTF-8 bytes count one, see walk.ts). */
function nameBytes(name: string): number {
  const p = fsPath(name);
  return typeof p === 'string' ? Buffer.byteLength(p) : p.length;
}

/** File systems allow 255 bytes per name. */
const NAME_MAX = 255;

/** "name.jpg", "name (2).jpg", "name (3).jpg", ...; the stem is shortened to keep within 255 bytes. */
export function candidateName(name: string, n: number): string {
  if (n < 2) return name;
  let ext = path.extname(name);
  if (ext === name || ext.length > 16) ext = '';
  let stem = ext ? name.slice(0, -ext.length) : name;
  const suffix = ` (${n})${ext}`;
  const chars = [...stem];
  while (chars.length > 1 && nameBytes(chars.join('') + suffix) > NAME_MAX) chars.pop();
  stem = chars.join('');
  return `${stem}${suffix}`;
}

const tempIn = (dir: string) => tempPath(dir, 'export');

/** Lines of a destination's .cull-export marker: the files Cull placed there. */
export interface ExportMarkerLine {
  name: string;
  size: number;
}

async function appendMarker(dir: string, name: string, size: number): Promise<void> {
  const line: ExportMarkerLine = { name, size };
  await fs.promises.appendFile(path.join(dir, EXPORT_MARKER), `${JSON.stringify(line)}\n`);
}

export async function exists(file: string | Buffer): Promise<boolean> {
  try {
    await fs.promises.lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** True when `a` and `b` are the same file or regular files with the same bytes. */
async function sameContent(a: string | Buffer, b: string | Buffer): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.promises.stat(a), fs.promises.lstat(b)]);
  if (!sb.isFile() || sa.size !== sb.size) return false;
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  const [fa, fb] = await Promise.all([fs.promises.open(a, 'r'), fs.promises.open(b, 'r')]);
  try {
    const size = 1 << 20;
    const ba = Buffer.alloc(size);
    const bb = Buffer.alloc(size);
    for (let pos = 0; pos < sa.size; pos += size) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, size, pos), fb.read(bb, 0, size, pos)]);
      if (ra.bytesRead !== rb.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      if (ra.bytesRead === 0) break;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

const NO_HARDLINKS = new Set(['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP']);

export interface Placed {
  /** The stored-path form (non-UTF-8 bytes escaped as in walk.ts). */
  path: string;
  /** A byte-identical file was already there under this name: nothing was written. */
  already: boolean;
}

/**
 * Places `fileName` in `dir` under the first free candidate name using `place(target)`, which must
 * fail with EEXIST rather than overwrite. `taken` holds names handed out in this run (lower case,
 * as the destination may be case-insensitive). With `src`, a candidate that already holds the same
 * bytes is taken as the photo's earlier export.
 */
export async function placeUnique(
  dir: string,
  fileName: string,
  taken: Set<string>,
  place: (target: string | Buffer, name: string) => Promise<void>,
  src?: string | Buffer | ((target: string | Buffer) => Promise<boolean>),
): Promise<Placed> {
  for (let n = 1; n < 100_000; n++) {
    const name = candidateName(fileName, n);
    if (taken.has(name.toLowerCase())) continue;
    const shown = path.join(dir, name);
    const target = fsPath(shown); // the exact bytes of a non-UTF-8 name
    if (await exists(target)) {
      if (src && (typeof src === 'function' ? await src(target) : await sameContent(src, target))) {
        taken.add(name.toLowerCase());
        return { path: shown, already: true };
      }
      continue;
    }
    try {
      await place(target, name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // created meanwhile: next name
      throw err;
    }
    taken.add(name.toLowerCase());
    return { path: shown, already: false };
  }
  throw new UserError(`No free name for ${fileName} in ${dir}.`);
}

/**
 * Forces the path taken on file systems without hard links (FAT/exFAT, some network shares), so it
 * can be tested on any disk: CULL_EXPORT_NO_HARDLINKS=1.
 */
const noHardLinksForced = () => process.env.CULL_EXPORT_NO_HARDLINKS === '1';

/** Links the complete, fsynced temp `tmp` to `target` without ever replacing an existing file. */
async function linkIntoPlace(tmp: string, target: string | Buffer): Promise<void> {
  if (!noHardLinksForced()) {
    try {
      // link() fails with EEXIST instead of replacing: the no-overwrite guarantee holds even if
      // another program creates the same name between our check and this call.
      await fs.promises.link(tmp, target);
      return;
    } catch (err) {
      if (!NO_HARDLINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  }
  await claimThenRename(tmp, target);
}

/**
 * Without hard links: claim the name with an exclusive create (O_CREAT|O_EXCL fails with EEXIST on
 * every file system, atomically), then rename the temp over that empty placeholder of ours only.
 * A file another program created at any moment is never replaced: either it was there first (our
 * create fails) or the name is ours. A kill between the two steps leaves an empty placeholder, which
 * the next export into the folder removes (removePlaceholders).
 */
async function claimThenRename(tmp: string, target: string | Buffer): Promise<void> {
  const fh = await fs.promises.open(target, 'wx', 0o644); // EEXIST: the caller tries the next name
  let ours: fs.Stats;
  try {
    ours = await fh.stat();
  } finally {
    await fh.close();
  }
  const now = await fs.promises.lstat(target).catch(() => null);
  // Our placeholder must still be the file at the name (same file, still empty) before it is replaced.
  if (!now || !now.isFile() || now.size !== 0 || now.ino !== ours.ino || now.dev !== ours.dev) {
    throw Object.assign(new Error('exists'), { code: 'EEXIST' });
  }
  try {
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(target, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Empty files left by a killed no-hard-link export: listed in the marker with a non-zero size
 * (written before the placeholder), yet empty on disk. Nothing of anyone's is lost by removing them.
 */
export async function removePlaceholders(dir: string): Promise<void> {
  let text: string;
  try {
    text = await fs.promises.readFile(path.join(dir, EXPORT_MARKER), 'utf8');
  } catch {
    return;
  }
  const nonEmpty = new Set<string>();
  for (const line of text.split('\n')) {
    try {
      const l = JSON.parse(line) as ExportMarkerLine;
      if (typeof l.name === 'string' && typeof l.size === 'number' && l.size > 0) nonEmpty.add(l.name);
    } catch {
      // an incomplete last line of a killed run
    }
  }
  for (const name of nonEmpty) {
    const file = fsPath(path.join(dir, name));
    const st = await fs.promises.lstat(file).catch(() => null);
    if (st?.isFile() && st.size === 0) await fs.promises.rm(file, { force: true });
  }
}

async function fsyncFile(file: string): Promise<void> {
  const fh = await fs.promises.open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A complete, fsynced temp file in `dir` holding `content` (with the original's times when given). */
async function writeTemp(dir: string, content: string | Buffer, times?: fs.Stats): Promise<string> {
  const tmp = tempIn(dir);
  try {
    const fh = await fs.promises.open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(content);
      if (times) await fh.utimes(times.atime, times.mtime);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/** A complete, fsynced temp copy of `src` in `dir`, mtime restored on the copy. */
async function copyTemp(src: string | Buffer, dir: string, stat: fs.Stats): Promise<string> {
  const tmp = tempIn(dir);
  try {
    await fs.promises.copyFile(src, tmp, fs.constants.COPYFILE_EXCL);
    await fs.promises.utimes(tmp, stat.atime, stat.mtime);
    await fsyncFile(tmp);
    return tmp;
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Under the first free name for `fileName` in `dir`: listed in the marker first (before it appears,
 * so it is never indexed as a new photo), then `put(target)`, which must not overwrite.
 */
function placeListed(
  dir: string,
  fileName: string,
  taken: Set<string>,
  size: number,
  put: (target: string | Buffer) => Promise<void>,
  already: Parameters<typeof placeUnique>[4],
): Promise<Placed> {
  return placeUnique(dir, fileName, taken, async (target, name) => {
    await appendMarker(dir, name, size);
    await put(target);
  }, already);
}

/**
 * Already there, for a copy carrying `content` (the photo with its decisions in its XMP): the photo
 * itself (exporting a folder into itself), this very copy, or an earlier copy of the photo with
 * other decisions in its XMP (kept: nothing is overwritten).
 */
function alreadyWithDecisions(src: string | Buffer, made: string, content: Buffer): (target: string | Buffer) => Promise<boolean> {
  const original = withoutXmpApp1(content);
  return async (target) => {
    const [a, b] = await Promise.all([fs.promises.stat(src), fs.promises.lstat(target)]);
    if (!b.isFile()) return false;
    if (a.dev === b.dev && a.ino === b.ino) return true;
    if (await sameContent(made, target)) return true;
    if (!original || Math.abs(b.size - content.length) > 0x10000) return false;
    return withoutXmpApp1(await fs.promises.readFile(target))?.equals(original) ?? false;
  };
}

/**
 * Copies `src` to a temp file in `dir` (fsynced, mtime restored on the copy), then links it into place.
 * With `content`, the copy holds those bytes instead (the photo with its decisions in its XMP); an
 * earlier export is recognised by them. Without, the temp copy is made only once a free name is
 * found (an earlier identical copy costs no copying).
 */
export async function copyInto(src: string | Buffer, dir: string, fileName: string, taken: Set<string>, content?: Buffer): Promise<Placed> {
  const stat = await fs.promises.stat(src);
  let tmp: string | null = content ? await writeTemp(dir, content, stat) : null;
  const already = content ? alreadyWithDecisions(src, tmp!, content) : src;
  try {
    return await placeListed(dir, fileName, taken, content?.length ?? stat.size, async (target) => {
      tmp ??= await copyTemp(src, dir, stat);
      await linkIntoPlace(tmp, target);
    }, already);
  } finally {
    if (tmp) await fs.promises.rm(tmp, { force: true });
  }
}

/**
 * Hard-links `src` into `dir` under the first free name; where links cannot be made (another drive,
 * a file system without them, or CULL_EXPORT_NO_HARDLINKS=1) copies it instead (`copied`).
 */
export async function linkOrCopyInto(src: string | Buffer, dir: string, fileName: string, taken: Set<string>): Promise<Placed & { copied: boolean }> {
  if (!noHardLinksForced()) {
    try {
      const size = (await fs.promises.stat(src)).size;
      return { ...(await placeListed(dir, fileName, taken, size, (target) => fs.promises.link(src, target), src)), copied: false };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code !== 'EXDEV' && !NO_HARDLINKS.has(code)) throw err;
    }
  }
  return { ...(await copyInto(src, dir, fileName, taken)), copied: true };
}

/**
 * A new file (the report) in `dir`: complete and fsynced under a temp name first and, like photos,
 * never over an existing file ("picks (2).csv"); returns where it went.
 */
export async function placeNewFile(dir: string, fileName: string, content: string): Promise<string> {
  const tmp = await writeTemp(dir, content);
  try {
    return (await placeUnique(dir, fileName, new Set(), (target) => linkIntoPlace(tmp, target))).path;
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
}
