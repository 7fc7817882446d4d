// The photographer's decisions an export writes: into each copy (a JPEG's own XMP packet, image data
// untouched; a sidecar beside a copy of any other format) and, when asked, into the sidecars next to
// the originals — there only what Cull decided (db/xmp-sync.ts), merged into what other applications
// wrote. The copies themselves are placed by export-placement.ts; XMP is read and written by xmp.ts.
import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../../../db/database.ts';
import { FIELD_LABEL, FIELD_PICK, FIELD_RATING, getXmpSync, noteSidecarWritten } from '../../../db/xmp-sync.ts';
import type { Flag, Label } from '../../../common/types.ts';
import { fsPath, nameFromBytes } from '../indexing/walk.ts';
import { copyInto, type Placed } from './export-placement.ts';
import { noteReason } from './export-failures.ts';
import { sidecarPath, type XmpChange, type XmpTarget } from './xmp.ts';
import { jpegWithXmp, writeXmpSidecar } from './xmp-write.ts';
import { removeStaleTemps } from './safe-write.ts';

/** What the library knows of a photo's decisions (a row of `photos`). */
export interface Decided {
  id: number;
  path: string;
  rating: number;
  flag: Flag;
  label: Label | null;
}

/** What an exported copy carries: the photo's rating (or reject), label and pick; null when it has none. */
export function copyChange(photo: { rating: number; flag: number; label: Label | null }): XmpChange | null {
  const c: XmpChange = {};
  if (photo.rating > 0 || photo.flag === -1) c.rating = photo.flag === -1 ? -1 : photo.rating;
  if (photo.label) c.label = photo.label;
  if (photo.flag === 1) c.pick = true;
  return Object.keys(c).length ? c : null;
}

/** The XMP fields of `fields` (db/xmp-sync.ts bits) with the photo's current values. */
function changeOf(photo: Decided, fields: number): XmpChange {
  const c: XmpChange = {};
  if (fields & FIELD_RATING) c.rating = photo.flag === -1 ? -1 : photo.rating;
  if (fields & FIELD_LABEL) c.label = photo.label;
  if (fields & FIELD_PICK) c.pick = photo.flag === 1;
  return c;
}

/** Why a JPEG could not carry its decisions in its own XMP: it looks damaged, or the packet is too large. */
function embedRefusal(err: unknown): string {
  const message = (err as Error).message;
  if (/would not fit/.test(message)) return `${message} Its decisions stay in Cull; tick “Write XMP sidecars” to keep them beside the original.`;
  return `the file looks damaged (${message.replace(/\.$/, '')}). Open it in an image editor to check it.`;
}

/**
 * Copies `src` into `dest` as `name`, carrying the photo's decisions (`embed`): in a JPEG's own XMP,
 * else in a sidecar beside the copy once it is placed. What could not be carried goes to `notes`;
 * `carried` says whether the copy has them.
 */
export async function copyWithDecisions(
  photo: Decided,
  src: string | Buffer,
  dest: string,
  name: string,
  taken: Set<string>,
  opts: { embed: boolean; target: XmpTarget },
  notes: string[],
): Promise<{ placed: Placed; carried: boolean }> {
  const change = opts.embed ? copyChange(photo) : null;
  const jpeg = change && /\.jpe?g$/i.test(name) ? await fs.promises.readFile(src) : null;
  let content: Buffer | undefined;
  if (change && jpeg) {
    try {
      content = jpegWithXmp(jpeg, change, opts.target);
    } catch (err) {
      notes.push(`${photo.path} was copied unchanged, without its decisions inside: ${embedRefusal(err)}`);
    }
  }
  const placed = await copyInto(src, dest, name, taken, content);
  if (content) return { placed, carried: true };
  let carried = false;
  if (change && !jpeg) {
    try {
      carried = Boolean(await writeXmpSidecar(placed.path, change, undefined, opts.target));
    } catch (err) {
      notes.push(`No XMP sidecar beside the copy ${placed.path}: ${noteReason(err, dest)}`);
    }
  }
  return { placed, carried };
}

/**
 * The sidecars next to the originals for one export: each folder listed once (and its temps of a
 * killed run removed), then per photo only what Cull decided — into an existing sidecar the fields
 * changed since Cull's last write, into a new one every field Cull decided. Nothing Cull did not set
 * is written.
 */
export class OriginalSidecars {
  private readonly folders = new Map<string, string[]>();

  constructor(
    private readonly db: DB,
    private readonly target: XmpTarget,
  ) {}

  /** Writes (or merges into) `photo`'s sidecar; true when one was written. Throws what went wrong. */
  async write(photo: Decided & { size: number; mtime_ms: number; fingerprint: string }): Promise<boolean> {
    const entries = await this.entriesOf(path.dirname(photo.path));
    const sync = getXmpSync(this.db, photo.id, photo);
    const planned = sidecarPath(photo.path, entries);
    const exists = entries.some((e) => e.toLowerCase() === path.basename(planned).toLowerCase());
    const fields = exists ? sync.dirty : sync.cullSet;
    const sidecar = await writeXmpSidecar(photo.path, changeOf(photo, fields), entries, this.target);
    if (!sidecar) return false;
    if (!entries.includes(path.basename(sidecar))) entries.push(path.basename(sidecar));
    const mtime = (await fs.promises.stat(fsPath(sidecar))).mtimeMs;
    noteSidecarWritten(this.db, photo.id, photo, fields, mtime);
    return true;
  }

  private async entriesOf(dir: string): Promise<string[]> {
    let entries = this.folders.get(dir);
    if (!entries) {
      entries = (await fs.promises.readdir(fsPath(dir), { encoding: 'buffer' })).map((b) => nameFromBytes(b));
      this.folders.set(dir, entries);
      await removeStaleTemps(dir, entries); // sidecar temps of a killed run
    }
    return entries;
  }
}
