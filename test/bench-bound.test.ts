// The benchmark's CPU bound of indexing (test/bench/util.ts cpuBound) must follow the machine it
// runs on: its cores and the encoder's measured threads, not a hard-coded 2 cores.
import { describe, expect, it } from 'vitest';
import { cpuBound } from './bench/util.ts';

describe('bench CPU bound', () => {
  it('scales with the cores of the machine and the encoder threads measured', () => {
    // 100 ms decode on one core + an encoder at 10 img/s on 2 threads = 0.3 core-seconds per photo.
    expect(cpuBound({ cores: 2, decodeMs: 100, encoderImgPerSec: 10, encoderThreads: 2 })).toBeCloseTo(2 / 0.3, 10);
    expect(cpuBound({ cores: 8, decodeMs: 100, encoderImgPerSec: 10, encoderThreads: 2 })).toBeCloseTo(8 / 0.3, 10);
    // An encoder measured on 8 threads costs 8 cores while it runs: 0.1 + 8/20 = 0.5 core-s per photo.
    expect(cpuBound({ cores: 8, decodeMs: 100, encoderImgPerSec: 20, encoderThreads: 8 })).toBeCloseTo(8 / 0.5, 10);
  });
});
