// Large synthetic libraries for the scoring, memory and open-time measurements: photo rows and
// random unit embeddings written through the real storage path (db/database.ts schema, float16
// BLOBs from db/vectors.ts encodeF16) in big transactions. Cached under .cache/bench-libs and
// reused while the recipe, size and model match.
//
// The photos come in scenes shot like a real card: half are single frames, the rest bursts of 2–8
// frames a fraction of a second apart whose embeddings are near-duplicates of the scene's (cosine
// ~0.85–0.98), so grouping has real bursts to find.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase } from '../../db/database.ts';
import { embeddingBlocks, packEmbeddingBlocks } from '../../db/embedding-packs.ts';
import { MIGRATIONS } from '../../db/migrations.ts';
import { encodeF16 } from '../../db/vectors.ts';
import { CACHE, log } from './util.ts';

// 3: schema 8, with the embeddings packed (db/embedding-packs.ts). A new name, not a v2 library
// migrated in place: checkouts that share .cache/bench-libs but predate schema 8 keep opening v2.
const VERSION = 3;
const META_KEY = 'bench-synthetic';

export interface SyntheticSpec {
  n: number;
  modelId: string;
  dim: number;
  seed?: number;
}

/**
 * xoshiro128** seeded by splitmix32: 128 bits of state, period 2^128 − 1. (A 1M-photo library
 * draws ~5·10^8 numbers; an earlier 32-bit-state generator repeated itself within that and gave
 * different scenes identical embeddings.)
 */
function makeRandom(seed: number): () => number {
  let x = seed >>> 0;
  const split = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let [a, b, c, d] = [split(), split(), split(), split()];
  return () => {
    const t = b << 9;
    let r = Math.imul(b, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9);
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = (d << 11) | (d >>> 21);
    return (r >>> 0) / 4294967296;
  };
}

/** Fills `out` with independent standard normal values (Box–Muller). */
function gaussians(out: Float32Array, random: () => number): void {
  for (let i = 0; i < out.length; i += 2) {
    const u = 1 - random();
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * random();
    out[i] = r * Math.cos(t);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(t);
  }
}

function normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const k = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] *= k;
  return v;
}

export function syntheticLibraryPath(spec: SyntheticSpec): string {
  return path.join(CACHE, 'bench-libs', `synthetic-${spec.n}-${spec.modelId}-v${VERSION}.db`);
}

function expectedMeta(spec: SyntheticSpec): string {
  // The base schema's hash: a library written under another table layout is rebuilt (later
  // migrations are applied by openDatabase like on any user's library).
  const schema = createHash('sha256').update(MIGRATIONS[0]).digest('hex').slice(0, 12);
  return JSON.stringify({ version: VERSION, n: spec.n, modelId: spec.modelId, dim: spec.dim, seed: spec.seed ?? 1, schema });
}

/** True when `file` is a finished library of this spec (the meta row is written last). */
function isValid(file: string, spec: SyntheticSpec): boolean {
  if (!fs.existsSync(file)) return false;
  try {
    const db = openDatabase(file, { readonly: true });
    try {
      const meta = db.prepare('SELECT value FROM meta WHERE key = ?').get(META_KEY) as { value: string } | undefined;
      if (meta?.value !== expectedMeta(spec)) return false;
      const { n } = db.prepare('SELECT count(*) AS n FROM embeddings WHERE model_id = ?').get(spec.modelId) as { n: number };
      return n === spec.n;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

function removeDb(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
}

/** Path of a synthetic library of `spec.n` photos, built on first use (~60 µs per photo). */
export async function ensureSyntheticLibrary(spec: SyntheticSpec): Promise<string> {
  const file = syntheticLibraryPath(spec);
  if (isValid(file, spec)) {
    log(`library: reusing ${spec.n.toLocaleString('en')}-photo synthetic library ${path.relative(process.cwd(), file)}`);
    return file;
  }
  removeDb(file);
  const tmp = `${file}.tmp-${process.pid}.db`;
  removeDb(tmp);
  log(`library: writing a ${spec.n.toLocaleString('en')}-photo synthetic library (random unit embeddings, float16 BLOBs)…`);
  const started = performance.now();
  const db = openDatabase(tmp);
  db.pragma('synchronous = OFF'); // a crash mid-build just means rebuilding: the meta row is written last
  const { n, modelId, dim } = spec;
  const random = makeRandom(spec.seed ?? 1);
  const insertPhoto = db.prepare(
    `INSERT INTO photos (id, path, folder, size, mtime_ms, fingerprint, width, height, taken_at, camera, lens, thumb, status, indexed_at)
     VALUES (?, ?, ?, ?, ?, ?, 6000, 4000, ?, 'Bench 24MP', 'Bench 24-70mm', ?, 'ok', ?)`,
  );
  const insertEmbedding = db.prepare('INSERT INTO embeddings (photo_id, model_id, vec) VALUES (?, ?, ?)');

  const base = new Float32Array(dim);
  const noise = new Float32Array(dim);
  const vec = new Float32Array(dim);
  let t = Date.UTC(2015, 0, 1);
  const indexedAt = Date.UTC(2024, 0, 1);
  let id = 0;
  let scene = 0;
  const BATCH = 25_000;
  while (id < n) {
    db.transaction(() => {
      const stop = Math.min(n, id + BATCH);
      while (id < stop) {
        // One scene: a single frame (half the time) or a burst of 2–8 near-duplicates.
        const frames = random() < 0.5 ? 1 : 2 + Math.floor(random() * 7);
        const spread = 0.01 + random() * 0.02; // per-component noise: burst cosines ~0.85–0.98
        gaussians(base, random);
        normalise(base);
        scene++;
        t += 30_000 + Math.floor(random() * 3_600_000);
        const folder = `/bench/library/${new Date(t).getUTCFullYear()}/shoot-${String(Math.floor(scene / 200)).padStart(5, '0')}`;
        for (let f = 0; f < frames && id < stop; f++) {
          id++;
          if (frames === 1) vec.set(base);
          else {
            gaussians(noise, random);
            for (let j = 0; j < dim; j++) vec[j] = base[j] + spread * noise[j];
            normalise(vec);
            t += 100 + Math.floor(random() * 400);
          }
          const fingerprint = `synthetic-${id}`;
          insertPhoto.run(id, `${folder}/IMG_${String(id).padStart(7, '0')}.jpg`, folder, 7_500_000, t, fingerprint, t, `${fingerprint}.jpg`, indexedAt);
          insertEmbedding.run(id, modelId, encodeF16(vec));
        }
      }
    })();
    if (n >= 200_000 && id % 100_000 < BATCH) log(`library: ${id.toLocaleString('en')}/${n.toLocaleString('en')} photos`);
  }
  // Packed as the app packs a library after a load that read it row by row (matrix-load.ts): the
  // cold open measured is that of a library this version has opened before, minus its snapshot.
  const packStarted = performance.now();
  const packs = packEmbeddingBlocks(db, modelId, embeddingBlocks(db, modelId));
  log(`library: ${packs} packs of embeddings written in ${((performance.now() - packStarted) / 1000).toFixed(1)} s`);
  db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(META_KEY, expectedMeta(spec));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.renameSync(tmp, file);
  removeDb(tmp);
  log(`library: ${n.toLocaleString('en')} photos written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return file;
}
