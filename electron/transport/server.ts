// The HTTP + WebSocket transport of CullApi, for `npm run serve` and the browser tests.
// Local-only by construction: it binds 127.0.0.1, answers only requests whose Host header names
// that address (DNS rebinding), and requires a random token on every request — the `x-cull-token`
// header for API calls, or `?token=` on the first page load, which sets an HttpOnly SameSite=Strict
// cookie so the page's assets and <img> URLs work. API calls never accept the cookie alone (no
// CSRF); the WebSocket needs the token in its URL and a same-origin Origin.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiError, ApiErrorCode } from '../../common/api-types.ts';
import { isInside } from './validate.ts';
import { isApiMethod, type LibraryApi } from './methods.ts';
import { contentSecurityPolicy } from '../desktop/window.ts';
import { ApiDispatcher, type MaybeLibrary, type ModelService } from './dispatch.ts';
import { imageHeaders, lookupImage, type ImageKind } from './images.ts';

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
  progressIntervalMs?: number;
}

export interface RunningServer {
  /** Page URL to open, token included: http://127.0.0.1:<port>/?token=… */
  url: string;
  /** http://127.0.0.1:<port> */
  origin: string;
  port: number;
  token: string;
  dispatcher: ApiDispatcher;
  close(): Promise<void>;
}

export const TOKEN_HEADER = 'x-cull-token';

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

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

const BASE_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // The token travels in URLs: never leak it to another site through Referer.
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

function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
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

/** Reads the body up to `limit` bytes; past that it rejects and drains the rest so the 413 reaches the client. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
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

  let port = 0; // known once listening
  let allowedHosts = new Set<string>();
  let origins = new Set<string>();
  const cookieName = () => `cull-token-${port}`; // per port: cookies are shared between ports of one host
  let csp = '';

  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
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
      const body = await readBody(req, maxBody);
      args = body.length === 0 ? [] : JSON.parse(body.toString('utf8'));
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        sendError(res, { code: 'invalid-argument', message: `Request body larger than ${maxBody} bytes.` }, 413, { connection: 'close' });
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

  async function handleImage(req: http.IncomingMessage, res: http.ServerResponse, kind: ImageKind, segment: string): Promise<void> {
    const found = await lookupImage(await getLibrary(), kind, segment);
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
    const stream = fs.createReadStream(found.file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  async function handleStatic(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, setCookie: boolean): Promise<void> {
    const cookie: Record<string, string> = setCookie
      ? { 'set-cookie': `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/` }
      : {};
    if (!staticDir) {
      sendError(res, { code: 'not-found', message: 'This server has no renderer to serve (build it with npm run build:renderer).' }, 404, cookie);
      return;
    }
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      sendError(res, { code: 'invalid-argument', message: 'Bad path.' }, 400);
      return;
    }
    if (rel.includes('\0') || rel.includes('\\')) {
      sendError(res, { code: 'invalid-argument', message: 'Bad path.' }, 400);
      return;
    }
    let file = path.resolve(staticDir, '.' + path.posix.normalize('/' + rel));
    if (!isInside(file, staticDir)) {
      sendError(res, { code: 'not-found', message: 'Not found.' }, 404);
      return;
    }
    let st = await fs.promises.stat(file).catch(() => null);
    if (st?.isDirectory()) {
      file = path.join(file, 'index.html');
      st = await fs.promises.stat(file).catch(() => null);
    }
    if (!st && !path.extname(rel)) {
      // Single-page app: unknown routes without an extension get the page itself.
      file = path.join(staticDir, 'index.html');
      st = await fs.promises.stat(file).catch(() => null);
    }
    if (!st?.isFile()) {
      sendError(res, { code: 'not-found', message: `Not found: ${rel.slice(0, 200)}` }, 404, cookie);
      return;
    }
    const ext = path.extname(file).toLowerCase();
    const headers: Record<string, string> = {
      ...BASE_HEADERS,
      ...cookie,
      'content-type': STATIC_TYPES[ext] ?? 'application/octet-stream',
      'content-length': String(st.size),
      'cache-control': ext === '.html' ? 'no-store' : 'private, no-cache',
    };
    if (ext === '.html') headers['content-security-policy'] = csp;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
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
      const headerToken = req.headers[TOKEN_HEADER];
      const queryToken = url.searchParams.get('token');
      const cookieToken = readCookie(req.headers.cookie, cookieName());
      const isApi = url.pathname.startsWith('/api/');
      // API calls: header or query only. Page, assets and images: the cookie also counts.
      const given = (typeof headerToken === 'string' ? headerToken : null) ?? queryToken ?? (isApi ? null : cookieToken);
      if (!given) {
        sendError(res, { code: 'unauthorized', message: 'Missing token: open the URL printed by `npm run serve` (it ends in ?token=…).' }, 401);
        return;
      }
      if (!tokensEqual(given, token)) {
        sendError(res, { code: 'unauthorized', message: 'Wrong token: open the URL printed by `npm run serve`.' }, 403);
        return;
      }
      if (isApi) {
        await handleApi(req, res, url.pathname.slice('/api/'.length));
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, { code: 'invalid-argument', message: 'Method not allowed.' }, 405, { allow: 'GET, HEAD' });
        return;
      }
      const image = /^\/(thumb|image)\/([^/]*)$/.exec(url.pathname);
      if (image) {
        await handleImage(req, res, image[1] as ImageKind, image[2]);
        return;
      }
      // Only a valid ?token= (re)sets the cookie; a cookie-authenticated request leaves it alone.
      await handleStatic(req, res, url.pathname, tokensEqual(queryToken, token));
    })().catch((err: unknown) => {
      if (!res.headersSent) sendError(res, { code: 'internal', message: (err as Error)?.message ?? String(err) });
      else res.destroy();
    });
  });

  server.on('upgrade', (req, socket, head) => {
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!hostAllowed(req) || !originAllowed(req)) return refuse('403 Forbidden');
    if (url.pathname !== '/events') return refuse('404 Not Found');
    const headerToken = req.headers[TOKEN_HEADER];
    const given = (typeof headerToken === 'string' ? headerToken : null) ?? url.searchParams.get('token');
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
