// The loupe's filmstrip window (renderer/src/lib/filmstrip.ts) and when the window reloads the
// library (lib/refresh-pace.ts), under Node: pure logic and a pacer driven by fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FILMSTRIP, framesThatFit, stripWindow } from '../renderer/src/lib/filmstrip.ts';
import { MAX_SPACING_MS, MIN_WAIT_MS, RefreshPacer, refreshDelay } from '../renderer/src/lib/refresh-pace.ts';

describe('filmstrip', () => {
  it('fits only whole frames in the strip\'s width', () => {
    const step = FILMSTRIP.frameW + FILMSTRIP.gap;
    const width = (n: number) => 2 * FILMSTRIP.pad + n * step - FILMSTRIP.gap;
    expect(framesThatFit(width(7))).toBe(7);
    expect(framesThatFit(width(7) - 1)).toBe(6);
    expect(framesThatFit(10)).toBe(1);
  });

  it('keeps the focused frame in view and centred, sliding at the ends of the list', () => {
    expect(stripWindow(100, 50, 7)).toEqual({ lo: 47, hi: 54 });
    expect(stripWindow(100, 0, 7)).toEqual({ lo: 0, hi: 7 }); // the first photo: leftmost, in view
    expect(stripWindow(100, 99, 7)).toEqual({ lo: 93, hi: 100 });
    expect(stripWindow(5, 2, 9)).toEqual({ lo: 0, hi: 5 });
    expect(stripWindow(100, 50, 8)).toEqual({ lo: 47, hi: 55 });
    expect(stripWindow(0, -1, 7)).toEqual({ lo: 0, hi: 0 });
    for (let focus = 0; focus < 30; focus++) {
      const { lo, hi } = stripWindow(30, focus, 9);
      expect(hi - lo).toBe(9);
      expect(focus >= lo && focus < hi).toBe(true);
    }
  });
});

describe('reload pacing', () => {
  it('spaces reloads by 4 × the last one\'s duration, between 1 and 2 s, at least 300 ms after the call', () => {
    expect(refreshDelay(0, 100, true)).toBe(1000);
    expect(refreshDelay(400, 400, true)).toBe(1200);
    // A slow reload under load (3 s) must not hold the next one back 12 s: at most 2 s from its start.
    expect(refreshDelay(0, 3000, true)).toBe(MAX_SPACING_MS);
    expect(refreshDelay(3000, 3000, true)).toBe(MIN_WAIT_MS);
    expect(refreshDelay(5000, 5000, true)).toBe(MIN_WAIT_MS);
    // Outside indexing, an event within a second of the last reload is that reload's.
    expect(refreshDelay(500, 100, false)).toBeNull();
    expect(refreshDelay(1500, 100, false)).toBe(MIN_WAIT_MS);
  });

  describe('the pacer', () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    /** A pacer whose reloads take `ms` each (on the fake clock); records when each started and ended. */
    function pacer(ms: number, indexing = () => true) {
      const runs: { start: number; end: number }[] = [];
      const p = new RefreshPacer(async () => {
        const start = Date.now();
        await new Promise((r) => setTimeout(r, ms));
        runs.push({ start, end: Date.now() });
      }, indexing);
      return { p, runs };
    }

    it('during indexing, with slow reloads, still shows new scores within ~2 s of each change', async () => {
      const { p, runs } = pacer(3000);
      const t0 = Date.now();
      // 'library-changed' once a second for 20 s, as the server sends while indexing.
      for (let s = 0; s < 20; s++) {
        p.changed();
        await vi.advanceTimersByTimeAsync(1000);
      }
      await vi.advanceTimersByTimeAsync(10_000);
      expect(runs.length).toBeGreaterThanOrEqual(5);
      // Each reload starts at most MIN_WAIT_MS after the one before it ended (never two at once).
      for (let i = 1; i < runs.length; i++) {
        expect(runs[i].start).toBeGreaterThanOrEqual(runs[i - 1].end);
        expect(runs[i].start - runs[i - 1].end).toBeLessThanOrEqual(MIN_WAIT_MS);
      }
      expect(runs[0].start - t0).toBeLessThanOrEqual(1000);
    });

    it('a reload asked for while one runs (indexing ended) runs once more after it: never dropped, never alongside', async () => {
      const { p, runs } = pacer(500, () => false);
      const first = p.now();
      await vi.advanceTimersByTimeAsync(100);
      const asked = Date.now();
      const second = p.now();
      const third = p.now(); // coalesced with the second
      await vi.advanceTimersByTimeAsync(1000); // the second ran from 500 to 1000 ms
      await Promise.all([first, second, third]);
      expect(runs).toHaveLength(2);
      expect(runs[1].start).toBeGreaterThanOrEqual(runs[0].end);
      expect(runs[1].start).toBeGreaterThan(asked);
      // The 'library-changed' that follows the end (within a second of that reload) adds none.
      p.changed();
      await vi.advanceTimersByTimeAsync(3000);
      expect(runs).toHaveLength(2);
    });
  });
});
