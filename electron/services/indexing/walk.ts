// Walks photo folders: every file with a photo or camera-RAW extension, skipping dot-names.
// Symlinks are followed only when they resolve inside one of the roots (links resolved on both
// sides): a link to a folder or file elsewhere (`~/Pictures/x -> /etc`, a photo replaced by a link
// to a private file) is reported as not followed, so a library never reaches outside the folders
// the user added. Every folder and file is visited at most once (keyed by dev+ino), so loops are
// harmless; real paths win over links because linked entries are visited last.
// Unreadable folders are reported and skipped; folders or files vanishing mid-walk are ignored.
// Copies Cull exported into a folder below a root (listed in that folder's ".cull-export" marker,
// see export.ts) are skipped, so exporting picks into the library never indexes them twice; in a
// folder the user added as a root they are indexed like any photo.
import fs from 'node:fs';
import path from 'node:path';

// Linux file names are bytes. Node's string paths are UTF-8, so a name that is not valid UTF-8
// would come back as U+FFFD and could never be opened again. Such bytes are kept as private-use
// characters U+EF80..U+EFFF (the OPTU-8 convention): the stored path stays a valid, displayable
// string, and `fsPath` turns it back into the exact bytes. Valid UTF-8 names are untouched, except
// that a name really containing one of those 128 characters has its bytes escaped too, so the
// mapping stays one-to-one.
const ESCAPE_BASE = 0xef00;
const ESCAPED = /[\uef80-\uefff]/;

function utf8SequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** A directory entry's raw name as a string; invalid UTF-8 bytes become U+EF80..U+EFFF. */
export function nameFromBytes(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes) && !ESCAPED.test(text)) return text;
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const n = utf8SequenceLength(b);
    const seq = n ? bytes.subarray(i, i + n) : null;
    const decoded = seq && seq.length === n ? seq.toString('utf8') : '';
    const valid = seq && decoded && !decoded.includes('\ufffd') && !ESCAPED.test(decoded);
    if (valid && Buffer.from(decoded, 'utf8').equals(seq)) {
      out += decoded;
      i += n;
    } else {
      out += String.fromCharCode(ESCAPE_BASE + b);
      i++;
    }
  }
  return out;
}

/** What to hand to `fs` for a stored path: the string itself, or its exact bytes if it holds escapes. */
export function fsPath(p: string): string | Buffer {
  if (!ESCAPED.test(p)) return p;
  const parts: Buffer[] = [];
  for (const ch of p) {
    const cp = ch.codePointAt(0)!;
    parts.push(cp >= 0xef80 && cp <= 0xefff ? Buffer.of(cp - ESCAPE_BASE) : Buffer.from(ch, 'utf8'));
  }
  return Buffer.concat(parts);
}

/** The file export.ts keeps in each destination: one JSON line `{"name","size"}` per placed copy. */
export const EXPORT_MARKER = '.cull-export';

/** Names (stored form) and sizes listed in a folder's export marker; torn last lines are ignored. */
export async function readExportMarker(dir: string): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>();
  let text: string;
  try {
    text = await fs.promises.readFile(fsPath(path.join(dir, EXPORT_MARKER)), 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(0, -1)) {
    try {
      const { name, size } = JSON.parse(line) as { name?: unknown; size?: unknown };
      if (typeof name !== 'string' || typeof size !== 'number') continue;
      if (!out.has(name)) out.set(name, new Set());
      out.get(name)!.add(size);
    } catch {
      // not one of ours
    }
  }
  return out;
}

export const RAW_EXTENSIONS = new Set(['cr2', 'cr3', 'nef', 'arw', 'dng', 'raf', 'orf', 'rw2']);
export const PHOTO_EXTENSIONS = new Set([
  ...['jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'avif', 'heic', 'heif', 'hif', 'gif'], // hif: Canon, Sony and Fujifilm HEIF
  ...RAW_EXTENSIONS,
]);

function extensionOf(name: string): string {
  return path.extname(name).slice(1).toLowerCase();
}

export function isPhotoFile(name: string): boolean {
  return PHOTO_EXTENSIONS.has(extensionOf(name));
}

export function isRawFile(name: string): boolean {
  return RAW_EXTENSIONS.has(extensionOf(name));
}

export interface WalkFile {
  kind: 'file';
  /** Absolute path; open it with `fsPath(path)` (non-UTF-8 names are escaped, see fs-names.ts). */
  path: string;
  size: number;
  mtimeMs: number;
}

export interface WalkError {
  kind: 'error';
  path: string;
  reason: string;
}

export type WalkItem = WalkFile | WalkError;

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOENT':
      return 'not found';
    case 'ENOTDIR':
      return 'not a folder';
    case 'ELOOP':
      return 'symbolic link loop';
    case 'EIO':
      return 'read error (I/O error)';
    default:
      return (err as Error)?.message ?? String(err);
  }
}

/** The path no longer exists (the file or a folder above it was deleted, renamed or replaced). */
/** The reason given for a symbolic link that leads outside every root (not an unreadable folder). */
export const OUTSIDE_LINK = 'symbolic link to outside the library folders (not followed)';

/** True when the real path `real` is one of `realRoots` or inside one. */
export function insideAny(real: string, realRoots: string[]): boolean {
  return realRoots.some((r) => {
    const rel = path.relative(r, real);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
  });
}

/** Real paths (links resolved) of the roots that exist. */
export async function realRoots(roots: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of roots) {
    const real = await fs.promises.realpath(fsPath(path.resolve(r)), { encoding: 'buffer' }).catch(() => null);
    if (real) out.push(nameFromBytes(real));
  }
  return out;
}

export const isGoneError = (err: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException)?.code ?? '');
const gone = isGoneError;

export async function* walkPhotos(roots: string[], opts: { signal?: AbortSignal } = {}): AsyncGenerator<WalkItem> {
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  const key = (st: fs.Stats) => `${st.dev}:${st.ino}`;
  // Symlinked entries wait until every real entry has been seen, so a link never shadows its target.
  const linkedDirs: string[] = [];
  const linkedFiles: string[] = [];
  const allowed = await realRoots(roots);
  /** A link's target, when it lies inside a root (null: dangling, a loop, or outside). */
  const insideTarget = async (p: string): Promise<boolean | null> => {
    const real = await fs.promises.realpath(fsPath(p), { encoding: 'buffer' }).catch(() => null);
    return real === null ? null : insideAny(nameFromBytes(real), allowed);
  };

  async function* fileItem(p: string, st?: fs.Stats, exported?: Map<string, Set<number>>): AsyncGenerator<WalkItem> {
    try {
      st ??= await fs.promises.stat(fsPath(p));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // Either it vanished since readdir, or it is a dangling link: only the latter is worth saying.
        const isLink = await fs.promises.lstat(fsPath(p)).then((l) => l.isSymbolicLink(), () => false);
        if (isLink) yield { kind: 'error', path: p, reason: 'broken symbolic link' };
      } else {
        yield { kind: 'error', path: p, reason: describeFsError(err) };
      }
      return;
    }
    if (!st.isFile() || seenFiles.has(key(st))) return;
    if (exported?.get(path.basename(p))?.has(st.size)) return; // a copy Cull exported here
    seenFiles.add(key(st));
    yield { kind: 'file', path: p, size: st.size, mtimeMs: Math.round(st.mtimeMs) }; // whole ms: tools that restore mtimes round differently
  }

  async function* walkDir(dir: string, isRoot: boolean): AsyncGenerator<WalkItem> {
    const stack = [dir];
    while (stack.length) {
      if (opts.signal?.aborted) return;
      const current = stack.pop()!;
      let st: fs.Stats;
      let entries: fs.Dirent<Buffer>[];
      try {
        st = await fs.promises.stat(fsPath(current));
        if (!st.isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
        if (seenDirs.has(key(st))) continue;
        seenDirs.add(key(st));
        entries = await fs.promises.readdir(fsPath(current), { withFileTypes: true, encoding: 'buffer' });
      } catch (err) {
        // A subfolder that vanished mid-walk is simply gone; a missing root or a locked folder is news.
        if ((isRoot && current === dir) || !gone(err)) yield { kind: 'error', path: current, reason: describeFsError(err) };
        continue;
      }
      const exported =
        !(isRoot && current === dir) && entries.some((e) => e.name.toString('latin1') === EXPORT_MARKER)
          ? await readExportMarker(current)
          : undefined;
      const named = entries
        .map((e) => ({ e, name: nameFromBytes(e.name) }))
        .filter(({ name }) => !name.startsWith('.'))
        .sort((a, b) => Buffer.compare(a.e.name, b.e.name));
      const subdirs: string[] = [];
      for (const { e, name } of named) {
        const p = path.join(current, name);
        if (e.isDirectory()) subdirs.push(p);
        else if (e.isSymbolicLink()) {
          const target = await fs.promises.stat(fsPath(p)).catch(() => null);
          if (!target?.isDirectory() && !isPhotoFile(name)) continue;
          if (target && (await insideTarget(p)) === false) yield { kind: 'error', path: p, reason: OUTSIDE_LINK };
          else if (target?.isDirectory()) linkedDirs.push(p);
          else linkedFiles.push(p);
        } else if (e.isFile() && isPhotoFile(name)) yield* fileItem(p, undefined, exported);
      }
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]); // depth-first, in name order
    }
  }

  for (const root of roots) yield* walkDir(path.resolve(root), true);
  while (linkedDirs.length || linkedFiles.length) {
    if (opts.signal?.aborted) return;
    for (const f of linkedFiles.splice(0)) yield* fileItem(f);
    const d = linkedDirs.shift();
    if (d) yield* walkDir(d, false);
  }
}
