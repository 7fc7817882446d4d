// The HTTP + WebSocket transport: `startServer` for `npm run serve` and the browser tests.
export { startServer, generateToken, TOKEN_HEADER, type ServerOptions, type RunningServer } from './server.ts';
export { ApiDispatcher, toApiError, type CallResult } from './dispatch.ts';
export { throttle, type ModelService, type MaybeLibrary } from './jobs.ts';
export { METHODS, METHOD_NAMES, type LibraryApi } from './methods.ts';
export { lookupImage, type ImageKind } from './images.ts';
export { createProtocolHandler } from './protocol-handler.ts';
