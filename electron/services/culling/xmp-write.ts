// Writing the photographer's decisions as XMP without disturbing anything else: a new packet, a merge
// into an existing sidecar or packet, a JPEG copy carrying its packet, and the sidecar file itself.
//
// Existing sidecars are merged, never replaced, by editing only the characters of the fields Cull
// changed (xmp-scan.ts finds them): every other property, namespace, keyword, develop setting,
// comment, whitespace, BOM and line ending stays byte-identical. Only fields Cull changed since its
// last write are written (XmpChange: an absent field is not touched), so a rating or label another
// application gave is never overwritten by a value Cull did not set. Rejects are xmp:Rating="-1"
// (Lightroom, Bridge, darktable, Capture One); per-target extras (digiKam's ColorLabel/PickLabel,
// Photo Mechanic's ColorClass) are written with `target`. What xmp.ts refuses to read is left
// untouched. Writes are atomic (safe-write.ts); the photo itself is never opened for writing.
import fs from 'node:fs';
import type { XmpScan } from './xmp-scan.ts';
import { fsPath } from '../indexing/walk.ts';
import { writeFileAtomic } from './safe-write.ts';
import {
  asChange,
  checkChange,
  DC_NS,
  decodeXmpBytes,
  descriptions,
  isJpeg,
  isXmpApp1,
  JPEG_XMP_HEADER,
  jpegHeaderSegments,
  DIGIKAM_COLOR,
  DIGIKAM_NS,
  occurrences,
  PHOTOMECHANIC_NS,
  PICK_KEYWORD,
  PM_COLOR,
  RDF_NS,
  scan,
  scanAsync,
  sidecarPath,
  unescapeXml,
  XMP_LIMITS,
  XMP_NS,
  XmpError,
  xmpLabel,
  type XmpChange,
  type XmpCulling,
  type XmpTarget,
} from './xmp.ts';

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

async function mergeXmpOffThread(text: string, change: XmpChange, target: XmpTarget): Promise<string> {
  return mergeXmp(text, change, target, false, await scanAsync(text));
}

/**
 * A JPEG's bytes without its XMP APP1 segments (null when it is not a JPEG whose markers can be
 * followed): two files equal this way are the same photo with other decisions in their XMP.
 */
export function withoutXmpApp1(jpeg: Buffer): Buffer | null {
  if (!isJpeg(jpeg)) return null;
  const { segments, broken } = jpegHeaderSegments(jpeg);
  if (broken) return null;
  const parts: Buffer[] = [];
  let from = 0;
  for (const seg of segments.filter((s) => isXmpApp1(jpeg, s))) {
    parts.push(jpeg.subarray(from, seg.start));
    from = seg.end;
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
  if (!isJpeg(jpeg)) throw new XmpError('Not a JPEG (no SOI marker).');
  const { segments, broken } = jpegHeaderSegments(jpeg);
  if (broken) throw new XmpError(broken);
  let insertAt = 2;
  let existing: { start: number; end: number; packet: string } | null = null;
  for (const seg of segments) {
    if (!existing && isXmpApp1(jpeg, seg)) {
      existing = { start: seg.start, end: seg.end, packet: jpeg.toString('utf8', seg.start + 4 + JPEG_XMP_HEADER.length, seg.end) };
    }
    if (seg.marker === 0xe0 || seg.marker === 0xe1) insertAt = seg.end;
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
