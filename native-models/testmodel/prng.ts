// Seeded, platform-independent random numbers for generated test weights.

/** FNV-1a over a string, mixed with the seed: gives every tensor its own independent stream. */
function hashSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** splitmix32 step, used only to expand one 32-bit seed into the sfc32 state. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** sfc32 generator; `next()` returns a uniform float in (0, 1). */
export function createRng(seed: number, name: string): () => number {
  const st = { s: hashSeed(seed, name) };
  let a = splitmix32(st), b = splitmix32(st), c = splitmix32(st), d = splitmix32(st);
  for (let i = 0; i < 12; i++) next();
  function next(): number {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return ((t >>> 0) + 0.5) / 4294967296;
  }
  return next;
}

/** Fills `out` with N(0, std²) samples (Box–Muller) from the stream named `name`. */
export function fillNormal(out: Float32Array, std: number, seed: number, name: string): Float32Array {
  const rand = createRng(seed, name);
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    const r = std * Math.sqrt(-2 * Math.log(rand()));
    const theta = 2 * Math.PI * rand();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}
