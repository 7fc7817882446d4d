// What the analyzers beside CLIP cost in real indexing (issue 11: "all analyzers together at most
// +30 % CPU per photo over CLIP-only"): the same photos indexed into fresh libraries, each run in a
// child process (index-child.ts, indexLibrary direct, default batch/decode/threads), alternately
// with every default analyzer and with the CLIP embedder alone. CPU time per photo (the child's
// process.cpuUsage: libvips, ONNX Runtime and JS threads) is the comparison, since other work on a
// shared machine slows the wall clock but barely the CPU a photo takes; img/s is reported beside it.
// Each child opens its models before the photos and times that apart (index-child.ts): the CLIP
// model's opening was never counted, and the faces model's (openCpuMs, ~0.5 s of CPU once per
// process) is not a per-photo cost either, so the per-photo comparison leaves it out; the same
// figure with it spread over this run's photos is given beside it (allCpuMsPerPhotoWithOpen).
// Medians over the repeats. Part of `npm run bench` (run.ts, step 3b); alone:
//   npx tsx test/bench/index-overhead.ts [photos = 48] [repeats = 3]
import os from 'node:os';
import path from 'node:path';
import type { IndexRun } from './index-child.ts';
import { photoFolder } from './photos.ts';
import { log, median, ROOT, rmrf, round, runChild } from './util.ts';

export interface IndexOverhead {
  photos: number;
  repeats: number;
  cores: number;
  /** Load average (1 min) before the first and after the last run. */
  loadBefore: number;
  loadAfter: number;
  allImgPerSec: number;
  clipImgPerSec: number;
  allCpuMsPerPhoto: number;
  clipCpuMsPerPhoto: number;
  /** allCpuMsPerPhoto / clipCpuMsPerPhoto − 1 (the per-photo cost: models' one-time opening left out of both). */
  cpuOverhead: number;
  /** CPU of opening the other analyzers' models (the faces model) once per process: not in allCpuMsPerPhoto. */
  allOpenCpuMs: number;
  /** allCpuMsPerPhoto with allOpenCpuMs spread over this run's photos (what a run of `photos` photos costs). */
  allCpuMsPerPhotoWithOpen: number;
  /** allCpuMsPerPhotoWithOpen / clipCpuMsPerPhoto − 1. */
  cpuOverheadWithOpen: number;
  runs: { analyzers: string; imgPerSec: number; cpuMsPerPhoto: number; openCpuMs: number | null }[];
}

export async function measureIndexOverhead(modelDir: string, files: string[], repeats = 3): Promise<IndexOverhead> {
  const dir = photoFolder(files, `bench-index-overhead-${process.pid}`);
  const child = path.join(ROOT, 'test/bench/index-child.ts');
  const loadBefore = os.loadavg()[0];
  const all: IndexRun[] = [];
  const clip: IndexRun[] = [];
  try {
    for (let i = 0; i < repeats; i++) {
      // Alternated, so a change in the machine's load hits both alike.
      for (const clipOnly of i % 2 ? [true, false] : [false, true]) {
        const r = await runChild<IndexRun>(child, ['--model', modelDir, '--photos', dir, '--direct', ...(clipOnly ? ['--clip-only'] : [])]);
        (clipOnly ? clip : all).push(r);
        log(`index-overhead: ${clipOnly ? 'CLIP only' : 'all analyzers'} ${r.imgPerSec} img/s, ${r.cpuMsPerPhoto} CPU ms per photo, models' opening ${r.openCpuMs} CPU ms once (load ${os.loadavg()[0].toFixed(1)})`);
      }
    }
  } finally {
    rmrf(dir);
  }
  const m = (runs: IndexRun[], k: 'imgPerSec' | 'cpuMsPerPhoto') => round(median(runs.map((r) => r[k])), 2);
  const allCpu = m(all, 'cpuMsPerPhoto');
  const clipCpu = m(clip, 'cpuMsPerPhoto');
  const open = Math.round(median(all.map((r) => r.openCpuMs ?? 0)));
  const allWithOpen = round(allCpu + open / files.length, 2);
  return {
    photos: files.length,
    repeats,
    cores: os.availableParallelism(),
    loadBefore: round(loadBefore, 2),
    loadAfter: round(os.loadavg()[0], 2),
    allImgPerSec: m(all, 'imgPerSec'),
    clipImgPerSec: m(clip, 'imgPerSec'),
    allCpuMsPerPhoto: allCpu,
    clipCpuMsPerPhoto: clipCpu,
    cpuOverhead: round(allCpu / clipCpu - 1, 3),
    allOpenCpuMs: open,
    allCpuMsPerPhotoWithOpen: allWithOpen,
    cpuOverheadWithOpen: round(allWithOpen / clipCpu - 1, 3),
    runs: [...all, ...clip].map((r) => ({ analyzers: r.analyzers, imgPerSec: r.imgPerSec, cpuMsPerPhoto: r.cpuMsPerPhoto, openCpuMs: r.openCpuMs })),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ensureBenchModel } = await import('./model.ts');
  const { ensureBenchPhotos } = await import('./photos.ts');
  const n = Number(process.argv[2] ?? 48);
  const modelDir = await ensureBenchModel();
  const set = await ensureBenchPhotos(n);
  log(`index-overhead: ${n} × 24 MP photos from ${set.source}, ${os.availableParallelism()} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}…`);
  console.log(JSON.stringify(await measureIndexOverhead(modelDir, set.files.slice(0, n), Number(process.argv[3] ?? 3))));
}
