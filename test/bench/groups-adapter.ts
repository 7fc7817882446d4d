// Grouping benchmark glue: electron/services/groups.ts is being written beside this benchmark, so
// it is loaded at run time and its entry point looked up, rather than imported statically.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Library } from '../../electron/services/library.ts';
import { median, round } from './util.ts';

export async function runGroups(lib: Library): Promise<{ ms: number; groups: number; grouped: number } | { unavailable: string }> {
  const file = path.resolve(import.meta.dirname, '../../electron/services/groups.ts');
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const fn = mod.groupPhotos ?? mod.findGroups ?? mod.groupLibrary;
  if (typeof fn !== 'function') return { unavailable: `groups.ts exports no groupPhotos/findGroups/groupLibrary (exports: ${Object.keys(mod).join(', ')})` };
  const call = () => (fn as (db: unknown, matrix: unknown) => unknown)(lib.db, lib.matrix);
  const times: number[] = [];
  let result: unknown;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    result = await call();
    times.push(performance.now() - t);
  }
  const list = Array.isArray(result) ? result : ((result as { groups?: unknown[] })?.groups ?? []);
  const grouped = list.reduce((n: number, g) => n + (((g as { ids?: unknown[]; photoIds?: unknown[] }).ids ?? (g as { photoIds?: unknown[] }).photoIds ?? []).length), 0);
  return { ms: round(median(times), 1), groups: list.length, grouped };
}
