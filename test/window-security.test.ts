// The Electron window's security settings, checked under Node: electron/desktop/window.ts is plain data and
// functions (no 'electron' import), and the `cull:` protocol handler is a fetch-style function.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProtocolHandler } from '../electron/transport/protocol-handler.ts';
import type { LibraryApi } from '../electron/transport/dispatch.ts';
import {
  APP_CSP,
  APP_URL,
  BACKGROUND_COLOR,
  contentSecurityPolicy,
  hardenWebContents,
  isAppUrl,
  navigationHandler,
  devServerUrlFor,
  externalLinkDecision,
  ExternalLinks,
  EXTERNAL_HOSTS,
  USER_GESTURE_WINDOW_MS,
  permissionCheckHandler,
  permissionRequestHandler,
  secureWindowOptions,
  windowOpenHandler,
  type HardenableWebContents,
} from '../electron/desktop/window.ts';

function parseCsp(csp: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of csp.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name, sources);
  }
  return out;
}

function fakeEvent() {
  const e = { prevented: false, preventDefault: () => void (e.prevented = true) };
  return e;
}

describe('secureWindowOptions', () => {
  const opts = secureWindowOptions('/app/dist-electron/preload.cjs');

  it('isolates and sandboxes the renderer', () => {
    const wp = opts.webPreferences;
    expect(wp.preload).toBe('/app/dist-electron/preload.cjs');
    expect(wp.contextIsolation).toBe(true);
    expect(wp.sandbox).toBe(true);
    expect(wp.nodeIntegration).toBe(false);
    expect(wp.nodeIntegrationInWorker).toBe(false);
    expect(wp.nodeIntegrationInSubFrames).toBe(false);
    expect(wp.webSecurity).toBe(true);
    expect(wp.allowRunningInsecureContent).toBe(false);
    expect(wp.webviewTag).toBe(false);
    expect(wp.navigateOnDragDrop).toBe(false);
  });

  it('starts hidden on a dark background', () => {
    expect(opts.show).toBe(false);
    expect(opts.backgroundColor).toBe(BACKGROUND_COLOR);
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(BACKGROUND_COLOR.slice(i, i + 2), 16));
    expect(Math.max(r, g, b)).toBeLessThan(64);
  });
});

describe('content security policy', () => {
  const csp = parseCsp(APP_CSP);

  it('allows only the app itself to run scripts and connect', () => {
    expect(csp.get('default-src')).toEqual(["'self'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('object-src')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(APP_CSP).not.toMatch(/unsafe-eval/);
    expect(csp.get('script-src')).not.toContain("'unsafe-inline'");
  });

  it('shows images from the app, the cull: protocol and data: URLs only', () => {
    expect(csp.get('img-src')).toEqual(["'self'", 'cull:', 'data:']);
  });

  it('lets the HTTP transport add its WebSocket origin without loosening scripts', () => {
    const served = parseCsp(contentSecurityPolicy({ connect: ['ws://127.0.0.1:5178'] }));
    expect(served.get('connect-src')).toEqual(["'self'", 'ws://127.0.0.1:5178']);
    expect(served.get('script-src')).toEqual(["'self'"]);
    expect(served.get('img-src')).toEqual(["'self'", 'data:']);
  });
});

describe('navigation and new windows', () => {
  it('knows the app URL and nothing else', () => {
    expect(isAppUrl(APP_URL)).toBe(true);
    expect(isAppUrl('cull://app/assets/index.js')).toBe(true);
    expect(isAppUrl('cull://thumb/1')).toBe(false);
    expect(isAppUrl('https://example.com/')).toBe(false);
    expect(isAppUrl('file:///etc/passwd')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
    expect(isAppUrl('http://localhost:5173/', null)).toBe(false);
    expect(isAppUrl('http://localhost:5173/#/grid', 'http://localhost:5173')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false);
  });

  it('blocks navigation away from the app; only an allow-listed https link right after a click opens in the browser', () => {
    const opened: string[] = [];
    let now = 10_000;
    const external = new ExternalLinks((u) => opened.push(u), () => now);
    const guard = navigationHandler({ external });
    const urls = ['https://evil.example/', 'https://huggingface.co/openai/clip-vit-base-patch32', 'file:///home/user/photo.jpg', 'javascript:alert(1)', 'cull://image/3'];
    // No input event yet: a script navigating on its own opens nothing.
    for (const url of urls) {
      const e = fakeEvent();
      guard(e, url);
      expect(e.prevented, url).toBe(true);
    }
    expect(opened).toEqual([]);
    // A real click, then the page navigates: the allow-listed link opens, the others never.
    external.noteInput('mouseUp');
    now += 50;
    for (const url of urls) guard(fakeEvent(), url);
    expect(opened).toEqual(['https://huggingface.co/openai/clip-vit-base-patch32']);
    // One gesture, one link.
    guard(fakeEvent(), 'https://github.com/');
    expect(opened).toHaveLength(1);
    const inside = fakeEvent();
    guard(inside, 'cull://app/index.html#/settings');
    expect(inside.prevented).toBe(false);
  });

  it('never opens a new window', () => {
    const opened: string[] = [];
    let now = 0;
    const external = new ExternalLinks((u) => opened.push(u), () => now);
    const handler = windowOpenHandler({ external });
    expect(handler({ url: 'https://github.com/docs' })).toEqual({ action: 'deny' });
    expect(opened).toEqual([]); // window.open without a click: nothing
    external.noteInput('keyDown');
    now = 300;
    expect(handler({ url: 'https://example.com/docs' })).toEqual({ action: 'deny' });
    expect(handler({ url: 'cull://app/index.html' })).toEqual({ action: 'deny' });
    expect(handler({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(handler({ url: 'https://github.com/docs' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://github.com/docs']);
  });

  it('externalLinkDecision: https, allow-listed host, default port, no credentials, within a second of a real input', () => {
    const t = 1_000_000;
    const ok = (url: string, last: number | null = t - 10) => externalLinkDecision(url, last, t).open;
    expect(EXTERNAL_HOSTS).toEqual(['huggingface.co', 'github.com']);
    expect(ok('https://huggingface.co/x')).toBe(true);
    expect(ok('https://github.com/x?y#z')).toBe(true);
    for (const url of [
      'http://huggingface.co/x', // not https
      'https://huggingface.co.evil.example/', // look-alike host
      'https://evil.example/?https://github.com',
      'https://user:pw@github.com/',
      'https://github.com:8443/',
      'https://sub.github.com/',
      'ms-msdt:/id PCWDiagnostic',
      'file:///etc/passwd',
      'smb://server/share',
      'javascript:alert(1)',
      'not a url',
    ]) {
      expect(ok(url), url).toBe(false);
    }
    expect(ok('https://github.com/', null)).toBe(false); // never a gesture
    expect(ok('https://github.com/', t - USER_GESTURE_WINDOW_MS - 1)).toBe(false); // too long ago
    expect(ok('https://github.com/', t + 5)).toBe(false); // clock went backwards
    expect(externalLinkDecision('https://github.com/', null, t)).toMatchObject({ open: false, reason: expect.stringMatching(/click or key press/) });
    // Only real input types count as a gesture.
    const opened: string[] = [];
    const links = new ExternalLinks((u) => opened.push(u), () => t);
    for (const type of ['mouseMove', 'mouseWheel', 'mouseEnter', 'keyUp']) links.noteInput(type);
    links.request('https://github.com/');
    expect(opened).toEqual([]);
  });

  it('devServerUrlFor: VITE_DEV_SERVER_URL only with --dev or CULL_DEV=1, never packaged, only loopback http', () => {
    const url = 'http://localhost:5173/';
    const decide = (isPackaged: boolean, argv: string[], env: Record<string, string>) => devServerUrlFor({ isPackaged, argv, env }).url;
    expect(decide(false, ['electron', '.'], {})).toBeNull();
    expect(decide(false, ['electron', '.'], { VITE_DEV_SERVER_URL: url })).toBeNull(); // the old code trusted this
    expect(devServerUrlFor({ isPackaged: false, argv: [], env: { VITE_DEV_SERVER_URL: url } }).reason).toMatch(/--dev or CULL_DEV=1/);
    expect(decide(false, ['electron', '.', '--dev'], { VITE_DEV_SERVER_URL: url })).toBe(url);
    expect(decide(false, ['electron', '.'], { VITE_DEV_SERVER_URL: url, CULL_DEV: '1' })).toBe(url);
    expect(decide(true, ['cull', '--dev'], { VITE_DEV_SERVER_URL: url, CULL_DEV: '1' })).toBeNull();
    for (const bad of ['https://evil.example/', 'http://192.168.1.5:5173/', 'file:///tmp/index.html', 'http://user:pw@localhost:5173/', 'nonsense']) {
      expect(decide(false, ['--dev'], { VITE_DEV_SERVER_URL: bad }), bad).toBeNull();
    }
    expect(decide(false, ['--dev'], { VITE_DEV_SERVER_URL: 'http://127.0.0.1:5173' })).toBe('http://127.0.0.1:5173/');
  });

  it('hardenWebContents wires every guard onto the webContents', () => {
    const listeners = new Map<string, (...a: never[]) => void>();
    let openHandler: ((d: { url: string }) => { action: 'deny' }) | null = null;
    const contents: HardenableWebContents = {
      on: ((event: string, listener: (...a: never[]) => void) => {
        listeners.set(event, listener);
      }) as HardenableWebContents['on'],
      setWindowOpenHandler: (h) => {
        openHandler = h;
      },
    };
    const opened: string[] = [];
    hardenWebContents(contents, { openExternal: (u) => opened.push(u) });
    expect([...listeners.keys()].sort()).toEqual(['input-event', 'will-attach-webview', 'will-navigate', 'will-redirect']);
    const nav = fakeEvent();
    (listeners.get('will-navigate') as (e: unknown, url: string) => void)(nav, 'https://evil.example/');
    expect(nav.prevented).toBe(true);
    const redirect = fakeEvent();
    (listeners.get('will-redirect') as (e: unknown, url: string) => void)(redirect, 'http://127.0.0.1:1/');
    expect(redirect.prevented).toBe(true);
    const webview = fakeEvent();
    (listeners.get('will-attach-webview') as (e: unknown) => void)(webview);
    expect(webview.prevented).toBe(true);
    expect(openHandler!({ url: 'https://github.com/' })).toEqual({ action: 'deny' });
    expect(opened).toEqual([]); // no input event yet
    (listeners.get('input-event') as (e: unknown, input: { type: string }) => void)({}, { type: 'mouseDown' });
    expect(openHandler!({ url: 'https://github.com/' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://github.com/']);
  });

  it('denies every permission but writing text to the clipboard', () => {
    const answers: boolean[] = [];
    const handler = permissionRequestHandler();
    const check = permissionCheckHandler();
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen']) {
      handler(null, p, (granted) => answers.push(granted));
      expect(check(null, p), p).toBe(false);
    }
    expect(answers).toEqual([false, false, false, false, false, false]);
    handler(null, 'clipboard-sanitized-write', (granted) => answers.push(granted));
    expect(answers.at(-1)).toBe(true);
    expect(check(null, 'clipboard-sanitized-write')).toBe(true);
  });
});

describe('cull: protocol', () => {
  let dir: string;
  let handler: (r: Request) => Promise<Response>;
  let thumb: string;
  let outside: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-protocol-'));
    const renderer = path.join(dir, 'renderer');
    const thumbs = path.join(dir, 'thumbs');
    fs.mkdirSync(path.join(renderer, 'assets'), { recursive: true });
    fs.mkdirSync(thumbs);
    fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Cull</title>');
    fs.writeFileSync(path.join(renderer, 'assets', 'app.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dir, 'secret.txt'), 'not for the renderer');
    thumb = path.join(thumbs, '1.jpg');
    fs.writeFileSync(thumb, Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
    outside = path.join(dir, 'secret.txt');
    // A library that knows photo 1 (thumbnail in its cache) and, wrongly, claims photo 2 lives outside it.
    const lib = {
      thumbPath: async (id: number) => (id === 1 ? thumb : id === 2 ? outside : null),
      imagePath: async () => null,
      isInsideLibrary: async (p: string) => p.startsWith(thumbs + path.sep),
    } as unknown as LibraryApi;
    handler = createProtocolHandler({ rendererDir: renderer, getLibrary: () => lib });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const get = (url: string) => handler(new Request(url));

  it('serves the renderer with the CSP header', async () => {
    const res = await get('cull://app/index.html');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(APP_CSP);
    expect(await res.text()).toContain('<title>Cull</title>');
    const js = await get('cull://app/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
  });

  it('never leaves the renderer folder', async () => {
    for (const url of ['cull://app/../secret.txt', 'cull://app/%2e%2e/secret.txt', 'cull://app/..%2fsecret.txt', 'cull://app/assets/%2e%2e%2f%2e%2e%2fsecret.txt']) {
      const res = await get(url);
      expect(res.status, url).not.toBe(200);
    }
  });

  it('serves thumbnails by id only, and only from inside the library', async () => {
    const ok = await get('cull://thumb/1');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(fs.readFileSync(thumb));
    expect((await get('cull://thumb/2')).status).toBe(403); // outside the library
    expect((await get('cull://thumb/999')).status).toBe(404);
    for (const bad of ['cull://thumb/..%2F..%2Fsecret.txt', 'cull://thumb/-1', 'cull://thumb/1.5', 'cull://thumb/0x1', 'cull://image/%2Fetc%2Fpasswd']) {
      expect((await get(bad)).status, bad).toBe(400);
    }
    expect((await get('cull://other/1')).status).toBe(404);
    expect((await handler(new Request('cull://thumb/1', { method: 'POST' }))).status).toBe(405);
  });
});
