// The files of a library the window and the transports may show, found for the facade: a photo's
// thumbnail, the standard preview written at index time, the original (links resolved) and what the
// loupe's full preview of it is; and the check that a path lies inside the library (its folders or
// the thumbnail folder, links resolved on both sides). Reads through db/ only; holds no SQL.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { PreviewInfo } from '../../common/types.ts';
import type { DB } from '../../db/database.ts';
import { getPhoto, listRoots } from '../../db/photos.ts';
import { standardPreviewBeside } from './indexing/standard-preview.ts';
import { thumbnailPath } from './indexing/thumbnails.ts';
import { fsPath, insideAny, realRoots } from './indexing/walk.ts';
import { previewInfo } from './previews.ts';

export async function thumbPathOf(db: DB, thumbsDir: string, id: number): Promise<string | null> {
  const p = getPhoto(db, id);
  return p?.thumb ? realFile(thumbnailPath(thumbsDir, p.thumb)) : null;
}

/** Where the standard preview written at index time is, when its photo has one (the file may not exist). */
export async function standardPreviewPathOf(db: DB, thumbsDir: string, id: number): Promise<string | null> {
  const p = getPhoto(db, id);
  const name = p?.status === 'ok' && p.thumb ? standardPreviewBeside(p.thumb) : null;
  return name ? realFile(thumbnailPath(thumbsDir, name)) : null;
}

/** The original's real path (the loupe's full preview is made from it: services/previews.ts). */
export async function imagePathOf(db: DB, id: number): Promise<string | null> {
  const p = getPhoto(db, id);
  if (!p || p.status !== 'ok') return null;
  const onDisk = fsPath(p.path);
  // The real file (links resolved): isInsideLibrary then judges, and the transport reads, that file.
  return typeof onDisk === 'string' ? realFile(onDisk) : null; // a non-UTF-8 name: the thumbnail stands in
}

/**
 * What the loupe's full preview of photo `id` is (`/image/<id>`): made from the original when it
 * lies in the library, else — or when it cannot be read — the thumbnail; null for no such photo.
 */
export async function previewInfoOf(db: DB, thumbsDir: string, id: number): Promise<PreviewInfo | null> {
  const file = await imagePathOf(db, id);
  if (file && (await isInsideLibrary(db, thumbsDir, file))) {
    const info = await previewInfo(file).catch(() => null);
    if (info) return info;
  }
  const thumb = await thumbPathOf(db, thumbsDir, id);
  const meta = thumb ? await sharp(thumb).metadata().catch(() => null) : null;
  return meta?.width && meta.height ? { source: 'thumbnail', width: meta.width, height: meta.height, sensor: null } : null;
}

/**
 * True when `absPath` lies in a library folder or the thumbnail folder, links resolved on both
 * sides: a photo replaced by a link to a private file, or a folder link leading elsewhere, is
 * outside. The transports serve the real path (`realFile`), so what was checked is what is read.
 */
export async function isInsideLibrary(db: DB, thumbsDir: string, absPath: string): Promise<boolean> {
  const target = await realFile(absPath);
  const dirs = await realRoots([thumbsDir, ...listRoots(db)]);
  return dirs.some((d) => target !== d && insideAny(target, [d]));
}

/** The real path of a file (links resolved); a path that does not exist is returned resolved, as it is. */
export async function realFile(absPath: string): Promise<string> {
  const p = path.resolve(absPath);
  return fs.promises.realpath(p).catch(() => p);
}
