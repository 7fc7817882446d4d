// Errors with a human reason: front ends show `message` as is.

/** A model folder is missing, incomplete or inconsistent. `file` names the offending file. */
export class ModelFolderError extends Error {
  override name = 'ModelFolderError';
  constructor(
    message: string,
    readonly dir: string,
    readonly file: string | null = null,
  ) {
    super(message);
  }
}

export type ImageErrorKind = 'missing' | 'not-image' | 'too-large' | 'corrupt' | 'failed';

/** A photo could not be decoded; `message` is the reason recorded for the photo. */
export class ImageDecodeError extends Error {
  override name = 'ImageDecodeError';
  constructor(
    readonly kind: ImageErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type DownloadErrorKind = 'offline' | 'http' | 'not-found' | 'timeout' | 'hash' | 'unsafe' | 'aborted' | 'network';

/** A model download failed; `file` is the repository file being fetched, when known. */
export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    readonly kind: DownloadErrorKind,
    message: string,
    readonly file: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
