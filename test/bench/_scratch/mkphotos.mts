import { ensureBenchPhotos } from '../photos.ts';
const s = await ensureBenchPhotos(200);
console.log(s.dir, s.source, (s.meanBytes / 1e6).toFixed(2), 'MB');
