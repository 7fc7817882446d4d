// The photos the parity scripts (face-gate-parity.ts, face-pass-parity.ts) compare the ONNX
// face stages with Human on: the bench's 24 MP photos (.cache/bench-photos, made by the faces
// bench) and every labelled photo of ../shared/faces. Exits with a message when neither exists.
import fs from 'node:fs';
import path from 'node:path';
import { CACHE } from '../bench/util.ts';
import { FACES_DIR } from './faces-judge.ts';

export function parityPhotos(benchLimit?: number): { bench: string[]; faces: string[] } {
  const benchDir = path.join(CACHE, 'bench-photos');
  const list = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort().map((f) => path.join(dir, f)) : []);
  const bench = fs.existsSync(benchDir)
    ? fs.readdirSync(benchDir).sort().flatMap((set) => list(path.join(benchDir, set, 'photos'))).slice(0, benchLimit)
    : [];
  const faces = ['open', 'closed', 'hard'].flatMap((l) => list(path.join(FACES_DIR, l))).filter((f) => !f.endsWith('.md') && !f.endsWith('.tsv'));
  if (!bench.length && !faces.length) {
    console.error(`Nothing to compare: no ${benchDir} (run the faces bench once) and no ${FACES_DIR}.`);
    process.exit(2);
  }
  return { bench, faces };
}
