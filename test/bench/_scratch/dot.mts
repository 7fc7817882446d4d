const n = 200_000, dim = 512;
const f = new Float32Array(n * dim); for (let i = 0; i < f.length; i++) f[i] = Math.random() - 0.5;
const q = new Int8Array(n * dim); for (let i = 0; i < q.length; i++) q[i] = Math.round((Math.random() - 0.5) * 254);
const d = new Float32Array(dim).map(() => Math.random() - 0.5);
const out = new Float32Array(n);
function dotF(data: Float32Array) {
  for (let r = 0, off = 0; r < n; r++, off += dim) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let j = 0; j < dim; j += 8) { const o = off + j;
      a0 += data[o] * d[j] + data[o + 4] * d[j + 4]; a1 += data[o + 1] * d[j + 1] + data[o + 5] * d[j + 5];
      a2 += data[o + 2] * d[j + 2] + data[o + 6] * d[j + 6]; a3 += data[o + 3] * d[j + 3] + data[o + 7] * d[j + 7]; }
    out[r] = a0 + a1 + a2 + a3; }
}
function dotQ(data: Int8Array) {
  for (let r = 0, off = 0; r < n; r++, off += dim) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (let j = 0; j < dim; j += 8) { const o = off + j;
      a0 += data[o] * d[j] + data[o + 4] * d[j + 4]; a1 += data[o + 1] * d[j + 1] + data[o + 5] * d[j + 5];
      a2 += data[o + 2] * d[j + 2] + data[o + 6] * d[j + 6]; a3 += data[o + 3] * d[j + 3] + data[o + 7] * d[j + 7]; }
    out[r] = a0 + a1 + a2 + a3; }
}
const di = new Int32Array(dim).map(() => Math.round((Math.random() - 0.5) * 60000));
function dotQI(data: Int8Array) {
  for (let r = 0, off = 0; r < n; r++, off += dim) {
    let a0 = 0, a1 = 0;
    for (let j = 0; j < dim; j += 4) { const o = off + j;
      a0 = (a0 + Math.imul(data[o], di[j]) + Math.imul(data[o + 2], di[j + 2])) | 0; a1 = (a1 + Math.imul(data[o + 1], di[j + 1]) + Math.imul(data[o + 3], di[j + 3])) | 0; }
    out[r] = a0 + a1; }
}
for (const [name, fn] of [['f32', () => dotF(f)], ['i8xf32', () => dotQ(q)], ['i8xi32', () => dotQI(q)]] as const) {
  fn(); fn();
  const t = performance.now(); for (let k = 0; k < 5; k++) fn();
  console.log(name, ((performance.now() - t) / 5 * 1e6 / n / 1000).toFixed(1), 'ms per 1M rows');
}
