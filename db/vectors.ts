// Compact vector storage: image embeddings as float16 BLOBs (half the size of float32; the rounding,
// about 5e-4 relative, moves a cosine by ~1e-4, far below CLIP score differences that matter).
// Text features stay float32 (few rows, and they are the exact side of every dot product).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> signed zero
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // round to nearest even; carry into exponent is correct
  return half;
}

const HALF_TO_FLOAT = (() => {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) table[h] = s * m * 2 ** -24;
    else if (e === 0x1f) table[h] = m ? NaN : s * Infinity;
    else table[h] = s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
})();

export function encodeF16(vec: ArrayLike<number>): Buffer {
  const buf = Buffer.allocUnsafe(vec.length * 2);
  for (let i = 0; i < vec.length; i++) buf.writeUInt16LE(floatToHalf(vec[i]), i * 2);
  return buf;
}

/** Decodes a float16 BLOB into `out` at `offset` (so a whole library fills one matrix without copies). */
export function decodeF16Into(blob: Uint8Array, out: Float32Array, offset = 0): void {
  const n = blob.length >> 1;
  for (let i = 0; i < n; i++) out[offset + i] = HALF_TO_FLOAT[blob[2 * i] | (blob[2 * i + 1] << 8)];
}

export function decodeF16(blob: Uint8Array): Float32Array {
  const out = new Float32Array(blob.length >> 1);
  decodeF16Into(blob, out);
  return out;
}

export function encodeF32(vec: Float32Array): Buffer {
  return Buffer.from(vec.buffer.slice(vec.byteOffset, vec.byteOffset + vec.byteLength));
}

export function decodeF32(blob: Uint8Array): Float32Array {
  const copy = new Uint8Array(blob); // aligned copy
  return new Float32Array(copy.buffer, 0, copy.length >> 2);
}
