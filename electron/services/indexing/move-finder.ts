// Recognising a move: the library row a new file was renamed or moved from, so the photo keeps its
// ratings, flags and analyses instead of being indexed as new. Used by indexer.ts's classify step.
import fs from 'node:fs';
import type { PhotoQueries, PhotoRow } from '../../../db/photos.ts';
import { fsPath } from './walk.ts';

/**
 * Finds the row a new file was renamed or moved from: a row with the same content whose file is
 * gone ('missing', or 'ok' under a folder not walked now and no longer on disk).
 *
 * Near-linear in the number of files, however many share one content (10,000 identical files used
 * to take 169 s: every lookup fetched every earlier copy and checked each on disk). A missing row is
 * looked up only while one with that content is known to exist (counted once per run, one indexed
 * row per lookup); 'ok' rows are checked once per content per run, skipping the files this run
 * walked (they are there), and a content that has no gone row is remembered as such.
 */
export class MoveFinder {
  private readonly missing: Map<string, number>;
  private readonly noneGone = new Set<string>();
  constructor(
    private readonly q: PhotoQueries,
    private readonly present: Set<string>,
  ) {
    this.missing = q.missingFingerprints();
  }

  /** A walked file is about to be marked missing (it vanished mid-run): its row may be a move's source. */
  vanishing(filePath: string): void {
    const fp = this.q.byPath(filePath)?.fingerprint;
    if (fp) this.missing.set(fp, (this.missing.get(fp) ?? 0) + 1);
  }

  async find(fingerprint: string): Promise<PhotoRow | null> {
    if (this.missing.get(fingerprint)) {
      const row = this.q.missingByFingerprint(fingerprint);
      if (row) {
        this.missing.set(fingerprint, this.missing.get(fingerprint)! - 1);
        return row;
      }
      this.missing.delete(fingerprint);
    }
    if (this.noneGone.has(fingerprint)) return null;
    for (const row of this.q.byFingerprint(fingerprint)) {
      if (row.status !== 'ok' || this.present.has(row.path)) continue;
      const exists = await fs.promises.access(fsPath(row.path)).then(
        () => true,
        () => false,
      );
      if (!exists) return row;
    }
    this.noneGone.add(fingerprint);
    return null;
  }
}
