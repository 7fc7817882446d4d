// The culling commands: `cull rate` (flag, stars, colour label; originals never touched) and `cull
// export` (copy or hard-link a selection, with a report and XMP), whose outcome is printed with
// every failure. Registered on the program by electron/cli.ts.
import { InvalidArgumentError, Option, type Command } from 'commander';
import path from 'node:path';
import { LABELS } from '../../common/types.ts';
import type { ExportResult } from '../services/culling/export.ts';
import { ExportIncompleteError } from '../services/culling/export-failures.ts';
import { filterFrom, parseScore, parseTop, type Cli, type Print } from './context.ts';
import { flagName, stars, table, terminalSafe as safe } from './format.ts';

/** An export's outcome in the terminal: every failure counted and listed (copies, XMP sidecars). */
function printExport(print: Print, summary: ExportResult): void {
  print(summary, () => {
    const lines = summary.failed.map((f) => `  failed: ${safe(f.path)}: ${safe(f.reason)}`);
    lines.push(...summary.xmpFailed.map((f) => `  XMP sidecar failed: ${safe(f.path)}: ${safe(f.reason)}`));
    lines.push(`Exported ${summary.exported.length} photo(s) to ${safe(summary.destination)}` + (summary.failed.length ? `, ${summary.failed.length} failed` : '') + '.');
    if (summary.xmpWritten || summary.xmpFailed.length) {
      lines.push(`Wrote ${summary.xmpWritten} XMP sidecar(s) next to the originals` + (summary.xmpFailed.length ? `, ${summary.xmpFailed.length} failed.` : '.'));
    }
    if (summary.xmpInCopies) lines.push(`${summary.xmpInCopies} copie(s) carry their rating, label and pick in their own XMP.`);
    if (summary.copiedInsteadOfLinked) lines.push(`${summary.copiedInsteadOfLinked} photo(s) were copied instead of hard-linked (another drive, or no hard links there).`);
    if (summary.alreadyExported) lines.push(`${summary.alreadyExported} photo(s) were already there (identical files) and were not copied again.`);
    if (summary.report) lines.push(`Report: ${safe(summary.report)}`);
    return lines.join('\n');
  });
}

/** Adds `rate` and `export`. */
export function registerCullingCommands(program: Command, { withLibrary, print, globals }: Cli): void {
  program
    .command('rate')
    .description('flag, rate or label photos (by path, file name or #id); originals are never touched')
    .argument('<photos...>')
    .option('--pick', 'flag as pick')
    .option('--reject', 'flag as reject')
    .option('--unflag', 'remove the flag')
    .option('--stars <n>', 'star rating 0–5', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 5) throw new InvalidArgumentError('expected 0 to 5');
      return n;
    })
    .addOption(new Option('--label <color>', 'colour label').choices([...LABELS, 'none']))
    .action(async (refs: string[], o) => {
      const flags = [o.pick, o.reject, o.unflag].filter(Boolean).length;
      if (flags > 1) throw new Error('Choose one of --pick, --reject, --unflag.');
      if (!flags && o.stars === undefined && o.label === undefined) throw new Error('Say what to set: --pick, --reject, --unflag, --stars N or --label COLOR.');
      await withLibrary(async (lib) => {
        const photos = await Promise.all(refs.map((r) => lib.resolvePhoto(r)));
        await lib.setCulling(
          photos.map((p) => p.id),
          {
            ...(o.pick ? { flag: 1 as const } : o.reject ? { flag: -1 as const } : o.unflag ? { flag: 0 as const } : {}),
            ...(o.stars !== undefined ? { rating: o.stars } : {}),
            ...(o.label !== undefined ? { label: o.label === 'none' ? null : o.label } : {}),
          },
        );
        const after = await Promise.all(photos.map((p) => lib.photo(p.id)));
        print(after, () =>
          table(after.filter((p) => p !== null), [
            { header: 'flag', value: (p) => flagName(p.flag) },
            { header: 'stars', value: (p) => stars(p.rating) },
            { header: 'label', value: (p) => p.label ?? '' },
            { header: 'path', value: (p) => p.path },
          ]),
        );
      }, { catalog: true }); // needs no model
    });


  program
    .command('export')
    .description('copy (or hard-link) the top photos to a folder, with an optional report and XMP sidecars')
    .requiredOption('--to <dir>', 'destination folder (created if needed; nothing there is overwritten)')
    .option('--by <attribute>', 'rank by this attribute or combination (e.g. "good vs bad", @quality)')
    .option('--top <n|n%>', 'how many of the ranked photos', parseTop)
    .option('--min <score>', 'only photos scoring at least this (0–1)', parseScore)
    .option('--picks', 'only photos flagged as picks')
    .option('--min-rating <n>', 'only photos with at least this many stars', Number)
    .option('--folder <dir>', 'only photos in this folder')
    .option('--link', "hard-link instead of copying (same disk only; falls back to copying). Copy is the default: a hard link shares the original's bytes: editing the exported file edits the original")
    .option('--xmp', 'also write XMP sidecars (rating, reject, label) next to the originals, merged into existing ones')
    .option('--no-embed-xmp', "leave the copies as they are (default: each copy carries rating, label and a pick keyword in its own XMP: embedded in JPEGs without re-encoding, a sidecar beside other copies)")
    .option('--xmp-target <app>', 'extra XMP fields for: standard (Lightroom, Bridge, Capture One, darktable), digikam (ColorLabel, PickLabel), photomechanic (ColorClass)', 'standard')
    .option('--report <file>', 'write a CSV or JSON report (by extension) with every score')
    .action(async (o) => {
      if (!['standard', 'digikam', 'photomechanic'].includes(o.xmpTarget)) throw new Error(`--xmp-target must be standard, digikam or photomechanic, not "${o.xmpTarget}".`);
      if (!o.by && !o.picks && o.minRating === undefined) throw new Error('Say what to export: --by ATTRIBUTE (with --top), --picks or --min-rating N.');
      await withLibrary(async (lib) => {
        let summary: ExportResult;
        try {
          summary = await lib.exportSelection({
            by: o.by,
            top: o.top,
            minScore: o.min,
            filter: filterFrom(o),
            to: path.resolve(o.to),
            mode: o.link ? 'link' : 'copy',
            xmp: Boolean(o.xmp),
            embedXmp: o.embedXmp !== false,
            xmpTarget: o.xmpTarget,
            report: o.report ? path.resolve(o.report) : undefined,
            onProgress: (done, total) => {
              if (!globals().json && process.stderr.isTTY) process.stderr.write(`\rExporting ${done}/${total}`);
            },
          });
        } catch (err) {
          // Copies were made, then a later step failed: show what was done; the error says what failed.
          if (err instanceof ExportIncompleteError) printExport(print, err.partial);
          throw err;
        } finally {
          if (!globals().json && process.stderr.isTTY) process.stderr.write('\n');
        }
        printExport(print, summary);
        if (o.by) {
          // Ranked: photos listed but not embedded yet (an index stopped or still going) have no score to rank by.
          const pending = (await lib.photos(filterFrom(o))).filter((p) => p.unscored).length;
          if (pending) process.stderr.write(`Note: ${pending} photo(s) of this selection are not scored yet (indexing has not analysed them), so the ranking left them out: run cull index, then export again.\n`);
        }
        if (summary.failed.length || summary.xmpFailed.length) process.exitCode = 1;
      }, { catalog: !o.by }); // by rating or flag: no model
    });
}
