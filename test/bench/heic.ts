// What a HEIC costs to index: a 12 MP (4032 × 3024) HEIC made with heif-enc from a bench photo
// (cached in .cache/), and a real iPhone HEIC from ../shared/camera-files when present, each
// decoded the way the indexer does (decodePhoto: CLIP pixels + 512 px thumbnail). The HEVC decode
// runs in libheif-js's worker thread; the figures are wall time per photo, the WebAssembly decode
// inside the worker, and the time this (main) thread's event loop was busy meanwhile.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { decodeHeif } from '../../native-models/heif.ts';
import { decodePhoto, MAX_INPUT_PIXELS } from '../../native-models/preprocess.ts';
import type { PreprocessSpec } from '../../native-models/types.ts';
import { CACHE, log, median, round, ROOT } from './util.ts';

export interface HeicRun {
  file: string;
  megapixels: number;
  decodeMs: number; // decodePhoto, wall, median
  wasmMs: number; // the libheif-js decode inside the worker, median
  mainThreadMs: number; // main-thread (event loop) busy time per decode, median
}

const IPHONE = path.resolve(ROOT, '../shared/camera-files/heic/exiv2_2021-02-13-1929.heic'); // iPhone XR, 12 MP grid, irot 270

/** The generated 12 MP HEIC, made once from `jpeg` (null, with the reason logged, without heif-enc). */
function ensureHeic(jpeg: string): Promise<string | null> | string | null {
  const out = path.join(CACHE, 'bench-heic', '12mp.heic');
  if (fs.existsSync(out)) return out;
  if (spawnSync('heif-enc', ['--list-encoders']).error) {
    log('heic: heif-enc not found (apt-get install libheif-examples): the generated 12 MP HEIC is skipped');
    return null;
  }
  return (async () => {
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const png = path.join(path.dirname(out), 'source.png');
    await sharp(jpeg).resize(4032, 3024, { fit: 'cover' }).png({ compressionLevel: 1 }).toFile(png);
    log('heic: encoding a 12 MP HEIC with heif-enc (once, cached)…');
    execFileSync('heif-enc', ['-q', '60', png, '-o', `${out}.tmp`], { stdio: 'pipe' });
    fs.renameSync(`${out}.tmp`, out);
    fs.rmSync(png);
    return out;
  })();
}

async function measure(file: string, spec: PreprocessSpec, reps: number): Promise<HeicRun> {
  const bytes = fs.readFileSync(file);
  await decodePhoto(bytes, spec, { thumbSize: 512 }); // warm: worker start, WebAssembly compile
  const wall: number[] = [];
  const wasm: number[] = [];
  const main: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    const elu = performance.eventLoopUtilization();
    const r = await decodePhoto(bytes, spec, { thumbSize: 512 });
    main.push(performance.eventLoopUtilization(elu).active);
    wall.push(performance.now() - t);
    if (!r.thumbnail) throw new Error(`${file}: no thumbnail`);
    wasm.push((await decodeHeif(bytes, MAX_INPUT_PIXELS)).decodeMs);
  }
  const meta = await sharp(bytes).metadata();
  return { file: path.basename(file), megapixels: round(((meta.width ?? 0) * (meta.height ?? 0)) / 1e6, 1), decodeMs: Math.round(median(wall)), wasmMs: Math.round(median(wasm)), mainThreadMs: Math.round(median(main)) };
}

export async function measureHeic(sourceJpeg: string, spec: PreprocessSpec, reps = 3): Promise<{ generated: HeicRun | null; iphone: HeicRun | null }> {
  const heic = await ensureHeic(sourceJpeg);
  const generated = heic ? await measure(heic, spec, reps) : null;
  const iphone = fs.existsSync(IPHONE) ? await measure(IPHONE, spec, reps) : null;
  if (!iphone) log(`heic: no ${IPHONE} (../shared/camera-files): the real iPhone HEIC is skipped`);
  return { generated, iphone };
}
