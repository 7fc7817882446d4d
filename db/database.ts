// One library database: photos, their embeddings per model, cached text features and culling state.
// WAL + busy timeout so the CLI and the app can share one file without "database is locked".
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
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
    throw new Error(`Cannot open library database ${file}: ${(err as Error).message}`);
  }
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10_000}`);
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    migrate(db);
  }
  db.pragma('foreign_keys = ON');
  return db;
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
