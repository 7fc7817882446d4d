// Errors the renderer sees from either transport: a real Error (stack, instanceof) carrying the
// ApiError code, so the UI can branch on `code` ('no-model' → first-run screen, 'busy', …).
import type { ApiError, ApiErrorCode } from '../../../common/api-types.ts';

export class ApiClientError extends Error implements ApiError {
  readonly code: ApiErrorCode;
  readonly hint?: string;
  constructor(code: ApiErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'ApiClientError';
    this.code = code;
    if (hint) this.hint = hint;
  }
}

/** Whatever a transport rejected with → ApiClientError (unknown shapes become 'internal'). */
export function toClientError(err: unknown): ApiClientError {
  if (err instanceof ApiClientError) return err;
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; hint?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(err);
    if (typeof e.code === 'string') return new ApiClientError(e.code as ApiErrorCode, message, typeof e.hint === 'string' ? e.hint : undefined);
    return new ApiClientError('internal', message);
  }
  return new ApiClientError('internal', String(err));
}
