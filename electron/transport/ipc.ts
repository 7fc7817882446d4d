// IPC half of the bridge: one `ipcMain.handle('cull:<method>')` per entry of the method table
// (electron/transport/methods.ts), each handed to the shared ApiDispatcher. Handlers answer
// with an envelope ({ ok, result } | { ok: false, error }) because Electron keeps only the message
// of a thrown error. Calls from any frame but the app's own window are refused. Electron objects
// are injected (structural types) so test/ipc-validation.test.ts runs under plain Node.
import { EVENT_CHANNEL, channelFor, type ServerEvent } from '../../common/api-types.ts';
import { ApiDispatcher, toApiError, type CallResult, type MaybeLibrary, type ModelService } from './dispatch.ts';
import { METHOD_NAMES } from './methods.ts';
import { isAppUrl } from '../desktop/window.ts';

/** What a handler receives as its first argument (Electron's IpcMainInvokeEvent, reduced). */
export interface InvokeEventLike {
  sender: unknown;
  senderFrame?: { url: string } | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown> | unknown): void;
  removeHandler(channel: string): void;
}

/** The window whose renderer may call, and which receives events. */
export interface WindowLike {
  webContents: { id?: number; send(channel: string, ...args: unknown[]): void; isDestroyed?(): boolean };
  isDestroyed?(): boolean;
}

export interface IpcOptions {
  models?: ModelService;
  /** Native folder picker (main.ts: dialog.showOpenDialog); absent → chooseFolder answers null. */
  chooseFolder?: () => Promise<string | null>;
  /** Vite dev server origin in development, so its frames count as the app. */
  devServerUrl?: string | null;
  progressIntervalMs?: number;
}

export interface IpcRegistration {
  dispatcher: ApiDispatcher;
  channels: string[];
  dispose(): void;
}

export function registerIpcHandlers(
  ipcMain: IpcMainLike,
  getLibrary: () => MaybeLibrary,
  window: WindowLike,
  opts: IpcOptions = {},
): IpcRegistration {
  const dispatcher = new ApiDispatcher({ getLibrary, models: opts.models, progressIntervalMs: opts.progressIntervalMs });

  const unsubscribe = dispatcher.onEvent((event: ServerEvent) => {
    if (window.isDestroyed?.() || window.webContents.isDestroyed?.()) return;
    window.webContents.send(EVENT_CHANNEL, event);
  });

  // Only the app window's own page may call (not an iframe, not a page it was tricked into loading).
  const sameSender = (sender: unknown): boolean => {
    if (sender === window.webContents) return true;
    const id = (sender as { id?: unknown } | null)?.id;
    return typeof id === 'number' && id === window.webContents.id;
  };
  const trusted = (event: InvokeEventLike): boolean =>
    sameSender(event.sender) && !!event.senderFrame && isAppUrl(event.senderFrame.url, opts.devServerUrl);
  const refused: CallResult = { ok: false, error: { code: 'unauthorized', message: 'IPC call from an untrusted frame.' } };

  const channels: string[] = [];
  for (const method of METHOD_NAMES) {
    const channel = channelFor(method);
    ipcMain.handle(channel, (event, ...args) => (trusted(event) ? dispatcher.invoke(method, args) : refused));
    channels.push(channel);
  }

  const chooseChannel = channelFor('chooseFolder');
  ipcMain.handle(chooseChannel, async (event, ...args): Promise<CallResult> => {
    if (!trusted(event)) return refused;
    if (args.length > 0) return { ok: false, error: { code: 'invalid-argument', message: 'chooseFolder takes no arguments.' } };
    try {
      return { ok: true, result: opts.chooseFolder ? await opts.chooseFolder() : null };
    } catch (err) {
      return { ok: false, error: toApiError(err) };
    }
  });
  channels.push(chooseChannel);

  return {
    dispatcher,
    channels,
    dispose() {
      unsubscribe();
      dispatcher.dispose();
      for (const c of channels) ipcMain.removeHandler(c);
    },
  };
}
