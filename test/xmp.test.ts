import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readXmpCulling, sidecarPath } from '../electron/services/culling/xmp.ts';
import { buildXmp, mergeXmp, writeXmpSidecar } from '../electron/services/culling/xmp-write.ts';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-xmp-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function photo(name: string, bytes = crypto.randomBytes(2048)): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  const t = new Date('2020-05-06T07:08:09Z');
  fs.utimesSync(file, t, t);
  return file;
}

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** A Lightroom-style sidecar: develop settings as attributes, keywords as a bag, rating as an attribute. */
const LIGHTROOM = `<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        ">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
   xmp:Rating="2"
   xmp:Label="Blue"
   crs:Exposure2012="+0.35"
   crs:Contrast2012="-12"
   crs:Name="a &amp; b">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>beach</rdf:li>
     <rdf:li>sunset &amp; sea</rdf:li>
    </rdf:Bag>
   </dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
`;

/** Same properties, written as child elements and with another prefix for the XMP namespace. */
const ELEMENTS = `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xap="http://ns.adobe.com/xap/1.0/" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/">
   <xap:Rating>4</xap:Rating>
   <xap:Label>Green</xap:Label>
   <crs:Exposure2012>-1.00</crs:Exposure2012>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:subject><rdf:Bag><rdf:li>kept</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>`;

function parse(xml: string) {
  return new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(xml);
}

describe('sidecar naming', () => {
  it('uses the Lightroom name, and the full name when a sibling shares the base name', () => {
    const cr2 = photo('IMG_0001.CR2');
    expect(sidecarPath(cr2)).toBe(path.join(dir, 'IMG_0001.xmp'));
    const jpg = photo('IMG_0001.JPG');
    // RAW + JPEG: the RAW keeps IMG_0001.xmp, the JPEG gets IMG_0001.JPG.xmp.
    expect(sidecarPath(cr2)).toBe(path.join(dir, 'IMG_0001.xmp'));
    expect(sidecarPath(jpg)).toBe(path.join(dir, 'IMG_0001.JPG.xmp'));
    // Two non-RAW files with one base name: both use full names.
    const a = photo('scan.png');
    photo('scan.tif');
    expect(sidecarPath(a)).toBe(path.join(dir, 'scan.png.xmp'));
    // An existing darktable-style sidecar is reused.
    const b = photo('DSC_1.NEF');
    fs.writeFileSync(path.join(dir, 'DSC_1.NEF.xmp'), buildXmp({ rating: 1, flag: 0, label: null }));
    expect(sidecarPath(b)).toBe(path.join(dir, 'DSC_1.NEF.xmp'));
  });
});

describe('new sidecars', () => {
  it('hold xmp:Rating and xmp:Label and parse as XMP', async () => {
    const file = photo('IMG_0002.jpg');
    const before = { sha: sha(file), mtime: fs.statSync(file).mtimeMs };
    const sidecar = await writeXmpSidecar(file, { rating: 4, flag: 1, label: 'purple' });
    expect(sidecar).toBe(path.join(dir, 'IMG_0002.xmp'));
    const xml = fs.readFileSync(sidecar!, 'utf8');
    const desc = parse(xml)['x:xmpmeta']['rdf:RDF']['rdf:Description'];
    expect(desc['@_xmp:Rating']).toBe('4');
    expect(desc['@_xmp:Label']).toBe('Purple');
    expect(desc['@_xmlns:xmp']).toBe('http://ns.adobe.com/xap/1.0/');
    expect(readXmpCulling(xml)).toEqual({ rating: 4, label: 'Purple' });
    // The photo is untouched and no temp file is left.
    expect(sha(file)).toBe(before.sha);
    expect(fs.statSync(file).mtimeMs).toBe(before.mtime);
    expect(fs.readdirSync(dir).sort()).toEqual(['IMG_0002.jpg', 'IMG_0002.xmp']);
  });

  it('writes -1 for rejects and no label when there is none', () => {
    const xml = buildXmp({ rating: 3, flag: -1, label: null });
    expect(readXmpCulling(xml)).toEqual({ rating: -1, label: null });
    expect(() => buildXmp({ rating: 6, flag: 0, label: null })).toThrow(/rating/);
  });
});

describe('merging into existing sidecars', () => {
  it('keeps develop settings and keywords, replaces rating/label attributes', async () => {
    const file = photo('IMG_0003.CR2');
    const side = path.join(dir, 'IMG_0003.xmp');
    fs.writeFileSync(side, LIGHTROOM);
    const before = { sha: sha(file), mtime: fs.statSync(file).mtimeMs };
    await writeXmpSidecar(file, { rating: 5, flag: 0, label: 'red' });
    const xml = fs.readFileSync(side, 'utf8');
    const desc = parse(xml)['x:xmpmeta']['rdf:RDF']['rdf:Description'];
    expect(desc['@_crs:Exposure2012']).toBe('+0.35');
    expect(desc['@_crs:Contrast2012']).toBe('-12');
    expect(desc['@_xmlns:crs']).toBe('http://ns.adobe.com/camera-raw-settings/1.0/');
    expect(desc['dc:subject']['rdf:Bag']['rdf:li']).toEqual(['beach', 'sunset & sea']);
    expect(desc['@_xmp:Rating']).toBe('5');
    expect(desc['@_xmp:Label']).toBe('Red');
    // Entities and the toolkit string survive byte-for-byte; the old values are gone.
    expect(xml).toContain('crs:Name="a &amp; b"');
    expect(xml).toContain('<rdf:li>sunset &amp; sea</rdf:li>');
    expect(xml).toContain('x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        "');
    expect(xml).not.toContain('Blue');
    expect(xml.match(/Rating/g)).toHaveLength(1);
    expect(sha(file)).toBe(before.sha);
    expect(fs.statSync(file).mtimeMs).toBe(before.mtime);
    expect(fs.readdirSync(dir).sort()).toEqual(['IMG_0003.CR2', 'IMG_0003.xmp']);
  });

  it('replaces rating/label child elements in place under another prefix, across several descriptions', () => {
    const xml = mergeXmp(ELEMENTS, { rating: 1, flag: -1, label: null });
    expect(readXmpCulling(xml)).toEqual({ rating: -1, label: null });
    // The element form is kept (only the value changes); the label Cull set to none is removed.
    expect(xml).toContain('<xap:Rating>-1</xap:Rating>');
    expect(xml).not.toContain('Green');
    expect(xml).not.toContain('xmlns:xmp='); // the existing prefix is reused
    expect(xml).toBe(ELEMENTS.replace('<xap:Rating>4</xap:Rating>', '<xap:Rating>-1</xap:Rating>').replace('\n   <xap:Label>Green</xap:Label>', ''));
    expect(xml).toContain('<crs:Exposure2012>-1.00</crs:Exposure2012>');
    expect(xml).toContain('<rdf:li>kept</rdf:li>');
    expect(xml.startsWith('<?xpacket begin="\uFEFF"')).toBe(true);
    expect(xml.trimEnd().endsWith('<?xpacket end="w"?>')).toBe(true);
    // Merging again is stable.
    expect(mergeXmp(xml, { rating: 1, flag: -1, label: null })).toBe(xml);
  });

  it('declares the xmp namespace when the sidecar has none', () => {
    const noXmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Make="Canon"/></rdf:RDF></x:xmpmeta>`;
    const xml = mergeXmp(noXmp, { rating: 2, flag: 0, label: 'yellow' });
    const desc = parse(xml)['x:xmpmeta']['rdf:RDF']['rdf:Description'];
    expect(desc['@_tiff:Make']).toBe('Canon');
    expect(desc['@_xmlns:xmp']).toBe('http://ns.adobe.com/xap/1.0/');
    expect(readXmpCulling(xml)).toEqual({ rating: 2, label: 'Yellow' });
  });

  it('a pick alone writes nothing; a label alone keeps the rating another application gave', async () => {
    // Old code: every write set xmp:Rating (Rating="0" for an unrated photo) and removed other labels.
    const file = photo('IMG_0004.CR2');
    const side = path.join(dir, 'IMG_0004.xmp');
    fs.writeFileSync(side, LIGHTROOM);
    expect(await writeXmpSidecar(file, { pick: true })).toBeNull();
    expect(fs.readFileSync(side, 'utf8')).toBe(LIGHTROOM);
    await writeXmpSidecar(file, { label: 'red' });
    expect(fs.readFileSync(side, 'utf8')).toBe(LIGHTROOM.replace('xmp:Label="Blue"', 'xmp:Label="Red"'));
    const fresh = photo('IMG_0005.jpg');
    await writeXmpSidecar(fresh, { label: 'green' });
    expect(readXmpCulling(fs.readFileSync(path.join(dir, 'IMG_0005.xmp'), 'utf8'))).toEqual({ rating: null, label: 'Green' });
  });

  it('leaves a sidecar that is not XMP untouched', async () => {
    const file = photo('odd.jpg');
    const side = path.join(dir, 'odd.xmp');
    fs.writeFileSync(side, '<notes>mine</notes>');
    await expect(writeXmpSidecar(file, { rating: 1, flag: 0, label: null })).rejects.toThrow(/not an XMP packet/);
    expect(fs.readFileSync(side, 'utf8')).toBe('<notes>mine</notes>');
    expect(fs.readdirSync(dir).sort()).toEqual(['odd.jpg', 'odd.xmp']);
  });
});
