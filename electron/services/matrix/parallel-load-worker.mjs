// One reader of a parallel matrix load (parallel-load.ts): opens the library read-only on its own
// connection, runs the two block statements that db/features.ts defines (embeddingRangeSql: the
// range's embeddings of the model — read from the block's pack when it has one, db/embedding-packs.ts
// — and its ok photos) over its share of the blocks of photo ids
// (every `stride`-th from `first`), keeps the embeddings whose photo is ok (both lists come in
// photo-id order: one merge), and turns their float16 BLOBs into matrix rows with the row store's
// own ingest kernel (the compiled module arrives in workerData), so reading AND converting run on
// every core. Plain JavaScript so that it loads as a worker under Node, tsx, vitest and (bundled by
// build/build-electron.ts) Electron alike. It starts before its job is known (its start-up overlaps
// the caller's preparation: parallel-load.ts `Readers`) and reads once the job message arrives.
//
// Rows in place: when the matrix's rows are in shared memory (`target`), each block's rows are
// copied straight to where they belong, so the main thread copies nothing but ids and times. Where
// a block belongs is the sum of the counts of the blocks before it: every reader publishes each
// block's count in `counts` (shared: [stop flag, count of block 0, count of block 1, …], -1 while
// unknown) as soon as its statement has run, and places a block once every count before it is
// known. Until then the block waits in one of SLOTS local slots while the reader goes on to its
// next block; it blocks only when every slot is full (or at the end). No deadlock: the lowest block
// not yet counted belongs to a reader whose pending blocks all lie below it, so that reader is never
// the one waiting. A block that would not fit the target (rows written since the matrix was sized)
// is sent as rows instead, as is every block without a target.
//
// Messages: { block: { index, count, ids, indexedAt, at, rows, scales, refused } } per block with
// rows (`at`: the row it was placed at, rows/scales then null; else at −1 and the rows' bytes;
// typed arrays transferred, never copied; `refused` holds the rows the kernel leaves to the
// caller's plain path, with their BLOBs), { empty: index } per block without, then
// { done: { rows, photos, sums, packed, unpacked } } (photos: the ok photos seen, with or without a
// row; sums: the `extra` aggregates over those photos added up, for the caller's consistency check;
// packed: blocks read from a pack; unpacked: the packs (block numbers) of blocks read row by row
// that had rows), or { error }.
import { parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';

parentPort.once('message', (job) => run(job));

function run({ file, sql, modelId, dim, format, lo, hi, step, first, stride, module, target, counts: countsBuffer }) {
  const rowBytes = format === 'f32' ? dim * 4 : dim;
  const blobBytes = dim * 2;
  const SLOTS = 8;
  const slots = target ? SLOTS : 1;

  // Kernel memory: [16 spare][BLOBs of one block][slots × (rows, scales)] (address 0 means "no
  // int8 codes" to the kernel, hence the spare bytes).
  const align16 = (n) => (n + 15) & ~15;
  const blobsAt = 16;
  const slotAt = align16(blobsAt + step * blobBytes);
  const slotBytes = align16(step * rowBytes) + align16(step * 4);
  const memory = new WebAssembly.Memory({ initial: Math.ceil((slotAt + slots * slotBytes + 16) / 65536) });
  const kernels = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
  const bytes = new Uint8Array(memory.buffer);
  const counts = countsBuffer ? new Int32Array(countsBuffer) : null;
  const into = target ? new Uint8Array(target.memory.buffer) : null;

  // Rows before the first block whose count this reader has not seen yet, and that block.
  let known = 0;
  let knownBlock = 0;
  /** The row block `index` starts at, or -1 while a count before it is unknown (wait: block until known). */
  function rowOf(index, wait) {
    while (knownBlock < index) {
      const c = Atomics.load(counts, 1 + knownBlock);
      if (c >= 0) {
        known += c;
        knownBlock++;
        continue;
      }
      if (!wait) return -1;
      if (Atomics.load(counts, 0)) throw new Error('stopped');
      Atomics.wait(counts, 1 + knownBlock, -1, 100);
    }
    return known;
  }

  const pending = []; // blocks read, not yet placed: { index, slot, count, ids, indexedAt, refused }
  const freeSlots = Array.from({ length: slots }, (_, i) => i);

  /** Sends a read block: placed in the target when every count before it is known (or `wait`), else kept. */
  function send(b, wait) {
    const rowsAt = slotAt + b.slot * slotBytes;
    const scalesAt = rowsAt + align16(step * rowBytes);
    const n = b.count * rowBytes;
    let at = -1;
    if (target) {
      at = rowOf(b.index, wait);
      if (at < 0) return false;
      if (at + b.count > target.capacity) at = -1;
    }
    let rows = null;
    let scales = null;
    const transfer = [b.ids.buffer, b.indexedAt.buffer];
    if (at >= 0) {
      into.set(bytes.subarray(rowsAt, rowsAt + n), target.rowsAt + at * rowBytes);
      if (format === 'i8') into.set(bytes.subarray(scalesAt, scalesAt + b.count * 4), target.scalesAt + at * 4);
    } else {
      rows = bytes.slice(rowsAt, rowsAt + n);
      scales = format === 'i8' ? new Float32Array(memory.buffer.slice(scalesAt, scalesAt + b.count * 4)) : null;
      transfer.push(rows.buffer);
      if (scales) transfer.push(scales.buffer);
    }
    parentPort.postMessage({ block: { index: b.index, count: b.count, ids: b.ids, indexedAt: b.indexedAt, at, rows, scales, refused: b.refused } }, transfer);
    freeSlots.push(b.slot);
    return true;
  }

  /** Sends pending blocks in order: those already placeable, or (`wait`) all of them. */
  function flush(wait) {
    while (pending.length && send(pending[0], wait)) pending.shift();
  }

  let db = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    // Pages mapped instead of read(): ~1 s less system time at 1M photos (one pread per 4 KB page).
    // Safe here: this connection only reads, and only for the length of the load.
    db.pragma(`mmap_size = ${2 ** 40}`);
    const embeddings = db.prepare(sql.embeddings).raw();
    const okPhotos = db.prepare(sql.photos).raw();
    // Packs (db/embedding-packs.ts): a block's rows as one value, where the library has them
    // (lo is a multiple of the pack size and step equals it: block `index` is pack lo/step + index).
    // A library not yet migrated to schema 8 (opened read-only) has none: read row by row.
    const pack = sql.pack && db.prepare(sql.packsExist).get() ? db.prepare(sql.pack).raw() : null;
    const unpacked = []; // blocks read row by row that had rows: the caller packs them later
    let packed = 0;
    const sums = [];
    let rows = 0;
    let photos = 0;
    db.exec('BEGIN'); // one snapshot for the whole range
    // Blocks first, first + stride, …: block b holds photo ids lo + b·step … lo + (b + 1)·step − 1.
    for (let index = first; lo + index * step <= hi; index += stride) {
      const at = lo + index * step;
      const end = Math.min(hi + 1, at + step);
      const key = at / step;
      // The block's embeddings: their count and ids (comma-separated), their BLOBs copied to blobsAt.
      const parts = pack ? pack.all(modelId, key) : [];
      let n = 0;
      let idList = '';
      let blobLength = 0;
      if (parts.length) {
        packed++;
        // Every BLOB of a pack has its `bytes`: of another size, the block has no row of this one.
        if (parts[0][1] === blobBytes) {
          for (const [c, , partIds, vecs] of parts) {
            if (blobLength + vecs.length > step * blobBytes) throw new Error(`pack at photo ${at} holds more than its block`);
            bytes.set(vecs, blobsAt + blobLength);
            blobLength += vecs.length;
            n += c;
            idList += idList ? `,${partIds}` : partIds;
          }
        }
      } else {
        const e = embeddings.get(at, end, modelId, blobBytes);
        if (e[0]) {
          if (e[2].length > step * blobBytes) throw new Error(`block at photo ${at} came back misaligned`);
          bytes.set(e[2], blobsAt);
          [n, idList, blobLength] = [e[0], e[1], e[2].length];
          if (pack) unpacked.push(key);
        }
      }
      const p = okPhotos.get(at, end);
      photos += p[0];
      for (let i = 3; i < p.length; i++) sums[i - 3] = (sums[i - 3] ?? 0) + p[i];
      // The embeddings whose photo is ok: k-th kept row = embedding keep[k] of the block.
      let count = 0;
      let ids = null;
      let indexedAt = null;
      let keep = null;
      if (n && p[0]) {
        const eids = JSON.parse(`[${idList}]`);
        const pids = JSON.parse(`[${p[1]}]`);
        const times = JSON.parse(`[${p[2]}]`);
        if (eids.length !== n || blobLength !== n * blobBytes || pids.length !== p[0] || times.length !== p[0]) throw new Error(`block at photo ${at} came back misaligned`);
        ids = new Int32Array(eids.length);
        indexedAt = new Float64Array(eids.length);
        keep = new Int32Array(eids.length);
        for (let i = 0, j = 0; i < eids.length; i++) {
          const id = eids[i];
          if (i && !(id > eids[i - 1])) throw new Error(`embeddings at photo ${at} came back out of order`);
          while (j < pids.length && pids[j] < id) {
            if (j && !(pids[j] > pids[j - 1])) throw new Error(`photos at ${at} came back out of order`);
            j++;
          }
          if (j < pids.length && pids[j] === id) {
            ids[count] = id;
            indexedAt[count] = times[j];
            keep[count++] = i;
          }
        }
      }
      if (counts) {
        Atomics.store(counts, 1 + index, count);
        Atomics.notify(counts, 1 + index);
      }
      if (!count) {
        parentPort.postMessage({ empty: index });
        continue;
      }
      ids = ids.slice(0, count);
      indexedAt = indexedAt.slice(0, count);
      if (!freeSlots.length) send(pending.shift(), true);
      const slot = freeSlots.pop();
      const rowsAt = slotAt + slot * slotBytes;
      const scalesAt = rowsAt + align16(step * rowBytes);
      const refused = [];
      for (let k = 0; k < count; k++) {
        const src = blobsAt + keep[k] * blobBytes;
        const ok = format === 'f32' ? kernels.ingest(src, dim, rowsAt + k * rowBytes, 0, 0) : kernels.ingest(src, dim, 0, rowsAt + k * rowBytes, scalesAt + k * 4);
        if (ok !== 1) refused.push({ k, blob: bytes.slice(src, src + blobBytes) });
      }
      rows += count;
      pending.push({ index, slot, count, ids, indexedAt, refused });
      flush(false);
    }
    db.exec('COMMIT');
    flush(true);
    parentPort.postMessage({ done: { rows, photos, sums, packed, unpacked } });
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  } finally {
    db?.close();
  }
}
