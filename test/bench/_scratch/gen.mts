import sharp from 'sharp';
import fs from 'node:fs';
import { decodePhoto } from '../../../native-models/preprocess.ts';
sharp.concurrency(1);
const src = '/work/shared/photos/sample-shoot/Garden.jpg';
const noise = Buffer.alloc(509 * 509 * 3);
for (let i = 0; i < noise.length; i++) noise[i] = 128 + Math.round((Math.random() + Math.random() + Math.random() - 1.5) * 40);
const tile = await sharp(noise, { raw: { width: 509, height: 509, channels: 3 } }).png().toBuffer();
for (const [name, q, blend] of [['plain', 90, null], ['overlay', 90, 'overlay'], ['soft', 92, 'soft-light']] as const) {
  const t = performance.now();
  let img = sharp(src).rotate().resize(6000, 4000, { fit: 'cover', kernel: 'cubic' });
  if (blend) img = sharp(await img.raw().toBuffer(), { raw: { width: 6000, height: 4000, channels: 3 } }).composite([{ input: tile, tile: true, blend }]);
  const buf = await img.jpeg({ quality: q }).toBuffer();
  const gen = performance.now() - t;
  fs.writeFileSync(`/tmp/bx/${name}.jpg`, buf);
  const spec = { imageSize: 224, mean: [0.48, 0.45, 0.4], std: [0.26, 0.26, 0.27] } as any;
  await decodePhoto(buf, spec);
  const t2 = performance.now();
  for (let i = 0; i < 3; i++) await decodePhoto(buf, spec);
  console.log(name, 'gen ms', gen.toFixed(0), 'MB', (buf.length / 1e6).toFixed(2), 'decode ms', ((performance.now() - t2) / 3).toFixed(0));
}
