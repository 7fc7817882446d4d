// Export: copy or hard-link the chosen photos into a folder, optionally with a score report and XMP
// sidecars — the run itself: which photos, each original checked (still the indexed content, still
// inside the library), placed, its decisions written, progress, cancellation, and what went wrong
// counted and said. Originals are only ever read. The parts, each in a file of its own:
//   export-placement.ts  names, never-overwrite and crash-safe placement, the ".cull-export" marker
//   export-decisions.ts  the decisions in each copy's XMP and in the sidecars next to the originals
//   export-report.ts     the CSV / JSON report
//   export-failures.ts   what a failure means, in words, and which ones stop the export
//
// Re-running an export (after a crash, or on purpose) does not duplicate: a photo whose name chain
// ("a.jpg", "a (2).jpg", ...) already holds a byte-identical file counts as already exported.
// A different file under the same name is never replaced: the photo gets the next free name.
// Temps left by a killed export are removed by the next export into the same folder.
import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../../../db/database.ts';
import { fsPath, insideAny, nameFromBytes, realRoots } from '../indexing/walk.ts';
import { fingerprintFile } from '../indexing/fingerprint.ts';
import { listRoots } from '../../../db/photos.ts';
import type { XmpTarget } from './xmp.ts';
import { fsyncDir, removeStaleTemps } from './safe-write.ts';
import type { ExportOptions, ExportSummary } from '../../../common/types.ts';
import { UserError } from '../../../common/errors.ts';
import { checkAllowedFolder } from '../folders.ts';
import { ExportIncompleteError, noteReason, readTrouble, sentence, writeTrouble, type Trouble } from './export-failures.ts';
import { exists, linkOrCopyInto, removePlaceholders, safeFileName, type Placed } from './export-placement.ts';
import { copyWithDecisions, OriginalSidecars, type Decided } from './export-decisions.ts';
import { reportFormat, writeReport, type ReportRow } from './export-report.ts';

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

interface PhotoRow extends Decided {
  size: number;
  mtime_ms: number;
  fingerprint: string;
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
  const sidecars = opts.xmp ? new OriginalSidecars(db, target) : null;
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
      if (opts.mode === 'link') {
        const linked = await linkOrCopyInto(src, dest, name, taken);
        placed = linked;
        if (linked.copied && !linked.already) result.copiedInsteadOfLinked++;
      } else {
        const copied = await copyWithDecisions(photo, src, dest, name, taken, { embed, target }, result.notes);
        placed = copied.placed;
        if (copied.carried) xmpInCopies++;
      }
      to = placed.path;
      if (placed.already) result.alreadyExported++;
      result.exported.push({ id, from: photo.path, to });
    } catch (err) {
      const trouble = await placementTrouble(err, dest, name);
      result.failed.push({ id, path: photo.path, reason: sentence(trouble) });
      if (trouble.stops) {
        // Every further copy would fail the same way: say so once, with what was done.
        for (const rest of ids.slice(ids.indexOf(id) + 1)) {
          result.failed.push({ id: rest, path: byId.get(rest)?.path ?? '', reason: `Not copied: ${sentence(trouble)}` });
        }
        throw ExportIncompleteError.stopped(result, ids.length, trouble);
      }
    }
    if (sidecars && to) {
      try {
        if (await sidecars.write(photo)) result.xmpWritten++;
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
      result.report = await writeReport(reportPath, format, dest, report, opts);
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
async function placementTrouble(err: unknown, dest: string, name: string): Promise<Trouble> {
  const code = (err as NodeJS.ErrnoException).code;
  if ((code === 'ENOENT' || code === 'ENOTDIR') && (await exists(dest))) return readTrouble(err);
  return writeTrouble(err, dest, name);
}
