import { loadModelFolder } from '../../../native-models/folder.ts';
import { openClipModel } from '../../../native-models/runtime.ts';
const info = loadModelFolder('/work/main/.cache/bench-models/vit-b-32');
const mb = () => (process.memoryUsage().rss / 1e6).toFixed(0);
console.log('rss0', mb());
let t = performance.now();
const m = await openClipModel(info, { threads: 2 });
console.log('vision open ms', (performance.now() - t).toFixed(0), 'rss', mb());
t = performance.now();
await m.embedTexts(['warmup']);
console.log('text open+1 ms', (performance.now() - t).toFixed(0), 'rss', mb());
for (let i = 0; i < 5; i++) { t = performance.now(); await m.embedTexts([`a sharp photo ${i}`, `a blurry photo ${i}`]); console.log('pair ms', (performance.now() - t).toFixed(1)); }
