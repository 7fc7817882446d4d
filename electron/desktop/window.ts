// The window's security settings as plain data and functions, so test/window-security.test.ts can
// check them under Node without Electron. main.ts feeds them to BrowserWindow / webContents.
// The renderer is served from the privileged `cull://app/` origin (electron/protocol.ts) rather
// than file://, so 'self' in the CSP means exactly the app's own files.

/** Origin of the packaged renderer; thumbnails and previews come from cull://thumb/ and cull://image/. */
export const APP_SCHEME = 'cull';
export const APP_ORIGIN = `${APP_SCHEME}://app`;
export const APP_URL = `${APP_ORIGIN}/index.html`;

export const BACKGROUND_COLOR = '#16171a';

/** The subset of Electron's BrowserWindowConstructorOptions we set (kept structural: no electron import). */
export interface SecureWindowOptions {
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  show: boolean;
  backgroundColor: string;
  title: string;
  autoHideMenuBar: boolean;
  webPreferences: {
    preload: string;
    contextIsolation: true;
    sandbox: true;
    nodeIntegration: false;
    nodeIntegrationInWorker: false;
    nodeIntegrationInSubFrames: false;
    webSecurity: true;
    allowRunningInsecureContent: false;
    webviewTag: false;
    experimentalFeatures: false;
    navigateOnDragDrop: false;
    spellcheck: false;
    safeDialogs: true;
  };
}

export function secureWindowOptions(preloadPath: string): SecureWindowOptions {
  return {
    width: 1400,
    height: 900,
    minWidth: 800,
    minHeight: 560,
    show: false, // shown on 'ready-to-show' so the user never sees a white flash
    backgroundColor: BACKGROUND_COLOR,
    title: 'Cull',
    autoHideMenuBar: true,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false, // dropping a file on the window must not navigate to it
      spellcheck: false,
      safeDialogs: true,
    },
  };
}

export interface CspOptions {
  /** Extra image sources besides 'self' and data: (the app adds `cull:`). */
  img?: string[];
  /** Extra connect sources besides 'self' (the HTTP transport adds its ws:// origin, dev adds Vite's). */
  connect?: string[];
  /** Vite's dev server injects modules and styles; only ever set in development. */
  dev?: string;
}

/**
 * The Content-Security-Policy for the renderer. style-src needs 'unsafe-inline' because Svelte
 * writes `style="…"` attributes (style: directives, inline widths); scripts stay 'self' only.
 */
export function contentSecurityPolicy(opts: CspOptions = {}): string {
  const dev = opts.dev ? [opts.dev] : [];
  const directives: [string, string[]][] = [
    ['default-src', ["'self'", ...dev]],
    ['script-src', ["'self'", ...dev]],
    ['style-src', ["'self'", "'unsafe-inline'", ...dev]],
    ['img-src', ["'self'", ...(opts.img ?? []), 'data:']],
    ['font-src', ["'self'", 'data:']],
    ['connect-src', ["'self'", ...(opts.connect ?? []), ...dev, ...(opts.dev ? [opts.dev.replace(/^http/, 'ws')] : [])]],
    ['object-src', ["'none'"]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'none'"]],
    ['frame-src', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
  ];
  return directives.map(([name, sources]) => `${name} ${sources.join(' ')}`).join('; ');
}

/** The policy of the packaged app. */
export const APP_CSP = contentSecurityPolicy({ img: [`${APP_SCHEME}:`] });

/** True when `url` is a page of the app itself (the packaged origin, or the dev server in development). */
export function isAppUrl(url: string, devServerUrl?: string | null): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === `${APP_SCHEME}:` && u.host === 'app') return true;
  if (devServerUrl) {
    try {
      return u.origin === new URL(devServerUrl).origin;
    } catch {
      return false;
    }
  }
  return false;
}

/**
 * Sites the app may open in the user's browser: https only, these exact hosts, default port, no
 * user:password. The renderer links to nothing else today; a compromised renderer must not be able
 * to open arbitrary pages (or custom-scheme handlers such as ms-msdt:) through the main process.
 */
export const EXTERNAL_HOSTS: readonly string[] = ['huggingface.co', 'github.com'];

/** How recent a real mouse click or key press must be for a link to count as the user's. */
export const USER_GESTURE_WINDOW_MS = 1000;

/** Input event types (Electron `input-event` on the webContents) that count as a user gesture. */
const GESTURE_INPUTS = new Set(['mouseDown', 'mouseUp', 'keyDown', 'rawKeyDown', 'char', 'gestureTap']);

export type ExternalDecision = { open: true; url: string } | { open: false; reason: string };

/**
 * The decision for one request to open `url` outside the app: only an allow-listed https URL, and
 * only within USER_GESTURE_WINDOW_MS of a real input event. `lastGestureAt` is when the main
 * process last saw one (Electron's `input-event` comes from the browser process: page script
 * cannot synthesise it), or null.
 */
export function externalLinkDecision(url: string, lastGestureAt: number | null, now: number): ExternalDecision {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { open: false, reason: 'not a URL' };
  }
  if (u.protocol !== 'https:') return { open: false, reason: `scheme ${u.protocol} is not opened outside the app` };
  if (u.username || u.password) return { open: false, reason: 'URLs with credentials are not opened' };
  if (u.port !== '') return { open: false, reason: 'only the default https port is opened' };
  if (!EXTERNAL_HOSTS.includes(u.hostname)) return { open: false, reason: `${u.hostname} is not on the allow-list` };
  if (lastGestureAt === null || now - lastGestureAt < 0 || now - lastGestureAt > USER_GESTURE_WINDOW_MS) {
    return { open: false, reason: 'no click or key press just before: links open only when the user asks' };
  }
  return { open: true, url: u.href };
}

/**
 * Opens external links for one webContents: remembers its last real input event and lets each
 * gesture open at most one link (a script cannot turn one click into many tabs).
 */
export class ExternalLinks {
  private lastGestureAt: number | null = null;
  constructor(
    private readonly openExternal: (url: string) => void,
    private readonly now: () => number = Date.now,
    private readonly log: (message: string) => void = () => {},
  ) {}
  /** Feed Electron's `input-event` types here. */
  noteInput(type: string): void {
    if (GESTURE_INPUTS.has(type)) this.lastGestureAt = this.now();
  }
  /** Opens `url` if externalLinkDecision allows it; returns the decision. */
  request(url: string): ExternalDecision {
    const decision = externalLinkDecision(url, this.lastGestureAt, this.now());
    if (decision.open) {
      this.lastGestureAt = null;
      this.openExternal(decision.url);
    } else if (/^https?:/i.test(url)) {
      this.log(`not opening ${url.slice(0, 200)}: ${decision.reason}`);
    }
    return decision;
  }
}

/** The renderer is a single page: links to anything else never replace it (allowed ones open in the browser). */
export function navigationHandler(opts: { devServerUrl?: string | null; external?: ExternalLinks } = {}) {
  return (event: { preventDefault(): void }, url: string): void => {
    if (isAppUrl(url, opts.devServerUrl)) return;
    event.preventDefault();
    opts.external?.request(url);
  };
}

/** `webContents.setWindowOpenHandler`: no new windows, ever; allowed links go to the user's browser. */
export function windowOpenHandler(opts: { external?: ExternalLinks } = {}) {
  return (details: { url: string }): { action: 'deny' } => {
    opts.external?.request(details.url);
    return { action: 'deny' };
  };
}

/** The one permission the renderer may use: writing text to the clipboard ("copy path"). */
export const ALLOWED_PERMISSIONS: readonly string[] = ['clipboard-sanitized-write'];

/** session.setPermissionRequestHandler: camera, geolocation, notifications… are all refused. */
export function permissionRequestHandler() {
  return (_webContents: unknown, permission: string, callback: (granted: boolean) => void): void =>
    callback(ALLOWED_PERMISSIONS.includes(permission));
}

/** session.setPermissionCheckHandler, same rule. */
export function permissionCheckHandler() {
  return (_webContents: unknown, permission: string): boolean => ALLOWED_PERMISSIONS.includes(permission);
}

/** Structural slice of Electron's WebContents that hardenWebContents touches. */
export interface HardenableWebContents {
  on(event: 'will-navigate' | 'will-redirect', listener: (event: { preventDefault(): void }, url: string) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): unknown;
  on(event: 'input-event', listener: (event: unknown, input: { type: string }) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/** Wires the navigation, redirect, new-window and webview guards onto a window's webContents. */
export function hardenWebContents(
  contents: HardenableWebContents,
  opts: { devServerUrl?: string | null; openExternal?: (url: string) => void; log?: (message: string) => void } = {},
): void {
  const external = opts.openExternal ? new ExternalLinks(opts.openExternal, Date.now, opts.log) : undefined;
  contents.on('input-event', (_event, input) => external?.noteInput(input.type));
  contents.on('will-navigate', navigationHandler({ devServerUrl: opts.devServerUrl, external }));
  contents.on('will-redirect', navigationHandler({ devServerUrl: opts.devServerUrl }));
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(windowOpenHandler({ external }));
}

/**
 * Whether the main process loads the renderer from a Vite dev server, and which. Only with an
 * explicit development flag (`--dev` on the command line or CULL_DEV=1), never in a packaged app,
 * and only an http URL on this machine's loopback: a stray VITE_DEV_SERVER_URL in the environment
 * must not make the app load (and grant its IPC to) a page from elsewhere.
 */
export function devServerUrlFor(opts: { isPackaged: boolean; argv: readonly string[]; env: Record<string, string | undefined> }):
  | { url: string; reason?: undefined }
  | { url: null; reason: string | null } {
  const raw = opts.env.VITE_DEV_SERVER_URL;
  if (!raw) return { url: null, reason: null };
  if (opts.isPackaged) return { url: null, reason: 'VITE_DEV_SERVER_URL is ignored in a packaged app' };
  if (!opts.argv.includes('--dev') && opts.env.CULL_DEV !== '1') {
    return { url: null, reason: 'VITE_DEV_SERVER_URL is ignored without --dev or CULL_DEV=1' };
  }
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { url: null, reason: 'VITE_DEV_SERVER_URL is not a URL' };
  }
  if (u.protocol !== 'http:' || !['localhost', '127.0.0.1', '[::1]'].includes(u.hostname) || u.username || u.password) {
    return { url: null, reason: 'VITE_DEV_SERVER_URL must be http://localhost or http://127.0.0.1' };
  }
  return { url: u.origin + u.pathname };
}
