// A stand-in for the `electron` module, preloaded with `node --require` in front of the real
// main-process bundle (dist-electron/main.cjs). No Electron binary can run on the test machines;
// this lets the test load the bundle exactly as built for `npm start` — every import resolved,
// the services opened, the window created, IPC and the `cull:` protocol registered — and then
// drive it like a renderer would. It implements only the API surface main.ts, ipc.ts and
// protocol.ts use, records what they did, and prints one JSON report line on stdout at exit.
//
// Env: CULL_HARNESS_SCRIPT — which checks to run once the window has loaded (see `drive`).
'use strict';
const Module = require('node:module');
const { EventEmitter } = require('node:events');

const record = {
  calls: [],
  windows: [],
  schemes: [],
  protocolHandlers: {},
  ipcHandlers: new Map(),
  ipcRegistered: [], // every channel ever registered (quitting removes the handlers)
  ipcLeft: null, // handlers still registered at exit
  permissionHandlers: {},
  sandboxEnabled: false,
  results: {},
  errors: [],
};

const app = new EventEmitter();
app.isPackaged = false;
app.enableSandbox = () => {
  record.sandboxEnabled = true;
};
app.requestSingleInstanceLock = () => true;
let readyResolve;
const ready = new Promise((resolve) => (readyResolve = resolve));
app.whenReady = () => ready;
app.getPath = (name) => require('node:os').tmpdir() + '/' + name;
app.quit = () => {
  // Electron emits before-quit, lets a listener delay it (preventDefault), and exits when quit
  // is called again; main.ts calls quit() once its jobs and the database are closed.
  let prevented = false;
  app.emit('before-quit', { preventDefault: () => (prevented = true) });
  if (!prevented) finish(0);
};

let nextId = 1;
class WebContents extends EventEmitter {
  constructor() {
    super();
    this.id = nextId++;
    this.sent = [];
    this.windowOpenHandler = null;
  }
  send(channel, ...args) {
    this.sent.push({ channel, args });
  }
  isDestroyed() {
    return false;
  }
  setWindowOpenHandler(fn) {
    this.windowOpenHandler = fn;
  }
}

class BrowserWindow extends EventEmitter {
  static getAllWindows() {
    return record.windows;
  }
  constructor(options) {
    super();
    this.options = options;
    this.webContents = new WebContents();
    this.urls = [];
    this.shown = false;
    record.windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  async loadURL(url) {
    this.urls.push(url);
    setImmediate(() => this.emit('ready-to-show'));
  }
  show() {
    this.shown = true;
  }
  isDestroyed() {
    return false;
  }
  isMinimized() {
    return false;
  }
  focus() {}
  restore() {}
}

const electron = {
  app,
  BrowserWindow,
  ipcMain: {
    handle(channel, fn) {
      if (record.ipcHandlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      record.ipcHandlers.set(channel, fn);
      record.ipcRegistered.push(channel);
    },
    removeHandler(channel) {
      record.ipcHandlers.delete(channel);
    },
  },
  protocol: {
    registerSchemesAsPrivileged(schemes) {
      if (readyFired) throw new Error('registerSchemesAsPrivileged must be called before app ready');
      record.schemes.push(...schemes);
    },
    handle(scheme, fn) {
      record.protocolHandlers[scheme] = fn;
    },
  },
  session: {
    defaultSession: {
      setPermissionRequestHandler(fn) {
        record.permissionHandlers.request = fn;
      },
      setPermissionCheckHandler(fn) {
        record.permissionHandlers.check = fn;
      },
      webRequest: { onHeadersReceived() {} },
    },
  },
  dialog: { showOpenDialog: async () => ({ canceled: true, filePaths: [] }) },
  shell: { openExternal: async () => {} },
};

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'electron') return 'electron';
  return resolve.call(this, request, ...rest);
};
require.cache.electron = { id: 'electron', filename: 'electron', loaded: true, exports: electron };

let readyFired = false;
let finished = false;
function finish(code) {
  if (finished) return;
  finished = true;
  const win = record.windows[0];
  const report = {
    sandboxEnabled: record.sandboxEnabled,
    schemes: record.schemes,
    protocolSchemes: Object.keys(record.protocolHandlers),
    ipcChannels: record.ipcRegistered,
    ipcLeftAtExit: [...record.ipcHandlers.keys()],
    windows: record.windows.length,
    windowOptions: win ? win.options : null,
    urls: win ? win.urls : [],
    shown: win ? win.shown : false,
    hasWindowOpenHandler: !!(win && win.webContents.windowOpenHandler),
    permissionHandlers: Object.keys(record.permissionHandlers),
    results: record.results,
    errors: record.errors,
  };
  process.stdout.write(`HARNESS ${JSON.stringify(report)}\n`);
  process.exit(code);
}

async function invoke(win, channel, args, frameUrl) {
  const fn = record.ipcHandlers.get(channel);
  if (!fn) throw new Error(`no IPC handler for ${channel}`);
  return fn({ sender: win.webContents, senderFrame: { url: frameUrl } }, ...args);
}

/** Once the window has loaded: call the app the way its renderer would, then quit. */
async function drive() {
  const win = record.windows[0];
  const appUrl = win.urls[0];
  const r = record.results;
  // The page and a missing file through the `cull:` protocol.
  const handler = record.protocolHandlers.cull;
  const page = await handler(new Request(appUrl));
  r.page = { status: page.status, csp: page.headers.get('content-security-policy'), type: page.headers.get('content-type'), html: (await page.text()).slice(0, 2000) };
  const outside = await handler(new Request('cull://app/../../etc/passwd'));
  r.outsideStatus = outside.status;
  // Wait for the library to open (the services start while the window loads).
  let status;
  for (let i = 0; i < 200; i++) {
    status = await invoke(win, 'cull:modelStatus', [], appUrl);
    if (status.ok && status.result.state !== 'opening') break;
    await new Promise((res) => setTimeout(res, 50));
  }
  r.modelStatus = status;
  r.stats = await invoke(win, 'cull:stats', [], appUrl);
  r.untrusted = await invoke(win, 'cull:stats', [], 'https://evil.example/');
  r.badArgs = await invoke(win, 'cull:photo', ['not a number'], appUrl);
  const root = process.env.CULL_HARNESS_ROOT;
  if (root) {
    r.addRoot = await invoke(win, 'cull:addRoot', [root], appUrl);
    r.index = await invoke(win, 'cull:index', [], appUrl);
    r.statsAfter = await invoke(win, 'cull:stats', [], appUrl);
    r.score = await invoke(win, 'cull:score', ['sharp vs blurry', { top: 3 }], appUrl);
    const first = r.score.ok && r.score.result[0];
    if (first) {
      const thumb = await handler(new Request(`cull://thumb/${first.id}`));
      r.thumb = { status: thumb.status, type: thumb.headers.get('content-type'), bytes: (await thumb.arrayBuffer()).byteLength };
    }
    r.events = win.webContents.sent.map((s) => s.args[0] && s.args[0].type).filter(Boolean);
  }
  r.navigation = (() => {
    const e = { prevented: false, preventDefault: () => (e.prevented = true) };
    win.webContents.emit('will-navigate', e, 'https://evil.example/');
    return e.prevented;
  })();
  r.windowOpen = win.webContents.windowOpenHandler ? win.webContents.windowOpenHandler({ url: 'https://evil.example/' }) : null;
}

ready.then(() => {
  readyFired = true;
});
// Electron fires 'ready' after the main script has run its top level.
setImmediate(() => {
  readyResolve();
  app.emit('ready');
  const started = Date.now();
  const poll = setInterval(() => {
    const win = record.windows[0];
    if (win && win.urls.length > 0 && win.shown) {
      clearInterval(poll);
      drive()
        .catch((err) => record.errors.push(String((err && err.stack) || err)))
        .finally(() => app.quit());
    } else if (Date.now() - started > 60_000) {
      clearInterval(poll);
      record.errors.push('the window never loaded');
      finish(1);
    }
  }, 20);
});
process.on('uncaughtException', (err) => {
  record.errors.push(`uncaught: ${(err && err.stack) || err}`);
  finish(1);
});
