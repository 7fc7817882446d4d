// The indexer's plumbing: a semaphore bounding decodes in flight, the mailbox that hands decoded
// photos to the analyzers in batches, and progress with a rate and per-analyzer counts.
import type { IndexProgress } from '../../../common/types.ts';
import type { Analyzer } from './analyzers/analyzer.ts';

const PROGRESS_INTERVAL_MS = 100;

/** Counting semaphore whose waiters can be released all at once (acquire then resolves false). */
export class Semaphore {
  private waiters: ((ok: boolean) => void)[] = [];
  closed = false;
  constructor(private free: number) {}
  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(n = 1): void {
    for (let i = 0; i < n; i++) {
      const next = this.waiters.shift();
      if (next) next(true);
      else this.free++;
    }
  }
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(false);
  }
}

/** Decoded photos waiting for the model; `take` waits for a full batch unless the producer is done. */
export class Mailbox<T> {
  private items: T[] = [];
  private closed = false;
  private wake: (() => void) | null = null;
  put(item: T): void {
    this.items.push(item);
    this.wake?.();
  }
  close(): void {
    this.closed = true;
    this.wake?.();
  }
  async take(n: number): Promise<T[]> {
    while (this.items.length < n && !this.closed) await new Promise<void>((r) => (this.wake = r));
    this.wake = null;
    return this.items.splice(0, n);
  }
}

/** Progress state plus throttled delivery (~10/s) with a rate over the last few seconds. */
export class ProgressReporter {
  state: IndexProgress = { phase: 'walking', found: 0, done: 0, total: 0, indexed: 0, listed: 0, skipped: 0, failed: 0, ratePerSec: 0, etaSec: null };
  private lastEmit = 0;
  private samples: { t: number; done: number }[] = [];
  constructor(
    private readonly listener: ((p: IndexProgress) => void) | undefined,
    analyzers: Analyzer[],
  ) {
    this.state.analyzers = analyzers.map((a) => ({ id: a.id, label: a.label, done: 0, total: 0 }));
  }
  /** Per-analyzer totals from the plan: how many files expect each analyzer. */
  plan(expected: Uint32Array): void {
    for (const set of expected) for (const [k, a] of this.state.analyzers!.entries()) if (set & (1 << k)) a.total++;
  }
  /** A file is settled: the analyzers it ran count as done; those it was expected to need and did not, leave the total. */
  settle(expected: number, ran: number): void {
    if ((expected | ran) === 0) return;
    for (const [k, a] of this.state.analyzers!.entries()) {
      const bit = 1 << k;
      if (ran & bit) {
        a.done++;
        if (!(expected & bit)) a.total++;
      } else if (expected & bit) a.total--;
    }
  }
  startRate(): void {
    this.samples = [{ t: Date.now(), done: 0 }];
  }
  done(n = 1): void {
    this.state.done += n;
    this.emit();
  }
  emit(force = false): void {
    if (!this.listener) return;
    const now = Date.now();
    if (!force && now - this.lastEmit < PROGRESS_INTERVAL_MS) return;
    this.lastEmit = now;
    if (this.state.phase !== 'walking') this.updateRate(now);
    this.listener({
      ...this.state,
      lastError: this.state.lastError && { ...this.state.lastError },
      analyzers: this.state.analyzers!.map((a) => ({ ...a })),
    });
  }
  private updateRate(now: number): void {
    this.samples.push({ t: now, done: this.state.done });
    while (this.samples.length > 2 && now - this.samples[1].t > 5000) this.samples.shift();
    const first = this.samples[0];
    const seconds = (now - first.t) / 1000;
    this.state.ratePerSec = seconds > 0 ? (this.state.done - first.done) / seconds : 0;
    const left = this.state.total - this.state.done;
    this.state.etaSec = this.state.ratePerSec > 0 ? left / this.state.ratePerSec : left === 0 ? 0 : null;
  }
}
