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

/** The renderer is a single page: links to anything else never replace it (external http(s) links open in the browser). */
export function navigationHandler(opts: { devServerUrl?: string | null; openExternal?: (url: string) => void } = {}) {
  return (event: { preventDefault(): void }, url: string): void => {
    if (isAppUrl(url, opts.devServerUrl)) return;
    event.preventDefault();
    if (opts.openExternal && /^https?:\/\//i.test(url)) opts.openExternal(url);
  };
}

/** `webContents.setWindowOpenHandler`: no new windows, ever; http(s) links go to the user's browser. */
export function windowOpenHandler(opts: { openExternal?: (url: string) => void } = {}) {
  return (details: { url: string }): { action: 'deny' } => {
    if (opts.openExternal && /^https?:\/\//i.test(details.url)) opts.openExternal(details.url);
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
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/** Wires the navigation, redirect, new-window and webview guards onto a window's webContents. */
export function hardenWebContents(
  contents: HardenableWebContents,
  opts: { devServerUrl?: string | null; openExternal?: (url: string) => void } = {},
): void {
  const guard = navigationHandler(opts);
  contents.on('will-navigate', guard);
  contents.on('will-redirect', navigationHandler({ devServerUrl: opts.devServerUrl }));
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(windowOpenHandler({ openExternal: opts.openExternal }));
}
