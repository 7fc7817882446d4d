// The model a library was indexed with, remembered in its `meta` table (migration 1) so later
// commands and the window load the same one without being told: its id (what the embeddings are
// keyed by), how to describe it, and where it was loaded from (a registry id or a folder path).
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { DB } from './database.ts';

/** Where a model came from: a known model (downloaded into the model store) or a folder the user gave. */
export type ModelSource = { kind: 'registry'; id: string } | { kind: 'folder'; path: string };

export interface RememberedModel {
  /** ModelInfo.id: the key of the library's embeddings. */
  id: string;
  name: string;
  source: ModelSource;
  quantized: boolean;
  randomWeights: boolean;
  architecture: string | null;
}

const KEY = 'model';

function parse(value: string | undefined): RememberedModel | null {
  if (!value) return null;
  try {
    const m = JSON.parse(value) as RememberedModel;
    const s = m?.source;
    const sourceOk = (s?.kind === 'registry' && typeof s.id === 'string') || (s?.kind === 'folder' && typeof s.path === 'string');
    return typeof m.id === 'string' && typeof m.name === 'string' && sourceOk
      ? { ...m, quantized: m.quantized === true, randomWeights: m.randomWeights === true, architecture: m.architecture ?? null }
      : null;
  } catch {
    return null; // an unreadable entry is as good as none: the next index writes it again
  }
}

export function rememberedModel(db: DB): RememberedModel | null {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(KEY) as { value: string } | undefined;
  return parse(row?.value);
}

export function rememberModel(db: DB, model: RememberedModel): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(KEY, JSON.stringify(model));
}

/**
 * The remembered model of the library at `file`, read without creating or migrating anything:
 * null when the file does not exist yet or remembers nothing. Lets a front end choose which model
 * to load before it opens the library with it.
 */
export function readRememberedModel(file: string): RememberedModel | null {
  if (file === ':memory:' || !fs.existsSync(file)) return null;
  let db: DB | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get();
    return hasMeta ? rememberedModel(db) : null;
  } catch {
    return null; // not a library (yet): opening it properly reports what is wrong
  } finally {
    db?.close();
  }
}
