// Thumbnail cache: one JPEG per photo content, named by its fingerprint, so a renamed or moved
// photo keeps its thumbnail and duplicates share one. Written to a temp file then renamed, so a
// crash never leaves a half-written thumbnail under the final name.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const THUMB_SIZE = 512; // long side, pixels

export function thumbFileName(fingerprint: string): string {
  return `${fingerprint}.jpg`;
}

/** Absolute path of a cached thumbnail; rejects names that would escape the cache folder. */
export function thumbnailPath(thumbsDir: string, name: string): string {
  if (path.basename(name) !== name || name.startsWith('.')) throw new Error(`invalid thumbnail name: ${name}`);
  return path.join(thumbsDir, name);
}

export async function writeThumbnail(thumbsDir: string, fingerprint: string, jpeg: Uint8Array): Promise<string> {
  const name = thumbFileName(fingerprint);
  const final = thumbnailPath(thumbsDir, name);
  const temp = path.join(thumbsDir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  await fs.promises.mkdir(thumbsDir, { recursive: true });
  try {
    await fs.promises.writeFile(temp, jpeg);
    await fs.promises.rename(temp, final);
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
  return name;
}

export async function hasThumbnail(thumbsDir: string, name: string): Promise<boolean> {
  return fs.promises.access(thumbnailPath(thumbsDir, name)).then(
    () => true,
    () => false,
  );
}
