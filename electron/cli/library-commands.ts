// `cull index` (add folders and index them, stoppable with Ctrl+C, resumed by the next run) and
// `cull stats` (what the library holds). Registered on the program by electron/cli.ts.
import type { Command } from 'commander';
import path from 'node:path';
import type { Cli } from './context.ts';
import { formatDuration, terminalSafe as safe } from './format.ts';
import { indexBar } from './progress.ts';

/** Adds `index`. */
export function registerIndexCommand(program: Command, { withLibrary, print }: Cli): void {
  program
    .command('index')
    .description(
      'add folders to the library and index them: each photo is stored with its thumbnail as it is read, its embedding and scores follow ' +
        '(incremental; Ctrl+C stops, the next run resumes). The command line has no separate "add": folders given here are added, and indexing runs only when asked (the window starts it as soon as a folder is added)',
    )
    .argument('[folders...]', 'folders to add and index (default: the folders already in the library)')
    .action(async (folders: string[]) => {
      await withLibrary(async (lib) => {
        const roots = folders.map((f) => path.resolve(f));
        for (const r of roots) await lib.addRoot(r);
        const bar = indexBar();
        const controller = new AbortController();
        const onSigint = () => {
          process.stderr.write('\nStopping after the current batch (press Ctrl+C again to quit now)...\n');
          controller.abort();
          process.once('SIGINT', () => process.exit(130));
        };
        process.once('SIGINT', onSigint);
        const summary = await lib.index(roots.length ? roots : undefined, { onProgress: bar.onProgress, signal: controller.signal });
        process.off('SIGINT', onSigint);
        bar.stop();
        print(summary, () => {
          const lines = summary.errors.map((e) => `  failed: ${safe(e.path)}: ${safe(e.reason)}`);
          lines.push(
            `${summary.cancelled ? 'Stopped' : 'Done'} in ${formatDuration(summary.seconds)}: ${summary.indexed} indexed, ${summary.skipped} unchanged, ${summary.failed} failed` +
              (summary.renamed ? `, ${summary.renamed} moved/renamed (ratings kept)` : '') +
              (summary.missing ? `, ${summary.missing} missing from disk (kept with their ratings)` : '') +
              '.',
          );
          if (summary.duplicates) lines.push(`${summary.duplicates} file(s) are copies of others (same size, same first and last 64 KiB).`);
          return lines.join('\n');
        });
      });
    });
}

/** Adds `stats`. */
export function registerStatsCommand(program: Command, { withLibrary, print }: Cli): void {
  program
    .command('stats')
    .description('what the library holds')
    .action(async () => {
      await withLibrary(async (lib) => {
        const s = await lib.stats();
        print(s, () =>
          [
            s.model.id
              ? `Model:     ${s.model.name} (${s.model.id})${s.model.randomWeights ? ' — random weights, scores carry no meaning' : ''}`
              : 'Model:     none yet (cull index chooses one and the library remembers it)',
            `Folders:   ${s.roots.map(safe).join(', ') || '(none)'}`,
            `Photos:    ${s.photos} (${s.embedded} embedded, ${s.failed} failed, ${s.missing} missing from disk)`,
            // Listed but not embedded: a run stopped or still going; these have no score yet.
            ...(s.photos - s.failed - s.missing > s.embedded ? [`Pending:   ${s.photos - s.failed - s.missing - s.embedded} photo(s) listed but not scored yet: run cull index to finish`] : []),
            `Culling:   ${s.picks} picks, ${s.rejects} rejects, ${s.rated} rated`,
            ...(s.stars && Object.keys(s.stars).length ? [`Stars:     ${Object.entries(s.stars).map(([k, n]) => `${'★'.repeat(Number(k))} ${n}`).join(', ')}`] : []),
            ...(s.labels && Object.keys(s.labels).length ? [`Labels:    ${Object.entries(s.labels).map(([k, n]) => `${k} ${n}`).join(', ')}`] : []),
            ...(s.outside?.photos ? [`From XMP:  ${s.outside.photos} photo(s) with other applications' decisions (${s.outside.sidecar} sidecar, ${s.outside.embedded} embedded), ${s.outside.taken} taken`] : []),
          ].join('\n'),
        );
      }, { catalog: true }); // the remembered model, not loaded
    });
}
