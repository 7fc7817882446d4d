// A bounded, single-pass scanner for XMP packets (sidecars and packets embedded in photos).
//
// Why not a general XML parser: Cull only needs a handful of properties (rating, labels, pick
// labels, dates) and the exact character ranges where they are written, so a write can change those
// bytes and nothing else (every other property, namespace, keyword, develop setting, comment,
// whitespace and line ending stays byte-identical). The scanner is iterative (no recursion, so deep
// nesting cannot overflow a stack), linear in the input, and only keeps records for the properties
// it looks for, so memory stays bounded whatever the file holds. It refuses, with a reason:
// documents larger than the size limit, nesting deeper than the depth limit, any DOCTYPE (entity
// declarations are how "billion laughs" expansion works; XMP has no use for them: such a sidecar is
// read for nothing and left untouched), and markup that is not well-formed where it scans.
//
// `scanXmp` must stay self-contained (no imports, no module-level values): it is also run inside a
// worker_threads worker from its own source text (xmp-worker.ts) for large sidecars.

export interface XmpAttr {
  /** Qualified name as written (prefix:local). */
  name: string;
  ns: string | null;
  local: string;
  /** [start, end) of the value between the quotes. */
  valueStart: number;
  valueEnd: number;
  /** [start, end) of the whole attribute including the whitespace before it. */
  start: number;
  end: number;
}

export interface XmpElement {
  name: string;
  ns: string | null;
  local: string;
  /** Offset of '<'. */
  start: number;
  /** Offset just after the start tag's '>'. */
  openEnd: number;
  /** Offset of '/>' or '>' ending the start tag (where new attributes go). */
  insertAt: number;
  selfClosing: boolean;
  /** For elements holding only text: [start, end) of that text; else -1. */
  textStart: number;
  textEnd: number;
  /** Offset just after the end tag (openEnd for self-closing elements). */
  end: number;
  /** Resolved name of the parent and grandparent elements ("ns local"), for rdf:li lookups. */
  parent: string | null;
  grandparent: string | null;
  attrs: XmpAttr[];
  /** Whitespace just before this element (for removing it cleanly), start offset. */
  wsBefore: number;
}

export interface XmpScan {
  /** rdf:Description elements and the properties Cull reads or writes (see `interesting`). */
  elements: XmpElement[];
  /** Prefix → namespace of every declaration seen (first binding wins), for choosing prefixes. */
  prefixes: Record<string, string>;
}

export interface XmpLimits {
  maxBytes: number;
  maxDepth: number;
  /** Recorded properties at most (ratings, labels, keywords): bounds memory whatever the input. */
  maxRecords: number;
}

/** Local names whose elements and attributes the scan records (other names cost nothing). */
export function scanXmp(text: string, limits: XmpLimits, interesting: string[]): XmpScan {
  const RDF = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#';
  const fail = (msg: string): never => {
    throw Object.assign(new Error(msg), { xmpRefused: true });
  };
  if (text.length > limits.maxBytes) {
    fail(`it is larger than ${Math.round(limits.maxBytes / 1048576)} MB (the largest XMP packet Cull reads)`);
  }
  const wanted = new Set(interesting);
  wanted.add('Description');
  const n = text.length;
  const elements: XmpElement[] = [];
  const prefixes: Record<string, string> = {};
  // The open-element stack: names, namespace scopes, and the record (if any) for each level.
  const names: string[] = [];
  const scopes: (Record<string, string> | null)[] = [];
  const records: (XmpElement | null)[] = [];
  const childSeen: boolean[] = [];
  const resolve = (prefix: string, own: Record<string, string> | null): string | null => {
    if (own && prefix in own) return own[prefix];
    for (let d = scopes.length - 1; d >= 0; d--) {
      const s = scopes[d];
      if (s && prefix in s) return s[prefix];
    }
    if (prefix === 'xml') return 'http://www.w3.org/XML/1998/namespace';
    return null;
  };
  const split = (q: string): [string, string] => {
    const c = q.indexOf(':');
    return c < 0 ? ['', q] : [q.slice(0, c), q.slice(c + 1)];
  };
  const isWs = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
  const nameEnd = (from: number): number => {
    let j = from;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (isWs(c) || c === 62 || c === 47 || c === 61) break; // > / =
      if (c === 60) fail(`malformed markup at character ${j}`);
      j++;
    }
    return j;
  };
  const line = (pos: number) => {
    let l = 1;
    for (let k = text.indexOf('\n'); k >= 0 && k < pos; k = text.indexOf('\n', k + 1)) l++;
    return l;
  };
  let i = 0;
  let sawRoot = false;
  while (i < n) {
    const lt = text.indexOf('<', i);
    if (lt < 0) break;
    // Text before a tag: an element with no child elements keeps [textStart, textEnd).
    i = lt;
    if (text.startsWith('<!--', i)) {
      const e = text.indexOf('-->', i + 4);
      if (e < 0) fail(`unterminated comment at line ${line(i)}`);
      i = e + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      const e = text.indexOf(']]>', i + 9);
      if (e < 0) fail(`unterminated CDATA section at line ${line(i)}`);
      if (childSeen.length) childSeen[childSeen.length - 1] = true;
      i = e + 3;
      continue;
    }
    if (text.startsWith('<?', i)) {
      const e = text.indexOf('?>', i + 2);
      if (e < 0) fail(`unterminated processing instruction at line ${line(i)}`);
      i = e + 2;
      continue;
    }
    if (text.startsWith('<!', i)) {
      const kind = /^<!(DOCTYPE|ENTITY)/i.test(text.slice(i, i + 10)) ? 'a DOCTYPE (entity declarations)' : 'a markup declaration';
      fail(`it contains ${kind} at line ${line(i)}, which XMP never uses; it is not read and never rewritten`);
    }
    if (text.charCodeAt(i + 1) === 47) {
      // End tag.
      const ne = nameEnd(i + 2);
      const name = text.slice(i + 2, ne);
      const gt = text.indexOf('>', ne);
      if (gt < 0) fail(`unterminated end tag at line ${line(i)}`);
      const top = names.pop();
      if (top !== name) fail(`</${name}> at line ${line(i)} does not close <${top ?? ''}>`);
      scopes.pop();
      const rec = records.pop();
      const hadChild = childSeen.pop();
      if (rec) {
        if (!hadChild) {
          rec.textStart = rec.openEnd;
          rec.textEnd = i;
        }
        rec.end = gt + 1;
      }
      i = gt + 1;
      continue;
    }
    // Start tag.
    if (names.length >= limits.maxDepth) fail(`its elements nest deeper than ${limits.maxDepth} levels (line ${line(i)})`);
    if (!names.length && sawRoot) fail(`more than one root element (line ${line(i)})`);
    const ne = nameEnd(i + 1);
    const name = text.slice(i + 1, ne);
    if (!name) fail(`malformed markup at line ${line(i)}`);
    const rawAttrs: { name: string; vs: number; ve: number; s: number; e: number }[] = [];
    let own: Record<string, string> | null = null;
    let j = ne;
    let selfClosing = false;
    let insertAt = -1;
    for (;;) {
      const ws = j;
      while (j < n && isWs(text.charCodeAt(j))) j++;
      if (j >= n) fail(`unterminated start tag <${name}> at line ${line(i)}`);
      const c = text.charCodeAt(j);
      if (c === 62) {
        insertAt = ws;
        j++;
        break;
      }
      if (c === 47 && text.charCodeAt(j + 1) === 62) {
        insertAt = ws;
        selfClosing = true;
        j += 2;
        break;
      }
      if (ws === j) fail(`malformed start tag <${name}> at line ${line(i)}`);
      const ae = nameEnd(j);
      const an = text.slice(j, ae);
      let k = ae;
      while (k < n && isWs(text.charCodeAt(k))) k++;
      if (!an || text.charCodeAt(k) !== 61) fail(`malformed attribute in <${name}> at line ${line(i)}`);
      k++;
      while (k < n && isWs(text.charCodeAt(k))) k++;
      const q = text.charCodeAt(k);
      if (q !== 34 && q !== 39) fail(`unquoted attribute value in <${name}> at line ${line(i)}`);
      const ve = text.indexOf(q === 34 ? '"' : "'", k + 1);
      if (ve < 0) fail(`unterminated attribute value in <${name}> at line ${line(i)}`);
      const lt2 = text.indexOf('<', k + 1);
      if (lt2 >= 0 && lt2 < ve) fail(`"<" inside an attribute value in <${name}> at line ${line(i)}`);
      if (an === 'xmlns' || an.startsWith('xmlns:')) {
        own ??= {};
        const p = an === 'xmlns' ? '' : an.slice(6);
        const v = text.slice(k + 1, ve);
        own[p] = v;
        if (!(p in prefixes)) prefixes[p] = v;
      } else {
        rawAttrs.push({ name: an, vs: k + 1, ve, s: ws, e: ve + 1 });
      }
      j = ve + 1;
    }
    if (childSeen.length) childSeen[childSeen.length - 1] = true;
    const [prefix, local] = split(name);
    let rec: XmpElement | null = null;
    const wantAttrs = rawAttrs.some((a) => wanted.has(split(a.name)[1]));
    // rdf:li (and rdf:Bag/Seq) only below a property Cull reads (keywords, darktable's colour labels).
    const up = (d: number) => (names.length >= d ? split(names[names.length - d])[1] : '');
    const listItem = local === 'li' || local === 'Bag' || local === 'Seq' || local === 'Alt';
    const keep = listItem ? wanted.has(up(local === 'li' ? 2 : 1)) : wanted.has(local) || wantAttrs;
    if (keep) {
      const ns = resolve(prefix, own);
      const parentName = names.length ? names[names.length - 1] : null;
      const pn = parentName === null ? null : split(parentName);
      const parent = pn ? `${resolve(pn[0], null)} ${pn[1]}` : null;
      const gpName = names.length >= 2 ? split(names[names.length - 2]) : null;
      let grandparent: string | null = null;
      if (gpName) {
        // Resolve the grandparent's prefix in its own scope (the two innermost scopes do not apply).
        const saved = scopes.splice(scopes.length - 1, 1);
        grandparent = `${resolve(gpName[0], null)} ${gpName[1]}`;
        scopes.push(...saved);
      }
      let wsBefore = i;
      while (wsBefore > 0 && isWs(text.charCodeAt(wsBefore - 1))) wsBefore--;
      rec = {
        name,
        ns,
        local,
        start: i,
        openEnd: j,
        insertAt,
        selfClosing,
        textStart: -1,
        textEnd: -1,
        end: selfClosing ? j : -1,
        parent,
        grandparent,
        attrs: rawAttrs
          .filter((a) => wanted.has(split(a.name)[1]))
          .map((a) => {
            const [ap, al] = split(a.name);
            return { name: a.name, ns: ap ? resolve(ap, own) : null, local: al, valueStart: a.vs, valueEnd: a.ve, start: a.s, end: a.e };
          }),
        wsBefore,
      };
      if (local === 'Description' && ns !== RDF) rec = null;
      if (rec) {
        if (elements.length >= limits.maxRecords) fail(`it holds more than ${limits.maxRecords} rating, label or keyword entries`);
        elements.push(rec);
      }
    }
    sawRoot = true;
    if (!selfClosing) {
      names.push(name);
      scopes.push(own);
      records.push(rec);
      childSeen.push(false);
    }
    i = j;
  }
  if (names.length) fail(`<${names[names.length - 1]}> is never closed`);
  if (!sawRoot) fail('it holds no XML element');
  return { elements, prefixes };
}
