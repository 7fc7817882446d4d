// Shared bits of the benchmark: cache folders, progress lines, timing statistics, child processes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Everything the benchmark generates lives here (gitignored) and is reused by the next run. */
export const CACHE = path.join(ROOT, '.cache');
export const SHARED_PHOTOS = path.resolve(ROOT, '../shared/photos/sample-shoot');

const started = performance.now();

/** A progress line on stderr (stdout is kept for the table and the final JSON line). */
export function log(msg: string): void {
  const s = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs `fn` `warmup` times, then `reps` times; returns the per-run milliseconds. */
export async function timeRuns(fn: () => unknown, reps: number, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/**
 * Images per second indexing cannot exceed on this machine: each photo costs `decodeMs` of one
 * core, and the encoder keeps `encoderThreads` cores busy for 1/`encoderImgPerSec` s per image.
 */
export function cpuBound(m: { cores: number; decodeMs: number; encoderImgPerSec: number; encoderThreads: number }): number {
  const coreSecondsPerPhoto = m.decodeMs / 1000 + m.encoderThreads / m.encoderImgPerSec;
  return m.cores / coreSecondsPerPhoto;
}

export const mb = (bytes: number): number => Math.round(bytes / 1e6);
export const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

/** CPU seconds (user + system, all threads) used by this process so far. */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Runs a TypeScript file in a fresh Node process (so its memory is measured alone) and returns
 * the JSON object it prints as its last stdout line. Its stderr (progress) passes through.
 */
export async function runChild<T>(file: string, args: string[], env: Record<string, string> = {}): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const last = out.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`${path.basename(file)} ${args.join(' ')} exited with ${code}: ${out.slice(-2000)}`);
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`${path.basename(file)} printed no JSON result: ${out.slice(-2000)}`);
  }
}

/** Prints the result object as the process's last stdout line (the protocol of runChild). */
export function reply(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function rmrf(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}
