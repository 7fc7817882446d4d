// Issue #5, property 2: files changing underneath a run. While the indexer runs (from its
// onDecode callback: after the walk listed the files, and in the window between a file's
// fingerprint and its decode) photos are added, edited, renamed, deleted, moved away and back,
// and replaced by text with a .jpg name. The run must finish; the next one must leave the library
// exactly as the folder is: ok photos = the valid images on disk, each embedded from its current
// content, deleted ones 'missing' with their ratings, never-indexed deleted ones gone, the text
// files 'failed' and reported by name, and ratings following renamed photos.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setCulling } from '../../db/culling.ts';
import { openDatabase, type DB } from '../../db/database.ts';
import type { PhotoRow } from '../../db/photos.ts';
import { decodeF16 } from '../../db/vectors.ts';
import { fingerprintFile } from '../../electron/services/indexing/fingerprint.ts';
import { indexLibrary } from '../../electron/services/indexing/indexer.ts';
import { LABELS, type IndexSummary } from '../../common/types.ts';
import type { ClipModel } from '../../native-models/types.ts';
import { imageBuffer, writePhotoSet } from '../helpers/fixtures.ts';
import { checkInvariants, cullingOf, HEALTHY } from './library-invariants.ts';
import { closeTinyModel, openTinyModel } from '../helpers/tiny-model.ts';

let tmp: string;
let model: ClipModel;

beforeAll(async () => {
  ({ tmp, model } = await openTinyModel('cull-changing-', 22));
});

afterAll(() => closeTinyModel({ tmp, model }));

const TEXT = Buffer.from('Shopping list: milk, eggs, a new memory card.\n'.repeat(30));
const rowAt = (db: DB, p: string) => db.prepare('SELECT * FROM photos WHERE path = ?').get(p) as PhotoRow | undefined;
const rowById = (db: DB, id: number) => db.prepare('SELECT * FROM photos WHERE id = ?').get(id) as PhotoRow;
const pathsWith = (db: DB, status: string) => db.prepare('SELECT path FROM photos WHERE status = ? ORDER BY path').pluck().all(status) as string[];

function embeddingsByPath(db: DB): Map<string, Float32Array> {
  const rows = db
    .prepare("SELECT p.path, e.vec FROM photos p JOIN embeddings e ON e.photo_id = p.id AND e.model_id = ? WHERE p.status = 'ok'")
    .all(model.info.id) as { path: string; vec: Buffer }[];
  return new Map(rows.map((r) => [r.path, decodeF16(r.vec)]));
}

/** Every photo file under `dir` (what a clean index must hold), recursively, sorted. */
function imagesOnDisk(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile() && /\.(jpg|png|webp|tif)$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((p) => !fs.readFileSync(p).subarray(0, 64).equals(TEXT.subarray(0, 64)))
    .sort();
}

describe('files changing underneath a run', () => {
  it('finishes the run, and the next run converges to exactly the folder on disk', async () => {
    const root = path.join(tmp, 'photos');
    const outside = path.join(tmp, 'elsewhere');
    fs.mkdirSync(outside);
    const known = await writePhotoSet(root, 40, { seed: 60_000, size: 96 }); // p000… indexed first
    const dir = path.join(tmp, 'lib');
    const db = openDatabase(path.join(dir, 'library.db'));
    const thumbsDir = path.join(dir, 'thumbs');
    const decoded: string[] = [];
    let hook: (p: string) => void = () => {};
    const run = () => {
      decoded.length = 0;
      return indexLibrary({ db, model, roots: [root], thumbsDir, batchSize: 4, onDecode: (p) => (decoded.push(p), hook(p)) });
    };
    expect(await run()).toMatchObject({ indexed: 40, failed: 0 });

    // Ratings, flags and labels on the first 20, through the culling queries.
    const id = (p: string) => rowAt(db, p)!.id;
    for (let i = 0; i < 20; i++) {
      setCulling(db, [id(known[i])], { rating: 1 + (i % 5), flag: ([1, -1, 0] as const)[i % 3], label: i % 4 ? LABELS[i % LABELS.length] : null });
    }
    const ratedIds = known.slice(0, 20).map(id);
    const culling = cullingOf(db, ratedIds);

    // New photos (a000…, decoded first: their names sort before p000) and edits made before this
    // run to two known photos, so that those are decoded again in it.
    const fresh = await writePhotoSet(path.join(tmp, 'staging'), 20, { seed: 61_000, size: 96 });
    const news = fresh.map((f) => {
      const to = path.join(root, path.basename(f).replace(/^p/, 'a'));
      fs.renameSync(f, to);
      return to;
    });
    const P = (i: number) => known[i];
    const A = (i: number) => news[i];
    const moved = (p: string) => path.join(root, 'moved', path.basename(p).replace(/(\.\w+)$/, '-renamed$1'));
    const edit = async (p: string, seed: number) => {
      const content = await imageBuffer({ width: 112, height: 70, seed, format: p.endsWith('.jpg') ? 'jpeg' : (p.endsWith('.tif') ? 'tiff' : path.extname(p).slice(1)) as 'png' });
      return () => {
        fs.writeFileSync(p, content);
        const later = new Date(Date.now() + 5000);
        fs.utimesSync(p, later, later);
      };
    };
    await (await edit(P(7), 62_007))();
    await (await edit(P(8), 62_008))();

    // What happens once the walk is done (at the first decode) …
    const editP3 = await edit(P(3), 62_003);
    const editA12 = await edit(A(12), 62_112);
    const added = await Promise.all([0, 1, 2, 3, 4].map((i) => imageBuffer({ seed: 63_000 + i, width: 96, height: 72 })));
    const afterWalk = () => {
      fs.mkdirSync(path.join(root, 'moved'), { recursive: true });
      fs.renameSync(P(1), moved(P(1))); // known, rated: renamed
      fs.rmSync(P(2)); // known, rated: deleted
      editP3(); // known, rated: edited
      fs.writeFileSync(P(5), TEXT); // known, rated: replaced by text
      fs.rmSync(A(10)); // new: deleted before it was looked at
      fs.renameSync(A(11), moved(A(11))); // new: renamed before it was looked at
      editA12(); // new: edited
      fs.writeFileSync(A(13), TEXT); // new: replaced by text
      added.forEach((b, i) => (fs.mkdirSync(path.join(root, 'added'), { recursive: true }), fs.writeFileSync(path.join(root, 'added', `x${i}.jpg`), b)));
    };
    // … and between a file's fingerprint and its decode.
    const editA18 = await edit(A(18), 62_118);
    const away = path.join(outside, path.basename(A(15)));
    const justBeforeDecode: Record<string, () => void> = {
      [A(15)]: () => fs.renameSync(A(15), away), // moved out of the library (and back after the run)
      [A(16)]: () => fs.rmSync(A(16)),
      [A(17)]: () => fs.writeFileSync(A(17), TEXT),
      [A(18)]: editA18,
      [P(7)]: () => fs.rmSync(P(7)), // known, rated, edited: deleted while queued
      [P(8)]: () => fs.renameSync(P(8), moved(P(8))), // known, rated, edited: renamed while queued
    };
    let first = true;
    hook = (p) => {
      if (first) (first = false), afterWalk();
      justBeforeDecode[p]?.();
    };

    const during: IndexSummary = await run(); // must not throw
    hook = () => {};
    expect(during.cancelled).toBe(false);
    for (const p of Object.keys(justBeforeDecode)) expect(decoded).toContain(p); // the windows were really hit
    fs.renameSync(away, A(15));

    const after = await run();
    const settled = await run(); // and it stays settled

    // ok photos = the valid images on disk, each with the fingerprint and embedding of its content now.
    const disk = imagesOnDisk(root);
    expect(disk).toHaveLength(40 + 20 + 5 - 4 /* deleted */ - 3 /* text */);
    expect(pathsWith(db, 'ok')).toEqual(disk);
    for (const p of disk) expect(rowAt(db, p)!.fingerprint, p).toBe(await fingerprintFile(p));
    const refDb = openDatabase(path.join(tmp, 'reference.db'));
    await indexLibrary({ db: refDb, model, roots: [root], thumbsDir: path.join(tmp, 'ref-thumbs'), batchSize: 4 });
    const ref = embeddingsByPath(refDb);
    const got = embeddingsByPath(db);
    expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
    const stale = [...got].filter(([p, v]) => v.reduce((s, x, i) => s + x * ref.get(p)![i], 0) < 0.999).map(([p]) => p);
    expect(stale).toEqual([]);
    refDb.close();

    // The text files: failed, named in a run's errors, no embedding left.
    const texts = [P(5), A(13), A(17)].sort();
    expect(pathsWith(db, 'failed')).toEqual(texts);
    for (const p of texts) {
      expect(rowAt(db, p)!.error).toMatch(/not an image/);
      expect([...during.errors, ...after.errors].find((e) => e.path === p)?.reason, p).toMatch(/not an image/);
    }
    // Deleted known photos: missing, ratings kept. Deleted new ones: no trace.
    expect(pathsWith(db, 'missing')).toEqual([P(2), P(7)].sort());
    for (const p of [A(10), A(16), A(11)]) expect(rowAt(db, p), p).toBeUndefined();
    // Renamed photos carry their row (ratings, flags, labels) to the new path; so do edited, failed and missing ones.
    expect(rowById(db, ratedIds[1]).path).toBe(moved(P(1)));
    expect(rowById(db, ratedIds[8]).path).toBe(moved(P(8)));
    expect(rowAt(db, P(3))!.id).toBe(ratedIds[3]);
    expect(cullingOf(db, ratedIds)).toEqual(culling);
    expect(checkInvariants(db, model.info.id, thumbsDir)).toMatchObject({ ...HEALTHY, ok: disk.length, missing: 2, failed: 3 });
    expect(settled).toMatchObject({ indexed: 0, renamed: 0, failed: 0 });
    expect(decoded).toEqual([]);

    console.log(
      `[faults] files changing: ${Object.keys(justBeforeDecode).length + 8 + added.length} changes during the run ` +
        `(renamed 3, deleted 4, edited 3, replaced by text 3, moved out and back 1, added ${added.length}; 6 of them between fingerprint and decode); ` +
        `run during changes: indexed ${during.indexed}, failed ${during.failed}; next run: indexed ${after.indexed}, renamed ${after.renamed}, failed ${after.failed}; ` +
        `then ${settled.indexed} indexed. ok ${disk.length} = images on disk ${disk.length}, missing 2, failed 3, stale embeddings ${stale.length}, culling kept ${ratedIds.length}/${ratedIds.length}`,
    );
    db.close();
  });
});
