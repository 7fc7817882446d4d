// The HTTP + WebSocket transport: `startServer` for `npm run serve` and the browser tests.
export { startServer, generateToken, TOKEN_HEADER, type ServerOptions, type RunningServer } from './server.ts';
export { ApiDispatcher, throttle, type LibraryApi, type ModelService, type MaybeLibrary, type CallResult } from './dispatch.ts';
export { lookupImage, type ImageKind } from './images.ts';
export { createProtocolHandler } from './protocol-handler.ts';
