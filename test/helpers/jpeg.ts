// What a JPEG's header says about how it was encoded, for tests of the JPEGs Cull writes.
import { jpegHeaderSegments } from '../../electron/services/culling/xmp.ts';

/** The DC luminance Huffman table's code counts by length (DHT class 0, id 0), or null. */
export function dcLumaCounts(jpeg: Buffer): number[] | null {
  for (const seg of jpegHeaderSegments(jpeg).segments.filter((x) => x.marker === 0xc4)) {
    for (let p = seg.start + 4; p + 17 <= seg.end; ) {
      const counts = [...jpeg.subarray(p + 1, p + 17)];
      if (jpeg[p] === 0x00) return counts;
      p += 17 + counts.reduce((a, b) => a + b, 0);
    }
  }
  return null;
}

/** libjpeg's standard (ITU T.81 Annex K.3) DC luminance table: what a JPEG without optimised tables carries. */
export const ANNEX_K_DC_LUMA = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
