// The HTTP + WebSocket transport of CullApi, for `npm run serve` and the browser tests.
// Local-only by construction: it binds 127.0.0.1 and answers only requests whose Host header names
// that address (DNS rebinding) and whose Origin, when present, is its own.
// The token never travels where another server could see it (issue 14 item 1; docs/reliability.md):
//  - no cookie at all (cookies are not scoped to a port: every loopback server would receive it);
//  - the page's files (the public renderer bundle, no data) are served without the token; the page
//    reads `?token=` once, removes it from the address bar and history, keeps it in memory;
//  - API calls need the `x-cull-token` header (never the URL, never a cookie: no CSRF);
//  - the WebSocket needs it in the `Sec-WebSocket-Protocol` offer (`cull-token.<token>`, browsers)
//    or the `x-cull-token` header (Node clients), plus a same-origin Origin;
//  - images need the header or a per-image capability `?cap=` (renderer/src/api/capability.ts):
//    one image each, no API power, the token not recoverable from it.
// Request bodies are bounded in size and JSON nesting depth while they arrive; files are streamed
// with pipeline() so an aborted download closes its file at once.
//
// The renderer's files are found by static-files.ts and images by images.ts, as for the `cull:`
// protocol of the Electron window (protocol-handler.ts).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiError, ApiErrorCode } from '../../common/api-types.ts';
import { isApiMethod, type LibraryApi } from './methods.ts';
import { contentSecurityPolicy } from '../desktop/window.ts';
import { ApiDispatcher, type MaybeLibrary, type ModelService } from './dispatch.ts';
import { imageHeaders, lookupImage, type ImageKind } from './images.ts';
import { findStaticFile, staticHeaders } from './static-files.ts';
import { IMAGE_KEY_LABEL } from '../../renderer/src/api/capability.ts';

export interface ServerOptions {
  /** A ready library. Either this or `getLibrary` (app services: the library may appear after a model download). */
  library?: LibraryApi;
  getLibrary?: () => MaybeLibrary;
  models?: ModelService;
  port?: number; // 0 = any free port
  host?: string; // only 127.0.0.1 (or 'localhost', bound as 127.0.0.1) is accepted
  /** Defaults to 32 random bytes, base64url. */
  token?: string;
  /** Built renderer to serve at `/` (dist/renderer); null/absent = API only. */
  staticDir?: string | null;
  /** Largest accepted API request body, bytes (default 32 MiB: an export with per-photo scores for 100k photos). */
  maxBodyBytes?: number;
  /** Deepest accepted JSON nesting of a request body (default 32; the deepest real call nests 4). */
  maxJsonDepth?: number;
  progressIntervalMs?: number;
}

export interface RunningServer {
  /** Page URL to open, token included: http://127.0.0.1:<port>/?token=… (the page strips it at once). */
  url: string;
  /** http://127.0.0.1:<port> */
  origin: string;
  port: number;
  token: string;
  dispatcher: ApiDispatcher;
  close(): Promise<void>;
}

export const TOKEN_HEADER = 'x-cull-token';
/** WebSocket subprotocol the server selects; browsers offer it with `cull-token.<token>`. */
export const WS_PROTOCOL = 'cull.v1';
export const WS_TOKEN_PREFIX = 'cull-token.';
export const DEFAULT_MAX_JSON_DEPTH = 32;

const HTTP_STATUS: Record<ApiErrorCode, number> = {
  'invalid-argument': 400,
  unauthorized: 401,
  'outside-library': 403,
  'not-found': 404,
  busy: 409,
  cancelled: 409,
  incomplete: 500, // part of a job was done (the message says what), then a step failed
  internal: 500,
  'no-model': 503,
};

const BASE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // The page URL carries ?token= until the page strips it: never leak it through Referer.
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function generateToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

function tokensEqual(given: string | null | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Same derivation as renderer/src/api/capability.ts: a per-image capability, useless for anything else. */
export function imageCapability(token: string, kind: ImageKind, idSegment: string): string {
  const imageKey = crypto.createHmac('sha256', token).update(IMAGE_KEY_LABEL).digest();
  return crypto.createHmac('sha256', imageKey).update(`${kind}/${idSegment}`).digest('base64url');
}

/** The token offered as a WebSocket subprotocol (`cull-token.<token>`), if any. */
function tokenFromProtocols(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  for (const p of header.split(',')) {
    const v = p.trim();
    if (v.startsWith(WS_TOKEN_PREFIX)) return v.slice(WS_TOKEN_PREFIX.length);
  }
  return null;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body === undefined ? null : body);
  res.writeHead(status, {
    ...BASE_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(text);
}

function sendError(res: http.ServerResponse, error: ApiError, status = HTTP_STATUS[error.code] ?? 500, extra: Record<string, string> = {}): void {
  sendJson(res, status, { error }, extra);
}

class BodyTooLarge extends Error {}
class BodyTooDeep extends Error {}

/**
 * Tracks the nesting depth of JSON text chunk by chunk (brackets outside strings), so a body
 * nested deeper than `limit` is refused as soon as the offending byte arrives — JSON.parse of
 * 10 million `[` blocked the event loop for seconds. Malformed JSON is left to JSON.parse.
 */
export class JsonDepthGauge {
  private depth = 0;
  private inString = false;
  private escaped = false;
  constructor(private readonly limit: number) {}
  /** False once the depth limit is passed. */
  feed(chunk: Uint8Array): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true; // backslash
        else if (c === 0x22) this.inString = false;
      } else if (c === 0x22) this.inString = true;
      else if (c === 0x5b || c === 0x7b) {
        if (++this.depth > this.limit) return false;
      } else if (c === 0x5d || c === 0x7d) this.depth--;
    }
    return true;
  }
}

/**
 * Reads the body up to `limit` bytes and `maxDepth` JSON nesting; past either it rejects at once
 * and drains the rest so the 413 / 400 reaches the client.
 */
function readBody(req: http.IncomingMessage, limit: number, maxDepth: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    const gauge = new JsonDepthGauge(maxDepth);
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      if (!gauge.feed(chunk)) {
        refused = true;
        chunks.length = 0;
        reject(new BodyTooDeep());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Sends a file; pipeline() destroys the file stream when the response closes early (an aborted
 * download), so its descriptor is released at once. `.pipe()` left it open (issue 14 item 3).
 */
function streamFile(file: string, res: http.ServerResponse): void {
  pipeline(fs.createReadStream(file), res, (err) => {
    if (err && !res.destroyed) res.destroy();
  });
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== 'localhost') {
    throw new Error(`Refusing to listen on ${host}: the Cull server has no user accounts and only listens on 127.0.0.1.`);
  }
  const token = opts.token ?? generateToken();
  if (!/^[A-Za-z0-9_-]{32,256}$/.test(token)) throw new Error('The server token must be 32 to 256 URL-safe characters.');
  if (!opts.library && !opts.getLibrary) throw new Error('startServer needs a library (or getLibrary).');
  const getLibrary: () => MaybeLibrary = opts.getLibrary ?? (() => opts.library ?? null);
  const dispatcher = new ApiDispatcher({ getLibrary, models: opts.models, progressIntervalMs: opts.progressIntervalMs });
  const staticDir = opts.staticDir ? path.resolve(opts.staticDir) : null;
  const maxBody = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxDepth = opts.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;

  let port = 0; // known once listening
  let allowedHosts = new Set<string>();
  let origins = new Set<string>();
  let csp = '';

  const server = http.createServer();
  // Selects WS_PROTOCOL so a browser that offered it with its token accepts the handshake.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false) });
  const sockets = new Set<WebSocket>();

  const unsubscribe = dispatcher.onEvent((event) => {
    const text = JSON.stringify(event);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  const hostAllowed = (req: http.IncomingMessage) => allowedHosts.has((req.headers.host ?? '').toLowerCase());
  // Browsers send Origin on cross-site requests (and on every WebSocket); it must be ours when present.
  const originAllowed = (req: http.IncomingMessage) => req.headers.origin === undefined || origins.has(req.headers.origin);

  async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, method: string): Promise<void> {
    if (req.method !== 'POST') {
      sendError(res, { code: 'invalid-argument', message: 'API calls are POST requests with a JSON array of arguments.' }, 405, { allow: 'POST' });
      return;
    }
    if (!isApiMethod(method)) {
      sendError(res, { code: 'not-found', message: `Unknown method "${method.slice(0, 64)}".` });
      return;
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      sendError(res, { code: 'invalid-argument', message: 'Send the arguments as application/json.' }, 415);
      return;
    }
    let args: unknown;
    try {
      const body = await readBody(req, maxBody, maxDepth);
      args = body.length === 0 ? [] : JSON.parse(body.toString('utf8'));
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        sendError(res, { code: 'invalid-argument', message: `Request body larger than ${maxBody} bytes.` }, 413, { connection: 'close' });
      } else if (err instanceof BodyTooDeep) {
        sendError(res, { code: 'invalid-argument', message: `Request body nested deeper than ${maxDepth} levels of JSON arrays/objects.` }, 400, { connection: 'close' });
      } else {
        sendError(res, { code: 'invalid-argument', message: 'The request body is not valid JSON.' });
      }
      return;
    }
    if (!Array.isArray(args)) {
      sendError(res, { code: 'invalid-argument', message: 'The request body must be a JSON array of arguments.' });
      return;
    }
    const out = await dispatcher.invoke(method, args);
    if (res.destroyed) return;
    if (out.ok) sendJson(res, 200, out.result);
    else sendError(res, out.error);
  }

  async function handleImage(req: http.IncomingMessage, res: http.ServerResponse, kind: ImageKind, segment: string, fit: string | null): Promise<void> {
    const found = await lookupImage(await getLibrary(), kind, segment, fit);
    if (!found.ok) {
      sendError(res, found.error, found.status);
      return;
    }
    if (req.headers['if-none-match'] === found.etag) {
      res.writeHead(304, { ...BASE_HEADERS, etag: found.etag, 'cache-control': 'private, no-cache' });
      res.end();
      return;
    }
    res.writeHead(200, { ...BASE_HEADERS, ...imageHeaders(found) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (found.bytes) res.end(found.bytes);
    else streamFile(found.file, res);
  }

  async function handleStatic(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    if (!staticDir) {
      sendError(res, { code: 'not-found', message: 'This server has no renderer to serve (build it with npm run build:renderer).' }, 404);
      return;
    }
    const found = await findStaticFile(staticDir, pathname, { pageFallback: true }); // unknown routes get the page
    if (!found.ok) {
      if (found.status === 400) sendError(res, { code: 'invalid-argument', message: 'Bad path.' }, 400);
      else sendError(res, { code: 'not-found', message: found.outside ? 'Not found.' : `Not found: ${found.rel.slice(0, 200)}` }, 404);
      return;
    }
    const file = found.file;
    const headers: Record<string, string> = {
      ...BASE_HEADERS,
      ...staticHeaders(found, csp),
      'cache-control': found.html ? 'no-store' : 'private, no-cache',
    };
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    streamFile(file, res);
  }

  server.on('request', (req, res) => {
    void (async () => {
      if (!hostAllowed(req)) {
        sendError(res, { code: 'unauthorized', message: 'Host not allowed: open the server through 127.0.0.1.' }, 403);
        return;
      }
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      if (!originAllowed(req)) {
        sendError(res, { code: 'unauthorized', message: 'Cross-origin requests are not allowed.' }, 403);
        return;
      }
      const headerToken = typeof req.headers[TOKEN_HEADER] === 'string' ? (req.headers[TOKEN_HEADER] as string) : null;
      if (url.pathname.startsWith('/api/')) {
        // API calls: the header only (never a URL, never a cookie).
        if (!authorized(res, headerToken)) return;
        await handleApi(req, res, url.pathname.slice('/api/'.length));
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, { code: 'invalid-argument', message: 'Method not allowed.' }, 405, { allow: 'GET, HEAD' });
        return;
      }
      const image = /^\/(thumb|image)\/([^/]*)$/.exec(url.pathname);
      if (image) {
        const kind = image[1] as ImageKind;
        const cap = url.searchParams.get('cap');
        // Images: the header, or this image's own capability.
        if (headerToken !== null || !cap) {
          if (!authorized(res, headerToken)) return;
        } else if (!tokensEqual(cap, imageCapability(token, kind, image[2]))) {
          sendError(res, { code: 'unauthorized', message: 'Wrong image capability: image URLs come from the page (reopen the URL printed by `npm run serve`).' }, 403);
          return;
        }
        await handleImage(req, res, kind, image[2], url.searchParams.get('fit'));
        return;
      }
      // The page and its assets: the public renderer bundle, no data, no token needed (the page
      // takes `?token=` from its own URL). Nothing here sets a cookie.
      await handleStatic(req, res, url.pathname);
    })().catch((err: unknown) => {
      if (!res.headersSent) sendError(res, { code: 'internal', message: (err as Error)?.message ?? String(err) });
      else res.destroy();
    });
  });

  function authorized(res: http.ServerResponse, given: string | null): boolean {
    if (!given) {
      sendError(res, { code: 'unauthorized', message: `Missing token: send it in the ${TOKEN_HEADER} header (the page opened from the URL printed by \`npm run serve\` does).` }, 401);
      return false;
    }
    if (!tokensEqual(given, token)) {
      sendError(res, { code: 'unauthorized', message: 'Wrong token: open the URL printed by `npm run serve`.' }, 403);
      return false;
    }
    return true;
  }

  server.on('upgrade', (req, socket, head) => {
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!hostAllowed(req) || !originAllowed(req)) return refuse('403 Forbidden');
    if (url.pathname !== '/events') return refuse('404 Not Found');
    const headerToken = req.headers[TOKEN_HEADER];
    const given = (typeof headerToken === 'string' ? headerToken : null) ?? tokenFromProtocols(req.headers['sec-websocket-protocol']);
    if (!given) return refuse('401 Unauthorized');
    if (!tokensEqual(given, token)) return refuse('403 Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
      ws.on('message', () => {}); // events flow one way; anything sent is ignored
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('The server did not get a TCP port.');
  port = address.port;
  allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  origins = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  csp = contentSecurityPolicy({ connect: [`ws://127.0.0.1:${port}`, `ws://localhost:${port}`] });

  const origin = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | null = null;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    dispatcher,
    close() {
      closed ??= (async () => {
        unsubscribe();
        dispatcher.dispose(); // cancels running jobs…
        await dispatcher.drain(); // …and waits for them, so the caller may close the library next
        for (const ws of sockets) ws.terminate();
        sockets.clear();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
