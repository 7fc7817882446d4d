// Issue #5 (E): what test/ipc-validation.test.ts does not enumerate. Every API method (both IPC
// and the local server validate through validateArgs) refuses an extra argument — so no method,
// including the argument-less downloadModel, can be handed a URL or a folder it does not expect —
// and hostile method names and prototype-polluting objects are refused for every method that takes
// an object. test/window-security.test.ts, server.test.ts, ipc-validation.test.ts and
// electron-main.test.ts already cover window options, CSP, navigation, new windows, permissions,
// loopback binding, the token, frames and per-argument ranges.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHOD_NAMES } from '../../common/api-types.ts';
import type { UserError } from '../../common/errors.ts';
import { validateArgs } from '../../electron/transport/methods.ts';
import type { ValidationContext } from '../../electron/transport/validate.ts';
import { tempDir } from '../helpers/fixtures.ts';

/** How many arguments each method takes (a new method must be added here, and so reviewed). */
const ARITY: Record<string, number> = {
  modelStatus: 0, downloadModel: 0, cancelDownload: 0, stats: 0, roots: 0, cancelIndex: 0, presets: 0, tasteModels: 0, cancelExport: 0, problems: 0, prepareSearch: 0,
  addRoot: 1, removeRoot: 1, index: 1, parseQuery: 1, explainAll: 1, focusMap: 1, photoFaces: 1, groups: 1, rejectGroupCandidates: 1, bestOfGroupIds: 1,
  fitTaste: 1, deleteTaste: 1, photos: 1, photo: 1, restoreCulling: 1, exportPhotos: 1, previewInfo: 1,
  score: 2, search: 2, explain: 2, maybeRefitTaste: 2, setCulling: 2,
};

let tmp: string;
let ctx: ValidationContext;

beforeAll(() => {
  tmp = tempDir('cull-ipc-args-');
  fs.mkdirSync(path.join(tmp, 'photos'));
  ctx = { roots: async () => [path.join(tmp, 'photos')] };
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const rejection = (method: string, args: unknown) =>
  validateArgs(method, args, ctx).then(
    (v) => {
      throw new Error(`${method}(${JSON.stringify(args)?.slice(0, 120)}) was accepted as ${JSON.stringify(v)?.slice(0, 120)}`);
    },
    (e: unknown) => e as UserError,
  );

describe('every API method', () => {
  it('is listed with its arity', () => {
    expect(Object.keys(ARITY).sort()).toEqual([...API_METHOD_NAMES].sort());
  });

  it.each(API_METHOD_NAMES.map((m) => [m]))('%s refuses one argument more than it takes', async (method) => {
    const extra = [...Array.from({ length: ARITY[method] }, () => undefined), { baseUrl: 'http://evil.example/', to: '/' }];
    const err = await rejection(method, extra);
    expect(err.code).toBe('invalid-argument');
    expect(err.message).toMatch(/takes at most/);
  });

  it.each(API_METHOD_NAMES.map((m) => [m]))('%s refuses arguments that are not an array', async (method) => {
    for (const args of [null, 'x', { 0: 1, length: 1 }]) expect((await rejection(method, args)).code).toBe('invalid-argument');
  });

  it('takes no object argument with a prototype-polluting key', async () => {
    const polluted = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
    const objectArgs: [string, unknown[]][] = [
      ['photos', [polluted]],
      ['score', ['sharp vs blurry', polluted]],
      ['search', ['a dog', polluted]],
      ['groups', [polluted]],
      ['photoFaces', [polluted]],
      ['bestOfGroupIds', [polluted]],
      ['setCulling', [[1], polluted]],
      ['exportPhotos', [{ ...polluted, photoIds: [1], to: tmp, mode: 'copy' }]],
      ['restoreCulling', [[polluted]]],
      ['rejectGroupCandidates', [[polluted]]],
    ];
    for (const [method, args] of objectArgs) expect((await rejection(method, args)).code, method).toBe('invalid-argument');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses method names that are not API methods, inherited ones included', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'chooseFolder', 'dispose', '', 'stats ']) {
      expect((await rejection(name, [])).code, name).toBe('not-found');
    }
  });
});
