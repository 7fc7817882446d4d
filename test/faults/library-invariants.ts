// Shared by the fault tests (issue #5): what a library database must always satisfy, a child
// process whose stdout is read line by line, and the culling state of photos.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../../db/database.ts';
import { getCulling } from '../../db/culling.ts';
import type { Flag, Label } from '../../common/types.ts';
import { REPO_DIR } from '../helpers/fixtures.ts';

export interface Invariants {
  integrity: string; // PRAGMA integrity_check: 'ok'
  foreignKeyErrors: number;
  duplicatePaths: number; // rows sharing a path (the UNIQUE index must make this 0)
  duplicateContent: number; // fingerprints held by more than one photo row: one photo stored twice (the fixtures are all distinct)
  duplicateEmbeddings: number; // (photo, model) pairs with more than one embedding
  orphanEmbeddings: number; // embeddings whose photo row is gone
  okWithoutEmbedding: number; // 'ok' rows the model has no embedding for
  failedWithEmbedding: number; // 'failed' rows still holding an embedding of content that is gone
  okWithoutThumbnail: number; // 'ok' rows whose thumbnail file is absent or not a whole JPEG
  ok: number;
  missing: number;
  failed: number;
}

const count = (db: DB, sql: string, ...params: unknown[]) => db.prepare(sql).pluck().get(...params) as number;

/** Every consistency property of a library database the fault tests rely on. */
export function checkInvariants(db: DB, modelId: string, thumbsDir: string): Invariants {
  const okRows = db.prepare("SELECT thumb FROM photos WHERE status = 'ok'").pluck().all() as (string | null)[];
  let okWithoutThumbnail = 0;
  for (const thumb of okRows) {
    const file = thumb && path.join(thumbsDir, thumb);
    const bytes = file && fs.existsSync(file) ? fs.readFileSync(file) : null;
    const whole = bytes && bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes.at(-2) === 0xff && bytes.at(-1) === 0xd9;
    if (!whole) okWithoutThumbnail++;
  }
  return {
    integrity: db.pragma('integrity_check', { simple: true }) as string,
    foreignKeyErrors: (db.pragma('foreign_key_check') as unknown[]).length,
    duplicatePaths: count(db, 'SELECT COUNT(*) - COUNT(DISTINCT path) FROM photos'),
    duplicateContent: count(db, "SELECT COUNT(*) FROM (SELECT 1 FROM photos WHERE fingerprint != '' AND status != 'failed' GROUP BY fingerprint HAVING COUNT(*) > 1)"),
    duplicateEmbeddings: count(db, 'SELECT COUNT(*) FROM (SELECT 1 FROM embeddings GROUP BY photo_id, model_id HAVING COUNT(*) > 1)'),
    orphanEmbeddings: count(db, 'SELECT COUNT(*) FROM embeddings WHERE photo_id NOT IN (SELECT id FROM photos)'),
    okWithoutEmbedding: count(
      db,
      "SELECT COUNT(*) FROM photos p WHERE p.status = 'ok' AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model_id = ?)",
      modelId,
    ),
    failedWithEmbedding: count(db, "SELECT COUNT(*) FROM photos p WHERE p.status = 'failed' AND EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id)"),
    okWithoutThumbnail,
    ok: okRows.length,
    missing: count(db, "SELECT COUNT(*) FROM photos WHERE status = 'missing'"),
    failed: count(db, "SELECT COUNT(*) FROM photos WHERE status = 'failed'"),
  };
}

/** What a healthy library shows, whatever its counts. */
export const HEALTHY = {
  integrity: 'ok',
  foreignKeyErrors: 0,
  duplicatePaths: 0,
  duplicateContent: 0,
  duplicateEmbeddings: 0,
  orphanEmbeddings: 0,
  okWithoutEmbedding: 0,
  failedWithEmbedding: 0,
  okWithoutThumbnail: 0,
};

/**
 * A library whose indexing was killed or stopped: healthy, except that photos listed before their
 * analyzers ran (row and thumbnail stored as soon as decoded) may lack their embedding; the next
 * run embeds them. How many: at most what the indexer's pipeline holds (LISTED_AHEAD_MAX).
 */
export const { okWithoutEmbedding: _pending, ...HEALTHY_MID_RUN } = HEALTHY;
/** The batch being analysed, one batch waiting and the decodes in flight (8 + 8 + at most 3). */
export const LISTED_AHEAD_MAX = 19;

export interface CullingState {
  rating: number;
  flag: Flag;
  label: Label | null;
}

/** Culling state of `ids` as stored (photos absent from the database are left out). */
export function cullingOf(db: DB, ids: number[]): Map<number, CullingState> {
  return getCulling(db, ids);
}

export interface Child {
  proc: ChildProcess;
  lines: string[];
  stderr: () => string;
  /** Resolves with the first line (from now on, or already received) that `match` accepts. */
  waitFor(match: (line: string, index: number) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node --import tsx script args…` from the repository, stdout split into lines as they come. */
export function spawnTsx(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_DIR, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  let waiters: { match: (line: string, index: number) => boolean; resolve: (l: string) => void }[] = [];
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      lines.push(line);
      waiters = waiters.filter((w) => !(w.match(line, lines.length - 1) && (w.resolve(line), true)));
    }
  });
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      // Lines still buffered in the pipe arrive before 'close'; wait for it so `lines` is complete.
      proc.on('close', () => resolve({ code, signal }));
    }),
  );
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitFor(match) {
      const i = lines.findIndex(match);
      if (i >= 0) return Promise.resolve(lines[i]);
      return new Promise<string>((resolve, reject) => {
        waiters.push({ match, resolve });
        exited.then(({ code, signal }) =>
          reject(new Error(`child exited (code ${code}, signal ${signal}) before the awaited line; stderr: ${err}`)),
        );
      });
    },
  };
}
