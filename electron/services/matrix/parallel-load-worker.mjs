// One reader of a parallel matrix load (parallel-load.ts): opens the library read-only on its own
// connection, runs the block statement that db/features.ts defines (embeddingBlockSql) over its
// share of the blocks of photo ids (every `stride`-th from `first`), and turns each block's float16
// BLOBs into matrix rows with the row store's own ingest kernel (the compiled module arrives in
// workerData), so reading AND converting run on every core. Plain JavaScript so that it loads as a
// worker under Node, tsx, vitest and (bundled by build/build-electron.ts) Electron alike.
//
// Messages: { block: { index, count, ids, indexedAt, rows, scales, refused } } per block with rows
// (typed arrays transferred, never copied; `refused` holds the rows the kernel leaves to the
// caller's plain path, with their BLOBs), { empty: index } per block without, then
// { done: { rows, sums } } (sums: the `extra` aggregates added up, for the caller's consistency
// check), or { error }.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, sql, modelId, dim, format, lo, hi, step, first, stride, module } = workerData;
const rowBytes = format === 'f32' ? dim * 4 : dim;
const blobBytes = dim * 2;

// Kernel memory: [16 spare][BLOBs of one block][float32 scratch row][rows][scales] (address 0 means
// "no int8 codes" to the kernel, hence the spare bytes).
const align16 = (n) => (n + 15) & ~15;
const blobsAt = 16;
const tmpAt = align16(blobsAt + step * blobBytes);
const rowsAt = align16(tmpAt + dim * 4);
const scalesAt = align16(rowsAt + step * rowBytes);
const memory = new WebAssembly.Memory({ initial: Math.ceil((scalesAt + step * 4 + 16) / 65536) });
const kernels = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
const bytes = new Uint8Array(memory.buffer);

let db = null;
try {
  db = new Database(file, { readonly: true, fileMustExist: true });
  // Pages mapped instead of read(): ~1 s less system time at 1M photos (one pread per 4 KB page).
  // Safe here: this connection only reads, and only for the length of the load.
  db.pragma(`mmap_size = ${2 ** 40}`);
  const stmt = db.prepare(sql).raw();
  const sums = [];
  let rows = 0;
  db.exec('BEGIN'); // one snapshot for the whole range
  // Blocks first, first + stride, …: block b holds photo ids lo + b·step … lo + (b + 1)·step − 1.
  for (let index = first; lo + index * step <= hi; index += stride) {
    const at = lo + index * step;
    const r = stmt.get(modelId, at, Math.min(hi + 1, at + step), blobBytes);
    const count = r[0];
    if (!count) {
      parentPort.postMessage({ empty: index });
      continue;
    }
    const ids = Int32Array.from(JSON.parse(`[${r[1]}]`));
    const indexedAt = Float64Array.from(JSON.parse(`[${r[2]}]`));
    const vecs = r[3];
    if (ids.length !== count || indexedAt.length !== count || vecs.length !== count * blobBytes) throw new Error(`block at photo ${at} came back misaligned`);
    bytes.set(vecs, blobsAt);
    const refused = [];
    for (let k = 0; k < count; k++) {
      const src = blobsAt + k * blobBytes;
      const ok = format === 'f32' ? kernels.ingest(src, dim, rowsAt + k * rowBytes, 0, 0) : kernels.ingest(src, dim, tmpAt, rowsAt + k * rowBytes, scalesAt + k * 4);
      if (ok !== 1) refused.push({ k, blob: vecs.slice(k * blobBytes, (k + 1) * blobBytes) });
    }
    const out = bytes.slice(rowsAt, rowsAt + count * rowBytes);
    const scales = format === 'i8' ? new Float32Array(memory.buffer.slice(scalesAt, scalesAt + count * 4)) : null;
    for (let i = 4; i < r.length; i++) sums[i - 4] = (sums[i - 4] ?? 0) + r[i];
    rows += count;
    const transfer = [ids.buffer, indexedAt.buffer, out.buffer];
    if (scales) transfer.push(scales.buffer);
    parentPort.postMessage({ block: { index, count, ids, indexedAt, rows: out, scales, refused } }, transfer);
  }
  db.exec('COMMIT');
  parentPort.postMessage({ done: { rows, sums } });
} catch (err) {
  parentPort.postMessage({ error: String((err && err.message) || err) });
} finally {
  db?.close();
}
