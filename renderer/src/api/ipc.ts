// Electron transport: the preload (electron/desktop/preload.ts) exposes `window.cull`. Errors crossing the
// context bridge lose custom properties, so the preload rejects with plain { code, message }
// objects; this wrapper turns them back into ApiClientErrors.
import { API_METHOD_NAMES, type CullApi } from '../../../common/api-types.ts';
import { toClientError } from './errors.ts';

export function createIpcApi(bridge: CullApi): CullApi {
  const api = {
    thumbUrl: (id: number) => bridge.thumbUrl(id),
    imageUrl: (id: number) => bridge.imageUrl(id),
    onEvent: (listener: Parameters<CullApi['onEvent']>[0]) => bridge.onEvent(listener),
  } as Record<string, unknown>;
  const names: string[] = [...API_METHOD_NAMES];
  if (typeof bridge.chooseFolder === 'function') names.push('chooseFolder');
  for (const name of names) {
    const fn = (bridge as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
    api[name] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toClientError(err);
      }
    };
  }
  return api as unknown as CullApi;
}
