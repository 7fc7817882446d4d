// Electron main process: one hardened window, the `cull:` protocol, the IPC bridge. Everything
// it does is a thin mapping onto AppServices / the Library facade; bundled by
// build/build-electron.ts to dist-electron/main.cjs (package.json "main").
//
// Environment: VITE_DEV_SERVER_URL loads the renderer from Vite's dev server, only together with
// `--dev` or CULL_DEV=1 and never when packaged (window.ts devServerUrlFor);
// CULL_DATA_DIR / CULL_DB / CULL_MODEL_DIR as for the CLI.
import { app, BrowserWindow, dialog, ipcMain, session, shell } from 'electron';
import path from 'node:path';
import { AppServices } from './services/app-services.ts';
import { registerIpcHandlers, type IpcRegistration } from './transport/ipc.ts';
import { handleCullProtocol, registerCullScheme } from './desktop/protocol.ts';
import {
  APP_URL,
  contentSecurityPolicy,
  devServerUrlFor,
  hardenWebContents,
  isAppUrl,
  permissionCheckHandler,
  permissionRequestHandler,
  secureWindowOptions,
  type HardenableWebContents,
} from './desktop/window.ts';

const dev = devServerUrlFor({ isPackaged: app.isPackaged, argv: process.argv, env: process.env });
if (dev.reason) console.warn(`[cull] ${dev.reason}`);
const devServerUrl = dev.url;
// dist-electron/main.cjs → the app root (or app.asar when packaged).
const appRoot = path.resolve(__dirname, '..');
const rendererDir = path.join(appRoot, 'dist', 'renderer');

registerCullScheme(); // must precede 'ready'
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let win: BrowserWindow | null = null;
  let ipc: IpcRegistration | null = null;
  const retired: Promise<void>[] = []; // dispatchers of closed windows, finishing their cancelled jobs
  const services = new AppServices({ log: (line) => console.log(`[cull] ${line}`) });
  // Open the library (loading ONNX sessions takes a moment) while Electron starts.
  const started = services.start();

  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });

  // Nothing may create another window, webview or navigation, whatever the page asks; links open
  // in the browser only for allow-listed https hosts and right after a real click or key press.
  app.on('web-contents-created', (_event, contents) => {
    hardenWebContents(contents as unknown as HardenableWebContents, {
      devServerUrl,
      openExternal: (url) => void shell.openExternal(url),
      log: (line) => console.warn(`[cull] ${line}`),
    });
  });

  async function createWindow(): Promise<void> {
    const preload = path.join(__dirname, 'preload.cjs');
    win = new BrowserWindow(secureWindowOptions(preload));
    const window = win;
    window.once('ready-to-show', () => window.show());

    ipc = registerIpcHandlers(ipcMain, () => services.getLibrary(), window, {
      models: services,
      devServerUrl,
      chooseFolder: async () => {
        const result = await dialog.showOpenDialog(window, { title: 'Add a folder of photos', properties: ['openDirectory'] });
        return result.canceled || result.filePaths.length === 0 ? null : result.filePaths[0];
      },
    });

    const registration = ipc;
    window.on('closed', () => {
      registration.dispose(); // cancels its jobs; before-quit waits for them to stop
      retired.push(registration.dispatcher.drain());
      if (ipc === registration) ipc = null;
      win = null;
    });

    if (devServerUrl) await window.loadURL(devServerUrl);
    else await window.loadURL(APP_URL);
  }

  app.whenReady().then(async () => {
    handleCullProtocol({ rendererDir, getLibrary: () => services.getLibrary() });

    const ses = session.defaultSession;
    ses.setPermissionRequestHandler(permissionRequestHandler());
    ses.setPermissionCheckHandler(permissionCheckHandler());
    // The packaged pages get their CSP from the protocol handler; the dev server's pages get it here.
    if (devServerUrl) {
      const devCsp = contentSecurityPolicy({ img: ['cull:'], dev: new URL(devServerUrl).origin });
      ses.webRequest.onHeadersReceived((details, callback) => {
        const headers = { ...details.responseHeaders };
        if (isAppUrl(details.url, devServerUrl)) headers['Content-Security-Policy'] = [devCsp];
        callback({ responseHeaders: headers });
      });
    }

    await createWindow();
    await started;

    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) void createWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    // Let running jobs stop and the database close cleanly before exiting.
    event.preventDefault();
    quitting = true;
    if (ipc) {
      ipc.dispose(); // cancels index / export / download
      retired.push(ipc.dispatcher.drain());
    }
    void Promise.allSettled(retired)
      .then(() => services.close())
      .finally(() => app.quit());
  });
}
