// Human-readable numbers, durations and errors for the UI.
import type { ApiError, ApiErrorCode } from '../../../common/api-types.ts';

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec) || perSec <= 0) return '–';
  return perSec >= 10 ? `${Math.round(perSec)}/s` : `${perSec.toFixed(1)}/s`;
}

export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec) || sec < 0) return '–';
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, '0')} min`;
}

export function formatScore(score: number | undefined, kind: 'attributes' | 'search' = 'attributes'): string {
  if (score === undefined || !Number.isFinite(score)) return '';
  if (kind === 'search') return score.toFixed(3);
  return score >= 0 && score <= 1 ? score.toFixed(2) : score.toFixed(1);
}

export function formatDate(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** <input type=date> value (local midnight) ⇄ ms. */
export function dateInputToMs(value: string, endOfDay = false): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (endOfDay) d.setDate(d.getDate() + 1);
  return d.getTime();
}

const HINTS: Record<ApiErrorCode, string> = {
  'invalid-argument': 'Check what you typed and try again.',
  'not-found': 'The photo or folder is gone: re-index the library to refresh it.',
  'outside-library': 'Add the folder to the library first.',
  busy: 'Another task is running: wait for it to finish or cancel it.',
  cancelled: 'Cancelled — nothing more to do.',
  internal: 'Try again; if it keeps failing, restart Cull and report the message.',
  'no-model': 'Install a CLIP model first: download it from the start screen or with `cull models download`.',
  unauthorized: 'Open the URL printed by `npm run serve` (it ends in ?token=…).',
};

export interface UiError {
  code: ApiErrorCode;
  message: string;
  hint: string;
}

/** Normalises anything thrown by the API (ApiError, Error, string) into message + what to do. */
export function toUiError(err: unknown, context?: string): UiError {
  let code: ApiErrorCode = 'internal';
  let message = 'Unknown error';
  let hint: string | null = null;
  if (err && typeof err === 'object') {
    const e = err as Partial<ApiError> & { message?: unknown; hint?: unknown };
    if (typeof e.code === 'string' && e.code in HINTS) code = e.code as ApiErrorCode;
    if (typeof e.message === 'string' && e.message) message = e.message;
    // A note made in the window says itself what to do.
    if (typeof e.hint === 'string' && e.hint) hint = e.hint;
  } else if (typeof err === 'string' && err) {
    message = err;
  }
  if (/failed to fetch|networkerror|load failed/i.test(message)) {
    return {
      code: 'internal',
      message: `${context ? context + ': ' : ''}cannot reach the Cull server.`,
      hint: 'Check that `npm run serve` is still running, then reload the page.',
    };
  }
  return { code, message: context ? `${context}: ${message}` : message, hint: hint ?? HINTS[code] };
}
