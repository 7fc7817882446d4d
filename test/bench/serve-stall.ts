// What the window's first loupe open of a session waits for on the server: the score bars ask for
// explainAll, whose first call (no text feature cached) opens the text tower and encodes every
// preset's prompts. Here the real HTTP server over a library of a few bench photos (indexed with
// the bench model) is asked for the loupe's fit-1024 photos every 25 ms from another thread (as the
// browser asks), before and while the session's first explainAll runs: the photos' latency alone
// and the worst while it runs. Each run opens a fresh copy of the library (no text feature cached,
// a new text session). Before the text tower moved to a worker thread, a photo asked meanwhile
// waited for the whole load (~0.5 s with the tiny test model, ~1–2.5 s with ViT-B/32 under load).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Library } from '../../electron/services/library.ts';
import { startServer } from '../../electron/transport/index.ts';
import { createHttpApi } from '../../renderer/src/api/http.ts';
import { median, round } from './util.ts';

export interface ServeStall {
  runs: number;
  photos: number;
  /** Median latency of a fit-1024 photo with nothing else running. */
  aloneMs: number;
  /** Median over runs of the worst photo latency while the first explainAll ran; and the worst run's. */
  duringMs: number;
  duringMaxMs: number;
  /** Median time of that first explainAll. */
  explainMs: number;
}

// The photo requests come from their own thread: a stalled server main thread cannot hold them back.
const ASKER = `
const { parentPort, workerData } = require('node:worker_threads');
let stop = false;
parentPort.on('message', () => (stop = true));
(async () => {
  const lat = [];
  for (let k = 0; !stop; k++) {
    await new Promise((r) => setTimeout(r, 25));
    const t = performance.now();
    const r = await fetch(workerData[k % workerData.length]);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error('HTTP ' + r.status);
    lat.push(performance.now() - t);
  }
  parentPort.postMessage(lat);
})();
`;

export async function measureServeStall(modelDir: string, files: string[], runs = 3): Promise<ServeStall> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-bench-serve-'));
  try {
    const photos = path.join(tmp, 'Photos');
    fs.mkdirSync(photos);
    for (const f of files) fs.copyFileSync(f, path.join(photos, path.basename(f)));
    const base = path.join(tmp, 'base.db');
    const thumbsDir = path.join(tmp, 'thumbs');
    const indexed = await Library.open({ dbPath: base, modelDir, thumbsDir });
    await indexed.addRoot(photos);
    await indexed.index(undefined);
    await indexed.close();

    const alone: number[] = [];
    const during: number[] = [];
    const explain: number[] = [];
    for (let i = 0; i < runs; i++) {
      const dbPath = path.join(tmp, `run${i}.db`);
      fs.copyFileSync(base, dbPath);
      const library = await Library.open({ dbPath, modelDir, thumbsDir });
      const server = await startServer({ library, port: 0, staticDir: tmp });
      try {
        const client = createHttpApi({ origin: server.origin, token: server.token, fetch });
        const ids = (await library.photos()).map((p) => p.id);
        const urls = ids.map((id) => client.imageUrl(id, 1024));
        const ask = async () => {
          const w = new Worker(ASKER, { eval: true, workerData: urls });
          const lat = new Promise<number[]>((resolve, reject) => w.once('message', resolve).once('error', reject));
          return { stop: async () => (w.postMessage('stop'), await lat.finally(() => w.terminate())) };
        };
        // The photos alone (every photo asked once first: the server's cache warm, as a revisited frame).
        for (const u of urls) await (await fetch(u)).arrayBuffer();
        const quiet = await ask();
        await new Promise((r) => setTimeout(r, 500));
        alone.push(median(await quiet.stop()));
        // The same while the session's first explainAll runs.
        const busy = await ask();
        await new Promise((r) => setTimeout(r, 30));
        const t = performance.now();
        await client.explainAll(ids[0]);
        explain.push(performance.now() - t);
        during.push(Math.max(...(await busy.stop())));
      } finally {
        await server.close();
        await library.close();
      }
    }
    return { runs, photos: files.length, aloneMs: round(median(alone), 0), duringMs: round(median(during), 0), duringMaxMs: round(Math.max(...during), 0), explainMs: round(median(explain), 0) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
