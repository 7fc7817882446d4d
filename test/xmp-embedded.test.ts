// The XMP packet embedded in a photo (embeddedXmp), read at index for the decisions other
// applications wrote. A JPEG's packet is its XMP APP1 segment — the only place the XMP
// specification (part 3, 1.1.3) puts it — found by walking the header's markers, so the image data
// (megabytes) is never searched; other formats are searched once, anchored on the RDF namespace.
// ExifTool-written files of every format are in xmp-exiftool.test.ts.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedXmp, readXmpDecisions } from '../electron/services/culling/xmp.ts';
import { buildXmp, jpegWithXmp, withoutXmpApp1 } from '../electron/services/culling/xmp-write.ts';

const HAVE_EXIFTOOL = spawnSync('exiftool', ['-ver']).status === 0;
if (!HAVE_EXIFTOOL) console.warn('SKIPPED (ExifTool agrees on a trailing packet): ExifTool is missing (apt-get install libimage-exiftool-perl).');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-xmp-embedded-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const image = () => sharp({ create: { width: 40, height: 30, channels: 3, background: '#468' } });
const rating = (b: Buffer) => {
  const x = embeddedXmp(b);
  return x === null ? null : readXmpDecisions(x).rating;
};
/** A JPEG APP1 segment with this payload. */
function app1(payload: Buffer): Buffer {
  const head = Buffer.from([0xff, 0xe1, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

describe('XMP embedded in a JPEG', () => {
  it('is the XMP APP1 segment, found after a large EXIF segment full of XMP-like text and 0xFF bytes', async () => {
    const jpeg = jpegWithXmp(await image().jpeg().toBuffer(), { rating: 4, label: 'blue' });
    // A maker note quoting another packet (rating 1): text in the EXIF segment, not the photo's XMP.
    const decoy = Buffer.from(buildXmp({ rating: 1 }), 'utf8');
    const exif = app1(Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), decoy, Buffer.alloc(60_000, 0xff)]));
    const photo = Buffer.concat([jpeg.subarray(0, 2), exif, jpeg.subarray(2)]);
    expect(rating(jpeg)).toBe(4);
    expect(rating(photo)).toBe(4);
    expect(readXmpDecisions(embeddedXmp(photo)!).label).toBe('blue');
  });

  it('is not a packet lying outside any APP1 segment (after the image data): no JPEG reader takes that as the photo\'s XMP', async () => {
    const jpeg = await image().jpeg().toBuffer();
    const trailing = Buffer.concat([jpeg, Buffer.from(buildXmp({ rating: 5 }), 'utf8')]);
    expect(embeddedXmp(trailing)).toBeNull();
    if (HAVE_EXIFTOOL) {
      const file = path.join(dir, 'trailing.jpg');
      fs.writeFileSync(file, trailing);
      const r = spawnSync('exiftool', ['-j', '-XMP:Rating', file], { encoding: 'utf8' });
      expect(JSON.parse(r.stdout)[0].Rating).toBeUndefined();
    }
  });

  it('a JPEG without XMP, or whose markers cannot be followed, has none', async () => {
    const jpeg = await image().jpeg().toBuffer();
    expect(embeddedXmp(jpeg)).toBeNull();
    const withXmp = jpegWithXmp(jpeg, { rating: 3 });
    const broken = Buffer.from(withXmp);
    broken.writeUInt16BE(1, 4); // the first segment's length (under 2): the walk stops there
    expect(rating(withXmp)).toBe(3);
    expect(embeddedXmp(broken)).toBeNull();
    expect(withoutXmpApp1(broken)).toBeNull();
  });

  it('withoutXmpApp1 still drops exactly the XMP segment', async () => {
    const jpeg = await image().jpeg().toBuffer();
    expect(withoutXmpApp1(jpegWithXmp(jpeg, { rating: 2 }))!.equals(jpeg)).toBe(true);
  });
});

describe('XMP embedded in other formats, wherever it lies', () => {
  const packet = buildXmp({ rating: 2, label: 'green' });
  /** A PNG with the packet in an uncompressed iTXt chunk after IHDR (as ExifTool and Adobe write it; libvips compresses it). */
  async function pngWithXmp(): Promise<Buffer> {
    const png = await image().png().toBuffer();
    const data = Buffer.concat([Buffer.from('iTXt', 'latin1'), Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), Buffer.from(packet, 'utf8')]);
    const chunk = Buffer.alloc(data.length + 8);
    chunk.writeUInt32BE(data.length - 4, 0);
    data.copy(chunk, 4);
    chunk.writeUInt32BE(zlib.crc32(data), data.length + 4);
    const afterIhdr = 8 + 8 + 13 + 4;
    return Buffer.concat([png.subarray(0, afterIhdr), chunk, png.subarray(afterIhdr)]);
  }
  for (const format of ['png', 'tiff', 'webp'] as const) {
    it(`${format}`, async () => {
      const b = format === 'png' ? await pngWithXmp() : await image().toFormat(format).withXmp(packet).toBuffer();
      if (format === 'png') expect((await sharp(b).metadata()).xmp?.toString('utf8')).toBe(packet); // a valid PNG chunk
      expect(readXmpDecisions(embeddedXmp(b)!)).toMatchObject({ rating: 2, label: 'green' });
      expect(embeddedXmp(await image().toFormat(format).toBuffer())).toBeNull();
    });
  }

  it('a packet without the xpacket wrapper (an x:xmpmeta element), at the end of a TIFF', async () => {
    const meta = packet.slice(packet.indexOf('<x:xmpmeta'), packet.indexOf('</x:xmpmeta>') + '</x:xmpmeta>'.length);
    const b = Buffer.concat([await image().tiff().toBuffer(), Buffer.alloc(100_000, 0x3c), Buffer.from(meta, 'utf8')]);
    expect(embeddedXmp(b)).toBe(meta);
  });
});
