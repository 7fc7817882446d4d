// Errors a person can act on. Anything thrown that is a UserError reaches the user with its code and
// message (the transports map it to an ApiError); anything else is a bug, reported as 'internal'
// with its message logged. Throw a UserError (or a subclass) for every "what you asked cannot be
// done, and here is what to do" case: a query that does not parse, a folder that does not exist,
// a model that is missing. Plain Errors are for conditions that should never happen.
import type { ApiErrorCode } from './api-types.ts';

export class UserError extends Error {
  readonly code: ApiErrorCode;
  constructor(message: string, code: ApiErrorCode = 'invalid-argument', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserError';
    this.code = code;
  }
}

/** Something named by the user (a photo, a taste model, a file) is not there. */
export class NotFoundError extends UserError {
  constructor(message: string) {
    super(message, 'not-found');
    this.name = 'NotFoundError';
  }
}

/** One job of this kind is already running (indexing, export, a download). */
export class BusyError extends UserError {
  constructor(message: string) {
    super(message, 'busy');
    this.name = 'BusyError';
  }
}
