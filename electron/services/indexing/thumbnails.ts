// Thumbnail cache: one JPEG per photo content (and its standard preview: standard-preview.ts), named by its fingerprint, so a renamed or moved
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

/** Writes a photo's thumbnail (or, given `name`, another file of the cache: its standard preview). */
export async function writeThumbnail(thumbsDir: string, fingerprint: string, jpeg: Uint8Array, name = thumbFileName(fingerprint)): Promise<string> {
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

const TEMP_NAME = /^\.[^/\\]+\.jpg\.(\d+)\.[0-9a-f]{8}\.tmp$/; // as writeThumbnail names them

/**
 * Removes the temp files of thumbnail writes that never finished because their process died (a
 * SIGKILLed or crashed indexer leaves one per decode in flight). A temp whose writer is still
 * running (another indexing process on this library) is left alone. Returns how many went.
 */
export async function sweepThumbnailTemps(thumbsDir: string): Promise<number> {
  const names = await fs.promises.readdir(thumbsDir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await fs.promises.rm(path.join(thumbsDir, name), { force: true });
    removed++;
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export async function hasThumbnail(thumbsDir: string, name: string): Promise<boolean> {
  return fs.promises.access(thumbnailPath(thumbsDir, name)).then(
    () => true,
    () => false,
  );
}
