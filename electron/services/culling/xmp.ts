// XMP: what Cull shares with Lightroom, Bridge, darktable, digiKam and Photo Mechanic — the namespaces
// and per-application conventions, the sidecar's name, and reading: the decisions another application
// wrote (rating, label, pick, date) in a sidecar or a packet embedded in a photo. Writing and merging
// are xmp-write.ts; the bounded scanner xmp-scan.ts (large packets off the main thread: xmp-worker.ts).
//
// Sidecar name: Lightroom's convention, same base name with ".xmp" (IMG_0001.CR2 → IMG_0001.xmp).
// RAW+JPEG pairs (IMG_0001.CR2 + IMG_0001.JPG) would share that name; then the RAW keeps
// IMG_0001.xmp (the file Lightroom reads for it) and the other file gets its full name plus ".xmp"
// (IMG_0001.JPG.xmp, the darktable/digiKam convention), so two photos never overwrite one sidecar.
// An existing full-name sidecar (written by darktable) is updated rather than shadowed.
//
// Refused (reported by path, the file left untouched): a packet over XMP_LIMITS.maxBytes, nested
// deeper than maxDepth, with a DOCTYPE, not UTF-8, or not well-formed.
import path from 'node:path';
import { LABELS, type Flag, type Label } from '../../../common/types.ts';
import { UserError } from '../../../common/errors.ts';
import { safeReaddir } from './safe-write.ts';
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
export const DIGIKAM_COLOR: Record<Label, number> = { red: 1, yellow: 3, green: 4, blue: 5, purple: 6 };
/** Photo Mechanic's default colour classes (photomechanic:ColorClass) in the order of its colours. */
export const PM_COLOR: Record<Label, number> = { red: 1, yellow: 2, green: 3, blue: 4, purple: 5 };
/** darktable's colour labels (darktable:colorlabels, a Seq): 0 red, 1 yellow, 2 green, 3 blue, 4 purple. */
export const DARKTABLE_COLOR: Label[] = ['red', 'yellow', 'green', 'blue', 'purple'];

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

export function checkChange(c: XmpChange): void {
  if (c.rating !== undefined && !(Number.isInteger(c.rating) && c.rating >= -1 && c.rating <= 5)) throw new Error(`Invalid rating ${c.rating}.`);
  if (c.label !== undefined && c.label !== null && !(LABELS as readonly string[]).includes(c.label)) throw new Error(`Invalid label ${c.label}.`);
}

const isCulling = (c: XmpChange | XmpCulling): c is XmpCulling => 'flag' in c;
export const asChange = (c: XmpChange | XmpCulling): XmpChange => (isCulling(c) ? fullChange(c) : c);

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
export function occurrences(s: XmpScan, ns: string, local: string): { el?: XmpElement; attr?: XmpAttr }[] {
  const out: { el?: XmpElement; attr?: XmpAttr }[] = [];
  for (const e of s.elements) {
    if (e.ns === RDF_NS && e.local === 'Description') {
      for (const a of e.attrs) if (a.ns === ns && a.local === local) out.push({ attr: a });
    } else if (e.ns === ns && e.local === local && e.parent === RDF_DESC) out.push({ el: e });
  }
  return out;
}

export function descriptions(s: XmpScan): XmpElement[] {
  return s.elements.filter((e) => e.ns === RDF_NS && e.local === 'Description' && e.parent === `${RDF_NS} RDF`);
}

function valueOf(text: string, o: { el?: XmpElement; attr?: { valueStart: number; valueEnd: number } }): string | null {
  if (o.attr) return unescapeXml(text.slice(o.attr.valueStart, o.attr.valueEnd));
  if (o.el && o.el.textStart >= 0) return unescapeXml(text.slice(o.el.textStart, o.el.textEnd));
  return null;
}

export function unescapeXml(s: string): string {
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

// ---- XMP embedded in photos -----------------------------------------------------------------

/** What opens a JPEG APP1 segment holding the (standard) XMP packet (XMP specification part 3, 1.1.3). */
export const JPEG_XMP_HEADER = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1');

/** One marker segment of a JPEG's header: its marker (0xe1 = APP1) and bytes (marker and length included). */
export interface JpegSegment {
  marker: number;
  start: number;
  end: number;
}

/**
 * The marker segments of a JPEG before its image data (the first SOS, or EOI), in order; `broken`
 * says where the markers could not be followed (the segments before it are still listed). Only the
 * header is walked — segment lengths jump over the content — never the entropy-coded data.
 */
export function jpegHeaderSegments(jpeg: Buffer): { segments: JpegSegment[]; broken: string | null } {
  const segments: JpegSegment[] = [];
  let pos = 2;
  while (pos + 4 <= jpeg.length) {
    if (jpeg[pos] !== 0xff) return { segments, broken: `Not a JPEG segment at byte ${pos}.` };
    const marker = jpeg[pos + 1];
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // start of scan: image data follows
    const len = jpeg.readUInt16BE(pos + 2);
    const end = pos + 2 + len;
    if (len < 2 || end > jpeg.length) return { segments, broken: `A JPEG segment runs past the end of the file at byte ${pos}.` };
    segments.push({ marker, start: pos, end });
    pos = end;
  }
  return { segments, broken: null };
}

export const isJpeg = (b: Buffer): boolean => b.length >= 2 && b[0] === 0xff && b[1] === 0xd8;

/** Whether a segment is the XMP APP1 segment (its packet follows JPEG_XMP_HEADER). */
export const isXmpApp1 = (jpeg: Buffer, s: JpegSegment): boolean =>
  s.marker === 0xe1 && jpeg.subarray(s.start + 4, s.start + 4 + JPEG_XMP_HEADER.length).equals(JPEG_XMP_HEADER);

/**
 * The XMP packet embedded in a photo's bytes, or null. A JPEG's is its XMP APP1 segment (the only
 * place the XMP specification, part 3, puts it), found by walking the header's markers: no search
 * through the megabytes of image data that follow. Other formats (TIFF/DNG tag 700, PNG iTXt,
 * HEIF/AVIF item, RAW containers) may hold it anywhere, as plain UTF-8 between "<?xpacket begin" and
 * "<?xpacket end", or at least as an x:xmpmeta element: there the bytes are searched once, for the
 * RDF namespace every XMP packet declares, and the packet's start is looked for back from it (a
 * photo without XMP, the usual case, costs one pass instead of two). Compressed PNG iTXt chunks are
 * not read.
 */
export function embeddedXmp(content: Buffer): string | null {
  if (isJpeg(content)) {
    const seg = jpegHeaderSegments(content).segments.find((s) => isXmpApp1(content, s));
    if (!seg) return null;
    const body = content.subarray(seg.start + 4 + JPEG_XMP_HEADER.length, seg.end);
    return packetAt(body, body.indexOf(XPACKET_BEGIN), body.indexOf(XMPMETA));
  }
  const rdf = content.indexOf(RDF_NS);
  if (rdf < 0) return null;
  return packetAt(content, content.lastIndexOf(XPACKET_BEGIN, rdf), content.lastIndexOf(XMPMETA, rdf));
}

const XPACKET_BEGIN = '<?xpacket begin';
const XMPMETA = '<x:xmpmeta';

/** The packet starting at `xpacket` (its "<?xpacket begin") or else at `xmpmeta` (its x:xmpmeta element); -1: none there. */
function packetAt(content: Buffer, xpacket: number, xmpmeta: number): string | null {
  let start = -1;
  let end = -1;
  if (xpacket >= 0) {
    const e = content.indexOf('<?xpacket end', xpacket);
    if (e >= 0) [start, end] = [xpacket, content.indexOf('?>', e) + 2];
  }
  if (start < 0 || end < 2) {
    const e = xmpmeta >= 0 ? content.indexOf('</x:xmpmeta>', xmpmeta) : -1;
    if (e < 0) return null;
    [start, end] = [xmpmeta, e + '</x:xmpmeta>'.length];
  }
  if (end - start > XMP_LIMITS.maxBytes) return null;
  return content.toString('utf8', start, end);
}
