// What the technical analyzer costs per 24 MP photo, and whether CLIP + technical stay within
// +30 % CPU per photo of CLIP-only indexing (issue 11). CPU time of this process (libvips and
// ONNX Runtime threads included, process.cpuUsage), so a busy shared machine slows the wall clock
// but not the comparison:
//   clip-only  = decode (CLIP input + thumbnail) + the image encoder's share of a batch of 8
//   with tech  = decode with the analyzer's working raster as well + the analyzer + the same encoder share
// Part of `npm run bench` (run.ts, step 2b); alone: npx tsx test/bench/technical.ts [photos] [working side]
import sharp from 'sharp';
import { decodeImage } from '../../native-models/preprocess.ts';
import { loadModelFolder } from '../../native-models/folder.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import { TechnicalAnalyzer } from '../../electron/services/indexing/analyzers/technical.ts';
import { measureTechnical } from '../../electron/services/indexing/analyzers/technical-measures.ts';
import { THUMB_SIZE } from '../../electron/services/indexing/thumbnails.ts';
import { log, median, round } from './util.ts';

export interface TechnicalCost {
  photos: number;
  /** CPU ms per photo the analyzer adds: the working raster's share of the decode + the analysis. */
  technicalMsPerPhoto: number;
  analyzeCpuMs: number;
  analyzeWallMs: number;
  /**
   * The measures alone: measureTechnical on the same raster again, synchronously. analyzeCpuMs also
   * counts whatever the process ran during the analyzer's turn of the event loop (the decodes'
   * leftovers, GC of their buffers): several ms, as large as the analysis's own changes.
   */
  measureCpuMs: number;
  decodeCpuMs: number;
  decodeWithWorkingCpuMs: number;
  encoderCpuMsPerPhoto: number;
  /** (with tech − clip-only) / clip-only, CPU per photo. */
  overhead: number;
}

const cpuMs = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
};

export async function measureTechnicalCost(modelDir: string, files: string[], threads = 2, workingSide?: number): Promise<TechnicalCost> {
  const info = loadModelFolder(modelDir, { quantized: false });
  const analyzer = new TechnicalAnalyzer(workingSide);
  const side = analyzer.needs.working.longSide;
  const plain: number[] = [];
  const withWorking: number[] = [];
  const analyzeCpu: number[] = [];
  const analyzeWall: number[] = [];
  const measureCpu: number[] = [];
  const pixels: Float32Array[] = [];
  const order = [files[0], ...files];
  for (let i = 0; i < order.length; i++) {
    const f = order[i];
    // Interleaved (drift hits both alike); the first photo warms up and is not counted.
    let t = process.cpuUsage();
    const a = await decodeImage(f, { clip: info.preprocess, thumbSize: THUMB_SIZE });
    const p = cpuMs(t);
    t = process.cpuUsage();
    const b = await decodeImage(f, { clip: info.preprocess, thumbSize: THUMB_SIZE, working: [side] });
    const w = cpuMs(t);
    t = process.cpuUsage();
    const wall = performance.now();
    await analyzer.analyze([{ path: f, width: b.width, height: b.height, working: b.working[0] }]);
    const an = cpuMs(t);
    const anWall = performance.now() - wall;
    t = process.cpuUsage();
    measureTechnical(b.working[0]);
    const me = cpuMs(t);
    if (i === 0) continue; // warm-up
    if (pixels.length < 8) pixels.push(a.pixels!);
    plain.push(p);
    withWorking.push(w);
    analyzeCpu.push(an);
    analyzeWall.push(anWall);
    measureCpu.push(me);
  }
  // The encoder's CPU per photo: batches of 8 (as the indexer runs them), after one warm-up batch.
  const model = await openClipModel(info, { threads });
  const batch = new Float32Array(pixels.reduce((n, p) => n + p.length, 0));
  pixels.reduce((at, p) => (batch.set(p, at), at + p.length), 0);
  await model.embedImages(batch, pixels.length);
  const enc: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = process.cpuUsage();
    await model.embedImages(batch, pixels.length);
    enc.push(cpuMs(t) / pixels.length);
  }
  await model.dispose();
  const decode = median(plain);
  const decodeWorking = median(withWorking);
  const analyze = median(analyzeCpu);
  const encoder = median(enc);
  const clipOnly = decode + encoder;
  const both = decodeWorking + analyze + encoder;
  return {
    photos: plain.length,
    technicalMsPerPhoto: round(decodeWorking - decode + analyze, 1),
    analyzeCpuMs: round(analyze, 1),
    analyzeWallMs: round(median(analyzeWall), 1),
    measureCpuMs: round(median(measureCpu), 1),
    decodeCpuMs: round(decode, 1),
    decodeWithWorkingCpuMs: round(decodeWorking, 1),
    encoderCpuMsPerPhoto: round(encoder, 1),
    overhead: round((both - clipOnly) / clipOnly, 3),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ensureBenchModel } = await import('./model.ts');
  const { ensureBenchPhotos } = await import('./photos.ts');
  sharp.concurrency(1);
  const n = Number(process.argv[2] ?? 8);
  const modelDir = await ensureBenchModel();
  const set = await ensureBenchPhotos(n);
  log(`technical: ${n} × 24 MP photos from ${set.source}…`);
  const r = await measureTechnicalCost(modelDir, set.files.slice(0, n), 2, process.argv[3] ? Number(process.argv[3]) : undefined);
  console.log(JSON.stringify(r));
}
