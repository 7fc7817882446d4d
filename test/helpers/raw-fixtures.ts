// RAW-like containers for tests: TIFF-based RAWs (CR2/NEF/ARW/DNG-like) with embedded JPEG previews,
// CR3-like ISO-BMFF and Fujifilm RAF, plus the junk and lossless-JPEG decoys the preview finder must
// skip. Generated per run, never committed; re-exported by fixtures.ts.
import { prng } from '../../electron/services/matrix/prng.ts';

export function junk(n: number, seed: number): Buffer {
  const rnd = prng(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256);
  // Keep the junk free of accidental JPEG start markers.
  for (let i = out.indexOf(0xff); i >= 0; i = out.indexOf(0xff, i + 1)) out[i] = 0xfe;
  return out;
}

/** A lossless-JPEG-looking block (SOF3), like CR2/DNG sensor data: must never be taken as a preview. */
export function losslessJpegDecoy(size: number): Buffer {
  const sof3 = Buffer.from([0xff, 0xc3, 0x00, 0x0b, 0x0c, 0x0f, 0xa0, 0x0f, 0xa0, 0x01, 0x01, 0x11, 0x00]);
  const sos = Buffer.from([0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x01, 0x00, 0x00]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof3, sos, junk(size, 9), Buffer.from([0xff, 0xd9])]);
}

type TiffValue = { tag: number; type: 2 | 3 | 4; value: number[] | string };

/**
 * A TIFF-based RAW like NEF/DNG: IFD0 (camera EXIF, a small JPEG via JPEGInterchangeFormat) and a
 * SubIFD whose single JPEG-compressed strip is the large preview, amid sensor-like junk and a
 * lossless-JPEG decoy bigger than any preview. With `sensor`, laid out as a DNG: the preview's
 * SubIFD is a reduced-resolution image of its own size (ExifTool's PreviewImage) and a second
 * SubIFD holds the decoy (512 KB) as the full-resolution sensor data of that size.
 */
export function tiffRaw(opts: {
  small: Buffer;
  large: Buffer;
  make?: string;
  model?: string;
  orientation?: number;
  sensor?: { width: number; height: number; preview: { width: number; height: number } };
}): Buffer {
  const parts: Buffer[] = [Buffer.alloc(8)];
  let at = 8;
  const place = (b: Buffer) => {
    const offset = at;
    parts.push(b);
    at += b.length;
    if (at % 2) place(Buffer.alloc(1));
    return offset;
  };
  place(junk(3000, 1));
  const smallAt = place(opts.small);
  place(junk(2000, 2));
  // As a DNG, the sensor data is kept small so the IFDs (written last) fall in the head a reader reads first.
  const decoy = losslessJpegDecoy(opts.sensor ? 512 << 10 : opts.large.length * 3);
  const decoyAt = place(decoy);
  const largeAt = place(opts.large);
  place(junk(1000, 3));

  const writeIfd = (entries: TiffValue[], next = 0): number => {
    entries.sort((a, b) => a.tag - b.tag);
    const data: Buffer[] = [];
    const ifdAt = at;
    const body = Buffer.alloc(2 + entries.length * 12 + 4);
    let dataAt = ifdAt + body.length;
    body.writeUInt16LE(entries.length, 0);
    entries.forEach((e, i) => {
      const p = 2 + i * 12;
      const bytes =
        e.type === 2
          ? Buffer.from(`${e.value}\0`, 'latin1')
          : Buffer.concat((e.value as number[]).map((v) => {
              const b = Buffer.alloc(e.type === 3 ? 2 : 4);
              if (e.type === 3) b.writeUInt16LE(v);
              else b.writeUInt32LE(v);
              return b;
            }));
      body.writeUInt16LE(e.tag, p);
      body.writeUInt16LE(e.type, p + 2);
      body.writeUInt32LE(e.type === 2 ? bytes.length : (e.value as number[]).length, p + 4);
      if (bytes.length <= 4) bytes.copy(body, p + 8);
      else {
        body.writeUInt32LE(dataAt, p + 8);
        data.push(bytes);
        dataAt += bytes.length + (bytes.length % 2);
        if (bytes.length % 2) data.push(Buffer.alloc(1));
      }
    });
    body.writeUInt32LE(next, body.length - 4);
    place(Buffer.concat([body, ...data]));
    return ifdAt;
  };

  const sensor = opts.sensor;
  const size = (d: { width: number; height: number }): TiffValue[] => [
    { tag: 0x0100, type: 4, value: [d.width] },
    { tag: 0x0101, type: 4, value: [d.height] },
  ];
  const subIfds = [
    writeIfd([
      { tag: 0x00fe, type: 4, value: [sensor ? 1 : 0] }, // reduced-resolution (DNG preview) or full-resolution image
      { tag: 0x0103, type: 3, value: [7] }, // JPEG
      { tag: 0x0111, type: 4, value: [largeAt] },
      { tag: 0x0117, type: 4, value: [opts.large.length] },
      ...(sensor ? [...size(sensor.preview), { tag: 0x0102, type: 3 as const, value: [8, 8, 8] }, { tag: 0x0106, type: 3 as const, value: [6] }, { tag: 0x0115, type: 3 as const, value: [3] }] : []),
    ]),
  ];
  if (sensor) {
    subIfds.push(
      writeIfd([
        { tag: 0x00fe, type: 4, value: [0] }, // the sensor data
        { tag: 0x0103, type: 3, value: [7] }, // lossless JPEG
        ...size(sensor),
        { tag: 0x0111, type: 4, value: [decoyAt] },
        { tag: 0x0117, type: 4, value: [decoy.length] },
      ]),
    );
  }
  const ifd0 = writeIfd([
    { tag: 0x00fe, type: 4, value: [1] }, // reduced-resolution image
    { tag: 0x0103, type: 3, value: [6] },
    { tag: 0x010f, type: 2, value: opts.make ?? 'NIKON CORPORATION' },
    { tag: 0x0110, type: 2, value: opts.model ?? 'NIKON D850' },
    { tag: 0x0112, type: 3, value: [opts.orientation ?? 1] },
    { tag: 0x014a, type: 4, value: subIfds },
    { tag: 0x0201, type: 4, value: [smallAt] },
    { tag: 0x0202, type: 4, value: [opts.small.length] },
  ]);
  const out = Buffer.concat(parts);
  out.write('II*\0', 0, 'latin1');
  out.writeUInt32LE(ifd0, 4);
  return out;
}

/** CR3-like ISO-BMFF junk with JPEGs somewhere inside (found only by scanning). */
export function bmffRawWithJpegs(...jpegs: Buffer[]): Buffer {
  const ftyp = Buffer.from('\0\0\0\x18ftypcrx \0\0\0\x01crx isom', 'latin1');
  return Buffer.concat([ftyp, junk(5000, 11), ...jpegs.flatMap((j, i) => [j, junk(3000, 20 + i)])]);
}

/** Fujifilm RAF: magic, then the preview JPEG's offset/length (big-endian) at bytes 84/88. */
export function rafRaw(jpeg: Buffer): Buffer {
  const header = Buffer.alloc(160);
  header.write('FUJIFILMCCD-RAW 0201FF383501', 0, 'latin1');
  const offset = header.length + 2048;
  header.writeUInt32BE(offset, 84);
  header.writeUInt32BE(jpeg.length, 88);
  return Buffer.concat([header, junk(2048, 31), jpeg, junk(4096, 32)]);
}
