import { loadModelFolder } from '/work/main/native-models/folder.ts';
import { openClipModel } from '/work/main/native-models/runtime.ts';
const q = process.argv[2] === 'q';
const info = loadModelFolder('/work/main/.cache/bench-models/vit-b-32', { quantized: q });
for (const threads of [1, 2]) {
  const m = await openClipModel(info, { threads });
  for (const b of [1, 4, 8, 16]) {
    const px = new Float32Array(b * 3 * 224 * 224).map(() => Math.random() - 0.5);
    await m.embedImages(px, b);
    const t = performance.now(); let n = 0;
    while (performance.now() - t < 3000) { await m.embedImages(px, b); n += b; }
    console.log(`q=${q} threads=${threads} batch=${b} ${(n / ((performance.now() - t) / 1000)).toFixed(2)} img/s`);
  }
  await m.dispose();
}
