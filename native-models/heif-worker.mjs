// HEIF/HEIC decoding with libheif-js (libheif + libde265 compiled to WebAssembly, LGPL-3.0), run in a
// worker thread by native-models/heif.ts: a 12 MP iPhone photo takes ~1 s of CPU to decode, which
// must not stall the main process. Plain JavaScript so that it loads as a worker under Node, tsx,
// vitest and (bundled by build/build-electron.ts) Electron alike.
//
// Decodes the primary image (never an embedded thumbnail) with libheif's default options: grids
// are assembled, and the container's irot/imir/clap transformations are applied, so the pixels
// come out the way the photo is meant to be seen. EXIF Orientation is NOT applied on top: the HEIF
// standard makes irot/imir the authority (iPhones write both, Orientation 6 with irot 270), as
// Apple, libheif and libvips do. Output: interleaved 8-bit RGB (10-bit images are reduced; alpha,
// if any, is dropped without compositing, as for every other format).
import { isMainThread, parentPort } from 'node:worker_threads';
import libheif from 'libheif-js/wasm-bundle.js';

const CODECS = {
  hvc1: 'HEVC (H.265)',
  av01: 'AV1',
  jpeg: 'JPEG',
  j2k1: 'JPEG 2000',
  vvc1: 'VVC (H.266)',
  avc1: 'AVC (H.264)',
  unci: 'uncompressed (ISO 23001-17)',
  mski: 'mask',
};

/** Codecs of the image items in the file ("HEVC (H.265)", …), for messages. */
function codecsOf(ctx) {
  const found = new Set();
  try {
    for (const id of libheif.heif_context_get_list_of_item_IDs(ctx) ?? []) {
      const type = String(libheif.heif_item_get_item_type(ctx, id) ?? '').trim();
      if (['grid', 'iden', 'iovl', 'Exif', 'mime', 'uri', 'hvt1', ''].includes(type)) continue;
      found.add(CODECS[type] ?? `'${type}'`);
    }
  } catch {
    // the item list is only for the message
  }
  return [...found];
}

const isError = (r) => r && r.code !== undefined && r.code !== libheif.heif_error_code.heif_error_Ok;

/** A libheif error as { kind, message }: 'unsupported' (a codec or feature this build lacks) or 'corrupt'. */
function classify(err, ctx) {
  const code = err.code?.value ?? -1;
  const sub = err.subcode?.value ?? -1;
  const message = String(err.message ?? 'unknown libheif error');
  // 3 Unsupported_filetype, 4 Unsupported_feature, 11 Plugin_loading_error ("no decoder built in")
  const unsupported = code === 3 || code === 4 || code === 11 || sub === 3000 || sub === 3001 || sub === 6003 || /not been built in|unsupported/i.test(message);
  if (code === 6) return { kind: 'failed', message: `out of memory while decoding (${message})` };
  return { kind: unsupported ? 'unsupported' : 'corrupt', message, codecs: ctx ? codecsOf(ctx) : [] };
}

/** Decodes the primary image of `bytes` to { data (RGB), width, height } or { error }. */
export async function decodeHeif(bytes, maxPixels) {
  const ctx = libheif.heif_context_alloc();
  let handle = null;
  let image = null;
  try {
    const read = libheif.heif_context_read_from_memory(ctx, bytes);
    if (isError(read)) return { error: classify(read, null) };
    handle = libheif.heif_js_context_get_primary_image_handle(ctx);
    if (!handle || isError(handle)) {
      const err = handle;
      handle = null;
      return { error: err ? classify(err, ctx) : { kind: 'corrupt', message: 'no primary image' } };
    }
    const width = libheif.heif_image_handle_get_width(handle);
    const height = libheif.heif_image_handle_get_height(handle);
    if (!(width > 0 && height > 0)) return { error: { kind: 'corrupt', message: `invalid image size ${width} × ${height}` } };
    if (width * height > maxPixels) return { error: { kind: 'too-large', message: '', width, height } };
    const t0 = performance.now();
    const out = await libheif.heif_js_decode_image2(handle, libheif.heif_colorspace.heif_colorspace_RGB, libheif.heif_chroma.heif_chroma_interleaved_RGB);
    const ms = performance.now() - t0;
    if (!out || isError(out) || !out.channels) return { error: out ? classify(out, ctx) : { kind: 'corrupt', message: 'decoding failed' } };
    image = out.image;
    const ch = out.channels.find((c) => c.id === libheif.heif_channel.heif_channel_interleaved) ?? out.channels[0];
    const w = ch.width;
    const h = ch.height;
    const row = w * 3;
    if (!ch.data || ch.stride < row || ch.data.length < ch.stride * (h - 1) + row) return { error: { kind: 'corrupt', message: 'unexpected decoded layout' } };
    const data = new Uint8Array(row * h);
    if (ch.stride === row) data.set(ch.data.subarray(0, row * h));
    else for (let y = 0; y < h; y++) data.set(ch.data.subarray(y * ch.stride, y * ch.stride + row), y * row);
    return { data, width: w, height: h, ms };
  } finally {
    if (image) libheif.heif_image_release(image);
    if (handle) libheif.heif_image_handle_release(handle);
    libheif.heif_context_free(ctx);
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', async ({ id, bytes, maxPixels }) => {
    try {
      const r = await decodeHeif(bytes, maxPixels);
      if (r.error) port.postMessage({ id, error: r.error });
      else port.postMessage({ id, data: r.data, width: r.width, height: r.height, ms: r.ms }, [r.data.buffer]);
    } catch (err) {
      // A WebAssembly abort (out of memory, a trap) leaves this instance unusable: the pool ends the worker.
      port.postMessage({ id, error: { kind: 'failed', message: String(err?.message ?? err), fatal: true } });
    }
  });
}
