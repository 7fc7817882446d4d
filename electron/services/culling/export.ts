// Export: copy or hard-link the chosen photos into a folder, optionally with a score report and XMP
// sidecars. Originals are only ever read: copies go to a temp name in the destination
// (".cull-export-<pid>-<hex>.tmp"), are fsynced and then linked into place (no half-written file
// under a final name, and never over an existing file); mtimes are restored on the copy only.
// Without hard links (FAT/exFAT) the name is claimed with an exclusive create and the temp renamed
// over that claim, so no file system lets an export replace a file (see claimThenRename).
// Temps left by a killed export are removed by the next export into the same folder.
// (~670 lines, one file for now: every step of the never-overwrite, crash-safe placement shares the
// marker file and temp-name rules, and the real-path checks (#14) and XMP in copies (#12) were added
// in place; the report writer and the copy placement are the next to move into files of their own.)
//
// Re-running an export (after a crash, or on purpose) does not duplicate: a photo whose name chain
// ("a.jpg", "a (2).jpg", ...) already holds a byte-identical file counts as already exported.
// A different file under the same name is never replaced: the photo gets the next free name.
//
// Every file Cull places is listed in the destination's ".cull-export" marker (one JSON line per
// file, written before the file appears), so exporting into a folder inside the library never gets
// the copies indexed as new photos (walk.ts skips listed files below a root).
import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../../../db/database.ts';
import { EXPORT_MARKER, fsPath, insideAny, nameFromBytes, realRoots } from '../indexing/walk.ts';
import { fingerprintFile } from '../indexing/fingerprint.ts';
import { listRoots } from '../../../db/photos.ts';
import {
  fsyncDir,
  jpegWithXmp,
  withoutXmpApp1,
  removeStaleTemps,
  sidecarPath,
  tempPath,
  writeXmpSidecar,
  type XmpChange,
  type XmpTarget,
} from './xmp.ts';
import { FIELD_LABEL, FIELD_PICK, FIELD_RATING, getXmpSync, noteSidecarWritten } from '../../../db/xmp-sync.ts';
import type { ExportOptions, ExportSummary, Flag, Label } from '../../../common/types.ts';
import { UserError } from '../../../common/errors.ts';
import { checkAllowedFolder } from '../folders.ts';
import { safeJson, terminalSafe } from '../../../common/safe-text.ts';
import { ExportIncompleteError, noteReason, readTrouble, sentence, writeTrouble, type Trouble } from './export-failures.ts';

export { ExportIncompleteError } from './export-failures.ts';

/** Sent once before the first photo and after each one; `current` is the photo just handled. */
export interface ExportProgress {
  done: number;
  total: number;
  current?: string;
}

/** ExportSummary plus what a user should know about how it went (extra JSON fields cross IPC fine). */
export interface ExportResult extends ExportSummary {
  /** Hard links that fell back to copies (other device, or a file system without hard links). */
  copiedInsteadOfLinked: number;
  /** Photos whose byte-identical copy was already in the destination (an earlier or interrupted run). */
  alreadyExported: number;
  /** XMP sidecars that could not be written (each also in `notes`). */
  xmpFailed: { id: number; path: string; reason: string }[];
  notes: string[];
  cancelled: boolean;
}

interface PhotoRow {
  id: number;
  path: string;
  size: number;
  mtime_ms: number;
  fingerprint: string;
  rating: number;
  flag: Flag;
  label: Label | null;
}

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

async function exists(file: string | Buffer): Promise<boolean> {
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

interface Placed {
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
async function placeUnique(
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
async function removePlaceholders(dir: string): Promise<void> {
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

/**
 * Copies `src` to a temp file in `dir` (fsynced, mtime restored on the copy), then links it into place.
 * With `content`, the copy holds those bytes instead (the photo with its decisions in its XMP); an
 * earlier export is recognised by them.
 */
async function copyInto(src: string | Buffer, dir: string, fileName: string, taken: Set<string>, content?: Buffer): Promise<Placed> {
  const stat = await fs.promises.stat(src);
  let tmp: string | null = null;
  if (content) {
    tmp = tempIn(dir);
    try {
      await fs.promises.writeFile(tmp, content, { flag: 'wx', mode: 0o644 });
      await fs.promises.utimes(tmp, stat.atime, stat.mtime);
      await fsyncFile(tmp);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    const made = tmp;
    // Already there: the photo itself (exporting a folder into itself), this very copy, or an
    // earlier copy of the photo with other decisions in its XMP (kept: nothing is overwritten).
    const original = withoutXmpApp1(content);
    const already = async (target: string | Buffer): Promise<boolean> => {
      const [a, b] = await Promise.all([fs.promises.stat(src), fs.promises.lstat(target)]);
      if (!b.isFile()) return false;
      if (a.dev === b.dev && a.ino === b.ino) return true;
      if (await sameContent(made, target)) return true;
      if (!original || Math.abs(b.size - content.length) > 0x10000) return false;
      return withoutXmpApp1(await fs.promises.readFile(target))?.equals(original) ?? false;
    };
    try {
      return await placeUnique(
        dir,
        fileName,
        taken,
        async (target, name) => {
          await appendMarker(dir, name, content.length);
          await linkIntoPlace(made, target);
        },
        already,
      );
    } finally {
      await fs.promises.rm(made, { force: true });
    }
  }
  try {
    return await placeUnique(
      dir,
      fileName,
      taken,
      async (target, name) => {
        if (!tmp) {
          tmp = tempIn(dir);
          await fs.promises.copyFile(src, tmp, fs.constants.COPYFILE_EXCL);
          await fs.promises.utimes(tmp, stat.atime, stat.mtime);
          await fsyncFile(tmp);
        }
        await appendMarker(dir, name, stat.size); // listed before it appears: never indexed as a new photo
        await linkIntoPlace(tmp, target);
      },
      src,
    );
  } finally {
    if (tmp) await fs.promises.rm(tmp, { force: true });
  }
}

/** The XMP fields of `fields` (db/xmp-sync.ts bits) with the photo's current values. */
function changeOf(photo: PhotoRow, fields: number): XmpChange {
  const c: XmpChange = {};
  if (fields & FIELD_RATING) c.rating = photo.flag === -1 ? -1 : photo.rating;
  if (fields & FIELD_LABEL) c.label = photo.label;
  if (fields & FIELD_PICK) c.pick = photo.flag === 1;
  return c;
}

/** What an exported copy carries: the photo's rating (or reject), label and pick; null when it has none. */
export function copyChange(photo: { rating: number; flag: number; label: Label | null }): XmpChange | null {
  return copyChangeOf(photo);
}

function copyChangeOf(photo: { rating: number; flag: number; label: Label | null }): XmpChange | null {
  const c: XmpChange = {};
  if (photo.rating > 0 || photo.flag === -1) c.rating = photo.flag === -1 ? -1 : photo.rating;
  if (photo.label) c.label = photo.label;
  if (photo.flag === 1) c.pick = true;
  return Object.keys(c).length ? c : null;
}

function csvField(v: string | number | null | undefined): string {
  // Control characters in a name (ESC, CR, LF, …) are written as visible escapes ("\x1b", "\n"):
  // `cat report.csv` must not drive the terminal, and a row stays one line (the JSON report keeps
  // exact paths, JSON-escaped).
  let s = v === null || v === undefined ? '' : terminalSafe(String(v));
  // A text cell starting like a formula (a photo named "=HYPERLINK(…).jpg", a score column name)
  // would run in a spreadsheet: prefix it with an apostrophe, as OWASP advises. Numbers stay numbers.
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function scoreColumns(scores: ExportOptions['scores'], ids: number[]): string[] {
  const cols: string[] = [];
  const seen = new Set<string>();
  for (const id of ids) for (const k of Object.keys(scores?.[id] ?? {})) if (!seen.has(k)) (seen.add(k), cols.push(k));
  return cols;
}

interface ReportRow {
  photo: PhotoRow;
  exportedTo: string | null;
  error: string | null;
}

export function buildReport(format: 'csv' | 'json', rows: ReportRow[], opts: ExportOptions): string {
  const cols = scoreColumns(opts.scores, rows.map((r) => r.photo.id));
  if (format === 'json') {
    return (
      safeJson(
        {
          destination: path.resolve(opts.to),
          mode: opts.mode,
          photos: rows.map(({ photo, exportedTo, error }) => ({
            id: photo.id,
            path: photo.path,
            name: path.basename(photo.path),
            scores: opts.scores?.[photo.id] ?? {},
            rating: photo.rating,
            flag: photo.flag,
            label: photo.label,
            exportedTo,
            ...(error ? { error } : {}),
          })),
        },
        2,
      ) + '\n'
    );
  }
  const header = ['path', 'name', ...cols, 'rating', 'flag', 'label', 'exported_to', 'error'];
  const lines = [header.map(csvField).join(',')];
  for (const { photo, exportedTo, error } of rows) {
    const s = opts.scores?.[photo.id] ?? {};
    lines.push(
      [photo.path, path.basename(photo.path), ...cols.map((c) => s[c]), photo.rating, photo.flag, photo.label, exportedTo, error]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n'; // RFC 4180 line ends
}

function reportFormat(file: string): 'csv' | 'json' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  throw new UserError(`The report must be a .csv or .json file, not "${path.basename(file)}".`);
}

/**
 * The file to copy for `photo`: its real path (links resolved), only while it is still inside a
 * library folder (or its stored path holds no link at all) and still the content that was indexed.
 * A photo replaced after indexing by a link to a private file, or by other content, is refused.
 */
async function exportSource(photo: PhotoRow, roots: string[]): Promise<string | Buffer> {
  const stored = fsPath(photo.path); // the exact bytes of a non-UTF-8 name (see walk.ts)
  const realBytes = await fs.promises.realpath(stored, { encoding: 'buffer' });
  const real = nameFromBytes(realBytes);
  if (real !== path.resolve(photo.path) && !insideAny(real, roots)) {
    throw new UserError(`Not exported: it is now a link to ${real}, outside the library folders.`);
  }
  const st = await fs.promises.stat(realBytes);
  if (!st.isFile()) throw new UserError('Not exported: it is no longer a regular file.');
  // Opened once here so that a failure to read it is told apart from a failure to write the copy.
  await (await fs.promises.open(realBytes, 'r')).close();
  if ((st.size !== photo.size || Math.round(st.mtimeMs) !== photo.mtime_ms) && (await fingerprintFile(realBytes)) !== photo.fingerprint) {
    throw new UserError('Not exported: its content changed since it was indexed. Index the folder again, then export.');
  }
  return typeof stored === 'string' ? real : realBytes;
}

export async function exportPhotos(
  db: DB,
  opts: ExportOptions,
  onProgress?: (p: ExportProgress) => void,
  signal?: AbortSignal,
): Promise<ExportResult> {
  if (opts.mode !== 'copy' && opts.mode !== 'link') throw new UserError(`Export mode must be "copy" or "link", not "${opts.mode}".`);
  if (!opts.to) throw new UserError('Choose a destination folder.');
  const dest = path.resolve(opts.to);
  // Checked before any file is written, so a typo does not leave a half-done export.
  const format = opts.report ? reportFormat(opts.report) : null;
  // A relative report path lives inside the destination and may not climb out of it; an absolute
  // one is where the user chose to put it.
  const reportPath = opts.report ? path.resolve(dest, opts.report) : null;
  if (reportPath && !path.isAbsolute(opts.report!) && !reportPath.startsWith(dest + path.sep)) {
    throw new UserError(`The report "${opts.report}" would be written outside the destination folder.`);
  }
  checkAllowedFolder(dest, 'The export destination', 'Cull exports only into a folder of your own: choose one, e.g. ~/Pictures/selects.');
  if (reportPath) checkAllowedFolder(path.dirname(reportPath), "The report's folder", 'Put the report in the destination folder, or another folder of your own.');
  await fs.promises.mkdir(dest, { recursive: true });
  await removeStaleTemps(dest);
  await removePlaceholders(dest);

  const ids = [...new Set(opts.photoIds)];
  const rows = db
    .prepare('SELECT id, path, size, mtime_ms, fingerprint, rating, flag, label FROM photos WHERE id IN (SELECT value FROM json_each(?))')
    .all(JSON.stringify(ids)) as PhotoRow[];
  const byId = new Map(rows.map((r) => [r.id, r]));

  const result: ExportResult = {
    exported: [],
    failed: [],
    xmpWritten: 0,
    report: null,
    destination: dest,
    copiedInsteadOfLinked: 0,
    alreadyExported: 0,
    xmpFailed: [],
    notes: [],
    cancelled: false,
  };
  const report: ReportRow[] = [];
  const embed = opts.embedXmp !== false && opts.mode === 'copy';
  const target: XmpTarget = opts.xmpTarget ?? 'standard';
  let xmpInCopies = 0;
  const roots = await realRoots(listRoots(db));
  const taken = new Set<string>();
  const dirCache = new Map<string, string[]>();
  let done = 0;
  onProgress?.({ done, total: ids.length });
  for (const id of ids) {
    if (signal?.aborted) {
      result.cancelled = true;
      result.notes.push(`Cancelled after ${done} of ${ids.length} photos.`);
      break;
    }
    const photo = byId.get(id);
    if (!photo) {
      result.failed.push({ id, path: '', reason: 'Not in the library.' });
      onProgress?.({ done: ++done, total: ids.length });
      continue;
    }
    const name = safeFileName(photo.path, id);
    let to: string | null = null;
    let src: string | Buffer;
    try {
      src = await exportSource(photo, roots);
    } catch (err) {
      const reason = err instanceof UserError ? err.message : sentence(readTrouble(err));
      result.failed.push({ id, path: photo.path, reason });
      report.push({ photo, exportedTo: null, error: reason });
      onProgress?.({ done: ++done, total: ids.length, current: photo.path });
      continue;
    }
    try {
      let placed: Placed;
      if (opts.mode === 'link' && noHardLinksForced()) {
        placed = await copyInto(src, dest, name, taken);
        if (!placed.already) result.copiedInsteadOfLinked++;
      } else if (opts.mode === 'link') {
        try {
          const size = (await fs.promises.stat(src)).size;
          placed = await placeUnique(
            dest,
            name,
            taken,
            async (target, placedName) => {
              await appendMarker(dest, placedName, size);
              await fs.promises.link(src, target);
            },
            src,
          );
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          if (code !== 'EXDEV' && !NO_HARDLINKS.has(code)) throw err;
          placed = await copyInto(src, dest, name, taken);
          if (!placed.already) result.copiedInsteadOfLinked++;
        }
      } else {
        // The copy carries the photo's decisions in its own XMP: a JPEG's embedded packet (APP1,
        // image data untouched), other formats a sidecar beside the copy (after it is placed).
        const change = embed ? copyChange(photo) : null;
        const jpeg = change && /\.jpe?g$/i.test(name) ? await fs.promises.readFile(src) : null;
        let content: Buffer | undefined;
        if (change && jpeg) {
          try {
            content = jpegWithXmp(jpeg, change, target);
          } catch (err) {
            result.notes.push(`${photo.path} was copied unchanged, without its decisions inside: ${embedRefusal(err)}`);
          }
        }
        placed = await copyInto(src, dest, name, taken, content);
        if (content) xmpInCopies++;
        else if (change && !jpeg) {
          try {
            if (await writeXmpSidecar(placed.path, change, undefined, target)) xmpInCopies++;
          } catch (err) {
            result.notes.push(`No XMP sidecar beside the copy ${placed.path}: ${noteReason(err, dest)}`);
          }
        }
      }
      to = placed.path;
      if (placed.already) result.alreadyExported++;
      result.exported.push({ id, from: photo.path, to });
    } catch (err) {
      const trouble = await placementTrouble(err, src, dest, name);
      result.failed.push({ id, path: photo.path, reason: sentence(trouble) });
      if (trouble.stops) {
        // Every further copy would fail the same way: say so once, with what was done.
        for (const rest of ids.slice(ids.indexOf(id) + 1)) {
          result.failed.push({ id: rest, path: byId.get(rest)?.path ?? '', reason: `Not copied: ${sentence(trouble)}` });
        }
        throw ExportIncompleteError.stopped(result, ids.length, trouble);
      }
    }
    if (opts.xmp && to) {
      try {
        const dir = path.dirname(photo.path);
        if (!dirCache.has(dir)) {
          const entries = (await fs.promises.readdir(fsPath(dir), { encoding: 'buffer' })).map((b) => nameFromBytes(b));
          dirCache.set(dir, entries);
          await removeStaleTemps(dir, entries); // sidecar temps of a killed run
        }
        const entries = dirCache.get(dir)!;
        // Only what Cull decided: into an existing sidecar, the fields changed since Cull's last
        // write; into a new one, every field Cull decided. Nothing Cull did not set is written.
        const sync = getXmpSync(db, photo.id, photo);
        const planned = sidecarPath(photo.path, entries);
        const exists = entries.some((e) => e.toLowerCase() === path.basename(planned).toLowerCase());
        const fields = exists ? sync.dirty : sync.cullSet;
        const sidecar = await writeXmpSidecar(photo.path, changeOf(photo, fields), entries, target);
        if (sidecar) {
          if (!entries.includes(path.basename(sidecar))) entries.push(path.basename(sidecar));
          const mtime = (await fs.promises.stat(fsPath(sidecar))).mtimeMs;
          noteSidecarWritten(db, photo.id, photo, fields, mtime);
          result.xmpWritten++;
        }
      } catch (err) {
        const reason = noteReason(err, path.dirname(photo.path));
        result.xmpFailed.push({ id, path: photo.path, reason });
        result.notes.push(`No XMP sidecar for ${photo.path}: ${reason}`);
      }
    }
    report.push({ photo, exportedTo: to, error: to ? null : result.failed[result.failed.length - 1]?.reason ?? null });
    onProgress?.({ done: ++done, total: ids.length, current: photo.path });
  }
  if (result.copiedInsteadOfLinked) {
    result.notes.push(
      `${result.copiedInsteadOfLinked} photo(s) were copied instead of hard-linked: the destination is on another drive or its file system has no hard links.`,
    );
  }
  result.xmpInCopies = xmpInCopies;
  if (reportPath && format) {
    try {
      await writeReport(reportPath, format, dest, report, opts, result);
    } catch (err) {
      // The copies are made: the caller must still learn what was copied, then what failed.
      throw ExportIncompleteError.reportFailed(result, reportPath, writeTrouble(err, path.dirname(reportPath), path.basename(reportPath)));
    }
  }
  if (result.alreadyExported) {
    result.notes.push(`${result.alreadyExported} photo(s) were already in the destination (identical files) and were not copied again.`);
  }
  await fsyncDir(dest);
  return result;
}

/**
 * What a failed placement of a copy means. A missing file is the destination gone (a drive
 * unplugged) or the original moved away meanwhile; everything else is about writing into `dest`
 * (reading the original was checked just before, by exportSource).
 */
async function placementTrouble(err: unknown, src: string | Buffer, dest: string, name: string): Promise<Trouble> {
  const code = (err as NodeJS.ErrnoException).code;
  if ((code === 'ENOENT' || code === 'ENOTDIR') && (await exists(dest))) return readTrouble(err);
  return writeTrouble(err, dest, name);
}

/** Why a JPEG could not carry its decisions in its own XMP: it looks damaged, or the packet is too large. */
function embedRefusal(err: unknown): string {
  const message = (err as Error).message;
  if (/would not fit/.test(message)) return `${message} Its decisions stay in Cull; tick “Write XMP sidecars” to keep them beside the original.`;
  return `the file looks damaged (${message.replace(/\.$/, '')}). Open it in an image editor to check it.`;
}

async function writeReport(reportPath: string, format: 'csv' | 'json', dest: string, report: ReportRow[], opts: ExportOptions, result: ExportResult): Promise<void> {
  {
    const dir = path.dirname(reportPath);
    await fs.promises.mkdir(dir, { recursive: true });
    if (dir !== dest) await removeStaleTemps(dir);
    const content = buildReport(format, report, opts);
    // Complete and fsynced under a temp name first; like photos, an existing report is never
    // replaced: "picks (2).csv".
    const tmp = tempIn(dir);
    try {
      const fh = await fs.promises.open(tmp, 'wx', 0o644);
      try {
        await fh.writeFile(content);
        await fh.sync();
      } finally {
        await fh.close();
      }
      result.report = (await placeUnique(dir, path.basename(reportPath), new Set(), (target) => linkIntoPlace(tmp, target))).path;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }
}
