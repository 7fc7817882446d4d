import { openDatabase } from '../../../db/database.ts';
import { loadEmbeddingMatrix } from '../../../db/features.ts';
const db = openDatabase(process.argv[2]);
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  const m = loadEmbeddingMatrix(db, 'test-vit-b-32-seed1');
  console.log('load', m.ids.length, (performance.now() - t).toFixed(0), 'ms');
}
const from = "FROM embeddings e JOIN photos p ON p.id = e.photo_id WHERE e.model_id = ? AND p.status = 'ok'";
let t = performance.now();
let k = 0; for (const r of db.prepare(`SELECT p.id, p.path, p.indexed_at, e.vec ${from} ORDER BY p.id`).raw().iterate('test-vit-b-32-seed1')) k++;
console.log('iterate only', (performance.now() - t).toFixed(0));
t = performance.now();
k = 0; for (const r of db.prepare(`SELECT photo_id, vec FROM embeddings WHERE model_id = ?`).raw().iterate('test-vit-b-32-seed1')) k++;
console.log('iterate embeddings only', (performance.now() - t).toFixed(0));
console.log(db.prepare(`EXPLAIN QUERY PLAN SELECT p.id, p.path, p.indexed_at, e.vec ${from} ORDER BY p.id`).all('x'));
