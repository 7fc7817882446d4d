// The covers of docs/judgement.md ("Covered eyes") on one public-domain portrait, with what the
// faces analyzer says under each: docs/screenshots/covers.png. The portrait is NASA's photo of
// Eileen Collins as scikit-image ships it (public domain; ../shared/photos/sample-shoot); the
// labelled faces the figures are measured on may not be shown (their licences allow measuring only).
//
//   npx tsx test/judgement/cover-sheet.ts [out.png]
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { FacesAnalyzer } from '../../electron/services/indexing/analyzers/faces.ts';
import { openFaceModel } from '../../native-models/faces.ts';
import { decodeImage, type Raster } from '../../native-models/preprocess.ts';
import { HELD_OUT_COVERS, occludeHeldOut } from './occlude-heldout.ts';
import { occlude } from './occlude.ts';

const SOURCE = path.resolve(import.meta.dirname, '../../../shared/photos/sample-shoot/skimage_astronaut.png');
const out = process.argv[2] ?? path.resolve(import.meta.dirname, '../../docs/screenshots/covers.png');
if (!fs.existsSync(SOURCE)) {
  console.error(`No portrait at ${SOURCE} (../shared/photos/sample-shoot): nothing drawn.`);
  process.exit(2);
}

const analyzer = new FacesAnalyzer();
const d = await decodeImage(SOURCE, { working: [analyzer.needs.working.longSide], thumbnail: false });
const w = d.working[0];
const model = await openFaceModel();
const faces = (await model.detect(w)).filter((f) => f.mesh.length >= 468);
if (!faces.length) throw new Error('no face found on the portrait');
const meshes = faces.map((f) => f.mesh);
const box = faces[0].box;

/** Words into lines of at most n characters. */
function wrap(text: string, n: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    if (lines.length && (lines[lines.length - 1] + ' ' + word).length <= n) lines[lines.length - 1] += ' ' + word;
    else lines.push(word);
  }
  return lines;
}

const covers = [null, 'sunglasses', 'hand', ...([1, 2, 3, 4] as const).flatMap((k) => HELD_OUT_COVERS[k])] as const;
const TILE = 220, LABEL = 58;
const tiles: NonNullable<Parameters<ReturnType<typeof sharp>['composite']>[0]> = [];
for (const [k, cover] of covers.entries()) {
  const r: Raster = cover === null ? w : cover === 'sunglasses' || cover === 'hand' ? occlude(w, meshes, cover) : occludeHeldOut(w, meshes, cover);
  const [found] = await analyzer.analyze([{ path: String(cover), width: d.width, height: d.height, working: r }]);
  const f = found[0];
  const verdict = !f ? 'no face found' : f.eyes.state === 'unknown' ? `can't tell: ${(f.eyes.reason ?? '').replace(/ \(.*\)$/, '')}` : `eyes ${f.eyes.state}`;
  const side = Math.round(Math.max(box.w, box.h) * 1.1);
  const left = Math.max(0, Math.round(box.x + box.w / 2 - side / 2)), top = Math.max(0, Math.round(box.y + box.h / 2 - side / 2));
  const crop = await sharp(r.data, { raw: { width: r.width, height: r.height, channels: 3 } })
    .extract({ left, top, width: Math.min(side, r.width - left), height: Math.min(side, r.height - top) })
    .resize(TILE, TILE, { fit: 'fill' })
    .png()
    .toBuffer();
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const label = Buffer.from(
    `<svg width="${TILE}" height="${LABEL}" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#1c1c1e"/>` +
      `<text x="6" y="17" font-family="sans-serif" font-size="13" fill="#fff">${esc(cover ?? 'unmodified')}</text>` +
      wrap(verdict, 38).map((line, i) => `<text x="6" y="${34 + 15 * i}" font-family="sans-serif" font-size="11" fill="${f?.eyes.state === 'closed' ? '#ff6b6b' : '#b8b8c0'}">${esc(line)}</text>`).join('') +
      '</svg>',
  );
  const x = (k % 6) * TILE, y = Math.floor(k / 6) * (TILE + LABEL);
  tiles.push({ input: crop, left: x, top: y }, { input: label, left: x, top: y + TILE });
  console.log(`${cover ?? 'unmodified'}: ${verdict}`);
}
const rows = Math.ceil(covers.length / 6);
await sharp({ create: { width: 6 * TILE, height: rows * (TILE + LABEL), channels: 3, background: '#1c1c1e' } })
  .composite(tiles)
  .png({ compressionLevel: 9, palette: true, quality: 80 })
  .toFile(out);
console.log(`wrote ${out}`);
