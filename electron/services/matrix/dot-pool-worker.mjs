// A helper thread of the scoring pass (dot-pool.ts): parked on a shared control block until a pass
// starts, then claims chunks of rows and runs the row kernel over them in the same shared memory
// as the main thread. Plain JavaScript so that it loads as a worker under Node, tsx, vitest and
// (bundled by build/build-electron.ts) Electron alike. The layout of `control` is dot-pool.ts's.
import { parentPort, workerData } from 'node:worker_threads';

const { module, control } = workerData;
const ctl = new Int32Array(control);
const f32 = new Float32Array(control);
const f64 = new Float64Array(control);
const [GEN, DONE, MEMID, FORMAT, MAT, DIM, DIR, SCALES, OUT, ROWS, CHUNK, NCHUNKS, DSCALE, MAPPED, CLAIMS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16];
const LOGIT = 7; // float64 index
const kernels = new Map(); // memory id → kernel exports over that memory, and the memory

parentPort.on('message', (m) => {
  if (m.memory) kernels.set(m.id, { k: new WebAssembly.Instance(module, { env: { mem: m.memory } }).exports, memory: m.memory });
  else if (m.drop !== undefined) kernels.delete(m.drop);
  else if (m.ping !== undefined && kernels.has(m.ping)) parentPort.postMessage({ registered: m.ping });
});

function pass(gen) {
  const held = kernels.get(Atomics.load(ctl, MEMID));
  if (!held) return; // not registered here yet: the main thread runs the chunks
  const k = held.k;
  const [format, mat, dim, dir, scales, out, rows, chunk, n, dscale] = [ctl[FORMAT], ctl[MAT], ctl[DIM], ctl[DIR], ctl[SCALES], ctl[OUT], ctl[ROWS], ctl[CHUNK], ctl[NCHUNKS], f32[DSCALE]];
  const logit = ctl[MAPPED] ? f64[LOGIT] : null;
  for (let c = 0; c < n; c++) {
    const old = Atomics.load(ctl, CLAIMS + c);
    // A chunk is claimed for this pass once, by whoever gets there first (see dot-pool.ts).
    if (old >= gen || Atomics.compareExchange(ctl, CLAIMS + c, old, gen) !== old) continue;
    const start = c * chunk;
    const count = Math.min(chunk, rows - start);
    if (format === 1) k.dot_i8(mat + start * dim, count, dim, dir, scales + start * 4, out + start * 4, dscale);
    else k.dot_f32(mat + start * dim * 4, count, dim, dir, out + start * 4);
    if (logit !== null) {
      // dot.ts's logisticInPlace, line for line (the same bits: test/dot-pool.test.ts).
      const values = new Float32Array(held.memory.buffer, out + start * 4, count);
      for (let i = 0; i < count; i++) values[i] = 1 / (1 + Math.exp(-logit * values[i]));
    }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}

let seen = Atomics.load(ctl, GEN);
async function loop() {
  for (;;) {
    const w = Atomics.waitAsync(ctl, GEN, seen);
    if (w.async) await w.value;
    seen = Atomics.load(ctl, GEN);
    pass(seen);
  }
}
void loop();
