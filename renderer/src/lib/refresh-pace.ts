// When the window reloads the library (session.svelte.ts runs the reload; this decides when).
// 'library-changed' comes about once a second during indexing: the photographer should see newly
// scored photos within a second or two, but re-reading 100 000 records must not take the window's
// time away from them. So reloads are spaced by four times the last one's duration — at least a
// second, and at most MAX_SPACING_MS (before the cap, one slow reload under load, 3 s, held the next
// one back 12 s: past the end of a short run) — and leave at least MIN_WAIT_MS between the end of
// one and the start of the next. A reload asked for outright (indexing ended, a folder removed)
// while one is under way runs again right after it, so what it reads is never older than the ask.

export const MIN_SPACING_MS = 1000;
export const MAX_SPACING_MS = 2000;
export const MIN_WAIT_MS = 300;

/**
 * How long to wait before the next reload. `sinceLastStart`: ms since the last reload started;
 * `lastDurationMs`: how long it took. Outside indexing, null for an event within a second of the
 * last reload's start (the reload that ended the run, or the change's own, has it).
 */
export function refreshDelay(sinceLastStart: number, lastDurationMs: number, indexing: boolean): number | null {
  if (!indexing && sinceLastStart < MIN_SPACING_MS) return null;
  const spacing = Math.min(MAX_SPACING_MS, Math.max(MIN_SPACING_MS, 4 * lastDurationMs));
  return Math.max(MIN_WAIT_MS, spacing - sinceLastStart);
}

export class RefreshPacer {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private current: Promise<void> | null = null;
  /** Asked for outright while a reload ran: once more, at once. */
  private again = false;
  /** A spaced reload came due while one ran: schedule it from that one's end. */
  private dueAfter = false;
  private lastStart = -Infinity;
  private lastMs = 0;

  /** `reload` reports its own errors; `indexing` says whether a run is under way. */
  constructor(
    private readonly reload: () => Promise<void>,
    private readonly indexing: () => boolean,
  ) {}

  /** 'library-changed': reload soon, spaced as above; deferred, never dropped while indexing (at most one waits). */
  changed(): void {
    if (this.timer) return;
    const wait = refreshDelay(Date.now() - this.lastStart, this.lastMs, this.indexing());
    if (wait === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.current) this.dueAfter = true;
      else void this.now();
    }, wait);
  }

  /** Reload now; if one is under way, again right after it. Resolves when the reload asked for has ended. */
  now(): Promise<void> {
    if (this.current) {
      this.again = true;
      return this.current;
    }
    this.current = (async () => {
      try {
        do {
          this.again = false;
          this.lastStart = Date.now();
          try {
            await this.reload();
          } finally {
            this.lastMs = Date.now() - this.lastStart;
          }
        } while (this.again);
      } finally {
        this.current = null;
        if (this.dueAfter) {
          this.dueAfter = false;
          this.changed();
        }
      }
    })();
    return this.current;
  }
}
