// Errors with a human reason: front ends show `message` as is. They are UserErrors
// (common/errors.ts), so the API reports them with a code instead of as internal errors.
import type { ApiErrorCode } from '../common/api-types.ts';
import { UserError } from '../common/errors.ts';

/** A model folder is missing, incomplete or inconsistent. `file` names the offending file. Code 'no-model': there is no usable model. */
export class ModelFolderError extends UserError {
  override name = 'ModelFolderError';
  constructor(
    message: string,
    readonly dir: string,
    readonly file: string | null = null,
  ) {
    super(message, 'no-model');
  }
}

/** 'corrupt': the file is damaged; 'unsupported': a format or codec Cull cannot decode (the file may well be fine). */
export type ImageErrorKind = 'missing' | 'not-image' | 'too-large' | 'corrupt' | 'unsupported' | 'failed';

/** A photo could not be decoded; `message` is the reason recorded for the photo. Code 'not-found' when the file is gone. */
export class ImageDecodeError extends UserError {
  override name = 'ImageDecodeError';
  constructor(
    readonly kind: ImageErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, kind === 'missing' ? 'not-found' : 'invalid-argument', options);
  }
}

export type DownloadErrorKind = 'offline' | 'http' | 'not-found' | 'timeout' | 'hash' | 'unsafe' | 'aborted' | 'network';

const DOWNLOAD_CODE = (kind: DownloadErrorKind): ApiErrorCode => (kind === 'aborted' ? 'cancelled' : 'no-model');

/**
 * A model download failed; `file` is the repository file being fetched, when known. Code
 * 'cancelled' when it was cancelled, else 'no-model': there is still no model, try again.
 */
export class DownloadError extends UserError {
  override name = 'DownloadError';
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
    readonly file: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, DOWNLOAD_CODE(kind), options);
  }
}
