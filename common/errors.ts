// Errors a person can act on. Anything thrown that is a UserError reaches the user with its code and
// message (the transports map it to an ApiError); anything else is a bug, reported as 'internal'
// with its message logged. Throw a UserError (or a subclass) for every "what you asked cannot be
// done, and here is what to do" case: a query that does not parse, a folder that does not exist,
// a model that is missing. Plain Errors are for conditions that should never happen.
// The message says what happened; `hint`, when given, says what to do, so the window can show the two
// apart without repeating one as the other (and the CLI prints both).
import type { ApiErrorCode } from './api-types.ts';

export class UserError extends Error {
  readonly code: ApiErrorCode;
  /** What to do about it, in the photographer's words; absent when the message says it already. */
  readonly hint?: string;
  constructor(message: string, code: ApiErrorCode = 'invalid-argument', options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.code = code;
    if (options?.hint) this.hint = options.hint;
  }

  /** The message and the hint as one text (the terminal, logs). */
  get fullText(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
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
