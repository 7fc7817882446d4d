// The culling rules' reads at 100 000 photos (electron/services/culling/flaws.ts over db/judged.ts):
// problems() — the window's "Out of focus" and "Closed eyes" filters over the whole library — and
// the stack rule's read of 1 000 grouped photos' focus and eye counts. A synthetic library (a
// technical row with its 1 KiB focus map for every photo, faces for a third, a closed eye in one
// face of 1 in 7 of those), generated once into .cache/ and reused.
//   npx tsx test/bench/flaws.ts       (prints one JSON line; npm run bench includes it)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../db/database.ts';
import { photoQueries } from '../../db/photos.ts';
import { judgedFrames, photoProblems } from '../../electron/services/culling/flaws.ts';
import { writeFaces, writeTechnical } from '../helpers/judged-rows.ts';
import { CACHE, log, median, round, timeRuns } from './util.ts';

export interface FlawsRun {
  photos: number;
  problemsMs: number;
  stackRead1000Ms: number;
  outOfFocus: number;
  closedEyes: number;
}

const PHOTOS = 100_000;

export async function measureFlaws(): Promise<FlawsRun> {
  const file = path.join(CACHE, `flaws-${PHOTOS}.db`);
  if (!fs.existsSync(file)) {
    log(`flaws: generating ${PHOTOS} photos with technical rows and faces…`);
    fs.mkdirSync(CACHE, { recursive: true });
    const db = openDatabase(file + '.tmp');
    const q = photoQueries(db);
    db.transaction(() => {
      for (let i = 0; i < PHOTOS; i++) {
        const id = q.upsertPhoto({ path: `/bench/IMG_${i}.jpg`, size: 1, mtimeMs: 1, fingerprint: `f${i}`, width: 6000, height: 4000, takenAt: i, camera: 'c', lens: null, thumb: null });
        writeTechnical(db, id, (i % 100) / 100);
        if (i % 3 === 0) writeFaces(db, id, [{ box: { x: 0.1, y: 0.1, w: 0.1, h: 0.1 }, state: i % 7 ? 'open' : 'closed' }, { box: { x: 0.5, y: 0.1, w: 0.1, h: 0.1 }, state: 'open' }]);
      }
    })();
    db.close();
    fs.renameSync(file + '.tmp', file);
    for (const ext of ['-wal', '-shm']) fs.rmSync(file + '.tmp' + ext, { force: true });
  }
  const db = openDatabase(file);
  try {
    let problems = photoProblems(db);
    const problemsMs = median(await timeRuns(() => (problems = photoProblems(db)), 5));
    const ids = Array.from({ length: 1000 }, (_, i) => 1 + i * 97);
    const stackRead1000Ms = median(await timeRuns(() => judgedFrames(db, ids), 5));
    return { photos: PHOTOS, problemsMs: round(problemsMs, 1), stackRead1000Ms: round(stackRead1000Ms, 1), outOfFocus: problems.outOfFocus.length, closedEyes: problems.closedEyes.length };
  } finally {
    db.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(JSON.stringify(await measureFlaws()));
