// Error codes come from the error's class, not from the method that failed: a UserError
// (common/errors.ts) reaches the caller with its code and message; an AbortError is 'cancelled';
// anything else is a bug, reported as 'internal' with its message and logged. (Before the method
// table, every plain Error thrown inside score, groups, fitTaste… was reported as
// 'invalid-argument', so a TypeError looked like the user's fault.)
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BusyError, NotFoundError, UserError } from '../common/errors.ts';
import { ApiDispatcher, type CallResult, type LibraryApi } from '../electron/transport/dispatch.ts';
import { CullingError } from '../db/culling.ts';
import { DownloadError, ModelFolderError } from '../native-models/errors.ts';

let logged: unknown[][];
let spy: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  logged = [];
  spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void logged.push(args));
});
afterEach(() => spy.mockRestore());

/** A dispatcher over a fake library whose `score` (and `index`) throw what the test says. */
function dispatcherThrowing(err: unknown): ApiDispatcher {
  const lib = {
    roots: async () => [],
    score: async () => {
      throw err;
    },
    index: async () => {
      throw err;
    },
  } as unknown as LibraryApi;
  return new ApiDispatcher({ getLibrary: () => lib, progressIntervalMs: 0 });
}

const scoreFailure = async (err: unknown): Promise<CallResult> => dispatcherThrowing(err).invoke('score', ['sharp vs blurry']);

describe('errors by class', () => {
  it('a TypeError inside a handler is internal, with its message, and logged', async () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'length')");
    expect(await scoreFailure(bug)).toEqual({ ok: false, error: { code: 'internal', message: bug.message } });
    expect(logged.length).toBe(1);
    expect(logged[0]).toContain(bug);
    expect(String(logged[0][0])).toMatch(/score/);
  });

  it('a plain Error is internal even when it carries a code-like property', async () => {
    const err = Object.assign(new Error('database is locked'), { code: 'busy' });
    expect(await scoreFailure(err)).toMatchObject({ ok: false, error: { code: 'internal', message: 'database is locked' } });
    expect(logged.length).toBe(1);
  });

  it('a UserError keeps its code and message and is not logged', async () => {
    expect(await scoreFailure(new UserError('Type two opposites, e.g. "sharp vs blurry".'))).toEqual({
      ok: false,
      error: { code: 'invalid-argument', message: 'Type two opposites, e.g. "sharp vs blurry".' },
    });
    expect(await scoreFailure(new NotFoundError('No taste model "x".'))).toMatchObject({ error: { code: 'not-found' } });
    expect(await scoreFailure(new BusyError('Wait.'))).toMatchObject({ error: { code: 'busy' } });
    expect(logged).toEqual([]);
  });

  it('the errors of db/ and native-models/ are UserErrors with their codes', async () => {
    expect(await scoreFailure(new CullingError('Photo 9 is not in the library.', 'not-found'))).toMatchObject({ error: { code: 'not-found' } });
    expect(await scoreFailure(new CullingError('Rating must be a whole number from 0 to 5.'))).toMatchObject({ error: { code: 'invalid-argument' } });
    expect(await scoreFailure(new ModelFolderError('model.json is missing', '/m', 'model.json'))).toMatchObject({ error: { code: 'no-model' } });
    expect(await scoreFailure(new DownloadError('offline', 'cannot reach huggingface.co'))).toMatchObject({ error: { code: 'no-model' } });
    expect(await scoreFailure(new DownloadError('aborted', 'download cancelled'))).toMatchObject({ error: { code: 'cancelled' } });
    expect(logged).toEqual([]);
  });

  it('an AbortError is cancelled', async () => {
    const abort = new DOMException('The operation was aborted.', 'AbortError');
    expect(await scoreFailure(abort)).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(await dispatcherThrowing(abort).invoke('index', [])).toMatchObject({ ok: false, error: { code: 'cancelled' } });
    expect(logged).toEqual([]);
  });

  it('validation failures stay invalid-argument and unknown methods not-found', async () => {
    const d = dispatcherThrowing(new Error('not reached'));
    expect(await d.invoke('score', [42])).toMatchObject({ ok: false, error: { code: 'invalid-argument' } });
    expect(await d.invoke('noSuchMethod', [])).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(await d.invoke('__proto__', [])).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(logged).toEqual([]);
  });
});
