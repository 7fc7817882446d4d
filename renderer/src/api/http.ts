// Browser transport for `npm run serve` and the browser tests: POST /api/<method> with a JSON
// array of arguments and the token in the `x-cull-token` header; events over one WebSocket at
// /events (token offered as the subprotocol `cull-token.<token>`: browsers cannot set headers on
// WebSockets), reconnecting if the server restarts. Images are same-origin URLs carrying a
// per-image capability (./capability.ts), never the token.
// The token lives in this module's memory only: takeTokenFromLocation() reads `?token=` once and
// removes it from the address bar and history at once (issue 14 item 1; docs/reliability.md).
import { bindMethods, type CullApi, type ServerEvent } from '../../../common/api-types.ts';
import { imageCapability, imageKeyOf } from './capability.ts';
import { ApiClientError, toClientError } from './errors.ts';

export interface HttpApiOptions {
  /** http://127.0.0.1:<port>; defaults to the page's origin. */
  origin?: string;
  token: string;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
}

let pageToken: string | null = null;

/**
 * Takes the token out of the page URL (`?token=`): kept in memory, removed from the address bar
 * and the history entry with history.replaceState before anything else runs. Not stored anywhere
 * (no cookie, no sessionStorage): a reload of the bare URL asks for the printed URL again.
 * Later calls return the remembered token.
 */
export function takeTokenFromLocation(loc: Location = location, hist: History | null = typeof history === 'undefined' ? null : history): string | null {
  const params = new URLSearchParams(loc.search);
  const fromUrl = params.get('token');
  if (fromUrl !== null) {
    params.delete('token');
    const search = params.toString();
    hist?.replaceState(hist.state, '', `${loc.pathname}${search ? `?${search}` : ''}${loc.hash}`);
    if (fromUrl) pageToken = fromUrl;
  }
  return pageToken;
}

export const WS_PROTOCOL = 'cull.v1';

export function createHttpApi(opts: HttpApiOptions): CullApi {
  const origin = (opts.origin ?? location.origin).replace(/\/$/, '');
  const token = opts.token;
  const imageKey = imageKeyOf(token);
  const doFetch = opts.fetch ?? fetch.bind(globalThis);

  async function call(method: string, args: unknown[]): Promise<unknown> {
    let res: Response;
    try {
      res = await doFetch(`${origin}/api/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-cull-token': token },
        body: JSON.stringify(args),
      });
    } catch (err) {
      throw new ApiClientError('internal', `Cannot reach the Cull server at ${origin}: ${(err as Error).message}. Is \`npm run serve\` still running?`);
    }
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      // handled below
    }
    if (res.ok) return body;
    const error = (body as { error?: unknown } | null)?.error;
    if (error) throw toClientError(error);
    throw new ApiClientError('internal', `The server answered ${res.status} ${res.statusText}.`);
  }

  // --- events: one socket shared by all listeners, opened on the first subscription.
  const listeners = new Set<(e: ServerEvent) => void>();
  let socket: WebSocket | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  let backoff = 500;

  function connect(): void {
    if (socket || listeners.size === 0) return;
    const wsUrl = `${origin.replace(/^http/, 'ws')}/events`;
    const WS = opts.WebSocket ?? WebSocket; // looked up lazily: only needed once someone listens
    const ws = new WS(wsUrl, [WS_PROTOCOL, `cull-token.${token}`]);
    socket = ws;
    ws.onopen = () => {
      backoff = 500;
    };
    ws.onmessage = (msg: MessageEvent) => {
      let event: ServerEvent;
      try {
        event = JSON.parse(String(msg.data)) as ServerEvent;
      } catch {
        return;
      }
      for (const l of [...listeners]) l(event);
    };
    ws.onclose = () => {
      socket = null;
      if (listeners.size === 0) return;
      retry = setTimeout(() => {
        retry = null;
        connect();
      }, backoff);
      backoff = Math.min(backoff * 2, 10_000);
    };
  }

  return {
    ...bindMethods(call),
    thumbUrl: (id: number) => `${origin}/thumb/${encodeURIComponent(String(id))}?cap=${imageCapability(imageKey, 'thumb', id)}`,
    imageUrl: (id: number, fit?: number) =>
      `${origin}/image/${encodeURIComponent(String(id))}?cap=${imageCapability(imageKey, 'image', id)}${fit ? `&fit=${Math.round(fit)}` : ''}`,
    onEvent(listener: (e: ServerEvent) => void): () => void {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          if (retry) clearTimeout(retry);
          retry = null;
          socket?.close();
          socket = null;
        }
      };
    },
    // chooseFolder is absent on purpose: in the browser the UI asks for a path itself.
  };
}
