// The renderer's one entry to the backend: `window.cull` from the Electron preload when present,
// else the HTTP + WebSocket client of `npm run serve`, built from the page URL's token.
import { bindMethods, type CullApi } from '../../../common/api-types.ts';
import { ApiClientError } from './errors.ts';
import { createHttpApi, takeTokenFromLocation } from './http.ts';
import { createIpcApi } from './ipc.ts';

export { ApiClientError, toClientError } from './errors.ts';
export { createHttpApi, takeTokenFromLocation } from './http.ts';
export { createIpcApi } from './ipc.ts';
export type * from '../../../common/api-types.ts';

declare global {
  interface Window {
    cull?: CullApi;
  }
}

let cached: CullApi | null = null;

/** Which transport this page runs on. */
export function transportKind(): 'ipc' | 'http' {
  return typeof window !== 'undefined' && window.cull ? 'ipc' : 'http';
}

export function getApi(): CullApi {
  if (cached) return cached;
  if (typeof window !== 'undefined' && window.cull) {
    cached = createIpcApi(window.cull);
    return cached;
  }
  const token = takeTokenFromLocation();
  if (!token) {
    throw new ApiClientError('unauthorized', 'This page needs its access token: open the URL printed by `npm run serve` (it ends in ?token=…). The page keeps the token in memory only, so a reload or a bookmark of the bare address needs that URL again.');
  }
  cached = createHttpApi({ token });
  return cached;
}

/** An API whose every call rejects with `error` (no token in the URL): the UI shows the message instead of a blank page. */
function failingApi(error: unknown): CullApi {
  return {
    ...bindMethods(() => Promise.reject(error)),
    thumbUrl: () => '',
    imageUrl: () => '',
    onEvent: () => () => {},
  };
}

/** The API of this page, chosen once at load (the preload runs before any page script). */
export const api: CullApi = (() => {
  try {
    return getApi();
  } catch (err) {
    return failingApi(err);
  }
})();
