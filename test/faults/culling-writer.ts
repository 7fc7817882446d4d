// A second process writing culling state into a library while others use it (the concurrency
// fault test runs two of these beside an indexer). Usage:
//   node --import tsx culling-writer.ts <db> <seed> <own ids,…> <rating|label> <shared ids,…>
// Prints "ready", starts on a "go" line on stdin and stops at the first iteration after a "stop"
// line. It owns `own` (every column) and one column of `shared` (the other writer owns the other
// column): each setCulling returns the previous state, which must be what this process last
// wrote, and every 25 writes it reads its photos back; any difference is a lost write. Ends by
// printing one JSON line: { writes, lostWrites, firstWriteAt, lastWriteAt, own: [[id, state]…], shared: [[id, value]…] }.
// An error (SQLITE_BUSY, "database is locked") is thrown, so it ends on stderr with exit code 1.
import { getCulling, setCulling } from '../../db/culling.ts';
import { openDatabase } from '../../db/database.ts';
import { listPhotos } from '../../db/photos.ts';
import { prng } from '../../electron/services/matrix/prng.ts';
import { LABELS, type CullingChange, type Flag, type Label } from '../../common/types.ts';

type State = { rating: number; flag: Flag; label: Label | null };

const [dbPath, seed, ownArg, column, sharedArg] = process.argv.slice(2);
const ids = (s: string) => s.split(',').filter(Boolean).map(Number);
const own = ids(ownArg);
const shared = ids(sharedArg);
if (column !== 'rating' && column !== 'label') throw new Error(`column must be rating or label, not ${column}`);
const rnd = prng(Number(seed));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

const db = openDatabase(dbPath);
const known = getCulling(db, own) as Map<number, State>;
const sharedKnown = new Map([...getCulling(db, shared)].map(([id, s]) => [id, s[column]]));
if (known.size !== own.length || sharedKnown.size !== shared.length) throw new Error('photos missing from the library');

let go: () => void;
const started = new Promise<void>((r) => (go = r));
let stopping = false;
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => {
  input += d;
  if (input.includes('go\n')) go();
  if (input.includes('stop\n')) stopping = true;
});
console.log('ready');
await started;

let writes = 0;
let lostWrites = 0;
let firstWriteAt = 0; // Date.now() of the first and last write, to check that they overlap other processes' work
let lastWriteAt = 0;
const same = (a: State, b: State) => a.rating === b.rating && a.flag === b.flag && a.label === b.label;
while (!stopping) {
  const r = rnd();
  if (r < 0.85) {
    // One photo, or three at once (one transaction), of our own.
    const targets = r < 0.7 ? [pick(own)] : [...new Set([pick(own), pick(own), pick(own)])];
    const change: CullingChange = {};
    if (rnd() < 0.7) change.rating = Math.floor(rnd() * 6);
    if (rnd() < 0.6) change.flag = pick([-1, 0, 1] as const);
    if (rnd() < 0.5 || !Object.keys(change).length) change.label = pick([...LABELS, null]);
    for (const prev of setCulling(db, targets, change) as (State & { id: number })[]) {
      if (!same(prev, known.get(prev.id)!)) lostWrites++;
      known.set(prev.id, { ...known.get(prev.id)!, ...change });
    }
  } else {
    // Our column of a photo the other writer also writes.
    const id = pick(shared);
    const value = column === 'rating' ? Math.floor(rnd() * 6) : pick([...LABELS, null]);
    const [prev] = setCulling(db, [id], { [column]: value });
    if (prev[column] !== sharedKnown.get(id)) lostWrites++;
    sharedKnown.set(id, value);
  }
  writes++;
  firstWriteAt ||= Date.now();
  lastWriteAt = Date.now();
  if (writes % 25 === 0) {
    for (const [id, s] of getCulling(db, own)) if (!same(s, known.get(id)!)) lostWrites++;
    listPhotos(db, { status: 'any' }); // and read like the app's grid does
  }
  await new Promise((r) => setTimeout(r, 1));
}
db.close();
process.stdin.destroy(); // let the process end
console.log(JSON.stringify({ writes, lostWrites, firstWriteAt, lastWriteAt, own: [...known], shared: [...sharedKnown] }));
