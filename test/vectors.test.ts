import { describe, expect, it } from 'vitest';
import { decodeF16, decodeF16Into, decodeF32, encodeF16, encodeF32, floatToHalf } from '../db/vectors.ts';
import { prng } from './helpers/fixtures.ts';

describe('float16 image-embedding BLOBs', () => {
  it('round-trips normal values with relative error below 1e-3', () => {
    const rand = prng(1);
    const v = new Float32Array(4096);
    for (let i = 0; i < v.length; i++) v[i] = (rand() < 0.5 ? -1 : 1) * 10 ** (rand() * 8 - 4); // |v| in 1e-4 .. 1e4 (normal halves)
    const back = decodeF16(encodeF16(v));
    let worst = 0;
    for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(back[i] - v[i]) / Math.abs(v[i]));
    expect(worst).toBeLessThan(1e-3);
    expect(worst).toBeGreaterThan(0); // it really is float16 (lossy), not a copy
  });

  it('stores 2 bytes per value, little-endian', () => {
    const blob = encodeF16(new Float32Array([1, -2, 0.5]));
    expect(blob.length).toBe(6);
    expect([...blob]).toEqual([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38]);
  });

  it('keeps special values: ±0, ±Infinity, NaN, overflow, subnormals, underflow', () => {
    const v = new Float32Array([0, -0, Infinity, -Infinity, NaN, 70000, -70000, 65504, 2 ** -24, 2 ** -20, 1e-9]);
    const back = decodeF16(encodeF16(v));
    expect(Object.is(back[0], 0)).toBe(true);
    expect(Object.is(back[1], -0)).toBe(true);
    expect(back[2]).toBe(Infinity);
    expect(back[3]).toBe(-Infinity);
    expect(Number.isNaN(back[4])).toBe(true);
    expect(back[5]).toBe(Infinity); // beyond the float16 range
    expect(back[6]).toBe(-Infinity);
    expect(back[7]).toBe(65504); // largest finite half
    expect(back[8]).toBe(2 ** -24); // smallest subnormal
    expect(back[9]).toBe(2 ** -20);
    expect(back[10]).toBe(0); // underflow to zero
  });

  it('rounds to nearest even', () => {
    // 1 + 2^-11 is exactly halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });

  it('decodes into a matrix at an offset without touching other rows', () => {
    const out = new Float32Array(9).fill(7);
    decodeF16Into(encodeF16([1, 2, 3]), out, 3);
    expect([...out]).toEqual([7, 7, 7, 1, 2, 3, 7, 7, 7]);
  });
});

describe('float32 text-feature BLOBs', () => {
  it('round-trip exactly, also from a subarray and an unaligned buffer', () => {
    const v = new Float32Array([0.1, -0.25, 3.5e-8, 1e30]);
    const big = new Float32Array(10);
    big.set(v, 3);
    const blob = encodeF32(big.subarray(3, 7));
    expect(blob.length).toBe(16);
    expect([...decodeF32(blob)]).toEqual([...v]);
    const unaligned = Buffer.concat([Buffer.from([9]), blob]).subarray(1);
    expect([...decodeF32(unaligned)]).toEqual([...v]);
  });
});
