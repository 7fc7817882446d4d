// XMP sidecars: rating and colour label in the form Lightroom, Bridge, darktable and digiKam read.
//
// Sidecar name: Lightroom's convention, same base name with ".xmp" (IMG_0001.CR2 → IMG_0001.xmp).
// RAW+JPEG pairs (IMG_0001.CR2 + IMG_0001.JPG) would share that name; then the RAW keeps
// IMG_0001.xmp (the file Lightroom reads for it) and the other file gets its full name plus ".xmp"
// (IMG_0001.JPG.xmp, the darktable/digiKam convention), so two photos never overwrite one sidecar.
// An existing full-name sidecar (written by darktable) is updated rather than shadowed.
//
// Existing sidecars are merged, never replaced, by editing only the characters of the fields Cull
// changed (xmp-scan.ts finds them): every other property, namespace, keyword, develop setting,
// comment, whitespace, BOM and line ending stays byte-identical. Only fields Cull changed since its
// last write are written (XmpChange: an absent field is not touched), so a rating or label another
// application gave is never overwritten by a value Cull did not set. Rejects are xmp:Rating="-1"
// (Lightroom, Bridge, darktable, Capture One); per-target extras (digiKam's ColorLabel/PickLabel,
// Photo Mechanic's ColorClass) are written with `target`. Refused, leaving the file untouched: a
// sidecar over XMP_LIMITS.maxBytes, nested deeper than maxDepth, with a DOCTYPE, not UTF-8, or not
// well-formed. Writes are atomic: temp file in
// the same folder (".cull-xmp-<pid>-<hex>.tmp", a dot-name the walker ignores), fsync, rename, fsync
// of the folder; temps left by a killed process are removed by the next export that writes there
// (removeStaleTemps). The photo itself is never opened for writing.
//
// (~610 lines: reading, merging and embedding share the field table and the per-target conventions;
// the scanner and the worker are already apart in xmp-scan.ts and xmp-worker.ts. Splitting reading
// from writing is the next step.)
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LABELS, type Flag, type Label } from '../../../common/types.ts';
import { UserError } from '../../../common/errors.ts';
import { fsPath, nameFromBytes } from '../indexing/walk.ts';
import { scanXmp, type XmpAttr, type XmpElement, type XmpScan } from './xmp-scan.ts';
import { scanXmpOffThread } from './xmp-worker.ts';

export const XMP_NS = 'http://ns.adobe.com/xap/1.0/';
export const RDF_NS = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';

export const DC_NS = 'http://purl.org/dc/elements/1.1/';
export const DIGIKAM_NS = 'http://www.digikam.org/ns/1.0/';
export const PHOTOMECHANIC_NS = 'http://ns.camerabits.com/photomechanic/1.0/';
export const DARKTABLE_NS = 'http://darktable.sf.net/';

/**
 * What Cull reads and writes. The largest sidecar accepted, and its parse time, are in
 * docs/reliability.md; larger ones are refused (reported by path, left untouched).
 */
export const XMP_LIMITS = { maxBytes: 16 * 1024 * 1024, maxDepth: 100, maxRecords: 100_000 };

/** The keyword exported copies of picks carry in dc:subject. */
export const PICK_KEYWORD = 'Pick';

/** Targets whose conventions differ beyond xmp:Rating / xmp:Label (README: "Working with Lightroom …"). */
export const XMP_TARGETS = ['standard', 'digikam', 'photomechanic'] as const;
export type XmpTarget = (typeof XMP_TARGETS)[number];

/** digiKam's colour labels (digiKam:ColorLabel): 1 red, 3 yellow, 4 green, 5 blue, 6 magenta. */
const DIGIKAM_COLOR: Record<Label, number> = { red: 1, yellow: 3, green: 4, blue: 5, purple: 6 };
/** Photo Mechanic's default colour classes (photomechanic:ColorClass) in the order of its colours. */
const PM_COLOR: Record<Label, number> = { red: 1, yellow: 2, green: 3, blue: 4, purple: 5 };
/** darktable's colour labels (darktable:colorlabels, a Seq): 0 red, 1 yellow, 2 green, 3 blue, 4 purple. */
const DARKTABLE_COLOR: Label[] = ['red', 'yellow', 'green', 'blue', 'purple'];

/** A field Cull changed: absent = leave as it is. rating is the XMP value: -1 (reject) … 5. */
export interface XmpChange {
  rating?: number;
  label?: Label | null;
  /** true: a pick (digiKam PickLabel 3, and the pick keyword in exported copies); false: not a pick. */
  pick?: boolean;
}

/** The culling state of a photo in Cull's terms (for building a complete XmpChange). */
export interface XmpCulling {
  rating: number; // 0..5
  flag: Flag; // -1 reject → xmp:Rating -1 (Lightroom's "rejected")
  label: Label | null;
}

/** A sidecar or packet Cull will not read or write; its message says why (and names the file when known). */
export class XmpError extends UserError {
  constructor(message: string) {
    super(message, 'invalid-argument');
    this.name = 'XmpError';
  }
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

/** Every field of a culling state (for a photo whose every field Cull set). */
export function fullChange(c: XmpCulling): XmpChange {
  checkCulling(c);
  return { rating: xmpRating(c), label: c.label, pick: c.flag === 1 };
}

function checkCulling(c: XmpCulling): void {
  if (!(Number.isInteger(c.rating) && c.rating >= 0 && c.rating <= 5)) throw new Error(`Invalid rating ${c.rating}.`);
  if (![-1, 0, 1].includes(c.flag)) throw new Error(`Invalid flag ${c.flag}.`);
}

function checkChange(c: XmpChange): void {
  if (c.rating !== undefined && !(Number.isInteger(c.rating) && c.rating >= -1 && c.rating <= 5)) throw new Error(`Invalid rating ${c.rating}.`);
  if (c.label !== undefined && c.label !== null && !(LABELS as readonly string[]).includes(c.label)) throw new Error(`Invalid label ${c.label}.`);
}

const isCulling = (c: XmpChange | XmpCulling): c is XmpCulling => 'flag' in c;
const asChange = (c: XmpChange | XmpCulling): XmpChange => (isCulling(c) ? fullChange(c) : c);

const INTERESTING = ['Rating', 'Label', 'MetadataDate', 'ModifyDate', 'ColorLabel', 'PickLabel', 'ColorClass', 'colorlabels', 'subject'];

/** Scans `text` within XMP_LIMITS; a refusal is an XmpError saying why. */
export function scan(text: string): XmpScan {
  try {
    return scanXmp(text, XMP_LIMITS, INTERESTING);
  } catch (err) {
    if ((err as { xmpRefused?: boolean }).xmpRefused) throw new XmpError(`Not read as XMP: ${(err as Error).message}.`);
    throw err;
  }
}

/** `scan`, in a worker_threads worker when the packet is large (xmp-worker.ts). */
export async function scanAsync(text: string): Promise<XmpScan> {
  try {
    return await scanXmpOffThread(text, XMP_LIMITS, INTERESTING);
  } catch (err) {
    if ((err as { xmpRefused?: boolean }).xmpRefused) throw new XmpError(`Not read as XMP: ${(err as Error).message}.`);
    throw err;
  }
}

/** readXmpDecisions, scanning off the main thread when the packet is large. */
export async function readXmpDecisionsAsync(text: string): Promise<XmpDecisions> {
  return readXmpDecisions(text, await scanAsync(text));
}

async function mergeXmpOffThread(text: string, change: XmpChange, target: XmpTarget): Promise<string> {
  return mergeXmp(text, change, target, false, await scanAsync(text));
}

/** Bytes → text, refusing what is not UTF-8 (rewriting it would change bytes Cull never meant to touch). */
export function decodeXmpBytes(bytes: Buffer): string {
  if (bytes.length > XMP_LIMITS.maxBytes) {
    throw new XmpError(`Not read as XMP: it is larger than ${XMP_LIMITS.maxBytes / 1048576} MB (the largest XMP packet Cull reads).`);
  }
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD') && !Buffer.from(text, 'utf8').equals(bytes)) throw new XmpError('Not read as XMP: it is not UTF-8 text.');
  return text;
}

const RDF_DESC = `${RDF_NS} Description`;

/** Top-level properties (attributes of rdf:Description, or its child elements) named ns:local. */
function occurrences(s: XmpScan, ns: string, local: string): { el?: XmpElement; attr?: XmpAttr }[] {
  const out: { el?: XmpElement; attr?: XmpAttr }[] = [];
  for (const e of s.elements) {
    if (e.ns === RDF_NS && e.local === 'Description') {
      for (const a of e.attrs) if (a.ns === ns && a.local === local) out.push({ attr: a });
    } else if (e.ns === ns && e.local === local && e.parent === RDF_DESC) out.push({ el: e });
  }
  return out;
}

function descriptions(s: XmpScan): XmpElement[] {
  return s.elements.filter((e) => e.ns === RDF_NS && e.local === 'Description' && e.parent === `${RDF_NS} RDF`);
}

function valueOf(text: string, o: { el?: XmpElement; attr?: { valueStart: number; valueEnd: number } }): string | null {
  if (o.attr) return unescapeXml(text.slice(o.attr.valueStart, o.attr.valueEnd));
  if (o.el && o.el.textStart >= 0) return unescapeXml(text.slice(o.el.textStart, o.el.textEnd));
  return null;
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (m, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

/** Decisions another application wrote into an XMP packet. */
export interface XmpDecisions {
  /** xmp:Rating: -1 (rejected) … 5; null when absent or not a whole number in range. */
  rating: number | null;
  /** The label as one of Cull's colours, when it is one. */
  label: Label | null;
  /** The label as written (Capture One's "Orange", Lightroom's "Approved", digiKam's number …). */
  labelText: string | null;
  /** digiKam's PickLabel: 1 accepted, -1 rejected; null otherwise. */
  pick: 1 | -1 | null;
  /** xmp:MetadataDate (or ModifyDate) in ms, when present and valid. */
  date: number | null;
}

/** Reads rating, labels, picks and the metadata date; throws XmpError for what it refuses. */
export function readXmpDecisions(text: string, scanned?: XmpScan): XmpDecisions {
  const s = scanned ?? scan(text);
  if (!descriptions(s).length) throw new XmpError('Not read as XMP: it has no rdf:Description (not an XMP packet).');
  const first = (ns: string, local: string) => {
    for (const o of occurrences(s, ns, local)) {
      const v = valueOf(text, o);
      if (v !== null && v.trim() !== '') return v.trim();
    }
    return null;
  };
  const r = first(XMP_NS, 'Rating');
  const rn = r === null ? NaN : Number(r);
  const rating = Number.isInteger(rn) && rn >= -1 && rn <= 5 ? rn : null;
  let labelText = first(XMP_NS, 'Label');
  let label: Label | null = labelText && (LABELS as readonly string[]).includes(labelText.toLowerCase()) ? (labelText.toLowerCase() as Label) : null;
  const dk = first(DIGIKAM_NS, 'ColorLabel');
  if (!labelText && dk !== null) {
    labelText = `digiKam ColorLabel ${dk}`;
    label = (Object.entries(DIGIKAM_COLOR).find(([, v]) => String(v) === dk)?.[0] as Label | undefined) ?? null;
  }
  if (!labelText) {
    const li = s.elements.find((e) => e.local === 'li' && e.grandparent === `${DARKTABLE_NS} colorlabels` && e.textStart >= 0);
    if (li) {
      const v = Number(text.slice(li.textStart, li.textEnd).trim());
      labelText = `darktable colorlabels ${v}`;
      label = DARKTABLE_COLOR[v] ?? null;
    }
  }
  const pl = first(DIGIKAM_NS, 'PickLabel');
  const pick = pl === '3' ? 1 : pl === '1' ? -1 : null;
  const d = first(XMP_NS, 'MetadataDate') ?? first(XMP_NS, 'ModifyDate');
  const dt = d === null ? NaN : Date.parse(d);
  return { rating, label, labelText, pick, date: Number.isFinite(dt) ? dt : null };
}

/** Reads rating and label back as written (for tests): null when absent. */
export function readXmpCulling(xml: string): { rating: number | null; label: string | null } {
  const s = scan(xml);
  const one = (local: string) => {
    const o = occurrences(s, XMP_NS, local)[0];
    return o ? valueOf(xml, o) : null;
  };
  const r = one('Rating');
  return { rating: r === null ? null : Number(r), label: one('Label') };
}

interface Edit {
  at: number;
  end: number;
  text: string;
}

const PREFERRED: Record<string, string> = { [XMP_NS]: 'xmp', [DIGIKAM_NS]: 'digiKam', [PHOTOMECHANIC_NS]: 'photomechanic', [DC_NS]: 'dc' };

/** The fields a change writes, per target: [namespace, local name, value or null to remove]. */
function fieldsOf(c: XmpChange, target: XmpTarget): [string, string, string | null][] {
  const out: [string, string, string | null][] = [];
  if (c.rating !== undefined) out.push([XMP_NS, 'Rating', String(c.rating)]);
  if (c.label !== undefined) {
    out.push([XMP_NS, 'Label', xmpLabel(c.label)]);
    if (target === 'digikam') out.push([DIGIKAM_NS, 'ColorLabel', c.label ? String(DIGIKAM_COLOR[c.label]) : '0']);
    if (target === 'photomechanic') out.push([PHOTOMECHANIC_NS, 'ColorClass', c.label ? String(PM_COLOR[c.label]) : '0']);
  }
  if (target === 'digikam' && (c.pick !== undefined || c.rating !== undefined)) {
    // PickLabel: 0 none, 1 rejected, 3 accepted.
    const rejected = c.rating === -1;
    if (c.pick !== undefined || c.rating === -1) out.push([DIGIKAM_NS, 'PickLabel', rejected ? '1' : c.pick ? '3' : '0']);
  }
  return out;
}

/** A new XMP packet holding only the fields of `c` (plus the pick keyword when `keyword`). */
export function buildXmp(c: XmpChange | XmpCulling, target: XmpTarget = 'standard', keyword = false): string {
  const change = asChange(c);
  checkChange(change);
  const empty = [
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>',
    '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Cull">',
    ` <rdf:RDF xmlns:rdf="${RDF_NS}">`,
    `  <rdf:Description rdf:about=""/>`,
    ' </rdf:RDF>',
    '</x:xmpmeta>',
    '<?xpacket end="w"?>',
    '',
  ].join('\n');
  return mergeXmp(empty, change, target, keyword);
}

/**
 * Sets the fields of `c` in an existing XMP document and changes nothing else: each value is
 * replaced where it is (attribute or element, under whatever prefix), a missing one is added as an
 * attribute of the first rdf:Description, a label set to none is removed. With `keyword`, a pick
 * (c.pick) gets PICK_KEYWORD in dc:subject. Throws XmpError (nothing changed) for what it refuses.
 */
export function mergeXmp(
  existing: string,
  c: XmpChange | XmpCulling,
  target: XmpTarget = 'standard',
  keyword = false,
  scanned?: XmpScan,
): string {
  const change = asChange(c);
  checkChange(change);
  const s = scanned ?? scan(existing);
  const descs = descriptions(s);
  if (!descs.length) throw new XmpError('Not changed: it has no rdf:Description (not an XMP packet).');
  const host = descs[0];
  const edits: Edit[] = [];
  const added: string[] = [];
  const declared = new Map<string, string>(); // ns → prefix declared by this merge
  const prefixFor = (ns: string): string => {
    const bound = Object.entries(s.prefixes).find(([p, v]) => v === ns && p);
    if (bound) return bound[0];
    if (declared.has(ns)) return declared.get(ns)!;
    let p = PREFERRED[ns] ?? 'ns';
    for (let k = 2; p in s.prefixes || [...declared.values()].includes(p); k++) p = `${PREFERRED[ns] ?? 'ns'}${k}`;
    declared.set(ns, p);
    return p;
  };
  for (const [ns, local, value] of fieldsOf(change, target)) {
    const found = occurrences(s, ns, local);
    if (value === null) {
      for (const o of found) {
        if (o.attr) edits.push({ at: o.attr.start, end: o.attr.end, text: '' });
        else if (o.el) edits.push({ at: o.el.wsBefore, end: o.el.end, text: '' });
      }
    } else if (found.length) {
      for (const o of found) {
        if (o.attr) edits.push({ at: o.attr.valueStart, end: o.attr.valueEnd, text: value });
        else if (o.el && o.el.textStart >= 0) edits.push({ at: o.el.textStart, end: o.el.textEnd, text: value });
        else if (o.el) edits.push({ at: o.el.start, end: o.el.end, text: `<${o.el.name}>${value}</${o.el.name}>` });
      }
    } else {
      added.push(` ${prefixFor(ns)}:${local}="${value}"`);
    }
  }
  let inner = '';
  if (keyword && change.pick) {
    const subject = occurrences(s, DC_NS, 'subject').find((o) => o.el)?.el;
    const bag = subject && s.elements.find((e) => e.ns === RDF_NS && e.local === 'Bag' && e.start > subject.start && e.end <= subject.end);
    const items = bag ? s.elements.filter((e) => e.local === 'li' && e.start > bag.start && e.end <= bag.end) : [];
    const has = items.some((li) => li.textStart >= 0 && unescapeXml(existing.slice(li.textStart, li.textEnd)).trim() === PICK_KEYWORD);
    if (bag && !has) {
      const rdf = bag.name.slice(0, bag.name.indexOf(':'));
      const item = `<${rdf}:li>${PICK_KEYWORD}</${rdf}:li>`;
      if (bag.selfClosing) edits.push({ at: bag.start, end: bag.end, text: `<${bag.name}>${item}</${bag.name}>` });
      else {
        const close = existing.lastIndexOf('</', bag.end);
        edits.push({ at: close, end: close, text: item });
      }
    } else if (!subject) {
      const rdf = host.name.slice(0, host.name.indexOf(':'));
      const dc = prefixFor(DC_NS);
      inner = `<${dc}:subject><${rdf}:Bag><${rdf}:li>${PICK_KEYWORD}</${rdf}:li></${rdf}:Bag></${dc}:subject>`;
    }
  }
  const decls = [...declared].map(([ns, p]) => ` xmlns:${p}="${ns}"`).join('');
  if (decls || added.length || inner) {
    const attrs = decls + added.join('');
    if (!inner) edits.push({ at: host.insertAt, end: host.insertAt, text: attrs });
    else if (host.selfClosing) edits.push({ at: host.insertAt, end: host.openEnd, text: `${attrs}>${inner}</${host.name}>` });
    else edits.push({ at: host.insertAt, end: host.openEnd, text: `${attrs}>${inner}` });
  }
  edits.sort((a, b) => b.at - a.at || b.end - a.end);
  let out = existing;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.end);
  return out;
}

// ---- XMP embedded in photos -----------------------------------------------------------------

/**
 * The XMP packet embedded in a photo's bytes (JPEG APP1, TIFF/DNG tag 700, PNG iTXt, HEIF/AVIF
 * item, RAW containers: all store it as plain UTF-8 between "<?xpacket begin" and "<?xpacket end",
 * or at least as an x:xmpmeta element), or null. Compressed PNG iTXt chunks are not read.
 */
export function embeddedXmp(content: Buffer): string | null {
  let start = content.indexOf('<?xpacket begin');
  let end = -1;
  if (start >= 0) {
    const e = content.indexOf('<?xpacket end', start);
    if (e >= 0) end = content.indexOf('?>', e) + 2;
  }
  if (start < 0 || end < 2) {
    start = content.indexOf('<x:xmpmeta');
    const e = start >= 0 ? content.indexOf('</x:xmpmeta>', start) : -1;
    if (e < 0) return null;
    end = e + '</x:xmpmeta>'.length;
  }
  if (end - start > XMP_LIMITS.maxBytes) return null;
  return content.toString('utf8', start, end);
}

const JPEG_XMP_HEADER = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1');

/**
 * A JPEG's bytes without its XMP APP1 segments (null when it is not a JPEG whose markers can be
 * followed): two files equal this way are the same photo with other decisions in their XMP.
 */
export function withoutXmpApp1(jpeg: Buffer): Buffer | null {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return null;
  const parts: Buffer[] = [];
  let from = 0;
  let pos = 2;
  while (pos + 4 <= jpeg.length) {
    if (jpeg[pos] !== 0xff) return null;
    const marker = jpeg[pos + 1];
    if (marker === 0xff) {
      pos++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break;
    const end = pos + 2 + jpeg.readUInt16BE(pos + 2);
    if (end > jpeg.length) return null;
    if (marker === 0xe1 && jpeg.subarray(pos + 4, pos + 4 + JPEG_XMP_HEADER.length).equals(JPEG_XMP_HEADER)) {
      parts.push(jpeg.subarray(from, pos));
      from = end;
    }
    pos = end;
  }
  parts.push(jpeg.subarray(from));
  return Buffer.concat(parts);
}

/**
 * A JPEG with `change` in its XMP, without re-encoding: the existing XMP APP1 segment is merged and
 * replaced, or a new one is inserted after the leading APP0/APP1 (JFIF, EXIF) segments. Every other
 * byte (entropy-coded data included) is copied as it is. Throws XmpError when the packet would
 * exceed one APP1 segment (65,533 bytes) or the JPEG's markers cannot be followed.
 */
export function jpegWithXmp(jpeg: Buffer, change: XmpChange, target: XmpTarget = 'standard'): Buffer {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new XmpError('Not a JPEG (no SOI marker).');
  let pos = 2;
  let insertAt = 2;
  let existing: { start: number; end: number; packet: string } | null = null;
  while (pos + 4 <= jpeg.length) {
    if (jpeg[pos] !== 0xff) throw new XmpError(`Not a JPEG segment at byte ${pos}.`);
    const marker = jpeg[pos + 1];
    if (marker === 0xff) {
      pos++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // start of scan: image data follows
    const len = jpeg.readUInt16BE(pos + 2);
    const end = pos + 2 + len;
    if (len < 2 || end > jpeg.length) throw new XmpError(`A JPEG segment runs past the end of the file at byte ${pos}.`);
    if (marker === 0xe1 && jpeg.subarray(pos + 4, pos + 4 + JPEG_XMP_HEADER.length).equals(JPEG_XMP_HEADER) && !existing) {
      existing = { start: pos, end, packet: jpeg.toString('utf8', pos + 4 + JPEG_XMP_HEADER.length, end) };
    }
    if (marker === 0xe0 || marker === 0xe1) insertAt = end;
    pos = end;
  }
  const packet = existing ? mergeXmp(existing.packet, change, target, true) : buildXmp(change, target, true);
  const body = Buffer.concat([JPEG_XMP_HEADER, Buffer.from(packet, 'utf8')]);
  if (body.length + 2 > 0xffff) throw new XmpError('The XMP packet would not fit in one JPEG APP1 segment (64 KB).');
  const seg = Buffer.alloc(4 + body.length);
  seg[0] = 0xff;
  seg[1] = 0xe1;
  seg.writeUInt16BE(body.length + 2, 2);
  body.copy(seg, 4);
  if (existing) return Buffer.concat([jpeg.subarray(0, existing.start), seg, jpeg.subarray(existing.end)]);
  return Buffer.concat([jpeg.subarray(0, insertAt), seg, jpeg.subarray(insertAt)]);
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

/**
 * Writes `c` into the sidecar of `photoPath`: merged into an existing one (only the fields of `c`),
 * or a new one holding just them. Returns the sidecar's path, or null when `c` has no field and no
 * sidecar was written. A refused existing sidecar (XmpError, naming it) is left untouched.
 */
export async function writeXmpSidecar(
  photoPath: string,
  c: XmpChange | XmpCulling,
  dirEntries?: readonly string[],
  target: XmpTarget = 'standard',
): Promise<string | null> {
  const change = asChange(c);
  const file = sidecarPath(photoPath, dirEntries);
  let existing: Buffer | null = null;
  let mode: number | undefined;
  try {
    const st = await fs.promises.stat(fsPath(file));
    if (st.size > XMP_LIMITS.maxBytes) throw new XmpError(`${file}: not changed: it is larger than ${XMP_LIMITS.maxBytes / 1048576} MB (the largest XMP sidecar Cull reads).`);
    existing = await fs.promises.readFile(fsPath(file));
    mode = st.mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (!fieldsOf(change, target).length) return null;
  let content: string;
  try {
    const text = existing ? decodeXmpBytes(existing) : '';
    content = existing && text.trim() ? await mergeXmpOffThread(text, change, target) : buildXmp(change, target);
    if (existing && content === text) return file; // nothing to change: the file is not rewritten
  } catch (err) {
    if (err instanceof XmpError) throw new XmpError(`${file}: ${err.message} The sidecar was left untouched.`);
    throw err;
  }
  await writeFileAtomic(file, content, mode);
  return file;
}
