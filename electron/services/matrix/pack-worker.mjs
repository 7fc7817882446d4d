// Writes packs of embeddings (db/embedding-packs.ts: PACK_CLEAR_SQL then PACK_WRITE_SQL, handed in
// workerData, as packEmbeddingBlocks runs them) for a list of blocks, off the main thread
// (parallel-load.ts packInBackground): its own read-write connection, one IMMEDIATE transaction per
// block, so the app's writes wait at most one block.
// Plain JavaScript, like parallel-load-worker.mjs, so it loads as a worker under Node, tsx, vitest
// and (bundled) Electron. Posts { written } or { error }, then exits.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, modelId, blocks, clearSql, sql, size } = workerData;
let db = null;
try {
  db = new Database(file, { fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  db.pragma('synchronous = NORMAL');
  const clear = db.prepare(clearSql);
  const write = db.prepare(sql);
  const one = db.transaction((b) => {
    clear.run({ model: modelId, block: b });
    return write.run({ model: modelId, block: b, lo: b * size, hi: (b + 1) * size }).changes;
  });
  let written = 0;
  for (const b of blocks) written += one.immediate(b) > 0 ? 1 : 0;
  parentPort.postMessage({ written });
} catch (err) {
  parentPort.postMessage({ error: String((err && err.message) || err) });
} finally {
  db?.close();
}
