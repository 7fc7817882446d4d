// A minimal Hugging Face-like file server on 127.0.0.1 for download tests run in child processes:
// `/<repo>/resolve/<rev>/<file>` with Range support and the file's SHA-256 in X-Linked-Etag, sent in
// small chunks with a pause between them (`chunkDelayMs`) so a test can kill a download mid-file.
// `redirects` maps a file to a Location to answer with instead (302).
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubServer {
  base: string;
  requests: string[];
  redirects: Map<string, string>;
  chunkDelayMs: number;
  close(): Promise<void>;
}

export async function startHubServer(repo: string, rev: string, files: Map<string, Buffer>, chunkDelayMs = 0): Promise<HubServer> {
  const requests: string[] = [];
  const redirects = new Map<string, string>();
  const hub: HubServer = { base: '', requests, redirects, chunkDelayMs, close: async () => undefined };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname);
    const prefix = `/${repo}/resolve/${rev}/`;
    const file = url.pathname.startsWith(prefix) ? decodeURIComponent(url.pathname.slice(prefix.length)) : '';
    const redirect = redirects.get(file);
    if (redirect) return res.writeHead(302, { location: redirect }).end();
    const body = files.get(file);
    if (!body) return res.writeHead(404).end('Entry not found');
    const sha = crypto.createHash('sha256').update(body).digest('hex');
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    if (start >= body.length && range) return res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    const headers: http.OutgoingHttpHeaders = { 'x-linked-etag': `"${sha}"`, 'content-length': body.length - start };
    if (range) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
    res.writeHead(range ? 206 : 200, headers);
    let at = start;
    const step = 16 * 1024;
    const send = () => {
      if (res.destroyed) return;
      if (at >= body.length) return void res.end();
      const chunk = body.subarray(at, at + step);
      at += chunk.length;
      res.write(chunk, () => (hub.chunkDelayMs ? setTimeout(send, hub.chunkDelayMs) : setImmediate(send)));
    };
    send();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  hub.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  hub.close = async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return hub;
}
