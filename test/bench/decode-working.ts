// What a working-size raster (for the technical analyzer: focus, exposure, noise) adds to the one
// decode per photo. A generated 24 MP JPEG (6000 × 4000, smooth gradients plus fine noise, q 90)
// is decoded as the indexer does (one libvips thread), with and without a working raster.
//   node --import tsx test/bench/decode-working.ts [runs] [longSide]
import sharp from 'sharp';
import { decodePhoto } from '../../native-models/preprocess.ts';

const runs = Number(process.argv[2] ?? 12);
const side = Number(process.argv[3] ?? 1500);
const SPEC = { imageSize: 224, mean: [0.481, 0.458, 0.408], std: [0.269, 0.261, 0.276] } as const;
sharp.concurrency(1);

const W = 6000;
const H = 4000;
const px = Buffer.allocUnsafe(W * H * 3);
let seed = 1;
for (let y = 0, i = 0; y < H; y++) {
  for (let x = 0; x < W; x++, i += 3) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const n = (seed >>> 24) % 24;
    px[i] = (x * 255) / W + n;
    px[i + 1] = (y * 255) / H + n;
    px[i + 2] = ((x + y) * 127) / (W + H) + n;
  }
}
const jpeg = await sharp(px, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
console.log(`24 MP JPEG: ${(jpeg.length / 1e6).toFixed(1)} MB`);

const spec = { imageSize: SPEC.imageSize, mean: [...SPEC.mean], std: [...SPEC.std] } as Parameters<typeof decodePhoto>[1];
const time = async (working?: number[]) => {
  const t = process.hrtime.bigint();
  await decodePhoto(jpeg, spec, { thumbSize: 512, working });
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
await time();
await time([side]); // warm up
const plain: number[] = [];
const withWorking: number[] = [];
for (let i = 0; i < runs; i++) {
  plain.push(await time()); // interleaved, so drift hits both alike
  withWorking.push(await time([side]));
}
const a = median(plain);
const b = median(withWorking);
console.log(`decodePhoto: ${a.toFixed(0)} ms; with a ${side} px working raster: ${b.toFixed(0)} ms (+${(b - a).toFixed(0)} ms, +${(((b - a) / a) * 100).toFixed(0)} %), median of ${runs}`);
