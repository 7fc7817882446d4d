// Registers the privileged `cull:` scheme (must happen before app 'ready') and its handler
// (electron/transport/protocol-handler.ts: the renderer files, and thumbnails/images by id only).
import { protocol } from 'electron';
import type { MaybeLibrary } from '../transport/dispatch.ts';
import { createProtocolHandler } from '../transport/protocol-handler.ts';
import { APP_SCHEME } from './window.ts';

/** Call at module load of main.ts, before app.whenReady(). */
export function registerCullScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      // standard: real origins (cull://app) so 'self', relative URLs and ES modules work;
      // secure: treated like https; no bypassCSP.
      privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true },
    },
  ]);
}

/** Call once the app is ready. */
export function handleCullProtocol(opts: { rendererDir: string; getLibrary(): MaybeLibrary }): void {
  protocol.handle(APP_SCHEME, createProtocolHandler(opts));
}
