// Per-photo cost of each indexing stage on ONE core, measured one photo at a time: where an
// indexing second goes. The stages are the indexer's own calls (fingerprintFile, readMetadata,
// decodePhoto, writeThumbnail, photoQueries, embedImages); "decode" alone is the first half of
// decodePhoto reproduced with the same sharp pipeline (probe, shrink-on-load decode to the ~512 px
// intermediate), and "preprocess" is the rest of decodePhoto (thumbnail JPEG, CLIP resize, normalise).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { openDatabase } from '../../db/database.ts';
import { photoQueries } from '../../db/photos.ts';
import { loadModelFolder } from '../../native-models/folder.ts';
import { decodePhoto } from '../../native-models/preprocess.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import type { PreprocessSpec } from '../../native-models/types.ts';
import { fingerprintFile } from '../../electron/services/indexing/fingerprint.ts';
import { readMetadata, sniffImageType } from '../../electron/services/indexing/metadata.ts';
import { THUMB_SIZE, writeThumbnail } from '../../electron/services/indexing/thumbnails.ts';
import { median, rmrf, round } from './util.ts';

export interface StageProfile {
  photos: number;
  /** Median milliseconds per photo, one core. */
  ms: {
    read: number;
    fingerprint: number;
    metadata: number;
    decode: number;
    preprocess: number;
    thumbnailWrite: number;
    encode: number;
    store: number;
  };
  /** decodePhoto alone (decode + preprocess + thumbnail JPEG), the `decode_ms` figure. */
  decodePhotoMs: number;
  /** Sum of the stages: CPU milliseconds one photo costs (encode counted at its core-time). */
  cpuMsPerPhoto: number;
}

/** The decode half of decodePhoto: same probe, same oriented shrink-on-load resize to the intermediate. */
async function decodeOnly(content: Buffer, spec: PreprocessSpec): Promise<void> {
  const meta = await sharp(content, { limitInputPixels: false }).metadata();
  const width = meta.autoOrient?.width ?? meta.width!;
  const height = meta.autoOrient?.height ?? meta.height!;
  const scale = Math.min(1, Math.max(THUMB_SIZE / Math.max(width, height), (1.5 * spec.imageSize) / Math.min(width, height)));
  await sharp(content, { failOn: 'error' })
    .autoOrient()
    .toColourspace('srgb')
    .resize(Math.round(width * scale), Math.round(height * scale), { kernel: 'cubic', fit: 'fill', fastShrinkOnLoad: false })
    .raw()
    .toBuffer();
}

/**
 * Stage costs over `files` (first one is a warm-up). `encode` is the wall time per image of the
 * encoder at `encoder` (threads × batch), counted as threads × that in the CPU sum.
 */
export async function profileStages(
  modelDir: string,
  files: string[],
  encoder: { threads: number; batch: number },
): Promise<StageProfile> {
  sharp.concurrency(1); // one core, as in the indexer
  const info = loadModelFolder(modelDir, { quantized: false });
  const spec = info.preprocess;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-bench-stages-'));
  const db = openDatabase(path.join(tmp, 'stages.db'));
  const q = photoQueries(db);
  const t: Record<keyof StageProfile['ms'] | 'decodePhoto', number[]> = {
    read: [], fingerprint: [], metadata: [], decode: [], preprocess: [], thumbnailWrite: [], encode: [], store: [], decodePhoto: [],
  };
  const time = async <T>(key: keyof typeof t | null, fn: () => Promise<T> | T): Promise<T> => {
    const s = performance.now();
    const out = await fn();
    if (key) t[key].push(performance.now() - s);
    return out;
  };
  const pixels: Float32Array[] = [];
  try {
    for (let i = 0; i < files.length; i++) {
      const k = <K extends keyof typeof t>(key: K) => (i === 0 ? null : key); // the first photo warms caches up
      const file = files[i];
      const content = await time(k('read'), () => fs.promises.readFile(file));
      const fp = await time(k('fingerprint'), () => fingerprintFile(file));
      await time(k('metadata'), async () => {
        sniffImageType(content);
        return readMetadata(content);
      });
      await time(k('decode'), () => decodeOnly(content, spec));
      const decoded = await time(k('decodePhoto'), () => decodePhoto(content, spec, { thumbSize: THUMB_SIZE }));
      await time(k('thumbnailWrite'), () => writeThumbnail(path.join(tmp, 'thumbs'), fp, decoded.thumbnail));
      pixels.push(decoded.pixels);
    }
    t.preprocess = t.decodePhoto.map((d, i) => Math.max(0, d - t.decode[i]));

    // Encode at the chosen configuration, per image.
    const model = await openClipModel(info, { threads: encoder.threads });
    const batch = new Float32Array(encoder.batch * pixels[0].length);
    for (let i = 0; i < encoder.batch; i++) batch.set(pixels[i % pixels.length], i * pixels[0].length);
    let vectors = await model.embedImages(batch, encoder.batch);
    for (let r = 0; r < 4; r++) {
      const s = performance.now();
      vectors = await model.embedImages(batch, encoder.batch);
      t.encode.push((performance.now() - s) / encoder.batch);
    }
    await model.dispose();

    // Store: the indexer's upsert + float16 embedding, one transaction per batch.
    const dim = info.dim;
    for (let r = 0; r < 6; r++) {
      const s = performance.now();
      db.transaction(() => {
        for (let i = 0; i < encoder.batch; i++) {
          const id = q.upsertPhoto({
            path: `/bench/store/${r}/${i}.jpg`, size: 7_500_000, mtimeMs: Date.now(), fingerprint: `fp-${r}-${i}`,
            width: 6000, height: 4000, takenAt: Date.now(), camera: 'Bench', lens: null, thumb: `fp-${r}-${i}.jpg`,
          });
          q.storeEmbedding(id, info.id, vectors.subarray(i * dim, (i + 1) * dim));
        }
      })();
      if (r > 0) t.store.push((performance.now() - s) / encoder.batch);
    }
  } finally {
    db.close();
    rmrf(tmp);
  }
  const ms = Object.fromEntries(Object.entries(t).map(([key, v]) => [key, round(median(v), 2)])) as Record<keyof typeof t, number>;
  const { decodePhoto: decodePhotoMs, ...stages } = ms;
  const cpu = stages.read + stages.fingerprint + stages.metadata + stages.decode + stages.preprocess + stages.thumbnailWrite + stages.store + stages.encode * encoder.threads;
  return { photos: files.length - 1, ms: stages, decodePhotoMs, cpuMsPerPhoto: round(cpu, 1) };
}
