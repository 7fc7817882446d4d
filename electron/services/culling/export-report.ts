// The export's report: one row a photo — its path and name, every score column the window or the CLI
// sent, rating, flag, label, and where it went or why not — as CSV (RFC 4180, safe to open in a
// spreadsheet and to `cat` in a terminal) or JSON, by the file's extension. Written like the photos:
// complete under a temp name, then placed without replacing an existing report.
import fs from 'node:fs';
import path from 'node:path';
import type { ExportOptions, Label } from '../../../common/types.ts';
import { UserError } from '../../../common/errors.ts';
import { safeJson, terminalSafe } from '../../../common/safe-text.ts';
import { placeNewFile } from './export-placement.ts';
import { removeStaleTemps } from './safe-write.ts';

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

/** One photo of the report: what the library knows of it, and where it went (or why not). */
export interface ReportRow {
  photo: { id: number; path: string; rating: number; flag: number; label: Label | null };
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

export function reportFormat(file: string): 'csv' | 'json' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.json') return 'json';
  throw new UserError(`The report must be a .csv or .json file, not "${path.basename(file)}".`);
}

/** Writes the report to `reportPath` (or the next free name beside it); returns where it went. */
export async function writeReport(reportPath: string, format: 'csv' | 'json', dest: string, rows: ReportRow[], opts: ExportOptions): Promise<string> {
  const dir = path.dirname(reportPath);
  await fs.promises.mkdir(dir, { recursive: true });
  if (dir !== dest) await removeStaleTemps(dir);
  return placeNewFile(dir, path.basename(reportPath), buildReport(format, rows, opts));
}
