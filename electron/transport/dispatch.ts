// One call, for both transports (IPC in electron/transport/ipc.ts, HTTP in electron/transport/server.ts):
// look the method up in the table (electron/transport/methods.ts), validate its arguments, run it —
// on the open library, or fail with 'no-model' without one — and turn failures into ApiErrors by
// class: a UserError keeps its code, an AbortError is 'cancelled', anything else is a bug: reported
// as 'internal' and logged. The long-running jobs live in electron/transport/jobs.ts. No scoring here.
import type { ApiError, ServerEvent } from '../../common/api-types.ts';
import { UserError } from '../../common/errors.ts';
import { Jobs, requireLibrary, type MaybeLibrary, type ModelService } from './jobs.ts';
import { isApiMethod, methodSpec, validateArgs, type LibraryApi } from './methods.ts';

export { throttle, type MaybeLibrary, type ModelService } from './jobs.ts';
export type { LibraryApi } from './methods.ts';

export interface DispatcherOptions {
  /** The open library, or null while there is no model (methods then fail with 'no-model'); a promise while it opens. */
  getLibrary(): MaybeLibrary;
  models?: ModelService;
  /** Minimum milliseconds between two forwarded progress events of one job (default 100). */
  progressIntervalMs?: number;
  /** Where failures that are not UserErrors (bugs) are reported; default console.error. */
  logError?: (method: string, err: unknown) => void;
}

export type CallResult = { ok: true; result: unknown } | { ok: false; error: ApiError };

const isAbortError = (err: unknown): boolean => (err as { name?: unknown } | null)?.name === 'AbortError';

/**
 * Any thrown value → plain ApiError, by class: a UserError carries its code; an AbortError (a
 * fetch or stream given an aborted signal) is 'cancelled'; anything else is 'internal', with its message.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof UserError) return err.hint ? { code: err.code, message: err.message, hint: err.hint } : { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  if (isAbortError(err)) return { code: 'cancelled', message: message || 'Cancelled.' };
  return { code: 'internal', message: message || 'Internal error.' };
}

/** True when `err` is reported as 'internal': a bug, worth its stack in the log. */
export function isInternal(err: unknown): boolean {
  return !(err instanceof UserError) && !isAbortError(err);
}

export class ApiDispatcher {
  private readonly listeners = new Set<(e: ServerEvent) => void>();
  private readonly inFlight = new Set<Promise<CallResult>>();
  private readonly jobs: Jobs;

  constructor(private readonly opts: DispatcherOptions) {
    this.jobs = new Jobs({
      getLibrary: opts.getLibrary,
      models: opts.models,
      emit: (event) => this.emit(event),
      progressIntervalMs: opts.progressIntervalMs ?? 100,
    });
  }

  onEvent(listener: (e: ServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ServerEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A broken listener (closed window, dead socket) must not stop the others.
      }
    }
  }

  /** Validates and runs one call; resolves with an envelope, never rejects (IPC and HTTP both send it as data). */
  invoke(method: string, args: unknown): Promise<CallResult> {
    const pending = this.call(method, args).then(
      (result): CallResult => ({ ok: true, result: result === undefined ? null : result }),
      (err: unknown): CallResult => {
        if (isInternal(err)) (this.opts.logError ?? logError)(method, err);
        return { ok: false, error: toApiError(err) };
      },
    );
    this.inFlight.add(pending);
    void pending.finally(() => this.inFlight.delete(pending));
    return pending;
  }

  /** Resolves once every call in flight has finished (after dispose(): before closing the library under them). */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Validates and runs one call; throws a UserError (or whatever the handler threw) on failure. */
  async call(method: string, rawArgs: unknown): Promise<unknown> {
    let lib: Promise<LibraryApi | null> | null = null;
    const getLib = () => (lib ??= Promise.resolve(this.opts.getLibrary()));
    const args = await validateArgs(method, rawArgs, { roots: async () => (await getLib())?.roots() ?? [] });
    if (!isApiMethod(method)) throw new UserError(`Unknown method "${method.slice(0, 64)}".`, 'not-found'); // validateArgs refused it already
    const spec = methodSpec(method);
    if (spec.runWithoutLibrary) return spec.runWithoutLibrary(args, this.jobs);
    return spec.run!(await requireLibrary(getLib()), args, this.jobs);
  }

  /** Cancels running jobs (window closing, server shutting down). */
  dispose(): void {
    this.jobs.dispose();
    this.listeners.clear();
  }
}

function logError(method: string, err: unknown): void {
  console.error(`cull: ${method} failed with an internal error:`, err);
}
