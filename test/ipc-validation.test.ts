// The IPC bridge under Node: a fake ipcMain records the handlers electron/transport/ipc.ts registers, the
// REAL validators (electron/transport/methods.ts) check every argument, and a real Library (tiny generated
// model, real SQLite file, photos generated with sharp) answers the calls that get through.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHOD_NAMES, EVENT_CHANNEL, type ApiError, type ServerEvent } from '../common/api-types.ts';
import { registerIpcHandlers, type InvokeEventLike, type IpcRegistration } from '../electron/transport/ipc.ts';
import type { CallResult } from '../electron/transport/dispatch.ts';
import { Library } from '../electron/services/library.ts';
import { LIMITS } from '../electron/transport/validate.ts';
import { METHODS } from '../electron/transport/methods.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { tempDir, writePhotoSet } from './helpers/fixtures.ts';

type Handler = (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown> | unknown;

let tmp: string;
let photosDir: string;
let outsideDir: string;
let library: Library;
let registration: IpcRegistration;
const handlers = new Map<string, Handler>();
const sent: { channel: string; args: unknown[] }[] = [];
const window = {
  webContents: {
    send: (channel: string, ...args: unknown[]) => void sent.push({ channel, args }),
    isDestroyed: () => false,
  },
  isDestroyed: () => false,
};
const fakeIpcMain = {
  handle(channel: string, listener: Handler) {
    if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    handlers.set(channel, listener);
  },
  removeHandler(channel: string) {
    handlers.delete(channel);
  },
};
const appFrame: InvokeEventLike = { sender: window.webContents, senderFrame: { url: 'cull://app/index.html' } };
let folderAnswer: string | null = null;

async function invokeAs(event: InvokeEventLike, method: string, ...args: unknown[]): Promise<CallResult> {
  const handler = handlers.get(`cull:${method}`);
  if (!handler) throw new Error(`no handler for ${method}`);
  // Electron structured-clones the arguments; do the same so nothing is shared with the test.
  return (await handler(event, ...structuredClone(args))) as CallResult;
}
const invoke = (method: string, ...args: unknown[]) => invokeAs(appFrame, method, ...args);

async function ok<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
  const out = await invoke(method, ...args);
  if (!out.ok) throw new Error(`${method} failed: ${out.error.code}: ${out.error.message}`);
  return out.result as T;
}

async function errorOf(method: string, ...args: unknown[]): Promise<ApiError> {
  const out = await invoke(method, ...args);
  if (out.ok) throw new Error(`${method}(${JSON.stringify(args).slice(0, 200)}) was accepted`);
  return out.error;
}

beforeAll(async () => {
  tmp = tempDir('cull-ipc-');
  photosDir = path.join(tmp, 'photos');
  outsideDir = path.join(tmp, 'elsewhere');
  fs.mkdirSync(outsideDir);
  fs.mkdirSync(path.join(photosDir, 'sub'), { recursive: true });
  await writePhotoSet(photosDir, 3, { seed: 11, size: 96 });
  await makeTestModel({ out: path.join(tmp, 'model'), size: 'tiny', seed: 1 });
  library = await Library.open({ dbPath: path.join(tmp, 'library.db'), modelDir: path.join(tmp, 'model'), threads: 1 });
  registration = registerIpcHandlers(fakeIpcMain, () => library, window, {
    progressIntervalMs: 0,
    chooseFolder: async () => folderAnswer,
  });
});

afterAll(async () => {
  registration?.dispose();
  await library?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('registration', () => {
  it('registers one channel per API method plus chooseFolder, nothing else', () => {
    const expected = [...API_METHOD_NAMES.map((m) => `cull:${m}`), 'cull:chooseFolder'].sort();
    expect([...handlers.keys()].sort()).toEqual(expected);
    expect(Object.keys(METHODS).sort()).toEqual([...API_METHOD_NAMES].sort());
  });

  it('refuses calls from any frame but the app window', async () => {
    const iframe = { sender: window.webContents, senderFrame: { url: 'https://evil.example/' } };
    const otherWindow = { sender: { other: true }, senderFrame: { url: 'cull://app/index.html' } };
    const noFrame = { sender: window.webContents, senderFrame: null };
    for (const event of [iframe, otherWindow, noFrame]) {
      const out = await invokeAs(event, 'addRoot', outsideDir);
      expect(out).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    }
    expect(await library.roots()).toEqual([]); // the refused addRoot did nothing
  });
});

describe('calls that pass validation reach the library', () => {
  it('adds a root, indexes it and forwards progress as events', async () => {
    expect(await ok('addRoot', photosDir)).toEqual([photosDir]);
    sent.length = 0;
    const summary = await ok<{ indexed: number; cancelled: boolean }>('index');
    expect(summary.indexed).toBe(3);
    expect(summary.cancelled).toBe(false);
    const events = sent.filter((s) => s.channel === EVENT_CHANNEL).map((s) => s.args[0] as ServerEvent);
    expect(events.some((e) => e.type === 'index-progress')).toBe(true);
    expect(events.find((e) => e.type === 'index-done')).toMatchObject({ summary: { indexed: 3 } });
    expect(sent.every((s) => s.channel === EVENT_CHANNEL)).toBe(true);
  });

  it('answers stats, photos, setCulling, restoreCulling', async () => {
    const stats = await ok<{ photos: number; embedded: number }>('stats');
    expect(stats).toMatchObject({ photos: 3, embedded: 3 });
    const photos = await ok<{ id: number }[]>('photos');
    const ids = photos.map((p) => p.id);
    const previous = await ok<unknown[]>('setCulling', ids.slice(0, 2), { rating: 4, flag: 1, label: 'green' });
    expect(previous).toHaveLength(2);
    expect(await ok('photo', ids[0])).toMatchObject({ rating: 4, flag: 1, label: 'green' });
    expect(await ok('photos', { minRating: 4 })).toHaveLength(2);
    await ok('restoreCulling', previous);
    expect(await ok('photo', ids[0])).toMatchObject({ rating: 0, flag: 0, label: null });
    // JSON-style nulls for absent optional arguments are accepted.
    expect(await ok('photos', null)).toHaveLength(3);
  });

  it('scores a typed attribute and a parsed query', async () => {
    const ranked = await ok<{ id: number; score: number }[]>('score', 'sharp vs blurry', { top: 2 });
    expect(ranked).toHaveLength(2);
    const parsed = await ok('parseQuery', 'sharp vs blurry');
    const all = await ok<{ id: number; score: number }[]>('score', parsed, { filter: { folder: photosDir } });
    expect(all).toHaveLength(3);
    // The typed attribute and its parsed query rank alike: top 2 = the first two of all, same scores.
    expect(ranked).toEqual(all.slice(0, 2));
    expect(all[0].score).toBeGreaterThanOrEqual(all[1].score);
    expect(all[1].score).toBeGreaterThanOrEqual(all[2].score);
  });

  it('chooseFolder answers from the main process and takes no arguments', async () => {
    folderAnswer = '/picked/folder';
    expect(await ok('chooseFolder')).toBe('/picked/folder');
    expect((await errorOf('chooseFolder', '/etc')).code).toBe('invalid-argument');
  });
});

describe('argument validation', () => {
  const cases: [string, unknown[]][] = [
    // ids
    ['photo', [0]],
    ['photo', [-3]],
    ['photo', [1.5]],
    ['photo', ['1']],
    ['photo', [Number.NaN]],
    ['photo', [2 ** 60]],
    ['photo', [{ id: 1 }]],
    ['photo', []],
    ['explain', [0, 'sharp vs blurry']],
    ['explain', [1, '']],
    // arrays bounded, culling ranges
    ['setCulling', ['1', { rating: 1 }]],
    ['setCulling', [[1, 0], { rating: 1 }]],
    ['setCulling', [Array.from({ length: LIMITS.ids + 1 }, (_, i) => i + 1), { rating: 1 }]],
    ['setCulling', [[1], { rating: 6 }]],
    ['setCulling', [[1], { rating: -1 }]],
    ['setCulling', [[1], { rating: 2.5 }]],
    ['setCulling', [[1], { flag: 2 }]],
    ['setCulling', [[1], { flag: '1' }]],
    ['setCulling', [[1], { label: 'pink' }]],
    ['setCulling', [[1], { rating: 1, sql: 'DROP TABLE photos' }]],
    ['setCulling', [[1], {}]],
    ['setCulling', [[1], null]],
    ['restoreCulling', [[{ id: 1, rating: 9, flag: 0, label: null }]]],
    ['restoreCulling', [[{ id: 1, rating: 0, flag: 0, label: null, extra: 1 }]]],
    ['restoreCulling', ['not an array']],
    // strings bounded
    ['parseQuery', ['']],
    ['parseQuery', ['x'.repeat(LIMITS.query + 1)]],
    ['parseQuery', [42]],
    ['search', ['x'.repeat(LIMITS.query + 1)]],
    ['score', ['a vs b'.padEnd(LIMITS.query + 1, '!')]],
    ['score', [{ attributes: [] }]],
    ['score', [{ attributes: [{ label: 'x', positive: { prompts: ['a'] }, negative: { prompts: [] } }] }]],
    ['score', [{ attributes: [{ label: 'x', positive: { prompts: ['a'] }, negative: { prompts: ['b'] } }], minScore: 2 }]],
    ['score', [{ attributes: [{ label: 'x', positive: { prompts: ['a'] }, negative: { prompts: ['b'] } }], evil: true }]],
    // options and filters: numbers finite and in range, only known keys
    ['score', ['sharp vs blurry', { top: -1 }]],
    ['score', ['sharp vs blurry', { top: Number.POSITIVE_INFINITY }]],
    ['score', ['sharp vs blurry', { top: 10, unknown: 1 }]],
    ['score', ['sharp vs blurry', { filter: { minRating: 7 } }]],
    ['score', ['sharp vs blurry', { filter: { flag: 5 } }]],
    ['photos', [{ status: 'deleted' }]],
    ['photos', [{ label: 'pink' }]],
    ['photos', [{ takenAfter: Number.NaN }]],
    ['photos', [{ folder: 'relative/path' }]],
    ['photos', [{ where: '1=1' }]],
    ['score', ['sharp vs blurry', { paths: 'no' }]],
    ['search', ['a beach', { paths: 0 }]],
    ['photos', [JSON.parse('{"__proto__": {"polluted": true}}')]],
    ['photos', ['all']],
    // paths: absolute, normalised, existing directories
    ['addRoot', ['relative/photos']],
    ['addRoot', ['/definitely/not/here']],
    ['addRoot', ['/tmp/../etc']],
    ['addRoot', ['/tmp\0/x']],
    ['addRoot', [123]],
    ['index', ['not-an-array']],
    ['index', [['relative']]],
    // exports
    ['exportPhotos', [{ photoIds: [1], to: 'relative', mode: 'copy' }]],
    ['exportPhotos', [{ photoIds: [1], to: '/definitely/not/here', mode: 'copy' }]],
    ['exportPhotos', [{ photoIds: [], to: '/tmp', mode: 'copy' }]],
    ['exportPhotos', [{ photoIds: [1], to: '/tmp', mode: 'move' }]],
    ['exportPhotos', [{ photoIds: [1], to: '/tmp', mode: 'copy', report: '/tmp/report.exe' }]],
    ['exportPhotos', [{ photoIds: [1], to: '/tmp', mode: 'copy', report: '/definitely/not/here/report.csv' }]],
    ['exportPhotos', [{ photoIds: [1], to: '/tmp', mode: 'copy', scores: { '../1': { s: 1 } } }]],
    ['exportPhotos', [{ photoIds: [1], to: '/tmp', mode: 'copy', scores: { 1: { s: 'high' } } }]],
    ['exportPhotos', [{ photoIds: [1], to: '/tmp', mode: 'copy', overwrite: true }]],
    // culling intelligence: strictness in 0…100, names bounded, group ids integers and consistent
    ['explainAll', [0]],
    ['explainAll', ['1']],
    ['explainAll', [1, 'extra']],
    ['focusMap', [0]],
    ['focusMap', ['1']],
    ['photoFaces', [1]],
    ['photoFaces', [{ id: 0 }]],
    ['photoFaces', [{ id: '1' }]],
    ['photoFaces', [{ id: 1, path: '/etc/passwd' }]],
    ['groups', [{ strictness: 101 }]],
    ['groups', [{ strictness: -1 }]],
    ['groups', [{ strictness: Number.NaN }]],
    ['groups', [{ strictness: '50' }]],
    ['groups', [{ by: '' }]],
    ['groups', [{ by: 'x'.repeat(LIMITS.query + 1) }]],
    ['groups', [{ includeRejected: 'yes' }]],
    ['groups', [{ filter: { minRating: 9 } }]],
    ['groups', [{ strictness: 50, includeUngrouped: true }]],
    ['groups', ['strict']],
    ['bestOfGroupIds', [{ strictness: 200 }]],
    ['bestOfGroupIds', [{ includeUngrouped: 1 }]],
    ['bestOfGroupIds', [{ sql: 1 }]],
    ['rejectGroupCandidates', ['all']],
    ['rejectGroupCandidates', [[{ ids: [1, 2], bestId: 3 }]]],
    ['rejectGroupCandidates', [[{ ids: [1, 2.5], bestId: 1 }]]],
    ['rejectGroupCandidates', [[{ ids: [], bestId: 1 }]]],
    ['rejectGroupCandidates', [[{ ids: [1, 2], bestId: '1' }]]],
    ['rejectGroupCandidates', [[{ ids: [1, 2], bestId: 1, flag: -1 }]]],
    ['rejectGroupCandidates', [[[1, 2]]]],
    ['rejectGroupCandidates', [[{ ids: Array.from({ length: LIMITS.ids + 1 }, (_, i) => i + 1), bestId: 1 }]]],
    ['fitTaste', ['']],
    ['fitTaste', ['   ']],
    ['fitTaste', ['x'.repeat(LIMITS.tasteName + 1)]],
    ['fitTaste', [42]],
    ['fitTaste', ['bad\u0007name']],
    ['maybeRefitTaste', ['my taste', 0]],
    ['maybeRefitTaste', ['my taste', 2.5]],
    ['maybeRefitTaste', ['my taste', LIMITS.refitEvery + 1]],
    ['maybeRefitTaste', [['my taste']]],
    ['deleteTaste', []],
    ['deleteTaste', [null]],
    ['deleteTaste', [{ name: 'x' }]],
    ['tasteModels', ['extra']],
    ['exportPhotos', [{ photoIds: [1], to: '/tmp', mode: 'copy', createFolder: 'yes' }]],
    ['exportPhotos', [{ photoIds: [1], to: '/definitely/not/here', mode: 'copy', createFolder: true }]],
    // arity
    ['stats', ['extra']],
    ['roots', [1]],
    ['photo', [1, 2]],
  ];

  const named = cases.map(([method, args]) => [method, JSON.stringify(args)?.slice(0, 90) ?? '', args] as const);
  it.each(named)('%s %s is rejected as invalid-argument', async (method, _name, args) => {
    const err = await errorOf(method, ...args);
    expect(err.code).toBe('invalid-argument');
    expect(err.message.length).toBeGreaterThan(5);
    expect(err.message.length).toBeLessThan(600); // oversized input is not echoed back
  });

  it('scores without paths when asked (the window), with the same photos, order and scores', async () => {
    const full = (await ok('score', 'sharp vs blurry')) as Array<{ id: number; path: string; score: number }>;
    const lean = (await ok('score', 'sharp vs blurry', { paths: false })) as typeof full;
    expect(lean.map((r) => [r.id, r.score])).toEqual(full.map((r) => [r.id, r.score]));
    expect(full.every((r) => r.path.length > 0)).toBe(true);
    expect(lean.every((r) => r.path === '')).toBe(true);
  });

  it('refuses a disk root and system folders as library folders, also behind a link', async () => {
    const link = path.join(outsideDir, 'looks-like-photos');
    fs.symlinkSync('/', link);
    try {
      for (const dir of ['/', '/etc', '/proc', '/usr/share', link]) {
        const err = await errorOf('addRoot', dir);
        expect(err.code, dir).toBe('invalid-argument');
        expect(err.message).toMatch(/root of a disk|system folder/);
      }
      expect(await library.roots()).not.toContain('/');
    } finally {
      fs.rmSync(link);
    }
  });

  it('rejects files as folders, and file paths as export destinations', async () => {
    const file = (await library.photos())[0].path;
    expect((await errorOf('addRoot', file)).code).toBe('invalid-argument');
    expect((await errorOf('exportPhotos', { photoIds: [1], to: file, mode: 'copy' })).code).toBe('invalid-argument');
  });

  it('rejects folders outside the library as outside-library', async () => {
    expect((await errorOf('index', [outsideDir])).code).toBe('outside-library');
    expect((await errorOf('index', [path.dirname(photosDir)])).code).toBe('outside-library');
    expect((await errorOf('photos', { folder: outsideDir })).code).toBe('outside-library');
    expect((await errorOf('photos', { folder: '/' })).code).toBe('outside-library');
    expect((await errorOf('score', 'sharp vs blurry', { filter: { folder: outsideDir } })).code).toBe('outside-library');
    expect((await errorOf('search', 'a cat', { filter: { folder: outsideDir } })).code).toBe('outside-library');
    // A subfolder of a root is inside.
    expect(await ok('photos', { folder: path.join(photosDir, 'sub') })).toEqual([]);
  });

  it('groups, best-of-groups and taste calls that pass validation reach the library', async () => {
    const ids = (await library.photos()).map((p) => p.id);
    const groups = await ok<{ ids: number[]; bestId: number; by: string }[]>('groups', { strictness: 100 });
    expect(groups).toEqual((await library.groups({ strictness: 100 })).map(({ ids, bestId, reason, scores, by }) => ({ ids, bestId, reason, scores, by })));
    expect(await ok('bestOfGroupIds', { strictness: 100, includeUngrouped: true })).toEqual(await library.bestOfGroupIds({ strictness: 100 }));
    expect(await ok('tasteModels')).toEqual([]);
    expect(await ok('maybeRefitTaste', null, 5)).toBeNull(); // no model yet: nothing to refit
    const explained = await ok<{ presets: Record<string, number>; taste: Record<string, number> }>('explainAll', ids[0]);
    expect(explained).toEqual({ presets: await library.explainAll(ids[0]), taste: {} });
    // Three photos are too few to learn from: a readable invalid-argument, nothing stored.
    const err = await errorOf('fitTaste', 'client A');
    expect(err.code).toBe('invalid-argument');
    expect(err.message).toMatch(/at least 10 decisions/);
    expect(await library.tasteModels()).toEqual([]);
    // Rejecting a one-photo "group" rejects nobody; the best is never touched.
    expect(await ok('rejectGroupCandidates', [{ ids: [ids[0]], bestId: ids[0] }])).toEqual([]);
    expect((await library.photo(ids[0]))!.flag).toBe(0);
  });

  it('exportPhotos with createFolder creates one missing level, never a whole tree', async () => {
    const id = (await library.photos())[0].id;
    const dest = path.join(outsideDir, 'new selects');
    expect(fs.existsSync(dest)).toBe(false);
    const summary = await ok<{ exported: unknown[]; destination: string; report: string | null }>('exportPhotos', {
      photoIds: [id], to: dest, mode: 'copy', createFolder: true, report: path.join(dest, 'report.csv'),
    });
    expect(summary.exported).toHaveLength(1);
    expect(fs.statSync(dest).isDirectory()).toBe(true);
    expect(fs.existsSync(path.join(dest, 'report.csv'))).toBe(true);
    const deep = path.join(outsideDir, 'no', 'such', 'tree');
    const err = await errorOf('exportPhotos', { photoIds: [id], to: deep, mode: 'copy', createFolder: true });
    expect(err.code).toBe('invalid-argument');
    expect(err.message).toMatch(/parent folder/);
    expect(fs.existsSync(path.join(outsideDir, 'no'))).toBe(false);
    // Without createFolder a missing destination is still refused.
    expect((await errorOf('exportPhotos', { photoIds: [id], to: path.join(outsideDir, 'other'), mode: 'copy' })).message).toMatch(/does not exist/);
  });

  it('removeRoot of a folder that is not a root is not-found', async () => {
    expect((await errorOf('removeRoot', outsideDir)).code).toBe('not-found');
  });

  it('rejected calls change nothing', async () => {
    const before = await library.photos();
    await errorOf('setCulling', before.map((p) => p.id), { rating: 9 });
    await errorOf('setCulling', [before[0].id], { flag: 1, label: 'pink' });
    expect(await library.photos()).toEqual(before);
  });

  it('a query the library cannot parse comes back as invalid-argument with its message', async () => {
    const err = await errorOf('parseQuery', 'sharp vs');
    expect(err.code).toBe('invalid-argument');
    expect(err.message).not.toMatch(/^Error:/);
  });
});

describe('long-running jobs', () => {
  it('runs one index at a time and cancels through cancelIndex', async () => {
    const more = path.join(photosDir, 'more');
    fs.mkdirSync(more);
    await writePhotoSet(more, 6, { seed: 21, size: 96 });
    const first = invoke('index');
    const second = invoke('index');
    const cancel = invoke('cancelIndex');
    const [a, b, c] = await Promise.all([first, second, cancel]);
    expect(b).toMatchObject({ ok: false, error: { code: 'busy' } });
    expect(c).toEqual({ ok: true, result: null });
    if (a.ok) expect((a.result as { cancelled: boolean }).cancelled).toBe(true);
    else expect(a.error).toMatchObject({ code: 'cancelled' });
    // The next run indexes everything that is left.
    const again = await ok<{ cancelled: boolean }>('index');
    expect(again.cancelled).toBe(false);
    expect((await ok<{ photos: number }>('stats')).photos).toBe(9);
  });

  it('dispose removes every handler', () => {
    const extra = new Map<string, Handler>();
    const reg = registerIpcHandlers(
      { handle: (c, l) => void extra.set(c, l), removeHandler: (c) => void extra.delete(c) },
      () => null,
      window,
    );
    expect(extra.size).toBe(API_METHOD_NAMES.length + 1);
    reg.dispose();
    expect(extra.size).toBe(0);
  });

  it('without a library, methods answer no-model and modelStatus says missing', async () => {
    const extra = new Map<string, Handler>();
    const reg = registerIpcHandlers(
      { handle: (c, l) => void extra.set(c, l), removeHandler: (c) => void extra.delete(c) },
      () => null,
      window,
    );
    const stats = (await extra.get('cull:stats')!(appFrame)) as CallResult;
    expect(stats).toMatchObject({ ok: false, error: { code: 'no-model' } });
    const status = (await extra.get('cull:modelStatus')!(appFrame)) as CallResult;
    expect(status).toMatchObject({ ok: true, result: { state: 'missing' } });
    // Validation still comes first.
    const bad = (await extra.get('cull:photo')!(appFrame, -1)) as CallResult;
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
    reg.dispose();
  });
});
