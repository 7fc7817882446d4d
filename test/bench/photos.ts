// Benchmark photos: 6000×4000 (24 MP) JPEGs like a camera's, cached in .cache/bench-photos.
//
// Made from the real photos in ../shared/photos/sample-shoot when present (upscaled with a cover
// crop; copies of one source are mirrored and tinted differently), else from synthetic textures. Upscaled photos are too smooth:
// they compress to ~1.3 MB and decode twice as fast as a camera file, since JPEG decoding time
// follows the entropy-coded size. A tiled film-grain overlay brings them to ~7.5 MB at quality 90,
// the size of a real 24 MP JPEG.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { CACHE, SHARED_PHOTOS, log, rmrf } from './util.ts';
import { prng as rng } from '../../electron/services/matrix/prng.ts';

export const WIDTH = 6000;
export const HEIGHT = 4000;
const VERSION = 3; // bump when the recipe changes, so stale caches are rebuilt

export interface PhotoSet {
  dir: string;
  files: string[];
  source: 'sample-shoot' | 'synthetic';
  meanBytes: number;
}


/** Mid-grey noise (roughly Gaussian, sd ~23) as a PNG tile; 'overlay' blending turns it into grain. */
async function grainTile(seed: number): Promise<Buffer> {
  const side = 509; // prime, so the tiling does not line up with 8×8 JPEG blocks
  const r = rng(seed);
  const px = Buffer.alloc(side * side * 3);
  for (let i = 0; i < px.length; i++) px[i] = 128 + Math.round((r() + r() + r() - 1.5) * 40);
  return sharp(px, { raw: { width: side, height: side, channels: 3 } }).png().toBuffer();
}

/** A 750×500 textured picture (gradients, blocks, waves) standing in for a real photo. */
async function syntheticSource(seed: number): Promise<Buffer> {
  const w = 750;
  const h = 500;
  const r = rng(seed);
  const px = Buffer.alloc(w * h * 3);
  const base = [r() * 255, r() * 255, r() * 255];
  const f = [1 + r() * 8, 1 + r() * 8, 1 + r() * 8];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const v = base[c] + 60 * Math.sin((x * f[c]) / 90 + (y * f[(c + 1) % 3]) / 70) + 40 * Math.cos((x * y) / (4000 + 900 * c));
        px[(y * w + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  for (let k = 0; k < 12; k++) {
    const bw = Math.floor(20 + r() * 200);
    const bh = Math.floor(20 + r() * 150);
    const bx = Math.floor(r() * (w - bw));
    const by = Math.floor(r() * (h - bh));
    const col = [r() * 255, r() * 255, r() * 255];
    for (let y = by; y < by + bh; y++) for (let x = bx; x < bx + bw; x++) px.set(col, (y * w + x) * 3);
  }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
}

function sources(): { kind: PhotoSet['source']; files: string[] } {
  // CULL_BENCH_SYNTHETIC=1: as on a machine without ../shared (a fresh clone elsewhere).
  if (fs.existsSync(SHARED_PHOTOS) && !process.env.CULL_BENCH_SYNTHETIC) {
    const files = fs
      .readdirSync(SHARED_PHOTOS)
      .filter((f) => /\.(jpe?g|png)$/i.test(f))
      .sort()
      .map((f) => path.join(SHARED_PHOTOS, f));
    if (files.length) return { kind: 'sample-shoot', files };
  }
  return { kind: 'synthetic', files: [] };
}

/** The 24 MP base of one source: upscaled (cover crop) and grained, as raw RGB. ~1.3 s. */
async function renderBase(src: Buffer | string, grain: Buffer): Promise<Buffer> {
  const up = await sharp(src, { limitInputPixels: false }).autoOrient().resize(WIDTH, HEIGHT, { fit: 'cover', kernel: 'cubic' }).removeAlpha().raw().toBuffer();
  return sharp(up, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .composite([{ input: grain, tile: true, blend: 'overlay' }])
    .removeAlpha()
    .raw()
    .toBuffer();
}

/** Copy `index` of a base: mirrored every other copy, tinted per copy (cheap: ~0.6 s, mostly the JPEG encode). */
async function renderCopy(base: Buffer, index: number, out: string): Promise<void> {
  const r = rng(1000 + index);
  let img = sharp(base, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } });
  if (index % 2) img = img.flop();
  const gain = [0, 1, 2].map(() => 0.9 + r() * 0.2);
  const day = String(1 + (index % 28)).padStart(2, '0');
  const time = `${String(8 + (index % 10)).padStart(2, '0')}:${String(index % 60).padStart(2, '0')}:00`;
  const buf = await img
    .linear(gain, [0, 0, 0])
    .withExif({ IFD0: { Make: 'Bench', Model: 'Bench 24MP' }, IFD2: { DateTimeOriginal: `2024:06:${day} ${time}` } })
    .jpeg({ quality: 90 })
    .toBuffer();
  const tmp = `${out}.tmp`;
  fs.writeFileSync(tmp, buf);
  fs.renameSync(tmp, out);
}

/**
 * A fresh folder `name` in the cache holding exactly `files` (hard links: no copy, the same files to
 * the decoder), for runs that index a whole folder.
 */
export function photoFolder(files: string[], name: string): string {
  const dir = path.join(CACHE, name);
  rmrf(dir);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) fs.linkSync(f, path.join(dir, path.basename(f)));
  return dir;
}

/** `count` 24 MP JPEGs; generated once (~1.3 s per source + ~0.6 s per photo, per core) and reused. */
export async function ensureBenchPhotos(count: number): Promise<PhotoSet> {
  const src = sources();
  const root = path.join(CACHE, 'bench-photos', `24mp-v${VERSION}-${src.kind}`);
  const manifest = path.join(root, 'manifest.json');
  const dir = path.join(root, 'photos'); // only the photos: this folder is what gets indexed
  const files = Array.from({ length: count }, (_, i) => path.join(dir, `IMG_${String(i).padStart(4, '0')}.jpg`));
  const done = () => files.every((f) => fs.existsSync(f));
  if (fs.existsSync(manifest) && done()) {
    log(`photos: reusing ${count} × 24 MP JPEGs in ${path.relative(process.cwd(), dir)}`);
  } else {
    fs.mkdirSync(dir, { recursive: true });
    const todo = files.map((f, i) => [f, i] as const).filter(([f]) => !fs.existsSync(f));
    const kinds = src.files.length || 24;
    log(`photos: generating ${todo.length} × ${WIDTH}×${HEIGHT} JPEGs from ${src.kind === 'sample-shoot' ? `${src.files.length} real photos` : 'synthetic textures'} (~${Math.ceil((kinds * 1.3 + todo.length * 0.6) / 2)} s)…`);
    sharp.concurrency(1);
    const grain = await grainTile(7);
    // Photo i is copy i of source i % kinds: each source's base is rendered once for all its copies.
    const bySource = new Map<number, (readonly [string, number])[]>();
    for (const job of todo) bySource.set(job[1] % kinds, [...(bySource.get(job[1] % kinds) ?? []), job]);
    const queue = [...bySource.entries()];
    let made = 0;
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [k, jobs] = next;
        const base = await renderBase(src.files.length ? src.files[k] : await syntheticSource(k + 1), grain);
        for (const [file, i] of jobs) {
          await renderCopy(base, i, file);
          if (++made % 25 === 0) log(`photos: ${made}/${todo.length}`);
        }
      }
    };
    await Promise.all([worker(), worker()]); // one libvips thread each: both cores busy
    fs.writeFileSync(manifest, JSON.stringify({ version: VERSION, count, source: src.kind }, null, 2));
  }
  // Interrupted writes are dropped; photos of a larger set stay (another run may be using them):
  // whoever indexes a folder indexes photoFolder(files), which holds exactly the files asked for.
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.tmp')) rmrf(path.join(dir, f));
  const meanBytes = files.reduce((s, f) => s + fs.statSync(f).size, 0) / files.length;
  return { dir, files, source: src.kind, meanBytes };
}
