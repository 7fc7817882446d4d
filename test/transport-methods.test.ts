// The method table (electron/transport/methods.ts) is the one list of what crosses a transport:
// IPC channels, HTTP routes and the clients (preload, renderer) all come from it or from the
// declaration in common/api-types.ts it must match key for key. So adding a method is its
// signature in API_METHODS plus its table entry; nothing else lists methods. (The preload bundle
// itself is checked against the table in test/electron-main.test.ts.)
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import { API_METHODS, API_METHOD_NAMES, bindMethods, channelFor, isApiMethodName } from '../common/api-types.ts';
import { registerIpcHandlers } from '../electron/transport/ipc.ts';
import { METHODS, METHOD_NAMES, isApiMethod, validateArgs, type LibraryApi } from '../electron/transport/methods.ts';
import { startServer, type RunningServer } from '../electron/transport/server.ts';
import { createMockApi } from '../renderer/src/dev/mock-api.ts';
import { createIpcApi } from '../renderer/src/api/ipc.ts';

const sorted = (xs: Iterable<string>) => [...xs].sort();
const CLIENT_SIDE = ['thumbUrl', 'imageUrl', 'onEvent'];

describe('one method table', () => {
  it('has exactly the methods common/api-types.ts declares', () => {
    expect(sorted(Object.keys(METHODS))).toEqual(sorted(Object.keys(API_METHODS)));
    expect(sorted(METHOD_NAMES)).toEqual(sorted(API_METHOD_NAMES));
    for (const name of METHOD_NAMES) expect(isApiMethod(name) && isApiMethodName(name), name).toBe(true);
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'thumbUrl', 'chooseFolder']) {
      expect(isApiMethod(name) || isApiMethodName(name), name).toBe(false);
    }
  });

  it('gives every method an arity and a validator exactly when it takes arguments', async () => {
    for (const name of METHOD_NAMES) {
      const spec = METHODS[name] as { arity: number; validate?: unknown; run?: unknown; runWithoutLibrary?: unknown };
      expect(typeof spec.arity, name).toBe('number');
      expect(spec.validate === undefined, name).toBe(spec.arity === 0);
      expect(typeof (spec.run ?? spec.runWithoutLibrary), name).toBe('function');
      if (spec.arity === 0) expect(await validateArgs(name, [], { roots: async () => [] })).toEqual([]);
    }
  });

  it('registers one IPC channel per table entry, plus chooseFolder', () => {
    const channels: string[] = [];
    const reg = registerIpcHandlers(
      { handle: (c) => void channels.push(c), removeHandler: () => {} },
      () => null,
      { webContents: { send() {} } },
    );
    expect(sorted(channels)).toEqual(sorted([...METHOD_NAMES.map(channelFor), channelFor('chooseFolder')]));
    expect(sorted(reg.channels)).toEqual(sorted(channels));
    reg.dispose();
  });

  it('builds every client from the same names (preload, HTTP, IPC wrapper, dev mock)', () => {
    expect(sorted(Object.keys(bindMethods(async () => null)))).toEqual(sorted(METHOD_NAMES));
    const bridge = { ...bindMethods(async () => null), thumbUrl: () => '', imageUrl: () => '', onEvent: () => () => {} };
    expect(sorted(Object.keys(createIpcApi(bridge)))).toEqual(sorted([...METHOD_NAMES, ...CLIENT_SIDE]));
    expect(sorted(Object.keys(createMockApi(10)))).toEqual(sorted([...METHOD_NAMES, ...CLIENT_SIDE]));
  });
});

describe('HTTP routes', () => {
  let server: RunningServer;
  let errorSpy: ReturnType<typeof vi.spyOn>;
  beforeAll(async () => {
    errorSpy = vi.spyOn(console, 'error').mockImplementation(() => {});
    // A library that has nothing: calls that pass validation fail inside, which is fine here.
    const lib = { roots: async () => [] } as unknown as LibraryApi;
    server = await startServer({ library: lib, progressIntervalMs: 0 });
  });
  afterAll(async () => {
    await server?.close();
    errorSpy.mockRestore();
  });

  const post = (method: string): Promise<{ status: number; body: { error?: { code: string; message: string } } }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server.port, path: `/api/${method}`, method: 'POST', headers: { 'content-type': 'application/json', 'x-cull-token': server.token } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') ?? {} }));
        },
      );
      req.on('error', reject);
      req.end('[]');
    });

  it('answers POST /api/<name> for every table entry and for nothing else', async () => {
    for (const name of METHOD_NAMES) {
      const { body } = await post(name);
      expect(body.error?.message ?? '', name).not.toMatch(/Unknown method/);
    }
    for (const name of ['chooseFolder', 'thumbUrl', 'toString', 'constructor', 'noSuchMethod']) {
      const { status, body } = await post(name);
      expect(status, name).toBe(404);
      expect(body.error?.message, name).toMatch(/Unknown method/);
    }
  });
});
