// When the in-memory embedding matrix re-reads the database before scoring: after another process
// (the CLI beside the app) committed (SQLite's data_version changes for other connections' commits
// only), or after this process's own running index stored embeddings (its own connection, which
// data_version does not see: the index reports them with `behind`), so scores arrive during a run.
import type { DB } from '../../../db/database.ts';
import type { EmbeddingMatrix } from './embedding-matrix.ts';

/**
 * While an index runs, the matrix takes in new embeddings at most this often: scores arrive in
 * steps, and a refresh (the new rows, plus a count of the library's embeddings, which grows with
 * the library) never runs for every scoring call.
 */
export const MID_RUN_REFRESH_MS = 1000;

export class MatrixSync {
  private dataVersion: number;
  private rowsBehind = false;
  private lastMidRun = 0;

  constructor(
    private readonly db: DB,
    private readonly matrix: EmbeddingMatrix,
  ) {
    this.dataVersion = this.readDataVersion();
  }

  /** This process's running index stored embeddings the matrix has not read. */
  behind(): void {
    this.rowsBehind = true;
  }

  /** Before scoring: re-read what changed (`indexing`: at most every MID_RUN_REFRESH_MS). */
  sync(indexing: boolean): void {
    const v = this.readDataVersion();
    if (v === this.dataVersion && !this.rowsBehind) return;
    if (indexing) {
      const now = Date.now();
      if (now - this.lastMidRun < MID_RUN_REFRESH_MS) return;
      this.lastMidRun = now;
    }
    this.refresh(v);
  }

  /** Re-read now (an index run has ended). */
  refresh(version = this.readDataVersion()): void {
    this.matrix.refresh(this.db);
    this.rowsBehind = false;
    this.dataVersion = version;
  }

  private readDataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}
