// The method table: for every transported CullApi method (common/api-types.ts API_METHODS) how many
// arguments it takes, how they are validated and what runs the call. The IPC handlers
// (electron/transport/ipc.ts) and the HTTP routes (electron/transport/server.ts) are made from its
// keys by the dispatcher (electron/transport/dispatch.ts); the preload and the renderer's clients
// from the same names in common/. Errors are mapped by class, not here: throw a UserError
// (common/errors.ts) for anything the user can fix.
//
// Adding a method: declare its signature in API_METHODS (common/api-types.ts), then add its entry
// here (this file does not compile until you do) and, if the handler calls something new on the
// library, that method in electron/services/library.ts.
import path from 'node:path';
import type { ApiMethodName, TransportedApi } from '../../common/api-types.ts';
import { API_METHOD_NAMES } from '../../common/api-types.ts';
import type { ExportOptions, ExportSummary, IndexProgress, IndexSummary } from '../../common/types.ts';
import { NotFoundError, UserError } from '../../common/errors.ts';
import type { Jobs } from './jobs.ts';
import {
  LIMITS,
  absent,
  checkAbsolutePath,
  checkCullingChange,
  checkFilter,
  checkGroupList,
  checkGroupsOptions,
  checkId,
  checkIds,
  checkInsideRoots,
  checkNumber,
  checkPhotoRef,
  checkPreviousCulling,
  checkQuery,
  checkScoreOptions,
  checkString,
  checkTasteName,
  describe,
  type ValidationContext,
} from './validate.ts';
import { checkLibraryFolder } from './typed-paths.ts';
import { checkExportOptions } from './export-request.ts';

/**
 * The part of electron/services/library.ts `Library` the transports use (structural, so tests can
 * fake it): every transported method with the same signature, except those the table serves
 * without the facade (model, jobs) or from differently shaped facade calls, listed below.
 */
export interface LibraryApi
  extends Omit<TransportedApi, 'modelStatus' | 'downloadModel' | 'cancelDownload' | 'index' | 'cancelIndex' | 'exportPhotos' | 'cancelExport' | 'explainAll'> {
  readonly model: { id: string; name: string; randomWeights: boolean; architecture: string | null; dir?: string };
  index(
    roots: string[] | undefined,
    opts?: { onProgress?: (p: IndexProgress) => void; signal?: AbortSignal },
  ): Promise<IndexSummary>;
  explainAll(photoId: number, by?: string): Promise<Record<string, number>>;
  tasteScoresOf(photoId: number): Promise<Record<string, number>>;
  exportPhotos(
    opts: ExportOptions,
    onProgress?: (done: number, total: number, current?: string) => void,
    signal?: AbortSignal,
  ): Promise<ExportSummary>;
  thumbPath(id: number): Promise<string | null>;
  imagePath(id: number): Promise<string | null>;
  standardPreviewPath(id: number): Promise<string | null>;
  isInsideLibrary(absPath: string): Promise<boolean>;
  close(): Promise<void>;
}

type Args<K extends ApiMethodName> = Parameters<TransportedApi[K]>;
type Result<K extends ApiMethodName> = Awaited<ReturnType<TransportedApi[K]>> | ReturnType<TransportedApi[K]>;

/** One method: its arity, its validator (absent when it takes no arguments) and its handler. */
export type MethodSpec<K extends ApiMethodName> = (Args<K> extends []
  ? { arity: 0; validate?: never }
  : {
      /** At most this many arguments (trailing null/undefined do not count: that is how optional ones arrive). */
      arity: number;
      /** Checks and normalises the raw arguments (any length up to arity); throws a UserError. */
      validate(args: unknown[], ctx: ValidationContext): Promise<Args<K>> | Args<K>;
    }) &
  (
    | {
        /** Runs on the open library; without one the dispatcher answers 'no-model'. */
        run(lib: LibraryApi, args: Args<K>, jobs: Jobs): Promise<Result<K>> | Result<K>;
      }
    | {
        /** Runs with or without a library (model status and download, the jobs, which wait for the library themselves). */
        runWithoutLibrary(args: Args<K>, jobs: Jobs): Promise<Result<K>> | Result<K>;
      }
  );

const taste = (value: unknown) => (absent(value) ? undefined : checkTasteName(value));

export const METHODS: { readonly [K in ApiMethodName]: MethodSpec<K> } = {
  modelStatus: { arity: 0, runWithoutLibrary: (_, jobs) => jobs.modelStatus() },
  downloadModel: { arity: 0, runWithoutLibrary: (_, jobs) => jobs.downloadModel() },
  cancelDownload: { arity: 0, runWithoutLibrary: (_, jobs) => jobs.cancel('download') },

  stats: { arity: 0, run: (lib) => lib.stats() },
  roots: { arity: 0, run: (lib) => lib.roots() },
  addRoot: {
    arity: 1,
    validate: async ([dir]) => [await checkLibraryFolder(dir)],
    run: async (lib, [dir], jobs) => {
      const roots = await lib.addRoot(dir);
      jobs.emit({ type: 'library-changed' });
      return roots;
    },
  },
  removeRoot: {
    arity: 1,
    validate: async ([value], ctx) => {
      const dir = checkAbsolutePath(value, 'folder');
      const roots = (await ctx.roots()).map((r) => path.resolve(r));
      if (!roots.includes(dir)) throw new NotFoundError(`${dir} is not a library folder.`);
      return [dir];
    },
    run: async (lib, [dir], jobs) => {
      const roots = await lib.removeRoot(dir);
      jobs.emit({ type: 'library-changed' });
      return roots;
    },
  },

  index: {
    arity: 1,
    validate: async ([value], ctx) => {
      if (absent(value)) return [undefined];
      if (!Array.isArray(value)) throw new UserError(`roots must be an array of folders, got ${describe(value)}.`);
      if (value.length > LIMITS.roots) throw new UserError(`roots: at most ${LIMITS.roots} folders.`);
      const roots: string[] = [];
      for (const [i, r] of value.entries()) roots.push(await checkInsideRoots(checkAbsolutePath(r, `roots[${i}]`), `roots[${i}]`, ctx));
      return [roots];
    },
    runWithoutLibrary: ([roots], jobs) => jobs.index(roots),
  },
  cancelIndex: { arity: 0, runWithoutLibrary: (_, jobs) => jobs.cancel('index') },

  presets: { arity: 0, run: (lib) => lib.presets() },
  parseQuery: {
    arity: 1,
    validate: ([text]) => [checkString(text, 'query', { nonEmpty: true })],
    run: (lib, [text]) => lib.parseQuery(text),
  },
  score: {
    arity: 2,
    validate: async ([query, opts], ctx) => [checkQuery(query), await checkScoreOptions(opts, ctx)],
    run: (lib, [query, opts]) => lib.score(query, opts),
  },
  search: {
    arity: 2,
    validate: async ([text, opts], ctx) => [checkString(text, 'text', { nonEmpty: true }), await checkScoreOptions(opts, ctx)],
    run: (lib, [text, opts]) => lib.search(text, opts),
  },
  prepareSearch: { arity: 0, run: (lib) => lib.prepareSearch() },
  explain: {
    arity: 2,
    validate: ([id, query]) => [checkId(id, 'photoId'), checkQuery(query)],
    run: (lib, [id, query]) => lib.explain(id, query),
  },
  explainAll: {
    arity: 1,
    validate: ([id]) => [checkId(id, 'photoId')],
    run: async (lib, [id]) => {
      const [presets, taste] = await Promise.all([lib.explainAll(id), lib.tasteScoresOf(id)]);
      return { presets, taste };
    },
  },
  photoFaces: {
    arity: 1,
    validate: ([photo]) => [checkPhotoRef(photo)],
    run: (lib, [photo]) => lib.photoFaces(photo),
  },

  focusMap: {
    arity: 1,
    validate: ([id]) => [checkId(id, 'photoId')],
    run: (lib, [id]) => lib.focusMap(id),
  },
  problems: { arity: 0, run: (lib) => lib.problems() },

  groups: {
    arity: 1,
    validate: async ([opts], ctx) => [await checkGroupsOptions(opts, ctx)],
    // Without the paths: the window has every photo's record already.
    run: async (lib, [opts]) => (await lib.groups(opts)).map(({ ids, bestId, reason, scores, by, why }) => ({ ids, bestId, reason, scores, by, why })),
  },
  rejectGroupCandidates: {
    arity: 1,
    validate: ([groups]) => [checkGroupList(groups)],
    run: (lib, [groups]) => lib.rejectGroupCandidates(groups),
  },
  bestOfGroupIds: {
    arity: 1,
    validate: async ([opts], ctx) => [await checkGroupsOptions(opts, ctx, 'options', ['includeUngrouped'])],
    run: (lib, [opts]) => lib.bestOfGroupIds(opts),
  },

  tasteModels: { arity: 0, run: (lib) => lib.tasteModels() },
  fitTaste: {
    arity: 1,
    validate: ([name]) => [taste(name)],
    run: (lib, [name]) => lib.fitTaste(name),
  },
  maybeRefitTaste: {
    arity: 2,
    validate: ([name, everyN]) => [taste(name), absent(everyN) ? undefined : checkNumber(everyN, 'everyN', 1, LIMITS.refitEvery, { integer: true })],
    run: (lib, [name, everyN]) => lib.maybeRefitTaste(name, everyN),
  },
  deleteTaste: {
    arity: 1,
    validate: ([name]) => [checkTasteName(name)],
    run: (lib, [name]) => lib.deleteTaste(name),
  },

  photos: {
    arity: 1,
    validate: async ([filter], ctx) => [await checkFilter(filter, ctx)],
    run: (lib, [filter]) => lib.photos(filter),
  },
  photo: {
    arity: 1,
    validate: ([id]) => [checkId(id, 'id')],
    run: (lib, [id]) => lib.photo(id),
  },
  previewInfo: {
    arity: 1,
    validate: ([id]) => [checkId(id, 'id')],
    run: (lib, [id]) => lib.previewInfo(id),
  },
  setCulling: {
    arity: 2,
    validate: ([ids, change]) => [checkIds(ids, 'ids'), checkCullingChange(change)],
    run: (lib, [ids, change]) => lib.setCulling(ids, change),
  },
  restoreCulling: {
    arity: 1,
    validate: ([previous]) => [checkPreviousCulling(previous)],
    run: (lib, [previous]) => lib.restoreCulling(previous),
  },

  exportPhotos: {
    arity: 1,
    validate: async ([opts]) => [await checkExportOptions(opts)],
    runWithoutLibrary: ([request], jobs) => jobs.exportPhotos(request),
  },
  cancelExport: { arity: 0, runWithoutLibrary: (_, jobs) => jobs.cancel('export') },
};

/** The table's method names: what the IPC channels and HTTP routes are registered for. */
export const METHOD_NAMES = Object.keys(METHODS) as ApiMethodName[];

// The table and common's declaration agree by type; this keeps a stray runtime key out too.
if (METHOD_NAMES.length !== API_METHOD_NAMES.length) throw new Error('electron/transport/methods.ts and API_METHODS disagree.');

export function isApiMethod(name: unknown): name is ApiMethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(METHODS, name);
}

/** A table entry with the per-method types erased, for the dispatcher. */
export interface AnyMethod {
  arity: number;
  validate?(args: unknown[], ctx: ValidationContext): Promise<unknown[]> | unknown[];
  run?(lib: LibraryApi, args: unknown[], jobs: Jobs): unknown;
  runWithoutLibrary?(args: unknown[], jobs: Jobs): unknown;
}

export function methodSpec(name: ApiMethodName): AnyMethod {
  return METHODS[name] as AnyMethod;
}

/** Validates `args` for `method`; resolves with the normalised arguments or rejects with a UserError. */
export async function validateArgs(method: string, args: unknown, ctx: ValidationContext): Promise<unknown[]> {
  if (!isApiMethod(method)) throw new NotFoundError(`Unknown method "${String(method).slice(0, 64)}".`);
  if (!Array.isArray(args)) throw new UserError(`${method}: arguments must be an array.`);
  const spec = methodSpec(method);
  // Trailing undefined/null are what optional arguments look like after IPC or JSON.
  let n = args.length;
  while (n > 0 && absent(args[n - 1])) n--;
  if (n > spec.arity) throw new UserError(`${method} takes at most ${spec.arity} argument${spec.arity === 1 ? '' : 's'}, got ${args.length}.`);
  // Awaited either way, so calls sent together reach their handlers in the order sent when their
  // checks take no I/O (an index and the cancelIndex right after it: the job has claimed its slot).
  return await (spec.validate?.(args, ctx) ?? []);
}
