// npm run bench — performance of Cull on the full-size ViT-B/32 compute (generated model with
// random weights: same FLOPs and memory as OpenAI's) and 24 MP photos. Prints progress on stderr,
// then a table, then ONE JSON line (the last line of stdout) with every figure.
//
//   npm run bench [-- --skip peer,1m,index,...] [--photos N]
//
// Everything generated (model ~750 MB, 200 photos ~1.5 GB, synthetic 100k / 1M libraries) is
// cached in .cache/ and reused; a fresh clone builds it within the run. See docs/performance.md.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { openDatabase } from '../../db/database.ts';
import { getTextFeatures } from '../../db/features.ts';
import { loadModelFolder } from '../../native-models/folder.ts';
import { decodePhoto } from '../../native-models/preprocess.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import type { ClipModel } from '../../native-models/types.ts';
import { parseAttribute } from '../../electron/services/signals/attributes.ts';
import { THUMB_SIZE } from '../../electron/services/indexing/thumbnails.ts';
import { measureEncoder, measureQuantized, type EncoderResult, type QuantizedResult } from './encoder.ts';
import type { GroupsRun } from './groups-adapter.ts';
import type { IndexRun } from './index-child.ts';
import { measureHeic, type HeicRun } from './heic.ts';
import { measureLoupe, type LoupeRun } from './loupe.ts';
import { measureTextStall, type TextStall } from './text-stall.ts';
import { measureServeStall, type ServeStall } from './serve-stall.ts';
import { ensureBenchModel, MODEL_NAME, MODEL_ROOT } from './model.ts';
import { ensureBenchPhotos, photoFolder } from './photos.ts';
import { profileStages, type StageProfile } from './stages.ts';
import { measureTechnicalCost, type TechnicalCost } from './technical.ts';
import { measureFacesCost, type FacesCost } from './faces.ts';
import { measureFlaws, type FlawsRun } from './flaws.ts';
import { measureIndexOverhead, type IndexOverhead } from './index-overhead.ts';
import { TECHNICAL_WORKING_SIDE } from '../../electron/services/indexing/analyzers/technical.ts';
import { ensureSyntheticLibrary } from './synthetic-library.ts';
import { CACHE, cpuBound, log, median, ROOT, rmrf, round, runChild, timeRuns } from './util.ts';

const { values: args } = parseArgs({
  options: {
    skip: { type: 'string', default: '' },
    photos: { type: 'string', default: '200' },
    'peer-photos': { type: 'string', default: '40' },
  },
});
const skip = new Set(args.skip!.split(',').filter(Boolean));
const PHOTOS = Number(args.photos);
const ATTRIBUTE = 'sharp vs blurry';
const here = (f: string) => path.join(ROOT, 'test/bench', f);
const t0 = performance.now();

// --- machine ------------------------------------------------------------------------------------
const cpuModel = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.cpus()[0]?.model ?? 'unknown';
const machine = {
  cores: os.availableParallelism(),
  cpu: cpuModel.trim(),
  ramGb: round(os.totalmem() / 2 ** 30, 1),
  node: process.version,
  load: os.loadavg().map((l) => round(l, 2)),
};
log(`machine: ${machine.cores} cores, ${machine.cpu}, ${machine.ramGb} GiB RAM, Node ${machine.node}, load ${machine.load.join(' ')}`);

// --- inputs -------------------------------------------------------------------------------------
const modelDir = await ensureBenchModel();
const info = loadModelFolder(modelDir, { quantized: false });
const photoSet = await ensureBenchPhotos(PHOTOS);
log(`photos: ${photoSet.files.length} × 24 MP from ${photoSet.source}, mean ${(photoSet.meanBytes / 1e6).toFixed(1)} MB`);

// Ready tensors for the encoder measurements: 16 real photos through the real preprocessing.
sharp.concurrency(1);
const pixels: Float32Array[] = [];
for (const f of photoSet.files.slice(0, 16)) pixels.push((await decodePhoto(f, info.preprocess, { thumbSize: THUMB_SIZE })).pixels);

// --- 1. encoder -----------------------------------------------------------------------------------
const threadCounts = [...new Set([1, 2, machine.cores])].sort((a, b) => a - b); // 1, 2 and all the cores
log(`encoder: batch 1/4/8/16 × threads ${threadCounts.join('/')} on ready tensors…`);
const encoder: EncoderResult = await measureEncoder(modelDir, pixels, { batches: [1, 4, 8, 16], threads: threadCounts, seconds: 2.5 });
log(`encoder: best ${encoder.best.imgPerSec} img/s (threads ${encoder.best.threads}, batch ${encoder.best.batch})`);

// --- 2. decode + where an indexing second goes ------------------------------------------------
log('stages: per-photo cost of each indexing stage on one core…');
const stages: StageProfile = await profileStages(modelDir, photoSet.files.slice(16, 28), encoder.best);
const decodeMs = stages.decodePhotoMs;
log(`stages: decodePhoto ${decodeMs} ms; ${JSON.stringify(stages.ms)}`);
// The CPU bound of indexing: every photo costs `decodeMs` on one core plus 1/imgPerSec seconds of
// the encoder on its `threads` cores; the machine has `cores` of them.
const bound = cpuBound({ cores: machine.cores, decodeMs, encoderImgPerSec: encoder.best.imgPerSec, encoderThreads: encoder.best.threads });

// --- 2b. the technical analyzer (focus, exposure, noise): CPU per photo beside CLIP-only --------
let technical: TechnicalCost | null = null;
if (!skip.has('technical')) {
  log(`technical: decode with/without the ${TECHNICAL_WORKING_SIDE} px working raster, analysis, encoder CPU per photo…`);
  technical = await measureTechnicalCost(modelDir, photoSet.files.slice(16, 24), encoder.best.threads);
  log(`technical: ${technical.technicalMsPerPhoto} ms CPU per photo, +${(technical.overhead * 100).toFixed(1)} % CPU over CLIP-only; ${JSON.stringify(technical)}`);
}

// --- 2c. the faces analyzer: CPU per photo on the working raster, without and with faces --------
let faces: FacesCost | null = null;
if (!skip.has('faces')) {
  log('faces: detector (and mesh + iris where it finds a face) on the 1500 px working raster, CPU per photo…');
  faces = await measureFacesCost(photoSet.files.slice(16, 24));
  log(`faces: ${faces.noFacesMsPerPhoto} ms CPU per photo without faces, ${faces.withFacesMsPerPhoto ?? '–'} ms with (${faces.facesPerPhoto ?? '–'} faces per photo); ${JSON.stringify(faces)}`);
}

// --- 2d. the culling rules' reads (out of focus, closed eyes, a stack's flaws) at 100k photos ------
let flaws: FlawsRun | null = null;
if (!skip.has('flaws')) {
  flaws = await measureFlaws();
  log(`flaws: problems() ${flaws.problemsMs} ms, stack read of 1000 photos ${flaws.stackRead1000Ms} ms at ${flaws.photos} photos`);
}

// --- 3. end-to-end indexing ---------------------------------------------------------------------
// Two runs, the faster reported: the machine is shared, and other load only ever slows a run down.
let index: IndexRun | null = null;
const indexRuns: IndexRun[] = [];
if (!skip.has('index')) {
  const folder = photoFolder(photoSet.files, `bench-index-${process.pid}`);
  for (let run = 1; run <= 2; run++) {
    log(`index: run ${run}/2, ${photoSet.files.length} photos through Library.open/addRoot/index (a fresh library)…`);
    const r = await runChild<IndexRun>(here('index-child.ts'), ['--model', modelDir, '--photos', folder]);
    indexRuns.push(r);
    log(`index: ${r.imgPerSec} img/s = ${(r.imgPerSec / bound).toFixed(2)} × the CPU bound ${bound.toFixed(2)}; cores busy ${r.coresBusy}, encoder busy ${r.encoderBusy}`);
  }
  rmrf(folder);
  index = indexRuns.reduce((a, b) => (b.imgPerSec > a.imgPerSec ? b : a));
}

// --- 3b. every analyzer vs CLIP only, in real indexing: CPU per photo --------------------------------
let overhead: IndexOverhead | null = null;
if (!skip.has('overhead')) {
  log('index-overhead: 48 photos indexed with every analyzer and with CLIP alone, 3 times each, alternated…');
  overhead = await measureIndexOverhead(modelDir, photoSet.files.slice(0, 48), 3);
  log(`index-overhead: all ${overhead.allCpuMsPerPhoto} vs CLIP-only ${overhead.clipCpuMsPerPhoto} CPU ms per photo (+${(overhead.cpuOverhead * 100).toFixed(1)} %; +${(overhead.cpuOverheadWithOpen * 100).toFixed(1)} % counting the faces model's opening, ${overhead.allOpenCpuMs} CPU ms once); ${overhead.allImgPerSec} vs ${overhead.clipImgPerSec} img/s`);
}

// --- 4. the peer: transformers.js -----------------------------------------------------------------
type PeerRun = { photos: number; imgPerSec: number; seconds: number; msPerPhoto: Record<string, number>; loadMs: number };
let peer: PeerRun | null = null;
if (!skip.has('peer')) {
  const n = Math.min(Number(args['peer-photos']), photoSet.files.length);
  const list = path.join(CACHE, 'bench-peer-list.txt');
  fs.writeFileSync(list, photoSet.files.slice(0, n).join('\n'));
  log(`peer: transformers.js (AutoProcessor + CLIPVisionModelWithProjection, local folder) on ${n} of the same photos…`);
  peer = await runChild<PeerRun>(here('peer-child.ts'), ['--root', MODEL_ROOT, '--name', MODEL_NAME, '--list', list]);
  log(`peer: ${peer.imgPerSec} img/s (${JSON.stringify(peer.msPerPhoto)} ms per photo)`);
}

// --- 5. int8 encoder ------------------------------------------------------------------------------
let quantized: QuantizedResult | null = null;
if (!skip.has('quantized')) {
  log('quantized: fp32 vs *_quantized image encoder on the same photos…');
  quantized = await measureQuantized(modelDir, pixels, { ...encoder.best, seconds: 2.5 });
  log(`quantized: ×${quantized.speedup} (${quantized.int8ImgPerSec} vs ${quantized.fp32ImgPerSec} img/s), mean cosine ${quantized.meanCosine}`);
}

// --- 5b. HEIC (HEVC through libheif-js in a worker) ------------------------------------------------
let heic: { generated: HeicRun | null; iphone: HeicRun | null } = { generated: null, iphone: null };
if (!skip.has('heic')) {
  log('heic: decodePhoto of a generated 12 MP HEIC and a real iPhone HEIC…');
  heic = await measureHeic(photoSet.files[0], info.preprocess);
  for (const r of [heic.generated, heic.iphone]) if (r) log(`heic: ${r.file} ${r.megapixels} MP: ${r.decodeMs} ms (WebAssembly ${r.wasmMs} ms in the worker, main thread busy ${r.mainThreadMs} ms)`);
}

// --- 5c. the loupe's previews (server side) --------------------------------------------------------
let loupe: LoupeRun | null = null;
if (!skip.has('loupe')) {
  log('loupe: cold renditions of 24 MP JPEGs and RAW embedded previews…');
  loupe = await measureLoupe(photoSet.files);
  log(`loupe: fit 1024 ${loupe.fit1024Ms} ms, fit 1792 ${loupe.fit1792Ms} ms, RAW full ${loupe.rawFullMs} ms, RAW fit 1024 ${loupe.rawFit1024Ms} ms`);
  log(`standard preview: ${loupe.stdPreviewMs} ms (${loupe.stdPreviewCpuMs} ms CPU) and ${loupe.stdPreviewBytes} bytes per photo`);
}

// --- 5d. the first explainAll's text work, and the main thread meanwhile ----------------------------
let textStall: TextStall | null = null;
if (!skip.has('stall')) {
  log('text stall: the text tower opened and the presets\' prompts encoded cold, main thread watched…');
  textStall = await measureTextStall(modelDir);
  log(`text stall: cold ${textStall.coldMs} ms, longest main-thread stall ${textStall.stallMs} ms (worst ${textStall.stallMaxMs} ms)`);
}
let serveStall: ServeStall | null = null;
if (!skip.has('serve')) {
  log('serve stall: the loupe\'s photos asked from the real server while the session\'s first explainAll runs…');
  serveStall = await measureServeStall(modelDir, photoSet.files.slice(0, 6));
  log(`serve stall: a photo alone ${serveStall.aloneMs} ms; worst during the first explainAll ${serveStall.duringMs} ms (worst run ${serveStall.duringMaxMs} ms; explainAll ${serveStall.explainMs} ms)`);
}

// --- 6. a new antonym pair through the text tower ---------------------------------------------------
log('text: new antonym pairs → cached features (full-size text tower, session open)…');
const textModel: ClipModel = await openClipModel(info);
const textDbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-bench-text-'));
const textDb = openDatabase(path.join(textDbDir, 'text.db'));
const pairs = [
  ['sharp', 'blurry'], ['bright', 'dark'], ['happy', 'sad'], ['noisy', 'clean'], ['warm', 'cold'], ['busy', 'calm'],
  ['old', 'new'], ['natural', 'artificial'], ['colourful', 'dull'], ['close-up', 'wide'], ['wet', 'dry'], ['soft', 'harsh'],
  ['crowded', 'empty'], ['formal', 'casual'], ['sunny', 'overcast'], ['tidy', 'messy'],
];
let p = 0;
const newPair = async () => {
  const [a, b] = pairs[p++ % pairs.length];
  const attr = parseAttribute(`${a} ${p} vs ${b} ${p}`); // a number makes every pair new to the cache
  await getTextFeatures(textDb, textModel, [...attr.positive.prompts, ...attr.negative.prompts]);
};
const textMs = await timeRuns(newPair, 15, 2); // the first calls open the text session and warm it up
log(`text: new pair median ${median(textMs).toFixed(1)} ms`);
textDb.close();
fs.rmSync(textDbDir, { recursive: true, force: true });

// --- 7. large libraries ---------------------------------------------------------------------------
type LibRun = {
  photos: number; openMs: number; openParts: Record<string, number>; rssStartMb: number; rssMb: number; peakRssMb: number;
  rssWithTextMb: number; scoreMs: number; scoreMinMs: number; scoreThreads: number; textSessionOpenMs: number; firstSearchMs: number; searchNewTextMs: number;
  searchCachedMs: number; agreement: { top: number; shared: number; maxScoreDiff: number } | null;
  groups: GroupsRun | null; loadedFrom: string; format: string; matrixMb: number;
};
/** The attribute's text features go into the library's cache the way any scored attribute's do. */
const cacheAttribute = async (file: string) => {
  const db = openDatabase(file);
  const a = parseAttribute(ATTRIBUTE);
  await getTextFeatures(db, textModel, [...a.positive.prompts, ...a.negative.prompts]);
  db.close();
};
type ColdOpen = { openMs: number; openParts: Record<string, number>; rssMb: number; loadedFrom: string; readers: number; packed: number };
const libs: Record<string, LibRun> = {};
let cold1m: ColdOpen | null = null;
let stale1m: { removedMs: number; addedMs: number; loadedFrom: string } | null = null;
/**
 * Opens after another process changed the library behind the snapshot (the app sees this when the
 * CLI indexed or removed photos while it was closed): 1 000 photos go missing, then come back.
 * The library is left exactly as it was (the cache stays valid).
 */
async function measureStaleOpens(file: string, childArgs: string[]) {
  const STALE = 1000;
  const setStatus = (status: string) => {
    const db = openDatabase(file);
    db.prepare(`UPDATE photos SET status = ? WHERE id IN (SELECT id FROM photos ORDER BY id LIMIT ? OFFSET 5000)`).run(status, STALE);
    db.close();
  };
  try {
    setStatus('missing');
    log(`library 1m: open with a stale snapshot (${STALE} photos gone missing since it was written)…`);
    const removed = await runChild<ColdOpen>(here('library-child.ts'), [...childArgs, '--open-only']);
    setStatus('ok');
    log(`library 1m: open with a stale snapshot (the ${STALE} photos back)…`);
    const added = await runChild<ColdOpen>(here('library-child.ts'), [...childArgs, '--open-only']);
    log(`library 1m: stale opens ${removed.openMs} ms / ${added.openMs} ms (${added.loadedFrom})`);
    return { removedMs: removed.openMs, addedMs: added.openMs, loadedFrom: added.loadedFrom };
  } finally {
    setStatus('ok');
  }
}
for (const n of [100_000, 1_000_000]) {
  const key = n === 100_000 ? '100k' : '1m';
  if (skip.has(key)) continue;
  const file = await ensureSyntheticLibrary({ n, modelId: info.id, dim: info.dim });
  await cacheAttribute(file);
  const childArgs = ['--db', file, '--model', modelDir, '--attr', ATTRIBUTE];
  if (key === '1m') {
    // Cold: no matrix snapshot yet (a library opened for the first time after an upgrade), every
    // embedding decoded from SQLite; this open writes the snapshot the warm open then uses.
    for (const f of fs.readdirSync(path.dirname(file))) if (f.startsWith(`${path.basename(file)}.matrix-`)) fs.rmSync(path.join(path.dirname(file), f));
    log('library 1m: cold open (no snapshot: every embedding read from SQLite)…');
    cold1m = await runChild<ColdOpen>(here('library-child.ts'), [...childArgs, '--open-only']);
    log(`library 1m: cold open ${cold1m.openMs} ms (${cold1m.loadedFrom}, ${cold1m.readers} readers, ${cold1m.packed} blocks from packs)`);
  }
  log(`library ${key}: measuring in a child process (open, memory, score, search)…`);
  libs[key] = await runChild<LibRun>(here('library-child.ts'), [...childArgs, '--reps', '10', '--agreement', ...(key === '100k' ? ['--groups'] : [])]);
  if (key === '1m') stale1m = await measureStaleOpens(file, childArgs);
}
await textModel.dispose();

// --- report ---------------------------------------------------------------------------------------
const l100 = libs['100k'];
const l1m = libs['1m'];
const groups = l100?.groups ?? null;
const result = {
  encoder_img_per_s: encoder.best.imgPerSec,
  encoder_best: `threads ${encoder.best.threads}, batch ${encoder.best.batch}`,
  decode_ms: decodeMs,
  heic_decode_ms: heic.generated?.decodeMs ?? null,
  heic_iphone_decode_ms: heic.iphone?.decodeMs ?? null,
  heic_main_thread_ms: heic.generated?.mainThreadMs ?? null,
  loupe_fit_24mp_ms: loupe?.fit1024Ms ?? null,
  loupe_fit1792_24mp_ms: loupe?.fit1792Ms ?? null,
  loupe_raw_full_ms: loupe?.rawFullMs ?? null,
  loupe_raw_fit_ms: loupe?.rawFit1024Ms ?? null,
  std_preview_ms_per_photo: loupe?.stdPreviewMs ?? null,
  std_preview_cpu_ms_per_photo: loupe?.stdPreviewCpuMs ?? null,
  std_preview_bytes_per_photo: loupe?.stdPreviewBytes ?? null,
  technical_ms_per_photo: technical?.technicalMsPerPhoto ?? null,
  technical_cpu_overhead: technical?.overhead ?? null,
  faces_ms_per_photo: faces?.noFacesMsPerPhoto ?? null,
  faces_ms_per_photo_with_faces: faces?.withFacesMsPerPhoto ?? null,
  problems_100k_ms: flaws?.problemsMs ?? null,
  stack_flaws_1000_ms: flaws?.stackRead1000Ms ?? null,
  index_img_per_s: index?.imgPerSec ?? null,
  index_all_img_per_s: overhead?.allImgPerSec ?? null,
  index_clip_only_img_per_s: overhead?.clipImgPerSec ?? null,
  index_all_cpu_ms_per_photo: overhead?.allCpuMsPerPhoto ?? null,
  index_clip_only_cpu_ms_per_photo: overhead?.clipCpuMsPerPhoto ?? null,
  index_all_cpu_overhead: overhead?.cpuOverhead ?? null,
  index_all_open_cpu_ms: overhead?.allOpenCpuMs ?? null,
  index_all_cpu_overhead_with_open: overhead?.cpuOverheadWithOpen ?? null,
  index_bound_img_per_s: round(bound, 2),
  index_bound_basis: `${machine.cores} cores, decode ${decodeMs} ms on one core, encoder ${encoder.best.imgPerSec} img/s on ${encoder.best.threads} threads`,
  index_ratio: index ? round(index.imgPerSec / bound, 2) : null,
  peer_transformersjs_img_per_s: peer?.imgPerSec ?? null,
  index_peer_ratio: index && peer ? round(index.imgPerSec / peer.imgPerSec, 2) : null,
  text_pair_ms: round(median(textMs), 1),
  text_cold_ms: textStall?.coldMs ?? null,
  text_cold_main_stall_ms: textStall?.stallMs ?? null,
  photo_alone_ms: serveStall?.aloneMs ?? null,
  photo_during_first_explain_ms: serveStall?.duringMs ?? null,
  score_100k_ms: l100?.scoreMs ?? null,
  score_100k_min_ms: l100?.scoreMinMs ?? null,
  score_threads: l100?.scoreThreads ?? l1m?.scoreThreads ?? null,
  score_1m_ms: l1m?.scoreMs ?? null,
  rss_1m_mb: l1m?.rssMb ?? null,
  rss_1m_with_text_session_mb: l1m?.rssWithTextMb ?? null,
  open_1m_ms: l1m?.openMs ?? null,
  open_1m_cold_ms: cold1m?.openMs ?? null,
  open_1m_stale_ms: stale1m ? Math.max(stale1m.removedMs, stale1m.addedMs) : null,
  search_1m_ms: l1m?.searchNewTextMs ?? null,
  first_search_1m_ms: l1m?.firstSearchMs ?? null,
  quantized_speedup: quantized?.speedup ?? null,
  quantized_batch1_img_per_s: quantized?.int8Batch1ImgPerSec ?? null,
  quantized_batch8_img_per_s: quantized?.int8Batch8ImgPerSec ?? null,
  quantized_cosine: quantized?.meanCosine ?? null,
  group_100k_ms: groups ? groups.ms : 'n/a',
  agreement_1m_top100: l1m?.agreement?.shared ?? null,
  machine,
  total_s: Math.round((performance.now() - t0) / 1000),
};

const rows: [string, string, string, boolean | null][] = [];
const add = (name: string, value: number | string | null, unit: string, target: string, ok: boolean | null) =>
  rows.push([name, value === null ? 'skipped' : `${value}${unit}`, target, value === null ? null : ok]);
add('encoder (best of batch×threads)', result.encoder_img_per_s, ' img/s', `threads ${encoder.best.threads}, batch ${encoder.best.batch}`, null);
add('decode 24 MP → tensor + thumb (1 core)', decodeMs, ' ms', '', null);
add('decode 12 MP HEIC → tensor + thumb', result.heic_decode_ms, ' ms', heic.generated ? `WebAssembly ${heic.generated.wasmMs} ms in a worker; main thread busy ${result.heic_main_thread_ms} ms` : '', null);
add('decode real iPhone HEIC (12 MP grid)', result.heic_iphone_decode_ms, ' ms', heic.iphone ? `${heic.iphone.file}, WebAssembly ${heic.iphone.wasmMs} ms, main thread busy ${heic.iphone.mainThreadMs} ms` : '', null);
add('loupe: 24 MP JPEG → fit rendition, cold', result.loupe_fit_24mp_ms, ' ms', `fit 1024 (1280×720 window; 1/4-scale decode); fit 1792: ${result.loupe_fit1792_24mp_ms ?? '–'} ms`, null);
add('standard preview at index time (encode + write, per photo)', result.std_preview_ms_per_photo, ' ms', `${result.std_preview_cpu_ms_per_photo ?? '–'} ms CPU, ${result.std_preview_bytes_per_photo ?? '–'} bytes on disk`, null);
add('loupe: RAW embedded 24 MP preview, cold', result.loupe_raw_full_ms, ' ms', `served as its own bytes; its fit 1024 rendition ${result.loupe_raw_fit_ms ?? '–'} ms`, null);
add('technical analyzer (working raster + analysis, CPU)', result.technical_ms_per_photo, ' ms', `CLIP + technical ≤ +30 % CPU of CLIP-only (+${technical ? (technical.overhead * 100).toFixed(1) : '–'} %)`, technical ? technical.overhead <= 0.3 : null);
add('faces analyzer, photos without / with faces (CPU)', faces ? `${faces.noFacesMsPerPhoto} / ${faces.withFacesMsPerPhoto ?? '–'}` : null, ' ms', faces ? `${faces.facesPerPhoto ?? '–'} faces per photo with faces (../shared/faces), ${faces.msPerFace ?? '–'} ms per extra face; part of the +30 % CPU budget` : '', null);
add('out of focus + closed eyes filters, 100k', result.problems_100k_ms, ' ms', `a stack's flaws, 1000 photos: ${result.stack_flaws_1000_ms ?? '–'} ms`, null);
add('index, every analyzer (48 photos, median of 3)', result.index_all_img_per_s, ' img/s', overhead ? `CLIP only ${overhead.clipImgPerSec} img/s; CPU per photo ${overhead.allCpuMsPerPhoto} vs ${overhead.clipCpuMsPerPhoto} ms = +${(overhead.cpuOverhead * 100).toFixed(1)} % (≤ +30 %; faces model opened once apart: ${overhead.allOpenCpuMs} CPU ms, +${(overhead.cpuOverheadWithOpen * 100).toFixed(1)} % with it over 48 photos), ${overhead.cores} cores, load ${overhead.loadBefore}→${overhead.loadAfter}` : '', overhead ? overhead.cpuOverhead <= 0.3 : null);
add('index end-to-end', result.index_img_per_s, ' img/s', `≥ 0.9 × bound ${bound.toFixed(2)} (ratio ${result.index_ratio ?? '–'})`, result.index_ratio !== null && result.index_ratio >= 0.9);
add('peer transformers.js', result.peer_transformersjs_img_per_s, ' img/s', `index/peer ≥ 1.5 (ratio ${result.index_peer_ratio ?? '–'})`, result.index_peer_ratio !== null && result.index_peer_ratio >= 1.5);
add('new antonym pair → features', result.text_pair_ms, ' ms', '≤ 60 ms', result.text_pair_ms <= 60);
add('loupe photo while the first explainAll runs (worst)', result.photo_during_first_explain_ms, ' ms', serveStall ? `alone ${serveStall.aloneMs} ms; real server, ${serveStall.photos} bench photos at fit 1024, asked every 25 ms; worst run ${serveStall.duringMaxMs} ms; explainAll ${serveStall.explainMs} ms` : '', null);
add('first explainAll\'s text work: main thread stalled', result.text_cold_main_stall_ms, ' ms', textStall ? `text tower opened + ${textStall.prompts} preset prompts encoded in ${textStall.coldMs} ms, in a worker thread; worst of ${textStall.runs} runs ${textStall.stallMaxMs} ms` : '', null);
add('score 100k (cached attribute, top 100)', result.score_100k_ms, ' ms', `≤ 12 ms (${result.score_threads ?? '–'} of ${machine.cores} cores; min ${result.score_100k_min_ms ?? '–'} ms)`, result.score_100k_ms !== null && result.score_100k_ms <= 12);
add('score 1M (cached attribute, top 100)', result.score_1m_ms, ' ms', '≤ 200 ms', result.score_1m_ms !== null && result.score_1m_ms <= 200);
add('RSS with 1M library loaded', result.rss_1m_mb, ' MB', '≤ 1500 MB', result.rss_1m_mb !== null && result.rss_1m_mb <= 1500);
add('open 1M library → first scores', result.open_1m_ms, ' ms', `≤ 2000 ms (from ${l1m?.loadedFrom ?? '–'}; cold, no snapshot: ${cold1m?.openMs ?? '–'} ms)`, result.open_1m_ms !== null && result.open_1m_ms <= 2000);
add('open 1M, cold (no snapshot)', result.open_1m_cold_ms, ' ms', `≤ 2000 ms (${cold1m?.readers ?? '–'} readers on ${machine.cores} cores, ${cold1m?.packed ?? '–'} blocks from packs; Library.open ${cold1m?.openParts.libraryOpen ?? '–'} + first scores ${cold1m?.openParts.firstScore ?? '–'} ms)`, result.open_1m_cold_ms !== null && result.open_1m_cold_ms <= 2000);
add('open 1M, stale snapshot (±1000 photos)', result.open_1m_stale_ms, ' ms', `≤ 2000 ms (${stale1m?.loadedFrom ?? '–'}: removed ${stale1m?.removedMs ?? '–'} / added ${stale1m?.addedMs ?? '–'} ms)`, result.open_1m_stale_ms !== null && result.open_1m_stale_ms <= 2000);
add('search 1M, new text, top 100', result.search_1m_ms, ' ms', '≤ 200 ms', result.search_1m_ms !== null && result.search_1m_ms <= 200);
add('int8 encoder speed-up', result.quantized_speedup, '×', `mean cosine to fp32 ${result.quantized_cosine ?? '–'}`, null);
add('int8 encoder batch 1 (batch-independent)', result.quantized_batch1_img_per_s, ' img/s', `batch 8 (batch-dependent, not used) ${result.quantized_batch8_img_per_s ?? '–'} img/s, threads ${encoder.best.threads}`, null);
add('group 100k photos (bursts, near-dups)', groups ? groups.ms : 'n/a', groups ? ' ms' : '', groups ? `${groups.groups} groups of ${groups.grouped} photos` : '', null);

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
const lines: string[] = [];
lines.push('');
lines.push(`Cull benchmark — ${machine.cores} cores, ${machine.cpu}, ${machine.ramGb} GiB, Node ${machine.node} (load at start ${machine.load.join(' ')})`);
lines.push(`model: generated ViT-B/32 (full size, random weights); photos: ${photoSet.files.length} × 6000×4000 JPEG (${photoSet.source}, ${(photoSet.meanBytes / 1e6).toFixed(1)} MB avg)`);
lines.push('');
for (const [name, value, target, ok] of rows) lines.push(`  ${name.padEnd(w0)}  ${value.padStart(w1)}  ${ok === null ? '    ' : ok ? 'PASS' : 'FAIL'}  ${target}`);
lines.push('');
lines.push('  encoder sweep (img/s):   ' + encoder.points.map((q) => `t${q.threads}/b${q.batch} ${q.imgPerSec}`).join(', '));
lines.push(`  per photo, one core (ms): ${Object.entries(stages.ms).map(([k, v]) => `${k} ${v}`).join(', ')} → ${stages.cpuMsPerPhoto} CPU-ms`);
if (index) {
  lines.push(`  indexing (best of ${indexRuns.length}: ${indexRuns.map((r) => r.imgPerSec).join(', ')} img/s): ${index.indexed} photos in ${index.seconds} s, cores busy ${index.coresBusy}/${machine.cores}, encoder busy ${Math.round(index.encoderBusy * 100)} % of the time, ${index.encodeCalls} model calls`);
}
if (peer) lines.push(`  peer per photo (ms): ${Object.entries(peer.msPerPhoto).map(([k, v]) => `${k} ${v}`).join(', ')} (${peer.photos} photos)`);
if (quantized) {
  lines.push(`  int8: ${quantized.int8ImgPerSec} vs fp32 ${quantized.fp32ImgPerSec} img/s; cosine mean ${quantized.meanCosine}, min ${quantized.minCosine} over ${quantized.photos} photos`);
  lines.push(`  int8 session: batch 1 ${quantized.int8Batch1ImgPerSec} img/s (what the runtime runs: embeddings independent of batch neighbours) vs batch 8 ${quantized.int8Batch8ImgPerSec} img/s`);
}
for (const [key, l] of Object.entries(libs)) {
  lines.push(
    `  library ${key}: ${l.format} rows (${l.matrixMb} MB), open ${l.openMs} ms from ${l.loadedFrom} (Library.open ${l.openParts.libraryOpen} + first scores ${l.openParts.firstScore}), rss ${l.rssMb} MB (peak ${l.peakRssMb}, with text session ${l.rssWithTextMb}), ` +
      `score ${l.scoreMs} ms (min ${l.scoreMinMs}, ${l.scoreThreads} thread${l.scoreThreads === 1 ? '' : 's'}), search new ${l.searchNewTextMs} / cached ${l.searchCachedMs} ms (text session opened ahead by prepareSearch: ${l.textSessionOpenMs} ms, then the first search ${l.firstSearchMs} ms)` +
      (l.agreement ? `, top-100 agreement ${l.agreement.shared}/100 (max score Δ ${l.agreement.maxScoreDiff})` : ''),
  );
}
if (groups) lines.push(`  grouping 100k: ${groups.groups} groups holding ${groups.grouped} photos (${groups.bursts} with burst links); reading capture times ${groups.metadataMs} ms`);
lines.push(`  total ${result.total_s} s`);
process.stdout.write(lines.join('\n') + '\n\n');
process.stdout.write(JSON.stringify(result) + '\n');
