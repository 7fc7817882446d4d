// Large XMP packets are scanned in a worker_threads worker, so a multi-megabyte sidecar (darktable
// histories, Lightroom masks) never holds up the main process (in the app: the window's IPC). The
// worker runs scanXmp from its own source text (it is self-contained), so no separate worker file
// has to be found at run time under tsx, vitest or the esbuild bundle. Small packets (the usual
// few kilobytes) are scanned in place: starting a worker costs more than scanning them.
// Checked: under tsx and vitest (esbuild with keepNames: the `__name` helper is defined below) and
// in an esbuild bundle as build/build-electron.ts makes it, plain and --minify (no keepNames there;
// keepNames together with minify would rename the helper and break this).
import { Worker } from 'node:worker_threads';
import { scanXmp, type XmpLimits, type XmpScan } from './xmp-scan.ts';

/** Packets at least this long (characters) are scanned in a worker. */
export const OFF_THREAD_CHARS = 256 * 1024;
/** A worker scan that takes longer than this is stopped and the packet refused. */
export const SCAN_TIMEOUT_MS = 20_000;

/** Whether the last scans ran in a worker (for tests): counts worker scans. */
export const workerStats = { scans: 0 };

const SOURCE = `
const __name = (f) => f;
const { parentPort, workerData } = require('node:worker_threads');
const scanXmp = ${scanXmp.toString()};
try {
  parentPort.postMessage({ ok: scanXmp(workerData.text, workerData.limits, workerData.interesting) });
} catch (err) {
  parentPort.postMessage({ error: String(err && err.message || err), refused: Boolean(err && err.xmpRefused) });
}
`;

export function scanXmpOffThread(text: string, limits: XmpLimits, interesting: string[]): Promise<XmpScan> {
  if (text.length < OFF_THREAD_CHARS) return Promise.resolve().then(() => scanXmp(text, limits, interesting));
  workerStats.scans++;
  return new Promise((resolve, reject) => {
    const worker = new Worker(SOURCE, { eval: true, workerData: { text, limits, interesting } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(Object.assign(new Error(`scanning it took longer than ${SCAN_TIMEOUT_MS / 1000} s`), { xmpRefused: true }));
    }, SCAN_TIMEOUT_MS);
    worker.once('message', (m: { ok?: XmpScan; error?: string; refused?: boolean }) => {
      clearTimeout(timer);
      void worker.terminate();
      if (m.ok) resolve(m.ok);
      else reject(Object.assign(new Error(m.error), { xmpRefused: m.refused }));
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
