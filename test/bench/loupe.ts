// What the loupe's previews cost on the server (electron/services/previews.ts), cold (nothing
// cached: each photo asked for once): the fit view's rendition of a 24 MP JPEG at the sizes a
// 1280×720 window (fit 1024: decoded at 1/4 scale) and a 1920×1080 one (fit 1792: at 1/2) ask for,
// and the full preview of a RAW whose embedded JPEG is a 24 MP bench photo (read by offset, served
// as its own bytes) with its 1024 rendition; and what a standard preview costs at index time (the
// JPEG encode and write from the working raster the indexer's decode already made) and on disk.
// Browser-side figures are test/e2e/loupe.test.ts's.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import os from 'node:os';
import { writeStandardPreview } from '../../electron/services/indexing/standard-preview.ts';
import { TECHNICAL_WORKING_SIDE } from '../../electron/services/indexing/analyzers/technical.ts';
import { previewImage } from '../../electron/services/previews.ts';
import { decodeImage } from '../../native-models/preprocess.ts';
import { tiffRaw } from '../helpers/fixtures.ts';
import { CACHE, median, round } from './util.ts';

export interface LoupeRun {
  photos: number;
  fit1024Ms: number; // median, cold
  fit1792Ms: number;
  rawFullMs: number; // the embedded 24 MP preview, cold
  rawFit1024Ms: number;
  stdPreviewMs: number; // median wall time to encode and write one standard preview (the decode excluded: the indexer already does it)
  stdPreviewCpuMs: number; // median CPU time of the same
  stdPreviewBytes: number; // mean file size
}

/** Standard previews of `files` as the indexer writes them, one at a time, into a temp folder. */
export async function measureStandardPreviews(files: string[]): Promise<Pick<LoupeRun, 'stdPreviewMs' | 'stdPreviewCpuMs' | 'stdPreviewBytes'>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-bench-std-'));
  const wall: number[] = [];
  const cpu: number[] = [];
  let bytes = 0;
  try {
    for (const [i, f] of files.entries()) {
      const d = await decodeImage(f, { thumbnail: false, working: [TECHNICAL_WORKING_SIDE] });
      const t = performance.now();
      const c = process.cpuUsage(); // sharp's encode runs on a libuv thread: counted in the process's CPU
      const made = await writeStandardPreview(dir, `bench${i}`, d.working, d, d.profile);
      const used = process.cpuUsage(c);
      wall.push(performance.now() - t);
      cpu.push((used.user + used.system) / 1000);
      bytes += made?.bytes ?? 0;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { stdPreviewMs: round(median(wall), 1), stdPreviewCpuMs: round(median(cpu), 1), stdPreviewBytes: Math.round(bytes / files.length) };
}

export async function measureLoupe(files: string[], n = 6): Promise<LoupeRun> {
  const pick = files.slice(0, n);
  const time = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return performance.now() - t;
  };
  const fit1024: number[] = [];
  const fit1792: number[] = [];
  for (const f of pick) {
    fit1024.push(await time(() => previewImage(f, 1024)));
    fit1792.push(await time(() => previewImage(f, 1792)));
  }
  // RAW-like files (a DNG layout around each JPEG), written once beside the bench photos.
  const dir = path.join(CACHE, 'bench-loupe-raw');
  fs.mkdirSync(dir, { recursive: true });
  const small = await sharp(pick[0]).resize(160, 120).jpeg().toBuffer();
  const rawFull: number[] = [];
  const rawFit: number[] = [];
  for (const [i, f] of pick.entries()) {
    const raw = path.join(dir, `IMG_${i}.dng`);
    if (!fs.existsSync(raw)) {
      const m = await sharp(f).metadata();
      fs.writeFileSync(raw, tiffRaw({ small, large: fs.readFileSync(f), sensor: { width: m.width!, height: m.height!, preview: { width: m.width!, height: m.height! } } }));
    }
    rawFull.push(await time(() => previewImage(raw)));
    rawFit.push(await time(() => previewImage(raw, 1024)));
  }
  return {
    photos: pick.length,
    fit1024Ms: round(median(fit1024), 0),
    fit1792Ms: round(median(fit1792), 0),
    rawFullMs: round(median(rawFull), 0),
    rawFit1024Ms: round(median(rawFit), 0),
    ...(await measureStandardPreviews(pick)),
  };
}
