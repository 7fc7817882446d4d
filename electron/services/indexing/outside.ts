// Ratings, labels and picks other applications wrote, read at index (issue #12): from XMP
// sidecars (IMG_0001.xmp, IMG_0001.CR2.xmp: the file xmp.ts's sidecarPath names) and from XMP
// embedded in the photo (JPEG, TIFF, DNG, HEIF/AVIF, PNG, RAW). Recorded with their source and
// taken into the photo's culling state by the rule in db/xmp-sync.ts (a decision made in Cull wins;
// an outside change after Cull's last decision or write is taken).
//
// Sidecars change without the photo changing, so every run looks at each photo's sidecar; one whose
// mtime is the one Cull last wrote or read is not read again. A sidecar Cull refuses (malformed,
// too large, a DOCTYPE, not UTF-8) is reported by path and skipped; the photo stays indexed.
import fs from 'node:fs';
import path from 'node:path';
import type { DB } from '../../../db/database.ts';
import { applyOutside, knownSidecarMtime } from '../../../db/xmp-sync.ts';
import { decodeXmpBytes, readXmpDecisionsAsync, sidecarPath, XMP_LIMITS, type XmpDecisions } from '../culling/xmp.ts';
import { fsPath, nameFromBytes, type WalkFile } from './walk.ts';

/** Decisions in a photo's embedded XMP, or null (none, or a packet Cull does not read). */
export async function embeddedDecisions(xmp: string | null): Promise<XmpDecisions | null> {
  if (!xmp) return null;
  try {
    const d = await readXmpDecisionsAsync(xmp);
    return d.rating !== null || d.labelText !== null || d.pick !== null ? d : null;
  } catch {
    return null; // an unreadable embedded packet is the photo's own business: indexing goes on
  }
}

/** Records a photo's embedded decisions (inside or outside the caller's transaction). */
export function recordEmbedded(db: DB, photoId: number, photoPath: string, mtimeMs: number, d: XmpDecisions): void {
  applyOutside(db, photoId, { ...d, source: 'embedded', path: photoPath, modifiedAt: d.date ?? mtimeMs });
}

/**
 * Reads the sidecars of `files` (photos already in the library) and records what they say.
 * `report` gets each sidecar refused, by path. Returns how many sidecars were read.
 */
export async function readSidecars(
  db: DB,
  files: readonly WalkFile[],
  report: (sidecar: string, reason: string) => void,
  stopped: () => boolean = () => false,
): Promise<number> {
  const byDir = new Map<string, WalkFile[]>();
  for (const f of files) {
    const d = path.dirname(f.path);
    let list = byDir.get(d);
    if (!list) byDir.set(d, (list = []));
    list.push(f);
  }
  const idOf = db.prepare("SELECT id FROM photos WHERE path = ? AND status = 'ok'").pluck();
  let read = 0;
  for (const [dir, list] of byDir) {
    if (stopped()) break;
    let entries: string[];
    try {
      entries = (await fs.promises.readdir(fsPath(dir), { encoding: 'buffer' })).map((b) => nameFromBytes(b));
    } catch {
      continue; // the walk has reported the folder already
    }
    const xmps = new Map(entries.filter((e) => e.toLowerCase().endsWith('.xmp')).map((e) => [e.toLowerCase(), e]));
    if (!xmps.size) continue;
    for (const f of list) {
      const wanted = path.basename(sidecarPath(f.path, entries)).toLowerCase();
      const name = xmps.get(wanted);
      if (!name) continue;
      const id = idOf.get(f.path) as number | undefined;
      if (id === undefined) continue;
      const file = path.join(dir, name);
      try {
        const st = await fs.promises.stat(fsPath(file));
        if (!st.isFile()) continue;
        if (knownSidecarMtime(db, id) === st.mtimeMs) continue; // written or read by Cull as it is
        if (st.size > XMP_LIMITS.maxBytes) {
          throw new Error(`it is larger than ${XMP_LIMITS.maxBytes / 1048576} MB (the largest XMP sidecar Cull reads)`);
        }
        const d = await readXmpDecisionsAsync(decodeXmpBytes(await fs.promises.readFile(fsPath(file))));
        applyOutside(db, id, { ...d, source: 'sidecar', path: file, modifiedAt: d.date ?? st.mtimeMs, sidecarMtime: st.mtimeMs });
        read++;
      } catch (err) {
        const msg = (err as Error).message.replace(/^Not read as XMP: /, '');
        report(file, `XMP sidecar skipped (the photo is indexed): ${msg.replace(/\.$/, '')}.`);
      }
    }
  }
  return read;
}
