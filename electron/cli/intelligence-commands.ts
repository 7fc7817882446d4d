// `cull groups` (bursts and near-duplicates, keep the best) and `cull taste` (a model of your own
// picks and rejects). Registered on the main program by electron/cli.ts; the library opening
// and the table/JSON printing are cli/context.ts's, passed in.
import { Command, InvalidArgumentError } from 'commander';
import path from 'node:path';
import type { TasteModelInfo } from '../../db/taste.ts';
import { DEFAULT_STRICTNESS, groupingThresholds, type LibraryPhotoGroup } from '../services/culling/groups.ts';
import { DEFAULT_TASTE, FEW_TASTE_DECISIONS, describeTaste } from '../services/signals/taste.ts';
import type { PhotoFilter } from '../../common/types.ts';
import type { Cli } from './context.ts';
import { table } from './format.ts';

function parseStrictness(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 100)) throw new InvalidArgumentError('expected a number from 0 (loose) to 100 (strict)');
  return n;
}

function parseCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

function folderFilter(folder: string | undefined): PhotoFilter | undefined {
  return folder ? { folder: path.resolve(folder) } : undefined;
}

/** "a.jpg, b.jpg, c.jpg … (+4)" within about `width` characters. */
function names(paths: string[], width = 60): string {
  const out: string[] = [];
  let used = 0;
  for (const p of paths) {
    const n = path.basename(p);
    if (out.length && used + n.length > width) return `${out.join(', ')} … (+${paths.length - out.length})`;
    out.push(n);
    used += n.length + 2;
  }
  return out.join(', ');
}

function groupsTable(groups: LibraryPhotoGroup[]): string {
  if (!groups.length) return 'No bursts or near-duplicates at this strictness.';
  const rows = groups.map((g, i) => ({ g, i }));
  return table(rows, [
    { header: '#', value: ({ i }) => String(i + 1), align: 'right' },
    { header: 'size', value: ({ g }) => String(g.ids.length), align: 'right' },
    { header: 'reason', value: ({ g }) => g.reason },
    { header: 'best', value: ({ g }) => `${path.basename(g.paths[0])}${g.scores.length ? ` (${g.scores[0].toFixed(3)})` : ''}` },
    { header: 'others (candidates to reject)', value: ({ g }) => names(g.paths.slice(1)) },
  ]);
}

function tasteTable(models: TasteModelInfo[]): string {
  if (!models.length) return 'No taste models yet: pick and reject some photos, then run cull taste fit.';
  return table(models, [
    { header: 'name', value: (m) => m.name },
    { header: 'decisions', value: (m) => String(m.examples), align: 'right' },
    { header: 'picks', value: (m) => String(m.picks), align: 'right' },
    { header: 'rejects', value: (m) => String(m.rejects), align: 'right' },
    { header: 'rated', value: (m) => String(m.rated), align: 'right' },
    { header: 'CV rank corr.', value: (m) => (m.validation === null ? '' : m.validation.toFixed(2)), align: 'right' },
    { header: 'AUC', value: (m) => (m.auc === null ? '' : m.auc.toFixed(2)), align: 'right' },
    { header: 'scope', value: (m) => m.scope?.folder ?? 'whole library' },
    { header: 'fitted', value: (m) => new Date(m.createdAt).toISOString().slice(0, 16).replace('T', ' ') },
  ]);
}

/** Adds `groups` and `taste` (fit, list, delete) to `program`. */
export function registerIntelligenceCommands(program: Command, { withLibrary, print }: Cli): void {
  const def = groupingThresholds(DEFAULT_STRICTNESS);
  program
    .command('groups')
    .description('find bursts and near-duplicates and propose the best of each (the others are candidates to reject)')
    .option(
      '--strictness <0-100>',
      `how alike photos must be: 0 loose … 100 strict (default ${DEFAULT_STRICTNESS}: cosine ≥ ${def.cosine.toFixed(2)}, bursts ≤ ${(def.burstGapMs / 1000).toFixed(1)} s apart)`,
      parseStrictness,
    )
    .option('--by <attribute>', 'what makes the best photo of a group (default "@quality + @sharpness"; also @laion, @taste)')
    .option('--folder <dir>', 'only photos in this folder')
    .option('--include-rejected', 'also group photos already rejected')
    .option('--reject-others', 'apply the proposal: reject every photo of each group except its best (picks are kept)')
    .option('--limit <n>', 'show only the first N groups', parseCount)
    .option('--by-time', 'bursts by capture time and camera alone: needs no model (best: your pick, then the most stars, then the first frame)')
    .action(async (o) => {
      if (o.byTime && o.by) throw new Error('--by-time groups without the model, so it cannot rank by --by: give one of them.');
      await withLibrary(async (lib) => {
        const query = { strictness: o.strictness, filter: folderFilter(o.folder), includeRejected: Boolean(o.includeRejected) };
        const groups = o.byTime ? await lib.bursts(query) : await lib.groups({ ...query, by: o.by });
        if (o.rejectOthers) {
          const previous = await lib.rejectGroupCandidates(groups);
          const summary = { groups: groups.length, rejected: previous.map((p) => p.id), previous };
          print(summary, () =>
            groups.length
              ? `Rejected ${previous.length} photo(s) in ${groups.length} group(s), keeping the best of each (photos you had picked were left alone). Undo one with cull rate --unflag PHOTO.`
              : 'No bursts or near-duplicates at this strictness: nothing to reject.',
          );
          return;
        }
        const shown = o.limit ? groups.slice(0, o.limit) : groups;
        print(shown, () => {
          const others = groups.reduce((s, g) => s + g.ids.length - 1, 0);
          const lines = [groupsTable(shown)];
          if (shown.length < groups.length) lines.push(`… ${groups.length - shown.length} more group(s).`);
          // Why a best is not the top score: a blinked or soft frame passed over (culling/flaws.ts).
          shown.forEach((g, i) => g.why.forEach((w) => lines.push(`Group ${i + 1}: ${w}`)));
          if (groups.length) {
            lines.push(`${groups.length} group(s), ${others} candidate(s) to reject; best by ${groups[0].by}. Apply with cull groups --reject-others.`);
          }
          return lines.join('\n');
        });
      }, { catalog: Boolean(o.byTime) }); // by capture time: no model loaded or downloaded
    });

  const taste = program.command('taste').description('a model of your own taste, learned from your picks, rejects and star ratings (sort by it with @taste)');
  taste
    .command('fit')
    .description('fit (or refit) a taste model on the decisions made so far')
    .option('--name <name>', `model name, e.g. a client or a genre (default "${DEFAULT_TASTE}"; score with @taste:NAME)`)
    .option('--folder <dir>', 'learn only from photos in this folder (kept for later refits)')
    .option('--no-outside', "leave out decisions read from other applications' XMP (kept for later refits)")
    .action(async (o) => {
      await withLibrary(async (lib) => {
        const t = performance.now();
        const filter = o.outside === false ? { ...folderFilter(o.folder), outside: false } : folderFilter(o.folder);
        const m = await lib.fitTaste(o.name, { filter });
        const seconds = (performance.now() - t) / 1000;
        const warnings: string[] = [];
        if (m.examples < FEW_TASTE_DECISIONS) {
          warnings.push(`Only ${m.examples} decisions: the model is a rough guess until you have made at least ${FEW_TASTE_DECISIONS}.`);
        }
        if (m.validation !== null && m.validation < 0.1) {
          warnings.push('Its cross-validated rank correlation is near zero: your decisions are not predictable from the photos yet. Make more of them.');
        }
        print({ ...m, seconds, warnings }, () =>
          [
            `Fitted "${m.name}" in ${seconds.toFixed(2)} s: ${describeTaste(m)}.`,
            ...warnings.map((w) => `Warning: ${w}`),
            `Sort by it with cull score ${m.name === DEFAULT_TASTE ? '@taste' : JSON.stringify(`@taste:${m.name}`)}.`,
          ].join('\n'),
        );
      });
    });
  taste
    .command('list')
    .description('the taste models of this library and how well each predicts your decisions')
    .action(async () => {
      await withLibrary(async (lib) => {
        const models = await lib.tasteModels();
        print(models, () => tasteTable(models));
      });
    });
  taste
    .command('delete')
    .description('forget a taste model (your decisions stay)')
    .argument('<name>')
    .action(async (name: string) => {
      await withLibrary(async (lib) => {
        const deleted = await lib.deleteTaste(name);
        if (!deleted) throw new Error(`There is no taste model "${name}" (see cull taste list).`);
        print({ deleted: name }, () => `Deleted taste model "${name}".`);
      });
    });
}
