import sharp from 'sharp';
sharp.concurrency(1);
const src = '/work/shared/photos/sample-shoot/Garden.jpg';
const noise = Buffer.alloc(509 * 509 * 3);
for (let i = 0; i < noise.length; i++) noise[i] = 128 + Math.round((Math.random() + Math.random() + Math.random() - 1.5) * 40);
const tile = await sharp(noise, { raw: { width: 509, height: 509, channels: 3 } }).png().toBuffer();
for (let k = 0; k < 3; k++) {
  const t = performance.now();
  const buf = await sharp(src).rotate().resize(6000, 4000, { fit: 'cover', kernel: 'cubic', position: k }).composite([{ input: tile, tile: true, blend: 'overlay' }]).jpeg({ quality: 90 }).toBuffer();
  console.log('one pipeline gen ms', (performance.now() - t).toFixed(0), (buf.length / 1e6).toFixed(2));
}
const t = performance.now();
const buf = await sharp(src).rotate().resize(6000, 4000, { fit: 'cover', kernel: 'linear' }).composite([{ input: tile, tile: true, blend: 'overlay' }]).jpeg({ quality: 90 }).toBuffer();
console.log('linear gen ms', (performance.now() - t).toFixed(0), (buf.length / 1e6).toFixed(2));
