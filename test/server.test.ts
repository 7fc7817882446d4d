// The local HTTP + WebSocket server (electron/transport/) against a real Library: tiny generated model,
// real SQLite file, photos generated with sharp. Checks the local-only guarantees (127.0.0.1, Host
// header, token, no cookie, image capabilities, Origin, body size and depth, file handles) and that the renderer's HTTP client (renderer/src/api/http.ts)
// drives the real thing, events included.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ServerEvent } from '../common/api-types.ts';
import { AppServices } from '../electron/services/app-services.ts';
import { imageCapability, startServer, type RunningServer } from '../electron/transport/server.ts';
import { Library } from '../electron/services/library.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { createHttpApi } from '../renderer/src/api/http.ts';
import { ApiClientError } from '../renderer/src/api/errors.ts';
import { tempDir, writePhotoSet } from './helpers/fixtures.ts';

let tmp: string;
let photosDir: string;
let library: Library;
let server: RunningServer;
let port: number;
let token: string;
let photoIds: number[];

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Raw HTTP so the test controls every header (fetch would refuse to set Host). */
function request(
  p: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; port?: number; host?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: opts.host ?? '127.0.0.1', port: opts.port ?? port, path: p, method: opts.method ?? 'GET', headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
        });
      },
    );
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

function api(method: string, args: unknown[], headers: Record<string, string> = {}): Promise<Reply> {
  return request(`/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-cull-token': token, ...headers },
    body: JSON.stringify(args),
  });
}

function wsConnect(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; events: ServerEvent[] } | { status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    const events: ServerEvent[] = [];
    ws.on('message', (data) => events.push(JSON.parse(String(data)) as ServerEvent));
    ws.on('open', () => resolve({ ws, events }));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.on('error', () => resolve({ status: -1 }));
  });
}

beforeAll(async () => {
  tmp = tempDir('cull-server-');
  photosDir = path.join(tmp, 'photos');
  const staticDir = path.join(tmp, 'renderer');
  fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Cull test page</title><script type="module" src="./assets/app.js"></script>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'export {};');
  fs.writeFileSync(path.join(tmp, 'secret.txt'), 'SECRET-OUTSIDE');
  await writePhotoSet(photosDir, 4, { seed: 5, size: 96 });
  await makeTestModel({ out: path.join(tmp, 'model'), size: 'tiny', seed: 1 });
  library = await Library.open({ dbPath: path.join(tmp, 'library.db'), modelDir: path.join(tmp, 'model'), threads: 1 });
  await library.addRoot(photosDir);
  await library.index(undefined);
  photoIds = (await library.photos()).map((p) => p.id);
  server = await startServer({ library, staticDir, progressIntervalMs: 0 });
  port = server.port;
  token = server.token;
});

afterAll(async () => {
  await server?.close();
  await library?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('local only', () => {
  it('listens on 127.0.0.1 and hands out a page URL with a strong token', () => {
    expect(server.origin).toBe(`http://127.0.0.1:${port}`);
    expect(server.url).toBe(`http://127.0.0.1:${port}/?token=${token}`);
    expect(Buffer.from(token, 'base64url').length).toBe(32);
  });

  it('refuses to listen on any other address', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) {
      await expect(startServer({ library, host })).rejects.toThrow(/127\.0\.0\.1/);
    }
  });

  it('is not reachable through another interface', async () => {
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (!external) {
      console.log('no non-loopback IPv4 interface on this machine: the bind check above covers it');
      return;
    }
    const refused = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host: external.address, port }, () => {
        sock.destroy();
        resolve(false);
      });
      sock.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('refuses a wrong Host header (DNS rebinding) even with the right token', async () => {
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${port + 1}`, `[::1]:${port}`]) {
      const res = await api('stats', [], { host });
      expect(res.status, host).toBe(403);
      expect(res.json().error.code).toBe('unauthorized');
    }
    expect((await api('stats', [], { host: `localhost:${port}` })).status).toBe(200);
  });

  it('refuses cross-origin API calls', async () => {
    const res = await api('stats', [], { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect((await api('stats', [], { origin: `http://127.0.0.1:${port}` })).status).toBe(200);
  });
});

describe('token', () => {
  it('is required on the API and the images; the page and its assets are the public bundle', async () => {
    for (const p of [`/thumb/${photoIds[0]}`, `/image/${photoIds[0]}`]) {
      const res = await request(p);
      expect(res.status, p).toBe(401);
      expect(res.json().error.code).toBe('unauthorized');
    }
    for (const p of ['/', '/index.html', '/assets/app.js']) expect((await request(p)).status, p).toBe(200);
    const noToken = await request('/api/stats', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(noToken.status).toBe(401);
  });

  it('a wrong token is refused', async () => {
    expect((await api('stats', [], { 'x-cull-token': 'x'.repeat(token.length) })).status).toBe(403);
    const wrong = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'); // differs from the real token in its last character
    expect((await request(`/thumb/${photoIds[0]}`, { headers: { 'x-cull-token': wrong } })).status).toBe(403);
  });

  // Issue 14 item 1: the old page load set `cull-token-<port>=<token>`, and Chromium sent that
  // cookie to every other server on 127.0.0.1 (cookies ignore the port).
  it('the page load sets no cookie, and neither ?token= nor a cookie opens the API or an image', async () => {
    const page = await request(`/?token=${token}`);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('Cull test page');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['set-cookie']).toBeUndefined();
    const jar = `cull-token-${port}=${token}`;
    expect((await request(`/thumb/${photoIds[0]}`, { headers: { cookie: jar } })).status).toBe(401);
    expect((await request(`/thumb/${photoIds[0]}?token=${token}`)).status).toBe(401);
    const apiWithCookie = await request('/api/stats', { method: 'POST', headers: { cookie: jar, 'content-type': 'application/json' }, body: '[]' });
    expect(apiWithCookie.status).toBe(401);
    const apiWithQuery = await request(`/api/stats?token=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    expect(apiWithQuery.status).toBe(401);
  });

  it('an image capability opens that one image and nothing else', async () => {
    const [a, b] = photoIds;
    const capA = imageCapability(token, 'thumb', String(a));
    expect(capA).not.toContain(token);
    expect((await request(`/thumb/${a}?cap=${capA}`)).status).toBe(200);
    expect((await request(`/thumb/${b}?cap=${capA}`)).status).toBe(403); // another photo
    expect((await request(`/image/${a}?cap=${capA}`)).status).toBe(403); // the other kind
    expect((await api('stats', [], { 'x-cull-token': capA })).status).toBe(403); // not the API
    expect(await wsConnect(`ws://127.0.0.1:${port}/events`, { 'x-cull-token': capA })).toEqual({ status: 403 });
    // The page's own derivation (renderer/src/api/capability.ts) agrees with the server's.
    const client = createHttpApi({ origin: server.origin, token, fetch });
    expect(client.thumbUrl(a)).toBe(`${server.origin}/thumb/${a}?cap=${capA}`);
    expect(client.imageUrl(b)).toBe(`${server.origin}/image/${b}?cap=${imageCapability(token, 'image', String(b))}`);
  });
});

describe('API', () => {
  it('answers a method with its JSON result', async () => {
    const res = await api('stats', []);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.json()).toMatchObject({ photos: 4, embedded: 4, roots: [photosDir], model: { randomWeights: true } });
    const ranked = (await api('score', ['sharp vs blurry', { top: 3 }])).json();
    expect(ranked).toHaveLength(3);
    expect(photoIds).toContain(ranked[0].id);
  });

  it('maps errors to status codes with an ApiError body', async () => {
    const bad = await api('setCulling', [[photoIds[0]], { rating: 9 }]);
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'invalid-argument' });
    const outside = await api('photos', [{ folder: tmp }]);
    expect(outside.status).toBe(403);
    expect(outside.json().error.code).toBe('outside-library');
    const unknown = await api('deleteEverything', []);
    expect(unknown.status).toBe(404);
    expect((await request('/api/stats', { headers: { 'x-cull-token': token } })).status).toBe(405);
    const notJson = await request('/api/stats', { method: 'POST', headers: { 'x-cull-token': token, 'content-type': 'text/plain' }, body: '[]' });
    expect(notJson.status).toBe(415);
    const broken = await request('/api/stats', { method: 'POST', headers: { 'x-cull-token': token, 'content-type': 'application/json' }, body: '[1,' });
    expect(broken.status).toBe(400);
    const object = await request('/api/photo', { method: 'POST', headers: { 'x-cull-token': token, 'content-type': 'application/json' }, body: '{"0":1}' });
    expect(object.status).toBe(400);
    // Rejected calls changed nothing.
    expect((await library.photo(photoIds[0]))!.rating).toBe(0);
  });

  it('refuses oversized bodies', async () => {
    const small = await startServer({ library, maxBodyBytes: 1024 });
    try {
      const res = await request('/api/setCulling', {
        port: small.port,
        method: 'POST',
        headers: { 'x-cull-token': small.token, 'content-type': 'application/json' },
        body: JSON.stringify([Array.from({ length: 2000 }, (_, i) => i + 1), { rating: 1 }]),
      });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
  });
});

describe('images', () => {
  it('serves a known thumbnail and image by id', async () => {
    const thumb = await request(`/thumb/${photoIds[0]}`, { headers: { 'x-cull-token': token } });
    expect(thumb.status).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/jpeg');
    expect(thumb.body.equals(fs.readFileSync((await library.thumbPath(photoIds[0]))!))).toBe(true);
    const again = await request(`/thumb/${photoIds[0]}`, { headers: { 'x-cull-token': token, 'if-none-match': String(thumb.headers.etag) } });
    expect(again.status).toBe(304);
    const image = await request(`/image/${photoIds[0]}`, { headers: { 'x-cull-token': token } });
    expect(image.status).toBe(200);
    const original = (await library.photo(photoIds[0]))!.path;
    expect(image.body.equals(fs.readFileSync(original))).toBe(true);
  });

  it('answers 404 for an unknown id', async () => {
    const res = await request(`/thumb/987654`, { headers: { 'x-cull-token': token } });
    expect(res.status).toBe(404);
    expect(res.json().error.code).toBe('not-found');
    expect((await request(`/image/987654`, { headers: { 'x-cull-token': token } })).status).toBe(404);
  });

  it('refuses path-like ids and never serves files outside the library or the renderer', async () => {
    const attempts = [
      `/thumb/..%2F..%2Fsecret.txt`,
      `/thumb/%2Fetc%2Fpasswd`,
      `/thumb/-1`,
      `/thumb/1.0`,
      `/thumb/0`,
      `/thumb/1e3`,
      `/image/${encodeURIComponent(path.join(tmp, 'secret.txt'))}`,
      `/thumb/../../secret.txt`,
      `/..%2Fsecret.txt`,
      `/assets/..%2F..%2Fsecret.txt`,
      `/%2e%2e/%2e%2e/secret.txt`,
    ];
    for (const p of attempts) {
      const res = await request(p, { headers: { 'x-cull-token': token } });
      expect(res.status, p).toBeGreaterThanOrEqual(400);
      expect(res.body.toString(), p).not.toContain('SECRET-OUTSIDE');
    }
    expect((await request(`/thumb/..%2F..%2Fsecret.txt`, { headers: { 'x-cull-token': token } })).status).toBe(400);
  });
});

describe('events over WebSocket', () => {
  const wsUrl = () => `ws://127.0.0.1:${port}/events`;

  it('requires the token and a same-origin Origin', async () => {
    expect(await wsConnect(wsUrl())).toEqual({ status: 401 });
    expect(await wsConnect(`${wsUrl()}?token=${token}`)).toEqual({ status: 401 }); // never in the URL
    expect(await wsConnect(wsUrl(), { 'x-cull-token': `wrong${token}` })).toEqual({ status: 403 });
    expect(await wsConnect(wsUrl(), { 'sec-websocket-protocol': `cull.v1, cull-token.wrong${token}` })).toEqual({ status: 403 });
    expect(await wsConnect(wsUrl(), { 'x-cull-token': token, origin: 'https://evil.example' })).toEqual({ status: 403 });
    expect(await wsConnect(wsUrl(), { 'x-cull-token': token, host: `evil.example:${port}` })).toEqual({ status: 403 });
  });

  it('broadcasts index progress to connected clients', async () => {
    const conn = await wsConnect(wsUrl(), { 'x-cull-token': token, origin: `http://127.0.0.1:${port}` });
    if (!('ws' in conn)) throw new Error(`connection refused: ${conn.status}`);
    await writePhotoSet(path.join(photosDir, 'new'), 2, { seed: 77, size: 96 });
    const summary = (await api('index', [])).json();
    expect(summary.indexed).toBe(2);
    await new Promise((r) => setTimeout(r, 50)); // let the last frames arrive
    conn.ws.close();
    const types = conn.events.map((e) => e.type);
    expect(types).toContain('index-progress');
    expect(types).toContain('index-done');
    expect(types.indexOf('index-done')).toBeGreaterThan(types.indexOf('index-progress'));
    const done = conn.events.find((e) => e.type === 'index-done') as Extract<ServerEvent, { type: 'index-done' }>;
    expect(done.summary.indexed).toBe(2);
  });
});

describe('renderer HTTP client against the real server', () => {
  it('implements CullApi over fetch + WebSocket', async () => {
    const client = createHttpApi({ origin: server.origin, token, fetch, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });
    const stats = await client.stats();
    expect(stats.photos).toBe(6);
    expect(client.chooseFolder).toBeUndefined();

    const received: ServerEvent[] = [];
    const off = client.onEvent((e) => received.push(e));
    await new Promise((r) => setTimeout(r, 100)); // socket open
    const previous = await client.setCulling([photoIds[1]], { flag: 1, rating: 5 });
    expect(previous).toEqual([{ id: photoIds[1], rating: 0, flag: 0, label: null }]);
    expect(await client.photo(photoIds[1])).toMatchObject({ flag: 1, rating: 5 });
    await client.restoreCulling(previous);
    expect(await client.photo(photoIds[1])).toMatchObject({ flag: 0, rating: 0 });

    await client.index();
    await new Promise((r) => setTimeout(r, 50));
    expect(received.some((e) => e.type === 'index-done')).toBe(true);
    off();

    const err = await client.photos({ folder: tmp }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiClientError);
    expect(err).toMatchObject({ code: 'outside-library' });

    const thumb = await fetch(client.thumbUrl(photoIds[0]));
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');

    const wrong = createHttpApi({ origin: server.origin, token: 'y'.repeat(43), fetch });
    await expect(wrong.stats()).rejects.toMatchObject({ code: 'unauthorized' });
  });
});

describe('app services (what `npm run serve` and the desktop app run on)', () => {
  it('without a model: modelStatus offers the download and library methods answer no-model', async () => {
    const dataDir = path.join(tmp, 'empty-data');
    const saved = process.env.CULL_DATA_DIR;
    process.env.CULL_DATA_DIR = dataDir; // the default model store must be this empty folder
    const env = { CULL_DATA_DIR: dataDir };
    const services = new AppServices({ env });
    try {
      expect(services.paths.dbPath).toBe(path.join(dataDir, 'library.db'));
      expect((await services.start()).state).toBe('missing');
      expect(services.getLibrary()).toBeNull();
      const s = await startServer({ getLibrary: () => services.getLibrary(), models: services });
      try {
        const call = (method: string, args: unknown[]) =>
          request(`/api/${method}`, {
            port: s.port,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-cull-token': s.token },
            body: JSON.stringify(args),
          });
        const status = (await call('modelStatus', [])).json();
        expect(status.state).toBe('missing');
        expect(status.dir.startsWith(path.join(dataDir, 'models'))).toBe(true);
        expect(status.download).toMatchObject({ id: 'clip-vit-b-32' });
        expect(status.download.bytes).toBeGreaterThan(50_000_000);
        const stats = await call('stats', []);
        expect(stats.status).toBe(503);
        expect(stats.json().error.code).toBe('no-model');
        expect((await call('photo', [-1])).status).toBe(400); // validation still first
        expect((await request(`/thumb/1`, { port: s.port, headers: { 'x-cull-token': s.token } })).status).toBe(503);
      } finally {
        await s.close();
      }
    } finally {
      await services.close();
      if (saved === undefined) delete process.env.CULL_DATA_DIR;
      else process.env.CULL_DATA_DIR = saved;
    }
  });

  it('with --model: opens the library and serves it', async () => {
    const services = new AppServices({ db: path.join(tmp, 'services.db'), model: path.join(tmp, 'model'), threads: 1 });
    const s = await startServer({ getLibrary: () => services.getLibrary(), models: services });
    try {
      const started = services.start(); // calls made while the library opens wait for it
      const res = await request('/api/stats', {
        port: s.port,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cull-token': s.token },
        body: '[]',
      });
      expect((await started).state).toBe('ready');
      expect(res.status).toBe(200);
      expect(res.json()).toMatchObject({ photos: 0, model: { randomWeights: true } });
      const status = await services.status();
      expect(status).toMatchObject({ state: 'ready', dir: path.join(tmp, 'model'), model: { randomWeights: true } });
    } finally {
      await s.close();
      await services.close();
    }
  });
});

describe('culling intelligence over HTTP (renderer client → real server → real library)', () => {
  let dir: string;
  let lib: Library;
  let srv: RunningServer;
  let client: ReturnType<typeof createHttpApi>;
  let ids: number[];

  beforeAll(async () => {
    dir = tempDir('cull-server-intel-');
    await writePhotoSet(path.join(dir, 'photos'), 14, { seed: 40, size: 96 });
    lib = await Library.open({ dbPath: path.join(dir, 'library.db'), modelDir: path.join(tmp, 'model'), threads: 1 });
    await lib.addRoot(path.join(dir, 'photos'));
    await lib.index(undefined);
    ids = (await lib.photos()).map((p) => p.id);
    srv = await startServer({ library: lib, progressIntervalMs: 0 });
    client = createHttpApi({ origin: srv.origin, token: srv.token, fetch });
  });

  afterAll(async () => {
    await srv?.close();
    await lib?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('groups and best-of-groups answer what the library computes, at every strictness', async () => {
    for (const strictness of [0, 50, 100]) {
      const expected = await lib.groups({ strictness });
      const got = await client.groups({ strictness });
      expect(got.map((g) => g.ids)).toEqual(expected.map((g) => g.ids));
      expect(got.map((g) => g.bestId)).toEqual(expected.map((g) => g.bestId));
      expect(got.every((g) => !('paths' in g))).toBe(true);
      expect(await client.bestOfGroupIds({ strictness })).toEqual(await lib.bestOfGroupIds({ strictness }));
    }
  });

  it('rejects a group\'s others but never a pick, and restoreCulling undoes it', async () => {
    const group = { ids: ids.slice(0, 4), bestId: ids[1] };
    await lib.setCulling([ids[3]], { flag: 1 });
    const previous = await client.rejectGroupCandidates([group]);
    expect(previous.map((p) => p.id).sort((a, b) => a - b)).toEqual([ids[0], ids[2]].sort((a, b) => a - b));
    const flags = async () => Promise.all(group.ids.map(async (id) => (await lib.photo(id))!.flag));
    expect(await flags()).toEqual([-1, 0, -1, 1]);
    await client.restoreCulling(previous);
    expect(await flags()).toEqual([0, 0, 0, 1]);
    await lib.setCulling([ids[3]], { flag: 0 });
    await expect(client.rejectGroupCandidates([{ ids: [ids[0], ids[1]], bestId: ids[2] }])).rejects.toMatchObject({ code: 'invalid-argument' });
  });

  it('fits a named taste model, scores by it, explains it per photo, refits after N new decisions and deletes it', async () => {
    await expect(client.fitTaste('weddings')).rejects.toMatchObject({ code: 'invalid-argument', message: expect.stringMatching(/at least 10/) });
    // 12 decisions: alternate picks and rejects, with stars on a few.
    await lib.setCulling(ids.filter((_, i) => i < 12 && i % 2 === 0), { flag: 1 });
    await lib.setCulling(ids.filter((_, i) => i < 12 && i % 2 === 1), { flag: -1 });
    const fitted = await client.fitTaste('weddings');
    expect(fitted).toMatchObject({ name: 'weddings', examples: 12, picks: 6, rejects: 6 });
    expect(fitted).not.toHaveProperty('weights');
    expect(await client.tasteModels()).toEqual(await lib.tasteModels());

    const ranked = await client.score('@taste:weddings');
    expect(ranked).toEqual(await lib.score('@taste:weddings'));
    const explained = await client.explainAll(ranked[0].id);
    expect(explained.taste.weddings).toBeCloseTo(ranked[0].score, 5);
    expect(Object.keys(explained.presets).length).toBeGreaterThan(5);

    // Not enough new decisions: nothing happens; two more with everyN = 2: refitted on 14.
    expect(await client.maybeRefitTaste('weddings', 2)).toBeNull();
    await lib.setCulling([ids[12]], { flag: 1 });
    expect(await client.maybeRefitTaste('weddings', 2)).toBeNull();
    await lib.setCulling([ids[13]], { rating: 4 });
    const refit = await client.maybeRefitTaste('weddings', 2);
    expect(refit).toMatchObject({ name: 'weddings', examples: 14, rated: 1 });
    expect(refit!.createdAt).toBeGreaterThanOrEqual(fitted.createdAt);

    expect(await client.deleteTaste('weddings')).toBe(true);
    expect(await client.deleteTaste('weddings')).toBe(false);
    expect(await client.tasteModels()).toEqual([]);
    expect((await client.explainAll(ids[0])).taste).toEqual({});
    await expect(client.score('@taste:weddings')).rejects.toMatchObject({ code: 'invalid-argument', message: expect.stringMatching(/no taste model "weddings"/) });
  });
});

describe('shutdown', () => {
  it('close() frees the port', async () => {
    const extra = await startServer({ library });
    await extra.close();
    const refused = await new Promise<boolean>((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port: extra.port }, () => {
        sock.destroy();
        resolve(false);
      });
      sock.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
