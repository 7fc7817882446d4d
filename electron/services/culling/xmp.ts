// XMP sidecars: rating and colour label in the form Lightroom, Bridge, darktable and digiKam read.
//
// Sidecar name: Lightroom's convention, same base name with ".xmp" (IMG_0001.CR2 → IMG_0001.xmp).
// RAW+JPEG pairs (IMG_0001.CR2 + IMG_0001.JPG) would share that name; then the RAW keeps
// IMG_0001.xmp (the file Lightroom reads for it) and the other file gets its full name plus ".xmp"
// (IMG_0001.JPG.xmp, the darktable/digiKam convention), so two photos never overwrite one sidecar.
// An existing full-name sidecar (written by darktable) is updated rather than shadowed.
//
// Existing sidecars are merged, never replaced: every other property and namespace (develop
// settings, keywords, ...) is kept byte-for-byte as parsed; only xmp:Rating and xmp:Label are set,
// wherever they were (attribute on rdf:Description or child element). Writes are atomic: temp file in
// the same folder (".cull-xmp-<pid>-<hex>.tmp", a dot-name the walker ignores), fsync, rename, fsync
// of the folder; temps left by a killed process are removed by the next export that writes there
// (removeStaleTemps). The photo itself is never opened for writing.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { Flag, Label } from '../../../common/types.ts';
import { UserError } from '../../../common/errors.ts';
import { fsPath, nameFromBytes } from '../indexing/walk.ts';

export const XMP_NS = 'http://ns.adobe.com/xap/1.0/';
export const RDF_NS = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';

export interface XmpCulling {
  rating: number; // 0..5
  flag: Flag; // -1 reject → xmp:Rating -1 (Lightroom's "rejected")
  label: Label | null;
}

const RAW_EXTENSIONS = new Set(
  '3fr ari arw bay cr2 cr3 crw dcr dng erf fff iiq k25 kdc mef mos mrw nef nrw orf pef raf raw rw2 rwl sr2 srf srw x3f'.split(' '),
);

export function isRawFile(file: string): boolean {
  return RAW_EXTENSIONS.has(path.extname(file).slice(1).toLowerCase());
}

/**
 * Sidecar path for a photo. `dirEntries` (the folder's file names) can be passed when writing many
 * sidecars in one folder, to list it once.
 */
export function sidecarPath(photoPath: string, dirEntries?: readonly string[]): string {
  const dir = path.dirname(photoPath);
  const name = path.basename(photoPath);
  const ext = path.extname(name);
  const base = ext ? name.slice(0, -ext.length) : name;
  const entries = dirEntries ?? safeReaddir(dir);
  const lower = new Set(entries.map((e) => e.toLowerCase()));
  const full = path.join(dir, `${name}.xmp`);
  const short = path.join(dir, `${base}.xmp`);
  if (lower.has(`${name}.xmp`.toLowerCase()) && !lower.has(`${base}.xmp`.toLowerCase())) return full;
  const siblings = entries.filter((e) => {
    const x = path.extname(e);
    return e !== name && x.toLowerCase() !== '.xmp' && e.slice(0, e.length - x.length).toLowerCase() === base.toLowerCase() && x !== '';
  });
  if (!siblings.length) return short;
  // A RAW keeps the Lightroom name unless another RAW shares the base name.
  if (isRawFile(name) && !siblings.some(isRawFile)) return short;
  return full;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(fsPath(dir), { encoding: 'buffer' }).map((b) => nameFromBytes(b));
  } catch {
    return [];
  }
}

export function xmpRating(c: XmpCulling): number {
  return c.flag === -1 ? -1 : c.rating;
}

/** Lightroom's label names: "Red", "Yellow", "Green", "Blue", "Purple". */
export function xmpLabel(label: Label | null): string | null {
  return label ? label.charAt(0).toUpperCase() + label.slice(1) : null;
}

function checkCulling(c: XmpCulling): void {
  if (!(Number.isInteger(c.rating) && c.rating >= 0 && c.rating <= 5)) throw new Error(`Invalid rating ${c.rating}.`);
  if (![-1, 0, 1].includes(c.flag)) throw new Error(`Invalid flag ${c.flag}.`);
}

/** A new sidecar holding only rating and label. */
export function buildXmp(c: XmpCulling): string {
  checkCulling(c);
  const label = xmpLabel(c.label);
  return [
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Cull">',
    ` <rdf:RDF xmlns:rdf="${RDF_NS}">`,
    `  <rdf:Description rdf:about="" xmlns:xmp="${XMP_NS}"`,
    `   xmp:Rating="${xmpRating(c)}"${label ? `\n   xmp:Label="${label}"` : ''}/>`,
    ' </rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
    '',
  ].join('\n');
}

// Entities stay as written (processEntities: false) and nothing is trimmed, so untouched parts of the
// document are rebuilt exactly as they were.
const XML_OPTIONS = {
  ignoreAttributes: false,
  preserveOrder: true,
  attributeNamePrefix: '@_',
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  allowBooleanAttributes: true,
  suppressEmptyNode: true,
} as const;

type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };

function tagOf(node: XmlNode): string | undefined {
  return Object.keys(node).find((k) => k !== ':@');
}

function* walk(nodes: XmlNode[]): Generator<XmlNode> {
  for (const n of nodes) {
    yield n;
    const tag = tagOf(n);
    const kids = tag ? n[tag] : undefined;
    if (Array.isArray(kids)) yield* walk(kids as XmlNode[]);
  }
}

/** Prefixes bound to a namespace anywhere in the document (XMP files rarely rebind prefixes). */
function prefixesFor(nodes: XmlNode[], ns: string): string[] {
  const out = new Set<string>();
  for (const n of walk(nodes)) {
    for (const [k, v] of Object.entries(n[':@'] ?? {})) if (k.startsWith('@_xmlns:') && v === ns) out.add(k.slice(8));
  }
  return [...out];
}

/** Sets xmp:Rating / xmp:Label in an existing XMP document, keeping everything else. */
export function mergeXmp(existing: string, c: XmpCulling): string {
  checkCulling(c);
  let tree: XmlNode[];
  try {
    tree = new XMLParser(XML_OPTIONS).parse(existing) as XmlNode[];
  } catch (err) {
    throw new UserError(`The existing sidecar is not valid XML (${(err as Error).message}); it was left untouched.`);
  }
  const rdf = prefixesFor(tree, RDF_NS);
  const descriptions = [...walk(tree)].filter((n) => rdf.some((p) => tagOf(n) === `${p}:Description`));
  if (!descriptions.length) throw new UserError('The existing sidecar has no rdf:Description: not an XMP packet; it was left untouched.');
  const xmp = prefixesFor(tree, XMP_NS);
  const names = new Set(xmp.flatMap((p) => [`${p}:Rating`, `${p}:Label`]));
  for (const d of descriptions) {
    const attrs = d[':@'];
    if (attrs) for (const n of names) delete attrs[`@_${n}`];
    const tag = tagOf(d)!;
    const kids = d[tag] as XmlNode[];
    // Drop Rating/Label child elements and the indentation text just before each.
    const kept: XmlNode[] = [];
    for (const k of kids) {
      const t = tagOf(k);
      if (t && names.has(t)) {
        const prev = kept[kept.length - 1];
        if (prev && tagOf(prev) === '#text' && /^\s*$/.test(String(prev['#text']))) kept.pop();
        continue;
      }
      kept.push(k);
    }
    d[tag] = kept;
  }
  const first = descriptions[0];
  const attrs = (first[':@'] ??= {});
  let prefix = xmp[0];
  if (!prefix) {
    prefix = 'xmp';
    attrs['@_xmlns:xmp'] = XMP_NS;
  }
  attrs[`@_${prefix}:Rating`] = String(xmpRating(c));
  const label = xmpLabel(c.label);
  if (label) attrs[`@_${prefix}:Label`] = label;
  const out = new XMLBuilder(XML_OPTIONS).build(tree) as string;
  // The builder drops whitespace between top-level nodes; keep the packet wrapper on its own lines.
  return out.replace(/^(<\?xpacket[^>]*\?>)</, '$1\n<').replace(/>(<\?xpacket end)/, '>\n$1') + (out.endsWith('\n') ? '' : '\n');
}

/** Reads rating and label back (for tests and imports); null when absent. */
export function readXmpCulling(xml: string): { rating: number | null; label: string | null } {
  const tree = new XMLParser(XML_OPTIONS).parse(xml) as XmlNode[];
  const xmp = prefixesFor(tree, XMP_NS);
  let rating: number | null = null;
  let label: string | null = null;
  for (const n of walk(tree)) {
    for (const p of xmp) {
      const a = n[':@'];
      if (a?.[`@_${p}:Rating`] !== undefined) rating = Number(a[`@_${p}:Rating`]);
      if (a?.[`@_${p}:Label`] !== undefined) label = a[`@_${p}:Label`];
      const t = tagOf(n);
      const text = t && Array.isArray(n[t]) ? (n[t] as XmlNode[]).map((k) => k['#text'] ?? '').join('') : '';
      if (t === `${p}:Rating`) rating = Number(text);
      if (t === `${p}:Label`) label = text;
    }
  }
  return { rating, label };
}

// ---- temp files -----------------------------------------------------------------------------

/** Temp names export and sidecar writes use: ".cull-export-<pid>-<12 hex>.tmp", ".cull-xmp-…". */
const TEMP_RE = /^\.cull-(?:export|xmp)-(\d+)-[0-9a-f]{12}\.tmp$/;

/** A temp name of an export or sidecar write (never a final name; removed once its writer is gone). */
export function isCullTemp(name: string): boolean {
  return TEMP_RE.test(name);
}

/** A fresh temp path in `dir` for `kind` ('export' for copies and reports, 'xmp' for sidecars). */
export function tempPath(dir: string, kind: 'export' | 'xmp'): string {
  return path.join(dir, `.cull-${kind}-${process.pid}-${crypto.randomBytes(6).toString('hex')}.tmp`);
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
  }
}

/**
 * Removes the temps in `dir` whose writer process is gone (a crashed or killed export). Returns how
 * many were removed. `entries` (stored-name form) saves listing the folder again.
 */
export async function removeStaleTemps(dir: string, entries?: readonly string[]): Promise<number> {
  let removed = 0;
  for (const name of entries ?? safeReaddir(dir)) {
    const m = TEMP_RE.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await fs.promises.rm(fsPath(path.join(dir, name)), { force: true });
    removed++;
  }
  return removed;
}

/** Makes a rename or link in `dir` durable; file systems that cannot fsync a folder are left be. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(fsPath(dir), 'r');
    await fh.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms and file systems: nothing more to do.
  } finally {
    await fh?.close();
  }
}

/** Writes `content` to `file` atomically: temp file beside it, fsync, rename; the temp never lingers. */
export async function writeFileAtomic(file: string, content: string | Buffer, mode?: number): Promise<void> {
  const dir = path.dirname(file);
  const tmp = fsPath(tempPath(dir, 'xmp'));
  const fh = await fs.promises.open(tmp, 'wx', mode ?? 0o644);
  try {
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.promises.rename(tmp, fsPath(file));
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

/** Writes or merges the sidecar of `photoPath`; returns the sidecar's path. */
export async function writeXmpSidecar(photoPath: string, c: XmpCulling, dirEntries?: readonly string[]): Promise<string> {
  const file = sidecarPath(photoPath, dirEntries);
  let existing: string | null = null;
  let mode: number | undefined;
  try {
    existing = await fs.promises.readFile(fsPath(file), 'utf8');
    mode = (await fs.promises.stat(fsPath(file))).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const content = existing !== null && existing.trim() ? mergeXmp(existing, c) : buildXmp(c);
  await writeFileAtomic(file, content, mode);
  return file;
}
