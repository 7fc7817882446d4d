// Child process: end-to-end indexing of a photo folder into a fresh library, alone in its process.
//   --model DIR --photos DIR [--direct --batch N --decode N --threads N --clip-only]
// Without --direct it is exactly what the app does: Library.open + addRoot + index (default
// batch size, decode concurrency and threads, every default analyzer). With --direct, indexLibrary
// is called with the given settings (the sweep that chooses those defaults); --clip-only runs the
// CLIP embedder alone (the baseline the other analyzers' cost is measured against). Either way the
// model is wrapped to time its calls, which tells how long the encoder was busy while decodes ran
// beside it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../../db/database.ts';
import { loadModelFolder } from '../../native-models/folder.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import type { ClipModel } from '../../native-models/types.ts';
import { indexLibrary } from '../../electron/services/indexing/indexer.ts';
import { ClipAnalyzer, defaultAnalyzers, type Analyzer } from '../../electron/services/indexing/analyzers/index.ts';
import { Library } from '../../electron/services/library.ts';
import type { IndexProgress, IndexSummary } from '../../common/types.ts';
import { cpuSeconds, log, reply, rmrf, round } from './util.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    photos: { type: 'string' },
    direct: { type: 'boolean', default: false },
    batch: { type: 'string' },
    decode: { type: 'string' },
    threads: { type: 'string' },
    'clip-only': { type: 'boolean', default: false },
  },
});

export interface IndexRun {
  mode: 'library' | 'direct';
  /** Which analyzers ran: 'all' (the defaults) or 'clip' (the embedder alone). */
  analyzers: 'all' | 'clip';
  batch: number | null;
  decode: number | null;
  threads: number | null;
  indexed: number;
  failed: number;
  seconds: number;
  imgPerSec: number;
  /** CPU seconds / wall seconds during the run (2.0 = both cores busy throughout). */
  coresBusy: number;
  /**
   * CPU time of the process per indexed photo (every thread: libvips, ONNX Runtime, JS). In direct
   * mode the models' one-time opening is outside it: the CLIP model's, and the analyzers' prepare()
   * (the faces model) — that one is openCpuMs. In library mode it includes the analyzers' opening
   * (the indexer starts it), as in the app.
   */
  cpuMsPerPhoto: number;
  /** Direct mode: CPU of opening the analyzers' models once (their prepare(): the faces model), not per photo; null in library mode. */
  openCpuMs: number | null;
  /** Share of the wall time the encoder was running. */
  encoderBusy: number;
  encodeCalls: number;
  rssMb: number;
}

/** Times every embedImages call; otherwise the model itself. */
function timed(model: ClipModel, busy: { ms: number; calls: number }): ClipModel {
  return {
    info: model.info,
    embedTexts: (t) => model.embedTexts(t),
    dispose: () => model.dispose(),
    async embedImages(pixels, count) {
      const t = performance.now();
      try {
        return await model.embedImages(pixels, count);
      } finally {
        busy.ms += performance.now() - t;
        busy.calls++;
      }
    },
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-bench-index-'));
const photos = path.resolve(a.photos!);
const info = loadModelFolder(a.model!, { quantized: false });
const busy = { ms: 0, calls: 0 };
let lastLog = 0;
const onProgress = (p: IndexProgress) => {
  const now = performance.now();
  if (now - lastLog < 3000 && p.phase !== 'done') return;
  lastLog = now;
  log(`index: ${p.done}/${p.total} photos (${p.ratePerSec.toFixed(1)}/s)`);
};

let summary: IndexSummary;
let cpu0: number;
let openCpu: number | null = null;
try {
  if (a.direct || a['clip-only']) {
    const db = openDatabase(path.join(tmp, 'library.db'));
    const model = await openClipModel(info, { threads: a.threads ? Number(a.threads) : undefined });
    const timedModel = timed(model, busy);
    const analyzers: Analyzer[] = a['clip-only'] ? [new ClipAnalyzer(timedModel)] : defaultAnalyzers(timedModel);
    // Each model is opened once per process, before the photos: what a photo costs is then timed
    // apart from what opening costs (the faces model's tfjs WebAssembly set-up and graph conversion).
    const open0 = cpuSeconds();
    for (const an of analyzers) await an.prepare?.();
    openCpu = cpuSeconds() - open0;
    cpu0 = cpuSeconds();
    summary = await indexLibrary({
      db,
      model: timedModel,
      analyzers,
      roots: [photos],
      thumbsDir: path.join(tmp, 'thumbs'),
      batchSize: a.batch ? Number(a.batch) : undefined,
      decodeConcurrency: a.decode ? Number(a.decode) : undefined,
      onProgress,
    });
    await model.dispose();
    db.close();
  } else {
    const lib = await Library.open({ dbPath: path.join(tmp, 'library.db'), model: info, thumbsDir: path.join(tmp, 'thumbs') });
    // Library owns its model: time its calls by wrapping the instance it holds (its `loaded` model;
    // a `clip` field set on the Library itself, as before, was never called: encoder busy read 0).
    const holder = (lib as unknown as { loaded: { clip: ClipModel } }).loaded;
    holder.clip = timed(holder.clip, busy);
    await lib.addRoot(photos);
    cpu0 = cpuSeconds();
    summary = await lib.index(undefined, { onProgress });
    await lib.close();
  }
  const cpu = cpuSeconds() - cpu0;
  const result: IndexRun = {
    mode: a.direct || a['clip-only'] ? 'direct' : 'library',
    analyzers: a['clip-only'] ? 'clip' : 'all',
    batch: a.batch ? Number(a.batch) : null,
    decode: a.decode ? Number(a.decode) : null,
    threads: a.threads ? Number(a.threads) : null,
    indexed: summary.indexed,
    failed: summary.failed,
    seconds: round(summary.seconds, 2),
    imgPerSec: round(summary.indexed / summary.seconds, 2),
    coresBusy: round(cpu / summary.seconds, 2),
    cpuMsPerPhoto: round((cpu * 1000) / Math.max(1, summary.indexed), 1),
    openCpuMs: openCpu === null ? null : Math.round(openCpu * 1000),
    encoderBusy: round(busy.ms / 1000 / summary.seconds, 2),
    encodeCalls: busy.calls,
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
  };
  if (summary.failed) log(`index: ${summary.failed} failed: ${summary.errors.slice(0, 3).map((e) => e.reason).join('; ')}`);
  reply(result);
} finally {
  rmrf(tmp);
}
