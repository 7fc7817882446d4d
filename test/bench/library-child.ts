// Child process: one large library opened for scoring, alone in its process so its memory is its own.
//   --db FILE --model DIR --attr TEXT [--reps N] [--agreement] [--groups]
// Measures, through the real facade (Library.open / score / search):
//   open   Library.open until the first ranked page (top 100) of an attribute whose text features
//          are cached in the library (as for any attribute used before), is in hand;
//   rss    resident memory right after that, and the peak;
//   score  the same cached attribute again (one pass over every embedding + top-100 selection);
//   search top-100 text search with a NEW text each time (text encoding included; the text session
//          is opened first by Library.prepareSearch, as the window does when idle), the first such
//          search, and a repeated (cached) text.
// --agreement recomputes the top 100 from the stored float16 embeddings in full precision (a
// streaming pass over the database) and reports how many of the facade's top 100 it shares.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeF16, decodeF32 } from '../../db/vectors.ts';
import { loadModelFolder } from '../../native-models/folder.ts';
import { parseAttribute } from '../../electron/services/signals/attributes.ts';
import { Library } from '../../electron/services/library.ts';
import { poleDirection } from '../../electron/services/signals/scoring.ts';
import { runGroups, type GroupsRun } from './groups-adapter.ts';
import { log, median, reply, rmrf, round, timeRuns } from './util.ts';

const { values: a } = parseArgs({
  options: {
    db: { type: 'string' },
    model: { type: 'string' },
    attr: { type: 'string' },
    reps: { type: 'string', default: '10' },
    agreement: { type: 'boolean', default: false },
    groups: { type: 'boolean', default: false },
    'open-only': { type: 'boolean', default: false },
  },
});

const rss = () => Math.round(process.memoryUsage().rss / 1e6);
const peakRss = () => Math.round((process.resourceUsage().maxRSS * 1024) / 1e6);
const reps = Number(a.reps);
const attr = a.attr!;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-bench-lib-'));
const info = loadModelFolder(a.model!, { quantized: false });
const rssStart = rss();

// --- open until the first scores ------------------------------------------------------------------
const t0 = performance.now();
const lib = await Library.open({ dbPath: a.db!, model: info, thumbsDir: tmp });
const t1 = performance.now();
const first = await lib.score(attr, { top: 100 });
const t2 = performance.now();
const photos = lib.matrix.length;
const rssOpen = rss();
const peakOpen = peakRss();
log(`library ${photos.toLocaleString('en')}: open ${(t1 - t0).toFixed(0)} ms + first scores ${(t2 - t1).toFixed(0)} ms, rss ${rssOpen} MB`);
if (first.length !== Math.min(100, photos)) throw new Error(`first score returned ${first.length} rows`);
if (a['open-only']) {
  await lib.close();
  rmrf(tmp);
  reply({ photos, openMs: Math.round(t2 - t0), openParts: { libraryOpen: Math.round(t1 - t0), firstScore: Math.round(t2 - t1) }, rssMb: rssOpen, peakRssMb: peakOpen, loadedFrom: lib.matrix.loadedFrom, readers: lib.matrix.lastLoad?.readers ?? 0, packed: lib.matrix.lastLoad?.packed ?? 0 });
  process.exit(0);
}

// --- score a cached attribute ---------------------------------------------------------------------
// Steady state: a large float32 matrix builds its int8 scoring shadow in the background after the
// first pass (which is exact meanwhile); the repeated passes are measured once it is there.
await lib.matrix.warmFast();
const scoreMs = await timeRuns(() => lib.score(attr, { top: 100 }), reps, 1);
log(`library ${photos.toLocaleString('en')}: score (cached attribute, top 100) median ${median(scoreMs).toFixed(1)} ms`);

// --- text search ----------------------------------------------------------------------------------
// Texts new to the library's cache on every run (the nonce), so each search encodes its text.
const nonce = Date.now().toString(36);
// What the window does once idle after opening (Library.prepareSearch): the text session opens
// before the first search, which then only encodes its text.
const tp = performance.now();
await lib.prepareSearch();
const textOpenMs = performance.now() - tp;
const tw = performance.now();
await lib.search(`a photo taken at the beach ${nonce}`, { top: 100 });
const firstSearchMs = performance.now() - tw;
const words = ['mountain', 'dog', 'city at night', 'portrait', 'red car', 'forest', 'wedding', 'snow', 'market', 'river', 'cat', 'bridge'];
let w = 0;
const searchNewMs = await timeRuns(() => lib.search(`a photo of a ${words[w % words.length]} ${nonce} ${w++}`, { top: 100 }), Math.min(reps, 8), 0);
const searchCachedMs = await timeRuns(() => lib.search(`a photo taken at the beach ${nonce}`, { top: 100 }), reps, 0);
const rssText = rss();
log(`library ${photos.toLocaleString('en')}: search new text median ${median(searchNewMs).toFixed(1)} ms, cached ${median(searchCachedMs).toFixed(1)} ms`);

// --- ranking agreement with full precision --------------------------------------------------------
let agreement: { top: number; shared: number; maxScoreDiff: number } | null = null;
if (a.agreement) {
  const at = parseAttribute(attr); // a single typed pair: its prompts are what the library encoded
  const vec = (prompt: string) => {
    const row = lib.db.prepare('SELECT vec FROM text_features WHERE model_id = ? AND prompt = ?').get(info.id, prompt) as { vec: Buffer };
    return decodeF32(row.vec);
  };
  const pos = poleDirection(at.positive.prompts.map(vec), at.positive.weights);
  const neg = poleDirection(at.negative.prompts.map(vec), at.negative.weights);
  const diff = pos.map((v, j) => v - neg[j]);
  // Exact: float16 → float32, re-normalised (as stored vectors are used), dotted in float64.
  const exact: { id: number; s: number }[] = [];
  const stmt = lib.db.prepare(
    "SELECT e.photo_id, e.vec FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE e.model_id = ? AND p.status = 'ok'",
  );
  for (const [id, blob] of stmt.raw().iterate(info.id) as Iterable<[number, Buffer]>) {
    const x = decodeF16(blob);
    let d = 0;
    let nn = 0;
    for (let j = 0; j < x.length; j++) {
      d += x[j] * diff[j];
      nn += x[j] * x[j];
    }
    const s = 1 / (1 + Math.exp(-info.logitScale * (d / Math.sqrt(nn))));
    if (exact.length < 100 || s > exact[exact.length - 1].s) {
      exact.push({ id, s });
      exact.sort((p, q) => q.s - p.s || p.id - q.id);
      if (exact.length > 100) exact.pop();
    }
  }
  const got = await lib.score(attr, { top: 100 });
  const want = new Map(exact.map((e) => [e.id, e.s]));
  let maxDiff = 0;
  for (const g of got) if (want.has(g.id)) maxDiff = Math.max(maxDiff, Math.abs(g.score - want.get(g.id)!));
  agreement = { top: 100, shared: got.filter((g) => want.has(g.id)).length, maxScoreDiff: Number(maxDiff.toExponential(2)) };
  log(`library ${photos.toLocaleString('en')}: top-100 agreement with full precision ${agreement.shared}/100`);
}

// --- grouping (bursts / near-duplicates) ------------------------------------------------------------
let groups: GroupsRun | null = null;
if (a.groups) {
  groups = await runGroups(lib);
  log(`library ${photos.toLocaleString('en')}: grouping ${groups.ms} ms → ${groups.groups} groups of ${groups.grouped} photos`);
}

await lib.close();
rmrf(tmp);
reply({
  photos,
  openMs: Math.round(t2 - t0),
  openParts: { libraryOpen: Math.round(t1 - t0), firstScore: Math.round(t2 - t1) },
  rssStartMb: rssStart,
  rssMb: rssOpen,
  peakRssMb: peakOpen,
  rssWithTextMb: rssText,
  scoreMs: round(median(scoreMs), 1),
  scoreMinMs: round(Math.min(...scoreMs), 1),
  scoreThreads: lib.matrix.scoreThreads,
  textSessionOpenMs: Math.round(textOpenMs),
  firstSearchMs: round(firstSearchMs, 1),
  searchNewTextMs: round(median(searchNewMs), 1),
  searchCachedMs: round(median(searchCachedMs), 1),
  agreement,
  groups,
  loadedFrom: lib.matrix.loadedFrom,
  format: lib.matrix.format,
  matrixMb: Math.round(lib.matrix.bytes / 1e6),
});
