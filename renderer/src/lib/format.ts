// Human-readable numbers, durations and errors for the UI.
import type { ApiError, ApiErrorCode } from '../../../common/api-types.ts';
import type { CaptureSettings, PreviewInfo } from '../../../common/types.ts';

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

/** Capture time with seconds (and hundredths when the camera gives them: bursts): "2024-07-01 10:00:05.25". */
export function formatCaptureTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const cs = Math.floor(d.getMilliseconds() / 10);
  return `${formatDate(ms)}:${pad(d.getSeconds())}${cs ? `.${pad(cs)}` : ''}`;
}

/** "1/250 s", "1/8 s", "0.3 s", "2 s", "30 s". */
export function formatShutter(s: number | null | undefined): string {
  if (s === null || s === undefined || !(s > 0)) return '';
  if (s >= 1) return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
  const inv = 1 / s;
  if (Math.abs(inv - Math.round(inv)) < 0.05 * inv || inv >= 4) return `1/${Math.round(inv)} s`;
  return `${s.toFixed(1)} s`;
}

/** "−2/3 EV", "+1 EV", "0 EV": compensation in thirds as cameras set it, else one decimal. */
export function formatEv(ev: number | null | undefined): string {
  if (ev === null || ev === undefined || !Number.isFinite(ev)) return '';
  if (Math.abs(ev) < 0.01) return '0 EV';
  const sign = ev < 0 ? '−' : '+';
  const a = Math.abs(ev);
  const whole = Math.floor(a + 0.01);
  const thirds = Math.round((a - whole) * 3);
  if (Math.abs(a - (whole + thirds / 3)) < 0.02) {
    const frac = thirds === 0 ? '' : `${thirds}/3`;
    return `${sign}${whole ? whole : ''}${whole && frac ? ' ' : ''}${frac || (whole ? '' : '0')} EV`;
  }
  return `${sign}${a.toFixed(1)} EV`;
}

/** The frame number in a camera file name: "IMG_5102.CR3" → "5102", "DSC_0042-2.jpg" → "0042"; '' when none. */
export function frameNumber(name: string): string {
  const stem = name.replace(/\.[^.]*$/, '');
  const m = /(\d{3,})(?!.*\d{3,})/.exec(stem);
  return m ? m[1] : '';
}

/** One line of capture settings: "1/250 s · f/2.8 · ISO 800 · 85 mm · −2/3 EV" ('' when none known). */
export function captureLine(c: CaptureSettings | undefined | null): string {
  if (!c) return '';
  const parts = [
    formatShutter(c.exposureTime),
    c.fNumber ? `f/${Number(c.fNumber.toFixed(1))}` : '',
    c.iso ? `ISO ${c.iso}` : '',
    c.focalLength ? `${Number(c.focalLength.toFixed(1))} mm` : '',
    c.exposureBias !== null && Math.abs(c.exposureBias) >= 0.01 ? formatEv(c.exposureBias) : '',
  ];
  return parts.filter(Boolean).join(' · ');
}

/** A file name cut in the middle, so the frame number at its end stays: "Wedding_Ceremo…_5102.jpg". */
export function middleEllipsis(name: string, max: number): string {
  if (name.length <= max || max < 5) return name;
  // The frame number and the extension are never cut, even if the name then runs a little longer.
  const frame = frameNumber(name);
  const keep = frame ? name.length - name.lastIndexOf(frame) : 0;
  const tail = Math.min(name.length, Math.max(Math.ceil((max - 1) * 0.55), keep));
  const head = Math.max(0, max - 1 - tail);
  return `${name.slice(0, head)}…${name.slice(name.length - tail)}`;
}

/**
 * What the loupe shows, in the photographer's words: `short` for the info panel, `badge` for the
 * zoom badge at 100 % when those pixels are not the photo's own full size (a RAW's preview smaller
 * than its sensor, or not known to be as large; a thumbnail standing in), else null.
 */
export function describePreview(info: PreviewInfo): { short: string; long: string; badge: string | null } {
  const size = `${info.width}×${info.height}`;
  switch (info.source) {
    case 'original':
      return { short: `the original, ${size}`, long: 'The original file, as it is.', badge: null };
    case 'decoded':
      return { short: `decoded original, ${size}`, long: 'The original, decoded in full (a browser cannot show its format).', badge: null };
    case 'thumbnail':
      return { short: `thumbnail only, ${size}`, long: 'The full preview could not be made from this file: its thumbnail stands in.', badge: `thumbnail, ${size}` };
    case 'embedded': {
      const s = info.sensor;
      const smaller = !s || Math.max(info.width, info.height) < 0.9 * Math.max(s.width, s.height);
      const sensor = s ? ` (sensor ${s.width}×${s.height})` : '';
      return {
        short: `embedded preview, ${size}${smaller ? sensor : ''}`,
        long: 'The JPEG preview the camera embedded in the RAW file: its pixels are what 100 % shows (Cull does not develop RAW data).',
        badge: smaller ? `embedded preview, ${size}` : null,
      };
    }
  }
}

/** The fit view's rendition size for a stage of `px` device pixels on its long side: steps of 256 (0 before layout). */
export function fitBucket(px: number): number {
  if (!(px > 0)) return 0;
  return Math.min(8192, Math.max(256, Math.ceil(px / 256) * 256));
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
  incomplete: 'What was done is listed above; fix the failed step and run it again (nothing done is repeated).',
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
