// The `cull:` protocol of the Electron window, as a plain fetch-style handler (Request → Response)
// so it is tested under Node; electron/protocol.ts registers it with protocol.handle.
//   cull://app/<file>   the built renderer (dist/renderer), with the CSP header on HTML
//   cull://thumb/<id>   a thumbnail the library knows
//   cull://image/<id>   the full preview of a photo the library knows (?fit=<px>: a screen-sized
//                       rendition; electron/services/previews.ts), else its thumbnail
// Nothing else: no other hosts, no paths outside the renderer folder or the library.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { APP_CSP } from '../desktop/window.ts';
import type { MaybeLibrary } from './dispatch.ts';
import { imageHeaders, lookupImage } from './images.ts';
import { findStaticFile, staticHeaders } from './static-files.ts';

export interface ProtocolHandlerOptions {
  rendererDir: string;
  getLibrary(): MaybeLibrary;
  csp?: string;
}

const text = (status: number, body: string) =>
  new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } });

function fileResponse(file: string, headers: Record<string, string>): Response {
  const body = Readable.toWeb(fs.createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
  return new Response(body, { status: 200, headers });
}

export function createProtocolHandler(opts: ProtocolHandlerOptions): (request: Request) => Promise<Response> {
  const rendererDir = path.resolve(opts.rendererDir);
  const csp = opts.csp ?? APP_CSP;

  async function serveApp(pathname: string): Promise<Response> {
    const found = await findStaticFile(rendererDir, pathname);
    if (!found.ok) return found.status === 400 ? text(400, 'Bad path') : text(404, 'Not found');
    return fileResponse(found.file, staticHeaders(found, csp));
  }

  return async (request: Request): Promise<Response> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'Method not allowed');
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return text(400, 'Bad URL');
    }
    if (url.protocol !== 'cull:') return text(404, 'Not found');
    if (url.host === 'app') return serveApp(url.pathname);
    if (url.host === 'thumb' || url.host === 'image') {
      const segment = url.pathname.replace(/^\//, '');
      const found = await lookupImage(await opts.getLibrary(), url.host, segment, url.searchParams.get('fit'));
      if (!found.ok) return text(found.status, found.error.message);
      if (found.bytes) return new Response(new Uint8Array(found.bytes), { status: 200, headers: imageHeaders(found) });
      return fileResponse(found.file, imageHeaders(found));
    }
    return text(404, 'Not found');
  };
}
