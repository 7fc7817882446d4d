// Electron transport: the preload (electron/desktop/preload.ts) exposes `window.cull`. Errors crossing the
// context bridge lose custom properties, so the preload rejects with plain { code, message }
// objects; this wrapper turns them back into ApiClientErrors.
import { bindMethods, type CullApi } from '../../../common/api-types.ts';
import { toClientError } from './errors.ts';

export function createIpcApi(bridge: CullApi): CullApi {
  const methods = bridge as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const call = async (name: string, args: unknown[]): Promise<unknown> => {
    try {
      return await methods[name](...args);
    } catch (err) {
      throw toClientError(err);
    }
  };
  return {
    ...bindMethods(call),
    ...(typeof bridge.chooseFolder === 'function' ? { chooseFolder: () => call('chooseFolder', []) as Promise<string | null> } : {}),
    thumbUrl: (id: number) => bridge.thumbUrl(id),
    imageUrl: (id: number, fit?: number) => bridge.imageUrl(id, fit),
    onEvent: (listener) => bridge.onEvent(listener),
  };
}
