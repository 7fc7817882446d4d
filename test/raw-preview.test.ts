import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { readMetadata } from '../electron/services/indexing/metadata.ts';
import { extractRawPreview, jpegExtent, NO_PREVIEW, scanJpegs, tiffPreviewCandidates } from '../electron/services/indexing/raw-preview.ts';
import { bmffRawWithJpegs, imageBuffer, junk, losslessJpegDecoy, pattern, rafRaw, tiffRaw } from './helpers/fixtures.ts';

/** Puts `inner` inside an APP13 segment of `outer`, like the EXIF thumbnail inside a camera preview. */
function nest(outer: Buffer, inner: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xffed, 0);
  head.writeUInt16BE(inner.length + 2, 2);
  return Buffer.concat([outer.subarray(0, 2), head, inner, outer.subarray(2)]);
}

describe('RAW previews', () => {
  let small: Buffer;
  let large: Buffer;
  beforeAll(async () => {
    small = await imageBuffer({ width: 160, height: 120, seed: 3 });
    large = await imageBuffer({ width: 640, height: 480, seed: 4 });
  });

  it('parses JPEG extents, rejecting truncated and lossless ones', () => {
    const c = jpegExtent(large, 0);
    expect(c).toEqual({ start: 0, end: large.length, width: 640, height: 480 });
    expect(jpegExtent(large.subarray(0, large.length - 100), 0)).toBeNull();
    expect(jpegExtent(losslessJpegDecoy(5000), 0)).toBeNull();
    expect(jpegExtent(Buffer.from('not a jpeg'), 0)).toBeNull();
  });

  it('takes the largest preview named by a TIFF-based RAW, not the lossless sensor data', async () => {
    const raw = tiffRaw({ small, large });
    const candidates = tiffPreviewCandidates(raw);
    expect(candidates.map((c) => c.width).sort()).toEqual([160, 640]);
    const preview = await extractRawPreview(raw);
    expect(preview.equals(large)).toBe(true);
    const meta = await sharp(preview).metadata();
    expect([meta.width, meta.height]).toEqual([640, 480]);
  });

  it("applies the RAW's orientation to a preview without its own, without re-encoding", async () => {
    const raw = tiffRaw({ small, large, orientation: 6, make: 'NIKON CORPORATION', model: 'NIKON D850' });
    const meta = await readMetadata(raw);
    expect(meta).toMatchObject({ camera: 'NIKON D850', orientation: 6 });
    const preview = await extractRawPreview(raw, { orientation: meta.orientation });
    const info = await sharp(preview).metadata();
    expect(info.orientation).toBe(6);
    expect(info.autoOrient).toEqual({ width: 480, height: 640 });
    // Same pixels as the embedded JPEG: only an EXIF segment was added.
    const [a, b] = await Promise.all([sharp(preview).raw().toBuffer(), sharp(large).raw().toBuffer()]);
    expect(a.equals(b)).toBe(true);
    // A preview that carries its own orientation is left alone.
    const own = await imageBuffer({ width: 320, height: 200, exif: { orientation: 3 } });
    const kept = await extractRawPreview(tiffRaw({ small, large: own, orientation: 6 }), { orientation: 6 });
    expect((await sharp(kept).metadata()).orientation).toBe(3);
  });

  it('finds JPEGs by scanning unknown containers (CR3-like), skipping nested thumbnails and false starts', async () => {
    const progressive = await pattern(800, 600, 5).jpeg({ progressive: true }).toBuffer();
    const outer = nest(progressive, small); // a thumbnail inside the big preview
    const falseStart = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a]);
    const raw = bmffRawWithJpegs(small, falseStart, outer, junk(100, 8));
    const scanned = scanJpegs(raw);
    expect(scanned.map((c) => [c.width, c.height])).toEqual([
      [160, 120],
      [800, 600],
    ]);
    const preview = await extractRawPreview(raw);
    expect(preview.equals(outer)).toBe(true);
    expect((await sharp(preview).metadata()).width).toBe(800);
  });

  it('reads the preview offset from a RAF header', async () => {
    const preview = await extractRawPreview(rafRaw(large));
    expect(preview.equals(large)).toBe(true);
  });

  it('fails clearly when there is no preview', async () => {
    const onlySensorData = Buffer.concat([Buffer.from('II*\0\x08\0\0\0\0\0\0\0\0\0', 'latin1'), losslessJpegDecoy(20_000)]);
    await expect(extractRawPreview(onlySensorData)).rejects.toThrow(NO_PREVIEW);
    await expect(extractRawPreview(junk(50_000, 4))).rejects.toThrow('no embedded preview in RAW file');
    await expect(extractRawPreview(Buffer.alloc(0))).rejects.toThrow(NO_PREVIEW);
    // A JPEG with a broken segment structure is not a preview either.
    const broken = Buffer.from(small);
    broken[3] = 0x00; // first segment marker no longer a marker
    await expect(extractRawPreview(Buffer.concat([junk(100, 1), broken]))).rejects.toThrow(NO_PREVIEW);
  });
});
