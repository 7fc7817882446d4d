// Issue 15, item 11, below the window: while the Library facade indexes, photos are listed before
// their embeddings (PhotoRecord.unscored) and rankings score the photos embedded so far; at the end
// every photo is scored and none is marked. Real SQLite, real ONNX (the tiny generated model).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PhotoRecord, ScoredPhoto } from '../common/types.ts';
import { Library } from '../electron/services/library.ts';
import type { ClipModel } from '../native-models/types.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { REPO_DIR, tempDir, writePhotoSet } from './helpers/fixtures.ts';

const PHOTOS = 48;
let tmp: string;
let modelDir: string;

beforeAll(async () => {
  tmp = tempDir('cull-index-flow-');
  modelDir = path.join(tmp, 'model');
  await makeTestModel({ out: modelDir, size: 'tiny', seed: 3 });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('scores while indexing (Library facade)', () => {
  it('lists photos before their embeddings and scores those embedded so far, mid-run', async () => {
    const root = path.join(tmp, 'photos');
    await writePhotoSet(root, PHOTOS, { seed: 8100 });
    const lib = await Library.open({ dbPath: path.join(tmp, 'library.db'), modelDir, thumbsDir: path.join(tmp, 'thumbs') });
    try {
      let asked: Promise<[ScoredPhoto[], PhotoRecord[]]> | null = null;
      // The questions are answered asynchronously (the text features come from a worker thread):
      // the library's model holds further batches until they are, so a fast run cannot finish in
      // between and leave nothing "mid-run" to see (it did once a run got cheaper).
      const loaded = (lib as unknown as { loaded: { clip: ClipModel } }).loaded;
      const inner = loaded.clip;
      loaded.clip = {
        info: inner.info,
        embedTexts: (t) => inner.embedTexts(t),
        dispose: () => inner.dispose(),
        embedImages: async (pixels, n) => (await asked, inner.embedImages(pixels, n)),
      };
      await lib.index([root], {
        onProgress: (p) => {
          // Once two batches are embedded and the run is not over: what would the window see now?
          if (!asked && p.indexed >= 16 && p.indexed < PHOTOS) asked = Promise.all([lib.score('bright vs dark'), lib.photos()]);
        },
      });
      expect(asked).not.toBeNull();
      const [scored, listed] = await asked!;
      // Scores for the photos embedded by then (the old facade had none until the run ended)…
      expect(scored.length).toBeGreaterThanOrEqual(16);
      expect(scored.length).toBeLessThan(PHOTOS);
      // …every listed photo either scored or marked unscored, never both, and some listed ahead.
      const ids = new Set(scored.map((s) => s.id));
      expect(listed.length).toBeGreaterThanOrEqual(scored.length);
      for (const p of listed) expect(p.unscored === true).toBe(!ids.has(p.id));

      // The end: every photo scored, none marked.
      expect(await lib.score('bright vs dark')).toHaveLength(PHOTOS);
      const after = await lib.photos();
      expect(after).toHaveLength(PHOTOS);
      expect(after.filter((p) => p.unscored)).toEqual([]);
      expect((await lib.photo(after[0].id))?.unscored).toBeUndefined();
    } finally {
      await lib.close();
    }
  });
});

describe('the CLI says what is pending', () => {
  /** `cull --db DB …` as a user runs it; never throws (exit code, stdout and stderr returned). */
  async function cull(db: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, CULL_MODEL_DIR: modelDir, CULL_DATA_DIR: path.join(tmp, 'data') };
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(REPO_DIR, 'bin', 'cull.js'), '--db', db, ...args], { env, cwd: tmp });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('cull stats counts photos listed but not scored; a ranked export says it left them out', async () => {
    const root = path.join(tmp, 'cli-photos');
    await writePhotoSet(root, 64, { seed: 8300 });
    const dbPath = path.join(tmp, 'cli.db');
    const lib = await Library.open({ dbPath, modelDir, thumbsDir: path.join(tmp, 'cli-thumbs') });
    const stop = new AbortController();
    let pending: number;
    try {
      // Stopped once a batch is embedded, as Ctrl+C or Cancel would: photos read meanwhile stay listed.
      await lib.index([root], { signal: stop.signal, onProgress: (p) => p.indexed >= 8 && stop.abort() });
      pending = (await lib.photos()).filter((p) => p.unscored).length;
    } finally {
      await lib.close();
    }
    expect(pending).toBeGreaterThan(0);
    const stats = await cull(dbPath, 'stats');
    expect(stats.code).toBe(0);
    expect(stats.stdout).toContain(`Pending:   ${pending} photo(s) listed but not scored yet: run cull index to finish`);
    const exported = await cull(dbPath, 'export', '--by', 'bright vs dark', '--top', '3', '--to', path.join(tmp, 'cli-out'));
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain(`Note: ${pending} photo(s) of this selection are not scored yet`);
  });
});
