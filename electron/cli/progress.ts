// Progress bars on stderr (stdout stays clean for tables and --json). On a non-TTY (CI, pipes)
// cli-progress prints nothing, so we print a plain line every few seconds instead.
import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from './format.ts';
import type { IndexProgress } from '../../common/types.ts';

export interface Bar {
  update(done: number, total: number, payload: Record<string, string | number>): void;
  stop(): void;
}

function plainBar(label: string, describe: (done: number, total: number, p: Record<string, string | number>) => string): Bar {
  let last = 0;
  return {
    update(done, total, payload) {
      const now = Date.now();
      if (now - last < 5000 && done < total) return;
      last = now;
      process.stderr.write(`${label} ${describe(done, total, payload)}\n`);
    },
    stop() {},
  };
}

function makeBar(
  label: string,
  format: string,
  describe: (done: number, total: number, p: Record<string, string | number>) => string,
): Bar {
  if (!process.stderr.isTTY) return plainBar(label, describe);
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] ${format}`, stream: process.stderr, hideCursor: true, barsize: 30, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, payload) {
      if (!started) {
        bar.start(Math.max(total, 1), done, payload);
        started = true;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Indexing: count, rate, ETA, failures so far, and each analyzer with work to do ("Embedding 120/400"). */
export function indexBar(): { onProgress: (p: IndexProgress) => void; stop(): void } {
  const bar = makeBar(
    'Indexing',
    '{value}/{total} photos | {rate}/s | ETA {eta_h} | {failed} failed{analyzers}',
    (done, total, p) => `${done}/${total} photos, ${p.rate}/s, ETA ${p.eta_h}, ${p.failed} failed${p.analyzers}`,
  );
  return {
    onProgress(p) {
      if (p.phase === 'walking') return;
      bar.update(p.done, p.total, {
        rate: p.ratePerSec.toFixed(1),
        eta_h: p.etaSec === null ? '?' : formatDuration(p.etaSec),
        failed: p.failed,
        analyzers: analyzerCounts(p),
      });
    },
    stop: () => bar.stop(),
  };
}

/** " | Embedding 12/40, Focus 40/40": the analyzers that have photos to do this run. */
export function analyzerCounts(p: IndexProgress): string {
  const busy = (p.analyzers ?? []).filter((a) => a.total > 0);
  return busy.length ? ` | ${busy.map((a) => `${a.label} ${a.done}/${a.total}`).join(', ')}` : '';
}

/** Downloads: bytes, total, rate. */
export function downloadBar(): { onProgress: (p: { file: string; bytes: number; total: number | null; rate?: number }) => void; stop(): void } {
  const bar = makeBar(
    'Downloading',
    '{file} {got} / {size} | {speed}/s',
    (_d, _t, p) => `${p.file} ${p.got} / ${p.size}, ${p.speed}/s`,
  );
  return {
    onProgress(p) {
      const total = p.total ?? p.bytes;
      bar.update(p.bytes, total, {
        file: p.file,
        got: formatBytes(p.bytes),
        size: p.total ? formatBytes(p.total) : '?',
        speed: formatBytes(p.rate ?? 0),
      });
    },
    stop: () => bar.stop(),
  };
}
