// The renderer's own files (the built page, scripts, styles, fonts), for both the `cull:` protocol of
// the Electron window (protocol-handler.ts) and the HTTP server (server.ts): which file a URL path
// names — decoded, never outside the renderer folder, a folder meaning its index.html — and the
// headers it is sent with (its type, its length, nosniff, the CSP on HTML).
import fs from 'node:fs';
import path from 'node:path';
import { isInside } from './validate.ts';

export const STATIC_TYPES: Record<string, string> = {
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

export type StaticFile =
  | { ok: true; file: string; size: number; html: boolean }
  | { ok: false; status: 400 | 404; rel: string; outside?: true };

/**
 * The file of `rootDir` that the URL path `pathname` names. A bad encoding, a NUL or a backslash is
 * 400; a path outside `rootDir` or no file is 404. With `pageFallback`, an unknown path without an
 * extension is the page itself (a single-page app's routes).
 */
export async function findStaticFile(rootDir: string, pathname: string, opts: { pageFallback?: boolean } = {}): Promise<StaticFile> {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    return { ok: false, status: 400, rel: pathname };
  }
  if (rel.includes('\0') || rel.includes('\\')) return { ok: false, status: 400, rel };
  let file = path.resolve(rootDir, '.' + path.posix.normalize('/' + rel));
  if (!isInside(file, rootDir)) return { ok: false, status: 404, rel, outside: true };
  let st = await fs.promises.stat(file).catch(() => null);
  if (st?.isDirectory()) {
    file = path.join(file, 'index.html');
    st = await fs.promises.stat(file).catch(() => null);
  }
  if (!st && opts.pageFallback && !path.extname(rel)) {
    file = path.join(rootDir, 'index.html');
    st = await fs.promises.stat(file).catch(() => null);
  }
  if (!st?.isFile()) return { ok: false, status: 404, rel };
  return { ok: true, file, size: st.size, html: path.extname(file).toLowerCase() === '.html' };
}

/** The headers every transport sends a renderer file with; the page (HTML) carries the CSP `csp`. */
export function staticHeaders(found: Extract<StaticFile, { ok: true }>, csp: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': STATIC_TYPES[path.extname(found.file).toLowerCase()] ?? 'application/octet-stream',
    'content-length': String(found.size),
    'x-content-type-options': 'nosniff',
  };
  if (found.html) headers['content-security-policy'] = csp;
  return headers;
}
