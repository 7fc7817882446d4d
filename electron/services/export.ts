// Export: copy or hard-link the chosen photos into a folder, optionally with a score report and XMP
// sidecars. Originals are only ever read: copies go to a temp name in the destination and are then
// linked into place (no half-written file under a final name, and never over an existing file);
// mtimes are restored on the copy only.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../../db/database.ts';
import { fsPath } from './walk.ts';
import { writeFileAtomic, writeXmpSidecar } from './xmp.ts';
import type { ExportOptions, ExportSummary, Flag, Label } from './types.ts';

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
  notes: string[];
  cancelled: boolean;
}

interface PhotoRow {
  id: number;
  path: string;
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

/** "name.jpg", "name (2).jpg", "name (3).jpg", ... */
export function candidateName(name: string, n: number): string {
  if (n < 2) return name;
  const ext = path.extname(name);
  const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
  return `${stem} (${n})${ext !== name ? ext : ''}`;
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.promises.lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

const NO_HARDLINKS = new Set(['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP']);

/**
 * Places `fileName` in `dir` under the first free candidate name using `place(target)`, which must
 * fail with EEXIST rather than overwrite. `taken` holds names handed out in this run (lower case,
 * as the destination may be case-insensitive).
 */
async function placeUnique(
  dir: string,
  fileName: string,
  taken: Set<string>,
  place: (target: string) => Promise<void>,
): Promise<string> {
  for (let n = 1; n < 100_000; n++) {
    const name = candidateName(fileName, n);
    if (taken.has(name.toLowerCase())) continue;
    const target = path.join(dir, name);
    if (await exists(target)) continue;
    try {
      await place(target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // created meanwhile: next name
      throw err;
    }
    taken.add(name.toLowerCase());
    return target;
  }
  throw new Error(`No free name for ${fileName} in ${dir}.`);
}

/** Copies `src` to a temp file in `dir` (mtime restored on the copy), then links it into place. */
async function copyInto(src: string | Buffer, dir: string, fileName: string, taken: Set<string>): Promise<string> {
  const stat = await fs.promises.stat(src);
  const tmp = path.join(dir, `.cull-export-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.promises.copyFile(src, tmp, fs.constants.COPYFILE_EXCL);
    await fs.promises.utimes(tmp, stat.atime, stat.mtime);
    return await placeUnique(dir, fileName, taken, async (target) => {
      try {
        // link() fails with EEXIST instead of replacing: the no-overwrite guarantee holds even if
        // another program creates the same name between our check and this call.
        await fs.promises.link(tmp, target);
      } catch (err) {
        if (!NO_HARDLINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        // FAT/exFAT and some network shares have no hard links: rename after the existence check.
        if (await exists(target)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
        await fs.promises.rename(tmp, target);
      }
    });
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
}

function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
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
      JSON.stringify(
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
        null,
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
  throw new Error(`The report must be a .csv or .json file, not "${path.basename(file)}".`);
}

export async function exportPhotos(
  db: DB,
  opts: ExportOptions,
  onProgress?: (p: ExportProgress) => void,
  signal?: AbortSignal,
): Promise<ExportResult> {
  if (opts.mode !== 'copy' && opts.mode !== 'link') throw new Error(`Export mode must be "copy" or "link", not "${opts.mode}".`);
  if (!opts.to) throw new Error('Choose a destination folder.');
  const dest = path.resolve(opts.to);
  // Checked before any file is written, so a typo does not leave a half-done export.
  const format = opts.report ? reportFormat(opts.report) : null;
  await fs.promises.mkdir(dest, { recursive: true });

  const ids = [...new Set(opts.photoIds)];
  const rows = db
    .prepare('SELECT id, path, rating, flag, label FROM photos WHERE id IN (SELECT value FROM json_each(?))')
    .all(JSON.stringify(ids)) as PhotoRow[];
  const byId = new Map(rows.map((r) => [r.id, r]));

  const result: ExportResult = {
    exported: [],
    failed: [],
    xmpWritten: 0,
    report: null,
    destination: dest,
    copiedInsteadOfLinked: 0,
    notes: [],
    cancelled: false,
  };
  const report: ReportRow[] = [];
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
    const src = fsPath(photo.path); // the exact bytes of a non-UTF-8 name (see walk.ts)
    let to: string | null = null;
    try {
      if (opts.mode === 'link') {
        try {
          to = await placeUnique(dest, name, taken, (target) => fs.promises.link(src, target));
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          if (code !== 'EXDEV' && !NO_HARDLINKS.has(code)) throw err;
          to = await copyInto(src, dest, name, taken);
          result.copiedInsteadOfLinked++;
        }
      } else {
        to = await copyInto(src, dest, name, taken);
      }
      result.exported.push({ id, from: photo.path, to });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      result.failed.push({ id, path: photo.path, reason: e.code === 'ENOENT' ? 'The file no longer exists.' : e.message });
    }
    if (opts.xmp && to) {
      try {
        const dir = path.dirname(photo.path);
        if (!dirCache.has(dir)) dirCache.set(dir, await fs.promises.readdir(dir));
        const sidecar = await writeXmpSidecar(photo.path, photo, dirCache.get(dir));
        const entries = dirCache.get(dir)!;
        if (!entries.includes(path.basename(sidecar))) entries.push(path.basename(sidecar));
        result.xmpWritten++;
      } catch (err) {
        result.notes.push(`No XMP sidecar for ${photo.path}: ${(err as Error).message}`);
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
  if (opts.report && format) {
    const wanted = path.resolve(dest, opts.report);
    await fs.promises.mkdir(path.dirname(wanted), { recursive: true });
    const content = buildReport(format, report, opts);
    // Like photos, an existing report is never replaced: "picks (2).csv".
    result.report = await placeUnique(path.dirname(wanted), path.basename(wanted), new Set(), async (target) => {
      const tmp = `${target}.${crypto.randomBytes(4).toString('hex')}.tmp`;
      await writeFileAtomic(tmp, content);
      try {
        await fs.promises.link(tmp, target);
      } catch (err) {
        if (!NO_HARDLINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        await fs.promises.rename(tmp, target);
      } finally {
        await fs.promises.rm(tmp, { force: true });
      }
    });
  }
  return result;
}
