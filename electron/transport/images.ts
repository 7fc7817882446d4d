// Resolves `thumb/<id>` and `image/<id>[?fit=<px>]` to what the library may show, for both the
// `cull:` protocol (Electron) and the HTTP routes (server). Only ids reach the library, never paths;
// the file it answers with must be inside the library (a root or the thumbnail cache) and a regular
// file, or nothing is served. From a checked original, electron/services/previews.ts makes the
// loupe's full preview (the original as is, a RAW's embedded JPEG, a decoded HEIC) or its
// screen-sized rendition — for a fit view the standard preview written at index time, when it is
// large enough, is served instead of making one; when it cannot, the thumbnail stands in.
import fs from 'node:fs';
import path from 'node:path';
import type { ApiError } from '../../common/api-types.ts';
import { FIT_MAX, FIT_MIN, previewImage, standardPreviewFits } from '../services/previews.ts';
import { parseIdSegment } from './validate.ts';
import type { LibraryApi } from './methods.ts';

export type ImageKind = 'thumb' | 'image';

export type ImageLookup =
  | ({ ok: true; contentType: string; size: number; etag: string } & ({ file: string; bytes?: never } | { bytes: Buffer; file?: never }))
  | { ok: false; status: 400 | 403 | 404 | 503; error: ApiError };

const fail = (status: 400 | 403 | 404 | 503, code: ApiError['code'], message: string): Extract<ImageLookup, { ok: false }> => ({
  ok: false,
  status,
  error: { code, message },
});

/** `?fit=`: absent, or a whole number of device pixels in [FIT_MIN, FIT_MAX]; null when malformed. */
export function parseFit(value: string | null): number | undefined | null {
  if (value === null) return undefined;
  if (!/^\d{1,5}$/.test(value)) return null;
  const n = Number(value);
  return n >= FIT_MIN && n <= FIT_MAX ? n : null;
}

/** `file` when it is absolute, inside the library and a regular file; else why not. */
async function checked(lib: LibraryApi, id: number, file: string): Promise<{ file: string; st: fs.Stats } | Extract<ImageLookup, { ok: false }>> {
  if (!path.isAbsolute(file)) return fail(403, 'outside-library', 'Refusing a relative path.');
  const abs = path.resolve(file);
  if (!(await lib.isInsideLibrary(abs))) return fail(403, 'outside-library', `Photo ${id} is outside the library.`);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(abs);
  } catch {
    return fail(404, 'not-found', `The file of photo ${id} is missing.`);
  }
  if (!st.isFile()) return fail(404, 'not-found', `The file of photo ${id} is not a regular file.`);
  return { file: abs, st };
}

const tagOf = (st: fs.Stats) => `${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}`;

export async function lookupImage(lib: LibraryApi | null, kind: ImageKind, idSegment: string, fitParam: string | null = null): Promise<ImageLookup> {
  const id = parseIdSegment(idSegment);
  if (id === null) return fail(400, 'invalid-argument', 'Photo ids are positive integers.');
  const fit = parseFit(fitParam);
  if (fit === null) return fail(400, 'invalid-argument', `fit is a whole number of pixels from ${FIT_MIN} to ${FIT_MAX}.`);
  if (!lib) return fail(503, 'no-model', 'The library is not open yet.');

  if (kind === 'image') {
    const original = await lib.imagePath(id);
    const ok = original ? await checked(lib, id, original) : null;
    if (ok && 'ok' in ok) return ok; // refused: never fall back to the thumbnail of a photo pointing outside
    if (ok && fit !== undefined) {
      const std = await standardPreview(lib, id, fit);
      if (std) return std;
    }
    if (ok) {
      const shown = await previewImage(ok.file, fit).catch(() => null); // unreadable: the thumbnail stands in
      if (shown?.file !== undefined) return { ok: true, file: shown.file, contentType: shown.contentType, size: ok.st.size, etag: `"${shown.tag}"` };
      if (shown) return { ok: true, bytes: shown.bytes, contentType: shown.contentType, size: shown.bytes.length, etag: `"${shown.tag}"` };
    }
  }
  const thumb = await lib.thumbPath(id);
  if (!thumb) return fail(404, 'not-found', `No ${kind === 'thumb' ? 'thumbnail' : 'image'} for photo ${id}.`);
  const ok = await checked(lib, id, thumb);
  if ('ok' in ok) return ok;
  return { ok: true, file: ok.file, contentType: 'image/jpeg', size: ok.st.size, etag: `"${tagOf(ok.st)}"` };
}

/** The standard preview written at index time, when there is one at least `fit` pixels on the long side. */
async function standardPreview(lib: LibraryApi, id: number, fit: number): Promise<Extract<ImageLookup, { ok: true }> | null> {
  const file = await lib.standardPreviewPath(id);
  const ok = file ? await checked(lib, id, file) : null;
  if (!ok || 'ok' in ok || !(await standardPreviewFits(ok.file, fit).catch(() => false))) return null; // none, or too small: made on demand
  return { ok: true, file: ok.file, contentType: 'image/jpeg', size: ok.st.size, etag: `"std-${tagOf(ok.st)}"` };
}

/** Headers for an image response (no-cache + ETag: a re-index can replace a thumbnail under the same id). */
export function imageHeaders(found: Extract<ImageLookup, { ok: true }>): Record<string, string> {
  return {
    'content-type': found.contentType,
    'content-length': String(found.size),
    'cache-control': 'private, no-cache',
    etag: found.etag,
    'x-content-type-options': 'nosniff',
  };
}
