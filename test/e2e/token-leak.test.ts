// Issue 14 item 1 in Chromium: the `npm run serve` token must never reach another server on
// 127.0.0.1. The old page set a cookie `cull-token-<port>=<token>`; cookies ignore ports, so
// Chromium sent it to any loopback server the user visited afterwards (page, images, favicon,
// beacons). Here the built renderer runs against the real server and library; then the user
// follows a link to a second loopback server that records every request it receives, and the test
// tries each value it saw against the Cull API. Also: no token in the address bar, history,
// cookies, storage or image URLs once the page has loaded, and the WebSocket works without it.
import http from 'node:http';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../electron/transport/index.ts';
import { chromiumStatus, closeAll, makePhotos, prepareApp, startApp, type RunningApp } from './helpers.ts';

const chromium = chromiumStatus();

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

describe.skipIf(!chromium.available)('the token stays with the Cull server (Chromium)', () => {
  let app: RunningApp;
  let page: Page;
  let server: RunningServer;
  let other: http.Server;
  let otherPort: number;
  const seen: Seen[] = [];
  const sockets: { url: string; error: boolean; frames: number }[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    const folder = await prepareApp('cull-e2e-token-', (tmp) => makePhotos(path.join(tmp, 'photos'), 4));
    // The page stays blank until the first test loads it: the WebSocket listener below comes first.
    app = await startApp(folder, errors, { roots: [path.join(folder.tmp, 'photos')], httpErrors: false, goto: false });
    ({ page, server } = app);

    // Another service on 127.0.0.1 (a different port): records everything Chromium sends it.
    other = http.createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<!doctype html><title>other</title><link rel="icon" href="/icon.png"><img src="/pixel.png">
<script>navigator.sendBeacon('/beacon', 'x'); fetch('/fetch', { credentials: 'include' });</script>`);
      } else {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end();
      }
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    otherPort = (other.address() as { port: number }).port;

    page.on('websocket', (ws) => {
      const entry = { url: ws.url(), error: false, frames: 0 };
      sockets.push(entry);
      ws.on('socketerror', () => (entry.error = true));
      ws.on('framereceived', () => entry.frames++);
    });
  }, 180_000);

  afterAll(async () => {
    await new Promise<void>((r) => (other ? other.close(() => r()) : r()));
    await closeAll(app);
  });

  it('loads the library with the token taken out of the address bar, history, cookies, storage and image URLs', async () => {
    await page.goto(server.url); // http://127.0.0.1:<port>/?token=… as printed by `npm run serve`
    await page.waitForFunction(() => {
      const imgs = Array.from(document.querySelectorAll<HTMLImageElement>('.grid img'));
      return imgs.length === 4 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    });
    expect(page.url()).toBe(`${server.origin}/`);
    const state = await page.evaluate(() => ({
      href: location.href,
      cookie: document.cookie,
      session: JSON.stringify({ ...sessionStorage }),
      local: JSON.stringify({ ...localStorage }),
      srcs: Array.from(document.querySelectorAll('img')).map((i) => i.src),
      html: document.documentElement.outerHTML,
    }));
    for (const [where, value] of Object.entries(state)) expect(String(value), where).not.toContain(server.token);
    expect(state.srcs.every((s) => /\?cap=[\w-]{43}$/.test(s))).toBe(true);
    expect(await page.context().cookies()).toEqual([]);
    // The event socket is open (the page subscribes at start) without the token in its URL.
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.every((s) => !s.url.includes(server.token) && !s.error)).toBe(true);
    // …and it is authorised (token offered as its subprotocol): an index run's events reach the page.
    const res = await fetch(`${server.origin}/api/index`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cull-token': server.token }, body: '[]' });
    expect(res.status).toBe(200);
    for (let i = 0; i < 100 && !sockets.some((s) => s.frames > 0); i++) await new Promise((r) => setTimeout(r, 50));
    expect(sockets.some((s) => s.frames > 0 && !s.error)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('a second loopback server visited afterwards receives no token and nothing that opens the API', async () => {
    // The user follows a link from the app to another local service.
    await page.evaluate((href) => {
      const a = document.createElement('a');
      a.href = href;
      a.id = 'leak-link';
      a.textContent = 'other service';
      document.body.append(a);
    }, `http://127.0.0.1:${otherPort}/`);
    await page.click('#leak-link');
    await page.waitForURL(`http://127.0.0.1:${otherPort}/`);
    for (let i = 0; i < 100 && !['/pixel.png', '/beacon', '/fetch'].every((u) => seen.some((s) => s.url === u)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(seen.map((s) => s.url)).toEqual(expect.arrayContaining(['/', '/pixel.png', '/beacon', '/fetch']));

    console.log(`[token-leak] the other server received ${seen.length} requests: ${seen.map((s) => s.url).join(' ')}; with a cookie: ${seen.filter((s) => s.headers.cookie).length}`);
    const everything = JSON.stringify(seen);
    expect(everything).not.toContain(server.token);
    expect(seen.filter((s) => s.headers.cookie !== undefined).map((s) => `${s.url}: ${s.headers.cookie}`)).toEqual([]);
    // Every value it saw (header values, cookie pieces, query values) tried as the API token: refused.
    const candidates = new Set<string>();
    for (const s of seen) {
      for (const v of Object.values(s.headers)) for (const piece of String(v).split(/[;,=\s]+/)) if (piece.length >= 16) candidates.add(piece);
      for (const v of new URL(s.url, 'http://x').searchParams.values()) candidates.add(v);
    }
    for (const c of candidates) {
      const res = await fetch(`${server.origin}/api/stats`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-cull-token': c }, body: '[]' });
      expect(res.status, `"${c}" opened the API`).toBeGreaterThanOrEqual(400);
    }

    // Back in the history: the app's entry holds no token either.
    await page.goBack();
    expect(page.url()).toBe(`${server.origin}/`);
    await page.goForward();
    expect(page.url()).not.toContain(server.token);
  });

  it('a reload of the bare address asks for the printed URL instead of working from a stored token', async () => {
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => document.body.innerText.includes('open the URL printed by'));
    expect(await page.locator('.grid img').count()).toBe(0);
  });
});
