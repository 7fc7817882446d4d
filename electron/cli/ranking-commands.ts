// The ranking commands: `cull score` (an attribute, a combination or a preset), `cull search` (free
// text), `cull explain` (how every preset, and an optional attribute, scored one photo, with its
// faces) and `cull presets` (the built-in attributes). Registered on the program by electron/cli.ts.
import type { Command } from 'commander';
import { describeOutside } from '../../common/outside.ts';
import type { ScoredPhoto } from '../../common/types.ts';
import { facesAnalyzedCount } from '../../db/faces.ts';
import { technicalCount } from '../../db/technical.ts';
import { FACE_SIGNALS, FACES_NOT_ANALYSED } from '../services/signals/faces.ts';
import { NOT_MEASURED } from '../services/signals/technical.ts';
import { collect, filterFrom, parseScore, parseTop, type Cli } from './context.ts';
import { facesLines } from './faces-commands.ts';
import { table, terminalSafe as safe } from './format.ts';

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

/** Why a signal has no value for a photo, for explain's table. */
function noValueNote(label: string, facesAnalysed: boolean): string {
  if (label === FACE_SIGNALS['face-focus'].label && facesAnalysed) return 'no face to measure';
  return Object.values(FACE_SIGNALS).some((s) => s.label === label) ? FACES_NOT_ANALYSED : NOT_MEASURED;
}

/** Adds `score` and `search`. */
export function registerScoreCommands(program: Command, { withLibrary, print }: Cli): void {
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
}

/** Adds `explain`. */
export function registerExplainCommand(program: Command, { withLibrary, print }: Cli): void {
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
}

/** Adds `presets`. */
export function registerPresetsCommand(program: Command, { print }: Cli): void {
  program
    .command('presets')
    .description('list the built-in attributes (use them as @id)')
    .action(async () => {
      const { presetInfos } = await import('../services/signals/presets.ts');
      const rows = presetInfos();
      print(rows, () => table(rows, [
        { header: 'id', value: (p) => '@' + p.id },
        { header: 'attribute', value: (p) => p.label },
        { header: 'what it measures', value: (p) => p.description },
      ]));
    });
}
