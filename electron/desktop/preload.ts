// Preload of the sandboxed window: exposes `window.cull` (CullApi) through the context bridge.
// One IPC channel per method (`cull:<method>`), events on `cull:event`. Bundled to CommonJS by
// build/build-electron.ts: a sandboxed preload can only require('electron') and a few builtins,
// so everything it needs (the method names from common/api-types.ts) is inlined into the bundle.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { EVENT_CHANNEL, bindMethods, channelFor, type CullApi, type ServerEvent } from '../../common/api-types.ts';
import { APP_SCHEME } from './window.ts';

type Envelope = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; hint?: string } };

async function invoke(channel: string, args: unknown[]): Promise<unknown> {
  const out = (await ipcRenderer.invoke(channel, ...args)) as Envelope;
  if (out.ok) return out.result;
  // Custom Error properties do not survive the context bridge; a plain object does.
  throw out.error.hint ? { code: out.error.code, message: out.error.message, hint: out.error.hint } : { code: out.error.code, message: out.error.message };
}

const api: CullApi = {
  ...bindMethods((name, args) => invoke(channelFor(name), args)),
  chooseFolder: () => invoke(channelFor('chooseFolder'), []) as Promise<string | null>,
  thumbUrl: (id: number) => `${APP_SCHEME}://thumb/${Number(id)}`,
  imageUrl: (id: number, fit?: number) => `${APP_SCHEME}://image/${Number(id)}${fit ? `?fit=${Math.round(Number(fit))}` : ''}`,
  onEvent(listener: (event: ServerEvent) => void): () => void {
    const handler = (_e: IpcRendererEvent, event: ServerEvent) => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('cull', api);
