// One library database: photos, their embeddings per model, cached text features and culling state.
// WAL + busy timeout so the CLI and the app can share one file without "database is locked".
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../common/errors.ts';
import { MIGRATIONS } from './migrations.ts';

export type DB = Database.Database;

export interface OpenOptions {
  readonly?: boolean;
  /** Milliseconds a writer waits for another process's lock before failing. */
  busyTimeoutMs?: number;
}

export function openDatabase(file: string, opts: OpenOptions = {}): DB {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  let db: DB;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new UserError(`Cannot open library database ${file}: ${(err as Error).message}`, 'invalid-argument', { cause: err });
  }
  const busyTimeoutMs = opts.busyTimeoutMs ?? 10_000;
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  if (!opts.readonly) {
    enableWal(db, busyTimeoutMs);
    db.pragma('synchronous = NORMAL');
    migrate(db);
  }
  db.pragma('foreign_keys = ON');
  return db;
}

/**
 * WAL is a property of the file, set once by whichever process gets there first. Switching to it
 * needs the file to itself, and SQLite answers SQLITE_BUSY at once, without the busy handler,
 * while another process is opening the same new library (seen when the CLI and the app, or two
 * CLIs, start on it together): so wait and retry within the busy timeout, as the handler would.
 */
function enableWal(db: DB, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw err;
      Atomics.wait(pause, 0, 0, 10 + Math.random() * 20);
    }
  }
}

/**
 * Applies every migration newer than the file's user_version, each in its own transaction.
 * The version is read again inside each write-locked (IMMEDIATE) transaction: two processes
 * opening a fresh library at once (the CLI beside the app) both see version 0 at first, and the
 * one that waited for the lock must not apply a migration the other has just committed
 * ("table roots already exists").
 */
export function migrate(db: DB): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  const tooNew = (current: number) =>
    new Error(
      `This library database was written by a newer version of Cull (schema ${current}, this build knows ${MIGRATIONS.length}). Update Cull to open it.`,
    );
  if (version() > MIGRATIONS.length) throw tooNew(version());
  while (version() < MIGRATIONS.length) {
    db.transaction(() => {
      const v = version();
      if (v >= MIGRATIONS.length) return; // another process finished the upgrade while we waited
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
