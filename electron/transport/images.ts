// Resolves `thumb/<id>` and `image/<id>` to a file the library knows, for both the `cull:`
// protocol (Electron) and the HTTP routes (server). Only ids reach the library, never paths; the
// file it answers with must be inside the library (a root or the thumbnail cache) and a regular
// file, or nothing is served.
import fs from 'node:fs';
import path from 'node:path';
import type { ApiError } from '../../common/api-types.ts';
import { parseIdSegment } from './validate.ts';
import type { LibraryApi } from './methods.ts';

export type ImageKind = 'thumb' | 'image';

/** Formats browsers display; other originals (TIFF, HEIC, RAW…) are previewed through their thumbnail. */
const BROWSER_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.bmp': 'image/bmp',
};

export type ImageLookup =
  | { ok: true; file: string; contentType: string; size: number; mtimeMs: number; etag: string }
  | { ok: false; status: 400 | 403 | 404 | 503; error: ApiError };

const fail = (status: 400 | 403 | 404 | 503, code: ApiError['code'], message: string): ImageLookup => ({
  ok: false,
  status,
  error: { code, message },
});

export async function lookupImage(lib: LibraryApi | null, kind: ImageKind, idSegment: string): Promise<ImageLookup> {
  const id = parseIdSegment(idSegment);
  if (id === null) return fail(400, 'invalid-argument', 'Photo ids are positive integers.');
  if (!lib) return fail(503, 'no-model', 'The library is not open yet.');

  let file: string | null = null;
  if (kind === 'image') {
    const original = await lib.imagePath(id);
    if (original && BROWSER_TYPES[path.extname(original).toLowerCase()]) file = original;
  }
  file ??= await lib.thumbPath(id);
  if (!file) return fail(404, 'not-found', `No ${kind === 'thumb' ? 'thumbnail' : 'image'} for photo ${id}.`);
  if (!path.isAbsolute(file)) return fail(403, 'outside-library', 'Refusing a relative path.');
  file = path.resolve(file);
  if (!(await lib.isInsideLibrary(file))) return fail(403, 'outside-library', `Photo ${id} is outside the library.`);

  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch {
    return fail(404, 'not-found', `The file of photo ${id} is missing.`);
  }
  if (!st.isFile()) return fail(404, 'not-found', `The file of photo ${id} is not a regular file.`);
  const contentType = BROWSER_TYPES[path.extname(file).toLowerCase()] ?? 'image/jpeg';
  return { ok: true, file, contentType, size: st.size, mtimeMs: st.mtimeMs, etag: `"${st.size.toString(36)}-${Math.floor(st.mtimeMs).toString(36)}"` };
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
