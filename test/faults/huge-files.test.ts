// Multi-GB files cost a bounded amount of memory (issue 14 item 4). The indexer used to read every
// file whole before looking at it: four 1.9 GB .jpg files and a .cr2 took its RSS to 5.9 GB. Now it
// reads the first 1 MB (type, size, metadata), refuses a JPEG/PNG/WebP/GIF/HEIC/AVIF over 1 GB as
// "too large" without reading it, decodes photos over 64 MB from the file with sharp (pixel limit),
// and reads a RAW's preview by offset. Sparse files (fs.truncate) make the sizes real to every
// system call without using the disk. The indexer runs in a child process whose peak RSS (maxRSS,
// i.e. VmHWM) is measured.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTestModel } from '../../native-models/testmodel/index.ts';
import { noiseJpeg, REPO_DIR, tempDir, tiffRaw, writeIndexScript } from '../helpers/fixtures.ts';
import sharp from 'sharp';

const GB = 1024 ** 3;
/** Peak RSS allowed for the whole indexing child (model, sharp, SQLite included). */
const RSS_BOUND_MB = 400;

describe('huge files', () => {
  const tmp = tempDir('cull-huge-');
  const root = path.join(tmp, 'shoot');
  const modelDir = path.join(tmp, 'model');

  /** Writes `head` then extends the file, sparsely, to `size` bytes. */
  function sparse(name: string, head: Buffer, size: number): string {
    const file = path.join(root, name);
    fs.writeFileSync(file, head);
    fs.truncateSync(file, Math.round(size));
    return file;
  }

  beforeAll(async () => {
    fs.mkdirSync(root, { recursive: true });
    await makeTestModel({ out: modelDir, size: 'tiny', seed: 1 });
    const jpeg = await noiseJpeg(96, 64, 3);
    for (let i = 0; i < 4; i++) sparse(`huge-${i}.jpg`, await noiseJpeg(64, 48, 10 + i), 1.9 * GB); // refused unread
    sparse('padded.jpg', jpeg, 300 * 1024 ** 2); // a real JPEG then 300 MB of zeros: decoded from the file
    const tiff = await sharp(await noiseJpeg(80, 60, 5)).tiff().toBuffer();
    sparse('big.tif', tiff, 2.5 * GB); // TIFF has no size cap: decoded from the file
    const raw = tiffRaw({ small: await noiseJpeg(32, 24, 6), large: await noiseJpeg(160, 120, 7), make: 'Canon', model: 'EOS R5' });
    sparse('IMG_0001.CR2', raw, 4 * GB); // preview read by offset
    sparse('IMG_0002.CR2', Buffer.from('II*\0\x08\0\0\0', 'latin1'), 3 * GB); // a header and nothing else
    fs.writeFileSync(path.join(root, 'normal.jpg'), jpeg);
  });

  it(`indexes or refuses 14 GB of sparse photos with peak RSS under ${RSS_BOUND_MB} MB`, () => {
    const script = writeIndexScript(tmp);
    const dbPath = path.join(tmp, 'library.db');
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', 'tsx', script, dbPath, modelDir, path.join(tmp, 'thumbs'), '0', root], {
      cwd: REPO_DIR,
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const summary = JSON.parse(child.stdout) as { indexed: number; failed: number; errors: { path: string; reason: string }[]; maxRssKb: number };
    const rssMb = summary.maxRssKb / 1024;
    console.log(`huge files: peak RSS ${rssMb.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `indexed ${summary.indexed}, refused ${summary.failed}`);
    const reasons = Object.fromEntries(summary.errors.map((e) => [path.basename(e.path), e.reason]));
    for (let i = 0; i < 4; i++) expect(reasons[`huge-${i}.jpg`]).toBe('too large for a jpeg photo (1946 MB; the limit is 1024 MB), not read');
    expect(reasons['IMG_0002.CR2']).toMatch(/^no embedded preview in RAW file: .*unsupported/);
    expect(summary.failed).toBe(5);
    expect(summary.indexed).toBe(4); // padded.jpg, big.tif, IMG_0001.CR2, normal.jpg
    const db = new Database(dbPath, { readonly: true });
    const raw = db.prepare("SELECT width, height, camera FROM photos WHERE path LIKE '%IMG_0001.CR2'").get() as { width: number; height: number; camera: string };
    db.close();
    expect(raw).toEqual({ width: 160, height: 120, camera: 'Canon EOS R5' });
    expect(rssMb).toBeLessThan(RSS_BOUND_MB);
  }, 300_000);
});
