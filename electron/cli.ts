// `cull`: the app's main job without a window. Every command goes through the same services facade
// (electron/services/library.ts) as the desktop app.
import { describeOutside } from '../common/outside.ts';
import { Command, Option, InvalidArgumentError } from 'commander';
import path from 'node:path';
import { Library } from './services/library.ts';
import type { ExportResult } from './services/culling/export.ts';
import { ExportIncompleteError } from './services/culling/export-failures.ts';
import { chooseModel, listModels, downloadKnownModel, verifyKnownModel } from './services/model-source.ts';
import { defaultDbPath } from './services/paths.ts';
import { readRememberedModel } from '../db/library-model.ts';
import { LABELS, type Label, type PhotoFilter, type ScoredPhoto } from '../common/types.ts';
import { table, flagName, stars, formatDuration, formatBytes, terminalSafe, safeJson } from './cli/format.ts';
import { indexBar, downloadBar } from './cli/progress.ts';
import { registerIntelligenceCommands } from './cli/intelligence-commands.ts';
import { facesLines, registerFacesCommands } from './cli/faces-commands.ts';
import { facesAnalyzedCount } from '../db/faces.ts';
import { FACE_SIGNALS, FACES_NOT_ANALYSED } from './services/signals/faces.ts';
import { technicalCount } from '../db/technical.ts';
import { NOT_MEASURED } from './services/signals/technical.ts';
import { UserError } from '../common/errors.ts';

interface GlobalOptions {
  db?: string;
  model?: string;
  quantized?: boolean;
  threads?: number;
  json?: boolean;
}

const program = new Command();
program
  .name('cull')
  .description('Index photos once, then sort them by any attribute you type ("sharp vs blurry", "scary vs peaceful").')
  .option('--db <file>', 'library database (default: one library in your user data folder)')
  .option('--model <dir|id>', 'CLIP model folder, or a known model id (default: the model the library was indexed with, else $CULL_MODEL_DIR, else clip-vit-b-32)')
  .option('--quantized', 'use the int8 *_quantized.onnx variant of the model')
  .option('--threads <n>', 'inference threads (default: all cores)', parsePositiveInt)
  .option('--json', 'machine output: JSON instead of tables')
  .showHelpAfterError();

function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

function parseTop(v: string): string {
  if (!/^\d+(\.\d+)?%?$/.test(v) || Number.parseFloat(v) <= 0) throw new InvalidArgumentError('expected a count like 20 or a share like 10%');
  return v;
}

function parseScore(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a score between 0 and 1');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function globals(): GlobalOptions {
  return program.opts<GlobalOptions>();
}

/**
 * Opens the library with the model it remembers (the one it was indexed with) unless --model asks
 * for another; `catalog`: without any model, for commands that need none (nothing loaded or downloaded).
 */
async function openLibrary(opts: { catalog?: boolean } = {}): Promise<Library> {
  const g = globals();
  const dbPath = g.db ?? defaultDbPath();
  if (opts.catalog) return Library.open({ dbPath, catalog: true });
  const bar = downloadBar();
  try {
    const remembered = readRememberedModel(dbPath);
    const { info: model, source } = await chooseModel({ model: g.model, quantized: g.quantized, remembered, onDownloadProgress: bar.onProgress });
    bar.stop();
    if (model.randomWeights && !g.json) {
      process.stderr.write(
        `Note: using ${model.id}, a generated test model with random weights: its scores carry no meaning.\n`,
      );
    }
    const lib = await Library.open({ dbPath, model, modelSource: source, threads: g.threads });
    const change = lib.modelChange;
    if (change) {
      process.stderr.write(
        `Note: this library was indexed with ${change.from.name} (${change.from.id}); using ${change.to.name} (${change.to.id}) as asked. ` +
          `Its embeddings are separate: cull index will embed the library's ${change.toEmbed} photo(s) again with it, ` +
          'and from then on the library uses it without --model.\n',
      );
    }
    return lib;
  } finally {
    bar.stop();
  }
}

async function withLibrary<T>(fn: (lib: Library) => Promise<T>, opts: { catalog?: boolean } = {}): Promise<T> {
  const lib = await openLibrary(opts);
  try {
    return await fn(lib);
  } finally {
    await lib.close();
  }
}

/**
 * Writes --json output or the human text. Paths and names in the human text are escaped where they
 * are put in (`terminalSafe`, tables do it per cell); any control character other than a line end
 * that still got through is escaped here, so nothing from a file name drives the terminal.
 */
function print(json: unknown, human: () => string): void {
  process.stdout.write((globals().json ? safeJson(json, 2) : terminalLines(human())) + '\n');
}

const terminalLines = (text: string) => text.split('\n').map(terminalSafe).join('\n');
const safe = terminalSafe;

function scoreTable(rows: ScoredPhoto[], digits = 3): string {
  if (!rows.length) return 'No photos match.';
  return table(rows, [
    { header: '#', value: (_r) => String(rows.indexOf(_r) + 1), align: 'right' },
    { header: 'score', value: (r) => r.score.toFixed(digits), align: 'right' },
    ...(rows[0].parts && Object.keys(rows[0].parts).length > 1
      ? Object.keys(rows[0].parts).map((k) => ({ header: k, value: (r: ScoredPhoto) => (r.parts?.[k] ?? NaN).toFixed(digits), align: 'right' as const }))
      : []),
    { header: 'path', value: (r) => r.path },
  ]);
}

function filterFrom(opts: { folder?: string; minRating?: number; picks?: boolean; label?: string }): PhotoFilter {
  const filter: PhotoFilter = {};
  if (opts.folder) filter.folder = path.resolve(opts.folder);
  if (opts.minRating !== undefined) filter.minRating = opts.minRating;
  if (opts.picks) filter.flag = 1;
  if (opts.label) filter.label = opts.label as Label;
  return filter;
}

function queryText(words: string[], pos: string[], neg: string[]): string {
  if (pos.length || neg.length) {
    if (!pos.length || !neg.length) throw new Error('--pos and --neg go together: give at least one of each.');
    if (words.length) throw new Error('Give either an attribute ("sharp vs blurry") or --pos/--neg prompts, not both.');
    const side = (ps: string[]) => ps.map((p) => JSON.stringify(p)).join(' | ');
    return `${side(pos)} vs ${side(neg)}`;
  }
  const text = words.join(' ').trim();
  if (!text) throw new Error('Type an attribute, e.g. cull score "sharp vs blurry", or a preset such as @quality (see cull presets).');
  return text;
}

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

program
  .command('score')
  .description('rank photos by an antonym pair, a combination or a preset: "sharp vs blurry", "@quality + 0.5*bright vs dark"')
  .argument('[attribute...]', 'what to score')
  .option('--pos <prompt>', 'positive prompt (repeatable; averaged)', collect, [])
  .option('--neg <prompt>', 'negative prompt (repeatable; averaged)', collect, [])
  .option('--top <n|n%>', 'only the best N photos, or the best N%', parseTop)
  .option('--min <score>', 'only photos scoring at least this (0–1)', parseScore)
  .option('--folder <dir>', 'only photos in this folder')
  .option('--min-rating <n>', 'only photos with at least this many stars', Number)
  .option('--picks', 'only photos flagged as picks')
  .action(async (words: string[], o) => {
    const text = queryText(words, o.pos, o.neg);
    await withLibrary(async (lib) => {
      const rows = await lib.score(text, { filter: filterFrom(o), top: o.top, minScore: o.min });
      print(rows, () => scoreTable(rows));
      if (/@\s*(focus|exposure|clean)\b/i.test(text)) {
        const [measured, { embedded }] = [technicalCount(lib.db), await lib.stats()];
        if (measured < embedded) console.error(`Note: ${embedded - measured} of ${embedded} photos have no @focus/@exposure/@clean value (${NOT_MEASURED}); they are left out.`);
      }
      if (/@\s*(eyes-open|face-focus)\b/i.test(text)) {
        const [analysed, { embedded }] = [facesAnalyzedCount(lib.db), await lib.stats()];
        if (analysed < embedded) console.error(`Note: ${embedded - analysed} of ${embedded} photos have no @eyes-open/@face-focus value (${FACES_NOT_ANALYSED}); they are left out.`);
      }
    });
  });

program
  .command('search')
  .description('find photos by free text ("bride laughing in the rain"), ranked by cosine similarity')
  .argument('<text...>')
  .option('--top <n|n%>', 'how many (default 20)', parseTop, '20')
  .option('--folder <dir>', 'only photos in this folder')
  .action(async (words: string[], o) => {
    await withLibrary(async (lib) => {
      const rows = await lib.search(words.join(' '), { filter: filterFrom(o), top: o.top });
      print(rows, () => scoreTable(rows));
    });
  });

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

/** An export's outcome in the terminal: every failure counted and listed (copies, XMP sidecars). */
function printExport(summary: ExportResult): void {
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
        if (err instanceof ExportIncompleteError) printExport(err.partial);
        throw err;
      } finally {
        if (!globals().json && process.stderr.isTTY) process.stderr.write('\n');
      }
      printExport(summary);
      if (o.by) {
        // Ranked: photos listed but not embedded yet (an index stopped or still going) have no score to rank by.
        const pending = (await lib.photos(filterFrom(o))).filter((p) => p.unscored).length;
        if (pending) process.stderr.write(`Note: ${pending} photo(s) of this selection are not scored yet (indexing has not analysed them), so the ranking left them out: run cull index, then export again.\n`);
      }
      if (summary.failed.length || summary.xmpFailed.length) process.exitCode = 1;
    }, { catalog: !o.by }); // by rating or flag: no model
  });

program
  .command('explain')
  .description('show how each preset (and an optional attribute) scored one photo')
  .argument('<photo>', 'path, file name or #id')
  .option('--by <attribute>', 'also this attribute or combination')
  .action(async (ref: string, o) => {
    await withLibrary(async (lib) => {
      const photo = await lib.resolvePhoto(ref);
      const parts = await lib.explainAll(photo.id, o.by);
      const faces = await lib.photoFaces({ id: photo.id });
      const o2 = photo.outside;
      const outside = describeOutside(o2);
      const outsideLine = outside ? `From another application: ${outside}` : null;
      print({ path: photo.path, scores: parts, faces, culling: { rating: photo.rating, flag: photo.flag, label: photo.label }, outside: o2 ?? null }, () =>
        [safe(photo.path), `Culling: ${photo.flag === 1 ? 'pick, ' : photo.flag === -1 ? 'reject, ' : ''}${photo.rating} star(s)${photo.label ? `, ${photo.label}` : ''}`, ...(outsideLine ? [outsideLine] : []), ...facesLines(faces as Parameters<typeof facesLines>[0]), table(Object.entries(parts), [
          { header: 'attribute', value: ([k]) => k },
          { header: 'score', value: ([, v]) => (Number.isNaN(v) ? '–' : v.toFixed(3)), align: 'right' },
          { header: '', value: ([k, v]) => (Number.isNaN(v) ? noValueNote(k, faces.analyzed) : '█'.repeat(Math.round(v * 20))) },
        ])].join('\n'),
      );
    });
  });

/** Why a signal has no value for a photo, for explain's table. */
function noValueNote(label: string, facesAnalysed: boolean): string {
  if (label === FACE_SIGNALS['face-focus'].label && facesAnalysed) return 'no face to measure';
  return Object.values(FACE_SIGNALS).some((s) => s.label === label) ? FACES_NOT_ANALYSED : NOT_MEASURED;
}

program
  .command('presets')
  .description('list the built-in attributes (use them as @id)')
  .action(async () => {
    const { presetInfos } = await import('./services/signals/presets.ts');
    const rows = presetInfos();
    print(rows, () => table(rows, [
      { header: 'id', value: (p) => '@' + p.id },
      { header: 'attribute', value: (p) => p.label },
      { header: 'what it measures', value: (p) => p.description },
    ]));
  });

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

const models = program.command('models').description('CLIP models: list, download, verify');
models
  .command('list')
  .description('known models and whether they are downloaded')
  .action(async () => {
    const rows = await listModels();
    print(rows, () => table(rows, [
      { header: 'id', value: (m) => m.id + (m.isDefault ? ' (default)' : '') },
      { header: 'name', value: (m) => m.name },
      { header: 'size', value: (m) => (m.bytes ? formatBytes(m.bytes) : '?'), align: 'right' },
      { header: 'status', value: (m) => (m.installed ? `downloaded: ${m.dir}` : 'not downloaded') },
    ]));
  });
models
  .command('download')
  .description('download a model (resumable; every file checked against its published SHA-256)')
  .argument('[id]', 'model id (default: clip-vit-b-32)')
  .action(async (id?: string) => {
    const bar = downloadBar();
    try {
      const info = await downloadKnownModel(id, { quantized: globals().quantized, onProgress: bar.onProgress });
      bar.stop();
      print(info, () => `Downloaded and verified ${info.name} into ${info.dir}`);
    } finally {
      bar.stop();
    }
  });
models
  .command('verify')
  .description('recompute every file hash of a downloaded model, compare with its manifest, and run the canary (a grey image vs the published embedding)')
  .argument('[id|dir]', 'model id or folder (default: clip-vit-b-32)')
  .action(async (ref?: string) => {
    const result = await verifyKnownModel(ref);
    print(result, () =>
      result.ok
        ? `OK: ${result.files} file(s) in ${result.dir} match their SHA-256.\n${result.canary.status === 'none' ? `Canary: ${result.canary.message}.` : result.canary.message}`
        : `FAILED: ${result.problems.join('; ')}`);
    if (!result.ok) process.exitCode = 1;
  });

registerIntelligenceCommands(program, withLibrary, print);
registerFacesCommands(program, withLibrary, print);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`cull: ${terminalLines(err instanceof UserError ? err.fullText : (err as Error).message)}\n`);
  process.exitCode = process.exitCode || 1;
}
