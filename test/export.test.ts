// Export (copy / hard link, collisions, safe names, reports, sidecars) and the culling state it
// reads. Originals are checked byte-for-byte and by mtime before and after every export.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CullingError, getCulling, restoreCulling, setCulling } from '../db/culling.ts';
import { openDatabase, type DB } from '../db/database.ts';
import { exportPhotos } from '../electron/services/culling/export.ts';
import { candidateName, safeFileName } from '../electron/services/culling/export-placement.ts';
import { readXmpCulling } from '../electron/services/culling/xmp.ts';
import { parseCsv } from './helpers/csv.ts';

let tmp: string;
let lib: string;
let db: DB;

async function makePhoto(rel: string, colour: { r: number; g: number; b: number }): Promise<string> {
  const file = path.join(lib, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await sharp({ create: { width: 48, height: 32, channels: 3, background: colour } }).jpeg().toFile(file);
  const t = new Date('2019-03-04T05:06:07Z');
  fs.utimesSync(file, t, t);
  return file;
}

function addPhoto(file: string, culling: { rating?: number; flag?: number; label?: string | null } = {}): number {
  // Size and mtime as the indexer stores them: export copies only a photo that is still what was indexed.
  const st = fs.statSync(file, { throwIfNoEntry: false });
  const info = db
    .prepare(
      'INSERT INTO photos (path, folder, size, mtime_ms, fingerprint, indexed_at, rating, flag, label) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)',
    )
    .run(file, path.dirname(file), st?.size ?? 0, Math.round(st?.mtimeMs ?? 0), crypto.randomUUID(), culling.rating ?? 0, culling.flag ?? 0, culling.label ?? null);
  return Number(info.lastInsertRowid);
}

/** A destination's entries without the export marker (.cull-export lists what Cull placed there). */
const listDest = (dir: string) => fs.readdirSync(dir).filter((f) => f !== '.cull-export');

function snapshot(files: string[]) {
  return files.map((f) => {
    const st = fs.statSync(f);
    return { f, sha: crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex'), mtime: st.mtimeMs, size: st.size };
  });
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-export-'));
  lib = path.join(tmp, 'library');
  db = openDatabase(path.join(tmp, 'library.db'));
});

afterEach(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('safe names', () => {
  it('keeps names inside the destination', () => {
    expect(safeFileName('/a/b/IMG_1.jpg', 1)).toBe('IMG_1.jpg');
    expect(safeFileName('C:\\evil\\..\\..\\x.jpg', 2)).toBe('x.jpg');
    expect(safeFileName('/a/b/..', 3)).toBe('photo-3');
    expect(safeFileName('/a/b/.', 4)).toBe('photo-4');
    expect(safeFileName('/a/b/', 5)).toBe('photo-5');
    expect(safeFileName('/a/\u0000\u0007bad.jpg', 6)).toBe('bad.jpg');
    expect(candidateName('name.jpg', 1)).toBe('name.jpg');
    expect(candidateName('name.jpg', 2)).toBe('name (2).jpg');
    expect(candidateName('archive.tar.gz', 3)).toBe('archive.tar (3).gz');
    expect(candidateName('README', 2)).toBe('README (2)');
    expect(candidateName('.hidden', 2)).toBe('.hidden (2)');
  });
});

describe('exportPhotos', () => {
  it('copies in order, never overwrites, keeps mtimes, leaves originals and no temp files', async () => {
    const a1 = await makePhoto('day1/a.jpg', { r: 200, g: 10, b: 10 });
    const a2 = await makePhoto('day2/a.jpg', { r: 10, g: 200, b: 10 });
    const b = await makePhoto('day2/b.jpg', { r: 10, g: 10, b: 200 });
    const ids = [addPhoto(a1), addPhoto(a2), addPhoto(b)];
    const dest = path.join(tmp, 'out');
    fs.mkdirSync(dest);
    fs.writeFileSync(path.join(dest, 'a.jpg'), 'already here');
    const before = snapshot([a1, a2, b]);
    const progress: number[] = [];
    const res = await exportPhotos(db, { photoIds: ids, to: dest, mode: 'copy' }, (p) => progress.push(p.done));
    expect(res.failed).toEqual([]);
    expect(res.exported.map((e) => path.basename(e.to))).toEqual(['a (2).jpg', 'a (3).jpg', 'b.jpg']);
    expect(res.destination).toBe(dest);
    expect(fs.readFileSync(path.join(dest, 'a.jpg'), 'utf8')).toBe('already here');
    expect(listDest(dest).sort()).toEqual(['a (2).jpg', 'a (3).jpg', 'a.jpg', 'b.jpg']);
    const copies = snapshot(res.exported.map((e) => e.to));
    copies.forEach((c, i) => {
      expect(c.sha).toBe(before[i].sha);
      expect(c.mtime).toBe(before[i].mtime);
    });
    expect(snapshot([a1, a2, b])).toEqual(before);
    expect(progress[progress.length - 1]).toBe(3);
    // A copy is its own file, not a link to the original.
    expect(fs.statSync(res.exported[0].to).ino).not.toBe(fs.statSync(a1).ino);

    // Exporting again neither replaces nor duplicates: the identical copies are already there.
    const again = await exportPhotos(db, { photoIds: ids, to: dest, mode: 'copy' });
    expect(again.exported.map((e) => path.basename(e.to))).toEqual(['a (2).jpg', 'a (3).jpg', 'b.jpg']);
    expect(again.alreadyExported).toBe(3);
    expect(listDest(dest).sort()).toEqual(['a (2).jpg', 'a (3).jpg', 'a.jpg', 'b.jpg']);
    // A different file under the photo's name is kept, and the photo gets the next free name.
    fs.writeFileSync(path.join(dest, 'b.jpg.tmp'), 'x');
    fs.rmSync(path.join(dest, 'b.jpg'));
    fs.writeFileSync(path.join(dest, 'b.jpg'), 'someone else\'s b');
    const third = await exportPhotos(db, { photoIds: [ids[2]], to: dest, mode: 'copy' });
    expect(path.basename(third.exported[0].to)).toBe('b (2).jpg');
    expect(third.alreadyExported).toBe(0);
    expect(fs.readFileSync(path.join(dest, 'b.jpg'), 'utf8')).toBe('someone else\'s b');
  });

  it('hard-links when asked (same inode), originals untouched', async () => {
    const a = await makePhoto('x/a.jpg', { r: 1, g: 2, b: 3 });
    const id = addPhoto(a);
    const before = snapshot([a]);
    const dest = path.join(tmp, 'linked');
    const res = await exportPhotos(db, { photoIds: [id], to: dest, mode: 'link' });
    expect(res.exported).toHaveLength(1);
    expect(fs.statSync(res.exported[0].to).ino).toBe(fs.statSync(a).ino);
    expect(res.copiedInsteadOfLinked).toBe(0);
    expect(snapshot([a])).toEqual(before);
  });

  describe('without hard links (FAT/exFAT)', () => {
    afterEach(() => {
      vi.restoreAllMocks();
      delete process.env.CULL_EXPORT_NO_HARDLINKS;
    });

    /**
     * A file system without hard links (link() fails with EPERM, as on exFAT), and another program
     * that creates `name` in the destination (only if free, like any careful writer) just before
     * Cull's final step on it: the rename of the temp, or an exclusive create of the name.
     */
    function raceOnFat(dest: string, name: string, foreign: string) {
      const realRename = fs.promises.rename.bind(fs.promises);
      const realOpen = fs.promises.open.bind(fs.promises);
      let armed = true;
      const arrive = (target: unknown) => {
        if (!armed || String(target) !== path.join(dest, name)) return;
        armed = false;
        try {
          fs.writeFileSync(path.join(dest, name), foreign, { flag: 'wx' });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      };
      const link = vi.spyOn(fs.promises, 'link').mockRejectedValue(Object.assign(new Error('operation not permitted'), { code: 'EPERM' }));
      vi.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => (arrive(to), realRename(from, to)));
      vi.spyOn(fs.promises, 'open').mockImplementation((async (file: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
        if (flags === 'wx') arrive(file);
        return realOpen(file, flags, mode);
      }) as typeof fs.promises.open);
      return { link, raced: () => !armed };
    }

    it('never replaces a file created between the existence check and the final step', async () => {
      const a = await makePhoto('fat/a.jpg', { r: 200, g: 10, b: 10 });
      const id = addPhoto(a);
      const before = snapshot([a]);
      const dest = path.join(tmp, 'fat-dest');
      const race = raceOnFat(dest, 'a.jpg', 'created meanwhile');
      const res = await exportPhotos(db, { photoIds: [id], to: dest, mode: 'copy' });
      expect(race.raced()).toBe(true);
      expect(race.link).toHaveBeenCalled();
      expect(res.failed).toEqual([]);
      expect(fs.readFileSync(path.join(dest, 'a.jpg'), 'utf8')).toBe('created meanwhile');
      expect(res.exported.map((e) => path.basename(e.to))).toEqual(['a (2).jpg']);
      expect(snapshot([path.join(dest, 'a (2).jpg')])[0]).toMatchObject({ sha: before[0].sha, mtime: before[0].mtime });
      expect(listDest(dest).sort()).toEqual(['a (2).jpg', 'a.jpg']);
      expect(snapshot([a])).toEqual(before);
    });

    it('CULL_EXPORT_NO_HARDLINKS forces that path on any disk; a killed run\'s empty placeholder is removed', async () => {
      process.env.CULL_EXPORT_NO_HARDLINKS = '1';
      const a = await makePhoto('fat2/a.jpg', { r: 10, g: 200, b: 10 });
      const b = await makePhoto('fat2/b.jpg', { r: 10, g: 10, b: 200 });
      const [ida, idb] = [addPhoto(a), addPhoto(b)];
      const dest = path.join(tmp, 'fat-forced');
      fs.mkdirSync(dest);
      // What a run killed between claiming "b.jpg" and renaming its temp over the claim leaves.
      fs.writeFileSync(path.join(dest, '.cull-export'), `${JSON.stringify({ name: 'b.jpg', size: fs.statSync(b).size })}\n`);
      fs.writeFileSync(path.join(dest, 'b.jpg'), '');
      const link = vi.spyOn(fs.promises, 'link');
      const res = await exportPhotos(db, { photoIds: [ida, idb], to: dest, mode: 'link' });
      expect(link).not.toHaveBeenCalled();
      expect(res.failed).toEqual([]);
      expect(res.copiedInsteadOfLinked).toBe(2);
      expect(res.exported.map((e) => path.basename(e.to))).toEqual(['a.jpg', 'b.jpg']);
      expect(fs.statSync(path.join(dest, 'a.jpg')).ino).not.toBe(fs.statSync(a).ino);
      expect(fs.readFileSync(path.join(dest, 'b.jpg')).equals(fs.readFileSync(b))).toBe(true);
      expect(listDest(dest).sort()).toEqual(['a.jpg', 'b.jpg']);
    });
  });

  const shm = '/dev/shm';
  const otherDevice = fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(os.tmpdir()).dev;
  it.skipIf(!otherDevice)('falls back to copying across devices (EXDEV) and says so', async () => {
    const a = await makePhoto('y/a.jpg', { r: 9, g: 9, b: 9 });
    const id = addPhoto(a);
    const dest = fs.mkdtempSync(path.join(shm, 'cull-export-'));
    try {
      const res = await exportPhotos(db, { photoIds: [id], to: dest, mode: 'link' });
      expect(res.exported).toHaveLength(1);
      expect(res.copiedInsteadOfLinked).toBe(1);
      expect(res.notes.join(' ')).toMatch(/copied instead of hard-linked/);
      expect(fs.statSync(res.exported[0].to).mtimeMs).toBe(fs.statSync(a).mtimeMs);
      expect(listDest(dest)).toEqual(['a.jpg']);
    } finally {
      fs.rmSync(dest, { recursive: true, force: true });
    }
  });

  it('cannot be steered outside the destination by a file name', async () => {
    // On Linux a backslash is an ordinary character: this is ONE file called `..\..\escape.jpg`.
    const evil = await makePhoto('evil/..\\..\\escape.jpg', { r: 0, g: 0, b: 0 });
    const id = addPhoto(evil);
    const dest = path.join(tmp, 'dest');
    const res = await exportPhotos(db, { photoIds: [id], to: dest, mode: 'copy' });
    expect(res.exported[0].to).toBe(path.join(dest, 'escape.jpg'));
    expect(listDest(dest)).toEqual(['escape.jpg']);
    expect(fs.readdirSync(tmp).filter((f) => !f.startsWith('library'))).toEqual(['dest']);
  });

  it('reports missing files and unknown ids without stopping', async () => {
    const ok = await makePhoto('m/ok.jpg', { r: 5, g: 5, b: 5 });
    const gone = path.join(lib, 'm', 'gone.jpg');
    const ids = [addPhoto(gone), addPhoto(ok), 9999];
    const res = await exportPhotos(db, { photoIds: ids, to: path.join(tmp, 'o'), mode: 'copy' });
    expect(res.exported.map((e) => path.basename(e.to))).toEqual(['ok.jpg']);
    expect(res.failed).toEqual([
      { id: ids[0], path: gone, reason: 'The original is gone: it was moved or deleted after indexing. Put it back, or index its folder again.' },
      { id: 9999, path: '', reason: 'Not in the library.' },
    ]);
    expect(listDest(path.join(tmp, 'o'))).toEqual(['ok.jpg']);
  });

  it('stops when the destination disappears part-way (a drive unplugged), saying what was done and what to do', async () => {
    const files = await Promise.all(['u/1.jpg', 'u/2.jpg', 'u/3.jpg'].map((f, i) => makePhoto(f, { r: 40 * i, g: 9, b: 9 })));
    const ids = files.map((f) => addPhoto(f));
    const dest = path.join(tmp, 'usb');
    let err: unknown;
    try {
      await exportPhotos(db, { photoIds: ids, to: dest, mode: 'copy' }, (p) => {
        if (p.done === 1) fs.rmSync(dest, { recursive: true }); // gone after the first copy
      });
    } catch (e) {
      err = e;
    }
    const e = err as { code: string; message: string; hint: string; partial: { exported: unknown[]; failed: { reason: string }[] } };
    expect(e.code).toBe('incomplete');
    expect(e.message).toBe(`Export stopped after 1 of 3 photos: the folder ${dest} is gone (was its drive unplugged?).`);
    expect(e.hint).toBe('Reconnect the drive or choose another folder, then export again (the photo already exported is not copied again).');
    expect(e.partial.exported).toHaveLength(1);
    expect(e.partial.failed.map((f) => f.reason)).toEqual([
      `The folder ${dest} is gone (was its drive unplugged?). Reconnect the drive or choose another folder, then export again.`,
      `Not copied: The folder ${dest} is gone (was its drive unplugged?). Reconnect the drive or choose another folder, then export again.`,
    ]);
  });

  it('writes a CSV report with every score column and proper quoting', async () => {
    const weird = await makePhoto('r/say "hi", ok.jpg', { r: 1, g: 1, b: 1 });
    const plain = await makePhoto('r/plain.jpg', { r: 2, g: 2, b: 2 });
    const ids = [addPhoto(weird, { rating: 3, flag: 1, label: 'red' }), addPhoto(plain)];
    const dest = path.join(tmp, 'rep');
    const res = await exportPhotos(db, {
      photoIds: ids,
      to: dest,
      mode: 'copy',
      report: 'report.csv',
      scores: { [ids[0]]: { score: 0.9, 'sharp vs blurry': 0.8 }, [ids[1]]: { score: 0.5, 'bright, dark': 0.25 } },
    });
    expect(res.report).toBe(path.join(dest, 'report.csv'));
    const rows = parseCsv(fs.readFileSync(res.report!, 'utf8'));
    expect(rows[0]).toEqual(['path', 'name', 'score', 'sharp vs blurry', 'bright, dark', 'rating', 'flag', 'label', 'exported_to', 'error']);
    expect(rows[1]).toEqual([weird, 'say "hi", ok.jpg', '0.9', '0.8', '', '3', '1', 'red', path.join(dest, 'say "hi", ok.jpg'), '']);
    expect(rows[2]).toEqual([plain, 'plain.jpg', '0.5', '', '0.25', '0', '0', '', path.join(dest, 'plain.jpg'), '']);
    expect(rows).toHaveLength(3);

    // A second export never replaces the first report; JSON by extension.
    const again = await exportPhotos(db, { photoIds: ids, to: dest, mode: 'copy', report: 'report.csv' });
    expect(again.report).toBe(path.join(dest, 'report (2).csv'));
    const json = await exportPhotos(db, { photoIds: ids, to: dest, mode: 'copy', report: 'r.json', scores: { [ids[1]]: { score: 0.5 } } });
    const parsed = JSON.parse(fs.readFileSync(json.report!, 'utf8'));
    expect(parsed.photos[1]).toMatchObject({ id: ids[1], path: plain, name: 'plain.jpg', scores: { score: 0.5 } });
    expect(parsed.photos[0].scores).toEqual({});
    await expect(exportPhotos(db, { photoIds: ids, to: path.join(tmp, 'never'), mode: 'copy', report: 'r.txt' })).rejects.toThrow(/\.csv or \.json/);
    expect(fs.existsSync(path.join(tmp, 'never'))).toBe(false);
    expect(listDest(dest).filter((f) => f.endsWith('.tmp') || f.startsWith('.'))).toEqual([]);
  });

  it('writes XMP sidecars next to the originals without touching them', async () => {
    const raw = await makePhoto('s/IMG_1.CR2', { r: 3, g: 3, b: 3 }); // bytes are a JPEG; only the name matters here
    const jpg = await makePhoto('s/IMG_2.jpg', { r: 4, g: 4, b: 4 });
    const ids = [addPhoto(raw, { rating: 4, flag: 0, label: 'green' }), addPhoto(jpg, { rating: 2, flag: -1 })];
    const before = snapshot([raw, jpg]);
    const res = await exportPhotos(db, { photoIds: ids, to: path.join(tmp, 'x'), mode: 'copy', xmp: true });
    expect(res.xmpWritten).toBe(2);
    expect(readXmpCulling(fs.readFileSync(path.join(lib, 's', 'IMG_1.xmp'), 'utf8'))).toEqual({ rating: 4, label: 'Green' });
    expect(readXmpCulling(fs.readFileSync(path.join(lib, 's', 'IMG_2.xmp'), 'utf8'))).toEqual({ rating: -1, label: null });
    expect(snapshot([raw, jpg])).toEqual(before);
    expect(fs.readdirSync(path.join(lib, 's')).sort()).toEqual(['IMG_1.CR2', 'IMG_1.xmp', 'IMG_2.jpg', 'IMG_2.xmp']);
  });

  it('stops when cancelled and says so', async () => {
    const files = await Promise.all([1, 2, 3, 4].map((i) => makePhoto(`c/${i}.jpg`, { r: i, g: i, b: i })));
    const ids = files.map((f) => addPhoto(f));
    const ctl = new AbortController();
    const res = await exportPhotos(
      db,
      { photoIds: ids, to: path.join(tmp, 'c-out'), mode: 'copy' },
      (p) => p.done === 2 && ctl.abort(),
      ctl.signal,
    );
    expect(res.cancelled).toBe(true);
    expect(res.exported).toHaveLength(2);
    expect(listDest(path.join(tmp, 'c-out')).sort()).toEqual(['1.jpg', '2.jpg']);
  });
});

describe('culling state', () => {
  it('sets rating/flag/label in one transaction and undoes it', () => {
    const ids = [addPhoto('/p/1.jpg'), addPhoto('/p/2.jpg', { rating: 2, label: 'blue' }), addPhoto('/p/3.jpg')];
    const prev = setCulling(db, [ids[0], ids[1], ids[1]], { rating: 5, flag: 1 });
    expect(prev).toEqual([
      { id: ids[0], rating: 0, flag: 0, label: null },
      { id: ids[1], rating: 2, flag: 0, label: 'blue' },
    ]);
    expect(getCulling(db, ids).get(ids[1])).toEqual({ rating: 5, flag: 1, label: 'blue' }); // label untouched
    setCulling(db, [ids[1]], { label: null });
    expect(getCulling(db, [ids[1]]).get(ids[1])!.label).toBeNull();
    restoreCulling(db, prev);
    expect(getCulling(db, ids).get(ids[0])).toEqual({ rating: 0, flag: 0, label: null });
    expect(getCulling(db, ids).get(ids[1])).toEqual({ rating: 2, flag: 0, label: 'blue' });
  });

  it('validates ranges and applies nothing when any id is unknown', () => {
    const id = addPhoto('/p/a.jpg');
    for (const bad of [{ rating: 6 }, { rating: -1 }, { rating: 2.5 }, { flag: 2 }, { label: 'pink' }, {}, { stars: 3 }]) {
      expect(() => setCulling(db, [id], bad as never)).toThrow(CullingError);
    }
    expect(() => setCulling(db, [id, 12345], { rating: 3 })).toThrow(/12345/);
    expect(getCulling(db, [id]).get(id)!.rating).toBe(0);
    expect(() => setCulling(db, [Number.NaN], { rating: 1 })).toThrow(/Invalid photo id/);
  });
});
