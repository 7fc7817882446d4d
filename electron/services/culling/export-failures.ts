// What an export failure means, in the photographer's words: the system's error code of a failed
// read of an original or a failed write into a folder, named as a missing original, a damaged file,
// a permission, a full or read-only drive, a destination that went away, or a name or feature the
// drive does not support — each with what to do. A failure that every further photo would meet too
// (full, read-only, not allowed, gone) stops the export: ExportIncompleteError says what was done.
import path from 'node:path';
import { UserError } from '../../../common/errors.ts';
import type { ExportResult } from './export.ts';

export type TroubleKind =
  | 'original-missing'
  | 'original-not-readable'
  | 'damaged'
  | 'unsupported'
  | 'permission'
  | 'read-only'
  | 'disk-full'
  | 'destination-missing'
  | 'other';

export interface Trouble {
  kind: TroubleKind;
  /** What happened, starting lower case so it can follow "…: " (no trailing full stop). */
  what: string;
  /** What to do about it (no trailing full stop). */
  todo: string;
  /** Every further photo would fail the same way: stop, and say what was done. */
  stops: boolean;
}

const codeOf = (err: unknown): string => ((err as NodeJS.ErrnoException | null)?.code ?? '');

/** A failed read of the original `file` (before or while copying it). */
export function readTrouble(err: unknown): Trouble {
  switch (codeOf(err)) {
    case 'ENOENT':
    case 'ENOTDIR':
      return { kind: 'original-missing', what: 'the original is gone: it was moved or deleted after indexing', todo: 'Put it back, or index its folder again', stops: false };
    case 'EACCES':
    case 'EPERM':
      return { kind: 'original-not-readable', what: 'Cull is not allowed to read the original', todo: 'Give your account permission to read it, then export again', stops: false };
    case 'EIO':
      return { kind: 'damaged', what: 'the original could not be read: the file or its drive is damaged (input/output error)', todo: 'Copy it back from a backup, then export again', stops: false };
    default:
      return other(err);
  }
}

/** A failed write of `name` into the folder `dir` (the destination, a report's folder, an original's folder for a sidecar). */
export function writeTrouble(err: unknown, dir: string, name?: string): Trouble {
  switch (codeOf(err)) {
    case 'ENOSPC':
    case 'EDQUOT':
      return { kind: 'disk-full', what: `the drive holding ${dir} is full`, todo: 'Free some space on it, or choose a folder on another drive, then export again', stops: true };
    case 'EROFS':
      return { kind: 'read-only', what: `${dir} is on a read-only drive`, todo: 'Choose a folder on a drive you can write to, then export again', stops: true };
    case 'EACCES':
    case 'EPERM':
      return { kind: 'permission', what: `Cull is not allowed to write into ${dir}`, todo: 'Choose a folder of your own, or give your account permission to write into this one, then export again', stops: true };
    case 'ENOENT':
    case 'ENOTDIR':
      return { kind: 'destination-missing', what: `the folder ${dir} is gone (was its drive unplugged?)`, todo: 'Reconnect the drive or choose another folder, then export again', stops: true };
    case 'ENAMETOOLONG':
    case 'EINVAL':
    case 'EILSEQ':
      return {
        kind: 'unsupported',
        what: `the drive holding ${dir} does not accept the name ${name ? `"${name}"` : 'given'}: too long, or with characters its file system refuses`,
        todo: 'Use a shorter name without characters such as : ? * " (or a drive formatted for your system), then export again',
        stops: false,
      };
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
    case 'ENOSYS':
      return { kind: 'unsupported', what: `the drive holding ${dir} does not support writing files the way Cull does`, todo: 'Choose a folder on another drive, then export again', stops: false };
    case 'EIO':
      return { kind: 'damaged', what: `a read or write error on the drive holding ${dir} (the drive or the original may be damaged)`, todo: 'Check the drive, or choose another destination, then export again', stops: false };
    default:
      return other(err);
  }
}

function other(err: unknown): Trouble {
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'other', what: message.replace(/\.$/, ''), todo: 'Try again; if it keeps failing, report the message', stops: false };
}

/** One line for a photo's row in the summary and the report: what happened, then what to do. */
export function sentence(t: Trouble): string {
  return `${t.what.charAt(0).toUpperCase()}${t.what.slice(1)}. ${t.todo}.`;
}

/** A failure's words for a note: a UserError says them itself; a system error is worded by `writeTrouble`. */
export function noteReason(err: unknown, dir: string): string {
  if (err instanceof UserError) return err.hint ? `${err.message} ${err.hint}` : err.message;
  return sentence(writeTrouble(err, dir));
}

/**
 * A later step failed after some photos were exported: the message says what was done, then what
 * failed (path and reason); the hint what to do; `partial` is the result so far. Reaches the API
 * (code 'incomplete') and the CLI as a UserError.
 */
export class ExportIncompleteError extends UserError {
  constructor(
    readonly partial: ExportResult,
    message: string,
    hint: string,
  ) {
    super(message, 'incomplete', { hint });
    this.name = 'ExportIncompleteError';
  }

  /** Copying stopped at a photo: the destination is full, read-only, not ours to write, or gone. */
  static stopped(partial: ExportResult, total: number, t: Trouble): ExportIncompleteError {
    const n = partial.exported.length;
    return new ExportIncompleteError(partial, `Export stopped after ${n} of ${total} photo${total === 1 ? '' : 's'}: ${t.what}.`, `${t.todo}${again(n)}.`);
  }

  /** Every photo was handled, then the report could not be written. */
  static reportFailed(partial: ExportResult, report: string, t: Trouble): ExportIncompleteError {
    const n = partial.exported.length;
    const failed = partial.failed.length ? ` (${partial.failed.length} could not be)` : '';
    return new ExportIncompleteError(
      partial,
      `${n} photo${n === 1 ? '' : 's'} exported to ${partial.destination}${failed}, but the report ${path.basename(report)} could not be written into ${path.dirname(report)}: ${t.what}.`,
      `${t.todo}${again(n)}.`,
    );
  }
}

const again = (n: number): string => (n ? ` (the ${n === 1 ? 'photo' : `${n} photos`} already exported ${n === 1 ? 'is' : 'are'} not copied again)` : '');
