// A second analyzer for the analyzer tests: the mean luminance of a small working raster, in its
// own table. Imported by the tests and by their child processes (SIGKILL mid-backfill).
import type { DB } from '../../db/database.ts';
import { luminance, type Analyzer, type AnalyzerInput } from '../../electron/services/indexing/analyzers/analyzer.ts';

export interface Luma {
  mean: number;
  width: number; // of the working raster it was measured on
  height: number;
}

export const LUMA_SIDE = 96;

export class LumaAnalyzer implements Analyzer<Luma> {
  readonly id = 'test-luma';
  readonly label = 'Mean luminance';
  readonly needs = { working: { longSide: LUMA_SIDE } };
  readonly batchSize = 4; // smaller than the indexer's batch of 8: called twice per stored batch
  /** Paths per analyze() call. */
  readonly calls: string[][] = [];

  constructor(
    readonly version = 1,
    private readonly hooks: { delayMs?: number; onAnalyze?: (paths: string[]) => void; onPrepare?: () => void } = {},
  ) {}

  /** Nothing to open: says when the indexer asked (the hook). */
  async prepare(): Promise<void> {
    this.hooks.onPrepare?.();
  }

  ensureSchema(db: DB): void {
    db.exec(`CREATE TABLE IF NOT EXISTS test_luma (
      photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
      mean REAL NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, version INTEGER NOT NULL)`);
  }

  async analyze(batch: AnalyzerInput[]): Promise<Luma[]> {
    const paths = batch.map((d) => d.path);
    this.calls.push(paths);
    if (this.hooks.delayMs) await new Promise((r) => setTimeout(r, this.hooks.delayMs));
    const out = batch.map((d) => {
      const l = luminance(d.working!);
      return { mean: l.reduce((a, b) => a + b, 0) / l.length, width: d.working!.width, height: d.working!.height };
    });
    this.hooks.onAnalyze?.(paths);
    return out;
  }

  store(db: DB, results: { photoId: number; result: Luma }[]): void {
    const put = db.prepare('INSERT OR REPLACE INTO test_luma (photo_id, mean, width, height, version) VALUES (?, ?, ?, ?, ?)');
    for (const { photoId, result: r } of results) put.run(photoId, r.mean, r.width, r.height, this.version);
  }
}
