// What every `cull` command shares: the global options (--db, --model, --quantized, --threads,
// --json), opening the library with the right model (`withLibrary`), printing JSON or terminal-safe
// text (`print`), and the parsers and filter of the options several commands take. The commands
// themselves live in the *-commands.ts files beside this one; electron/cli.ts puts them together.
import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import type { Label, PhotoFilter } from '../../common/types.ts';
import { readRememberedModel } from '../../db/library-model.ts';
import { Library } from '../services/library.ts';
import { chooseModel } from '../services/model-source.ts';
import { defaultDbPath } from '../services/paths.ts';
import { safeJson, terminalSafe } from './format.ts';
import { downloadBar } from './progress.ts';

export interface GlobalOptions {
  db?: string;
  model?: string;
  quantized?: boolean;
  threads?: number;
  json?: boolean;
}

export type WithLibrary = <T>(fn: (lib: Library) => Promise<T>, opts?: { catalog?: boolean }) => Promise<T>;
export type Print = (json: unknown, human: () => string) => void;

/** What a command file is given: the global options, the library and the printer. */
export interface Cli {
  globals(): GlobalOptions;
  /** Opens the library, runs `fn`, closes it; `catalog`: without any model (see createCli). */
  withLibrary: WithLibrary;
  print: Print;
}

export function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

export function parseTop(v: string): string {
  if (!/^\d+(\.\d+)?%?$/.test(v) || Number.parseFloat(v) <= 0) throw new InvalidArgumentError('expected a count like 20 or a share like 10%');
  return v;
}

export function parseScore(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a score between 0 and 1');
  return n;
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The photo filter of --folder, --min-rating, --picks and --label. */
export function filterFrom(opts: { folder?: string; minRating?: number; picks?: boolean; label?: string }): PhotoFilter {
  const filter: PhotoFilter = {};
  if (opts.folder) filter.folder = path.resolve(opts.folder);
  if (opts.minRating !== undefined) filter.minRating = opts.minRating;
  if (opts.picks) filter.flag = 1;
  if (opts.label) filter.label = opts.label as Label;
  return filter;
}

/** Each line terminalSafe: no control character other than the line ends reaches the terminal. */
export const terminalLines = (text: string) => text.split('\n').map(terminalSafe).join('\n');

/** The shared parts over `program`'s global options (read when a command runs, after parsing). */
export function createCli(program: Command): Cli {
  const globals = () => program.opts<GlobalOptions>();

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

  return { globals, withLibrary, print };
}
