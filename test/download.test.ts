// The model downloader against a local HTTP server that mimics the Hugging Face hub: resolve URLs,
// LFS files redirected to a "CDN" with X-Linked-Etag (SHA-256) and Range support, small files
// served directly with a git-blob ETag. Knobs make it drop, corrupt, stall or 404 a file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { downloadModel, safePath, verifyModel, type DownloadProgress } from '../native-models/download.ts';
import { DownloadError } from '../native-models/errors.ts';
import { registryEntry, type RegistryEntry, type RegistryFile } from '../native-models/registry.ts';
import { startHubServer } from './helpers/hub-server.ts';
import { makeTestModel } from '../native-models/testmodel/index.ts';

const REPO = 'acme/tiny-clip';
const REV = 'abcdef0123456789abcdef0123456789abcdef01';
const LFS = new Set(['tokenizer.json', 'onnx/vision_model.onnx', 'onnx/text_model.onnx', 'onnx/vision_model_quantized.onnx', 'onnx/text_model_quantized.onnx']);
const FILES: RegistryFile[] = [
  { path: 'config.json' },
  { path: 'preprocessor_config.json' },
  { path: 'tokenizer.json' },
  { path: 'tokenizer_config.json' },
  { path: 'special_tokens_map.json' },
  { path: 'onnx/vision_model.onnx', variant: 'fp32' },
  { path: 'onnx/text_model.onnx', variant: 'fp32' },
  { path: 'onnx/vision_model_quantized.onnx', variant: 'quantized' },
  { path: 'onnx/text_model_quantized.onnx', variant: 'quantized' },
];
const entry = (files: RegistryFile[] = FILES): RegistryEntry => ({ id: 'tiny-clip', name: 'Tiny CLIP', repo: REPO, revision: REV, license: 'MIT', files });

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

let src = '';
let work = '';
let server: http.Server;
let base = '';
const content = new Map<string, Buffer>();

/** Behaviour knobs, reset after each test. */
const knobs = {
  cutOnce: new Set<string>(), // close the connection halfway through, the first time only
  corrupt: new Set<string>(), // serve one flipped byte (X-Linked-Etag keeps the true hash)
  stall: new Set<string>(), // send part of the body, then nothing
  missing: new Set<string>(), // 404
  unavailableOnce: new Set<string>(), // 503, the first time only
  ignoreRange: false, // answer Range requests with 200 and the whole file
};
const log: { path: string; range: string | null }[] = [];

function serveBytes(req: http.IncomingMessage, res: http.ServerResponse, file: string, body: Buffer, etag: string) {
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  let start = 0;
  if (range && !knobs.ignoreRange) {
    start = Number(range[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': body.length - start, etag });
  } else {
    res.writeHead(200, { 'content-length': body.length, etag, 'accept-ranges': 'bytes' });
  }
  let data = body.subarray(start);
  if (knobs.corrupt.has(file)) {
    data = Buffer.from(data);
    data[data.length >> 1] ^= 0xff;
  }
  if (knobs.cutOnce.has(file)) {
    knobs.cutOnce.delete(file);
    res.write(data.subarray(0, data.length >> 1), () => res.socket?.destroy());
    return;
  }
  if (knobs.stall.has(file)) {
    res.write(data.subarray(0, 1000)); // and never finish
    return;
  }
  res.end(data);
}

beforeAll(async () => {
  src = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-dl-src-'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-dl-'));
  await makeTestModel({ out: src, size: 'tiny', seed: 5, quantized: true });
  for (const f of FILES) content.set(f.path, fs.readFileSync(path.join(src, f.path)));

  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    log.push({ path: url.pathname, range: req.headers.range ?? null });
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url.pathname);
    if (cdn) {
      const file = [...content.keys()].find((k) => sha256(content.get(k)!) === cdn[1]);
      if (!file) return res.writeHead(404).end();
      return serveBytes(req, res, file, content.get(file)!, '"cdn-etag-not-a-hash"');
    }
    const prefix = `/${REPO}/resolve/${REV}/`;
    const file = url.pathname.startsWith(prefix) ? decodeURIComponent(url.pathname.slice(prefix.length)) : '';
    const body = content.get(file);
    if (!body || knobs.missing.has(file)) return res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
    if (knobs.unavailableOnce.delete(file)) return res.writeHead(503).end();
    if (LFS.has(file)) {
      // Like the hub: redirect to storage, with the LFS SHA-256 in X-Linked-Etag.
      const hash = sha256(body);
      return res.writeHead(302, { location: `/cdn/${hash}`, 'x-linked-etag': `"${hash}"`, 'x-linked-size': body.length, etag: `W/"${hash.slice(0, 40)}"` }).end();
    }
    const blob = crypto.createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
    serveBytes(req, res, file, body, `"${blob}"`);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  knobs.cutOnce.clear();
  knobs.corrupt.clear();
  knobs.stall.clear();
  knobs.missing.clear();
  knobs.unavailableOnce.clear();
  knobs.ignoreRange = false;
  log.length = 0;
  server.closeAllConnections();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(src, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

let n = 0;
const freshDir = () => path.join(work, `m${++n}`);
const opts = (dir: string) => ({ dir, baseUrl: base, allowHttp: true, idleTimeoutMs: 10_000 });
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as DownloadError);
const fp32Files = FILES.filter((f) => f.variant !== 'quantized');

describe('downloadModel', () => {
  it('downloads every file, verifies it, writes cull-model.json last and returns the loaded model', async () => {
    const dir = freshDir();
    const events: DownloadProgress[] = [];
    const info = await downloadModel(entry(), { ...opts(dir), onProgress: (p) => events.push(p) });

    expect(info.id).toBe('tiny-clip');
    expect(info.name).toBe('Tiny CLIP');
    expect(info.quantized).toBe(false);
    expect(info.randomWeights).toBe(false);
    expect(info.visionFile).toBe(path.join(dir, 'onnx', 'vision_model.onnx'));
    for (const f of fp32Files) expect(fs.readFileSync(path.join(dir, f.path)).equals(content.get(f.path)!), f.path).toBe(true);
    expect(fs.existsSync(path.join(dir, 'onnx', 'vision_model_quantized.onnx'))).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.part') || f.endsWith('.tmp'))).toEqual([]);

    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'cull-model.json'), 'utf8'));
    expect(manifest).toMatchObject({ id: 'tiny-clip', repo: REPO, revision: REV });
    expect(Object.keys(manifest.files).sort()).toEqual(fp32Files.map((f) => f.path).sort());
    for (const f of fp32Files) {
      const body = content.get(f.path)!;
      expect(manifest.files[f.path]).toEqual({ sha256: sha256(body), size: body.length, verifiedBy: LFS.has(f.path) ? 'etag' : 'none' });
    }
    // The hub's redirect was followed for LFS files only.
    expect(log.filter((l) => l.path.startsWith('/cdn/'))).toHaveLength(3);

    const total = fp32Files.reduce((s, f) => s + content.get(f.path)!.length, 0);
    const last = events[events.length - 1];
    expect(last).toMatchObject({ received: total, expectedTotal: total, index: fp32Files.length - 1, count: fp32Files.length });
    for (let i = 1; i < events.length; i++) expect(events[i].received).toBeGreaterThanOrEqual(events[i - 1].received);
    const text = events.filter((e) => e.file === 'onnx/text_model.onnx');
    expect(text[text.length - 1]).toMatchObject({ bytes: content.get('onnx/text_model.onnx')!.length, total: content.get('onnx/text_model.onnx')!.length });

    expect(await verifyModel(dir)).toEqual({ ok: true, files: fp32Files.length, problems: [] });
    const tok = path.join(dir, 'tokenizer.json');
    fs.appendFileSync(tok, ' ');
    expect((await verifyModel(dir)).problems).toEqual([expect.stringMatching(/^tokenizer\.json: size \d+ bytes, expected \d+$/)]);
    const cfg = path.join(dir, 'config.json');
    const bytes = fs.readFileSync(cfg);
    bytes[5] ^= 1;
    fs.writeFileSync(cfg, bytes);
    fs.rmSync(path.join(dir, 'special_tokens_map.json'));
    const broken = await verifyModel(dir);
    expect(broken.ok).toBe(false);
    expect(broken.problems.sort()).toEqual([
      'config.json: SHA-256 mismatch (file changed or corrupted)',
      'special_tokens_map.json: missing',
      expect.stringMatching(/^tokenizer\.json: size/),
    ]);
    fs.rmSync(path.join(dir, 'cull-model.json'));
    expect(await verifyModel(dir)).toEqual({ ok: false, files: 0, problems: ['cull-model.json: missing or unreadable (the download did not finish)'] });
  });

  it('downloads the quantized pair on request and keys it apart from the fp32 model', async () => {
    const dir = freshDir();
    const info = await downloadModel(entry(), { ...opts(dir), quantized: true });
    expect(info.quantized).toBe(true);
    expect(info.id).toBe('tiny-clip-quantized');
    expect(fs.existsSync(path.join(dir, 'onnx', 'text_model_quantized.onnx'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'onnx', 'text_model.onnx'))).toBe(false);
  });

  it('resumes with a Range request when the connection drops mid-file', async () => {
    const dir = freshDir();
    knobs.cutOnce.add('onnx/text_model.onnx');
    await downloadModel(entry(), opts(dir));
    const body = content.get('onnx/text_model.onnx')!;
    expect(fs.readFileSync(path.join(dir, 'onnx', 'text_model.onnx')).equals(body)).toBe(true);
    const cdn = `/cdn/${sha256(body)}`;
    const requests = log.filter((l) => l.path === cdn);
    expect(requests).toHaveLength(2);
    expect(requests[0].range).toBeNull();
    const from = Number(/^bytes=(\d+)-$/.exec(requests[1].range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThan(body.length);
  });

  it('keeps the .part of a cancelled download and resumes it on the next run', async () => {
    const dir = freshDir();
    const controller = new AbortController();
    const err = await failure(
      downloadModel(entry(), {
        ...opts(dir),
        signal: controller.signal,
        onProgress: (p) => p.file === 'onnx/text_model.onnx' && p.bytes > 0 && p.bytes < (p.total ?? 0) && controller.abort(),
      }),
    );
    expect(err).toBeInstanceOf(DownloadError);
    expect(err.kind).toBe('aborted');
    const part = path.join(dir, 'onnx', 'text_model.onnx.part');
    const partSize = fs.statSync(part).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThan(content.get('onnx/text_model.onnx')!.length);
    expect(fs.existsSync(path.join(dir, 'cull-model.json'))).toBe(false);

    log.length = 0;
    await downloadModel(entry(), opts(dir));
    expect(log.some((l) => l.range === `bytes=${partSize}-`)).toBe(true);
    expect(fs.existsSync(part)).toBe(false);
    expect((await verifyModel(dir)).ok).toBe(true);
  });

  it('restarts from zero when the server answers a Range request with 200', async () => {
    const dir = freshDir();
    fs.mkdirSync(path.join(dir, 'onnx'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'onnx', 'vision_model.onnx.part'), Buffer.alloc(5000, 7)); // stale junk
    knobs.ignoreRange = true;
    await downloadModel(entry(), opts(dir));
    expect(log.some((l) => l.range === 'bytes=5000-')).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'onnx', 'vision_model.onnx')).equals(content.get('onnx/vision_model.onnx')!)).toBe(true);
  });

  it('rejects a file whose SHA-256 does not match X-Linked-Etag, removing the .part', async () => {
    const dir = freshDir();
    knobs.corrupt.add('onnx/vision_model.onnx');
    const err = await failure(downloadModel(entry(), opts(dir)));
    expect(err.kind).toBe('hash');
    expect(err.file).toBe('onnx/vision_model.onnx');
    expect(err.message).toMatch(/^onnx\/vision_model\.onnx: SHA-256 mismatch \(server-announced [0-9a-f]{64}, downloaded [0-9a-f]{64}\)/);
    expect(fs.existsSync(path.join(dir, 'onnx', 'vision_model.onnx.part'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'onnx', 'vision_model.onnx'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'cull-model.json'))).toBe(false);
  });

  it('checks pinned registry hashes too, and reuses verified files on a re-run', async () => {
    const pinned = FILES.map((f) => (f.path === 'config.json' ? { ...f, sha256: '0'.repeat(64) } : f));
    const err = await failure(downloadModel(entry(pinned), opts(freshDir())));
    expect(err.kind).toBe('hash');
    expect(err.message).toMatch(/^config\.json: SHA-256 mismatch \(pinned 0{64}/);

    const dir = freshDir();
    const good = FILES.map((f) => (LFS.has(f.path) ? { ...f, sha256: sha256(content.get(f.path)!), size: content.get(f.path)!.length } : f));
    await downloadModel(entry(good), opts(dir));
    fs.rmSync(path.join(dir, 'cull-model.json'));
    log.length = 0;
    const info = await downloadModel(entry(good), opts(dir));
    expect(info.id).toBe('tiny-clip');
    expect(log.some((l) => l.path.endsWith('.onnx') || l.path.startsWith('/cdn/'))).toBe(false); // not fetched again
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'cull-model.json'), 'utf8')).files['onnx/text_model.onnx'].verifiedBy).toBe('registry');
  });

  it("pins the default model's small files and refuses a tampered one by name", async () => {
    const real = registryEntry();
    const small = ['config.json', 'preprocessor_config.json', 'tokenizer_config.json', 'special_tokens_map.json'];
    const pins = small.map((p) => real.files.find((f) => f.path === p)!);
    expect(pins.map((f) => [f.path, f.size])).toEqual([
      ['config.json', 4524], ['preprocessor_config.json', 520], ['tokenizer_config.json', 775], ['special_tokens_map.json', 472],
    ]);
    for (const pin of pins) {
      expect(pin.sha256, pin.path).toMatch(/^[0-9a-f]{64}$/);
      // Same size, wrong bytes; the server announces the served file's own SHA-256, so only the pin can catch it.
      const hub = await startHubServer(real.repo, real.revision, new Map([[pin.path, Buffer.alloc(pin.size!, 0x20)]]));
      try {
        const dir = freshDir();
        const err = await failure(downloadModel({ ...real, files: [pin] }, { ...opts(dir), baseUrl: hub.base }));
        expect(err, pin.path).toBeInstanceOf(DownloadError);
        expect(err.kind, pin.path).toBe('hash');
        expect(err.file).toBe(pin.path);
        expect(err.message).toContain(`${pin.path}: SHA-256 mismatch (pinned ${pin.sha256}`);
        expect(fs.existsSync(path.join(dir, pin.path))).toBe(false);
        expect(fs.existsSync(path.join(dir, `${pin.path}.part`))).toBe(false);
      } finally {
        await hub.close();
      }
    }
  });

  it('verifyModel checks pinned small files against the registry, not only against cull-model.json', async () => {
    const pinned = FILES.map((f) => ({ ...f, sha256: sha256(content.get(f.path)!), size: content.get(f.path)!.length }));
    const dir = freshDir();
    await downloadModel(entry(pinned), opts(dir));
    expect(await verifyModel(dir, entry(pinned))).toEqual({ ok: true, files: fp32Files.length, problems: [] });
    // One wrong byte in preprocessor_config.json, and a manifest edited to vouch for it.
    const file = path.join(dir, 'preprocessor_config.json');
    const bytes = fs.readFileSync(file);
    bytes[bytes.indexOf('0.4') + 2] ^= 1;
    fs.writeFileSync(file, bytes);
    const manifestFile = path.join(dir, 'cull-model.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    manifest.files['preprocessor_config.json'].sha256 = sha256(bytes);
    fs.writeFileSync(manifestFile, JSON.stringify(manifest));
    expect(await verifyModel(dir)).toMatchObject({ ok: true }); // no registry entry: the manifest is all there is
    expect(await verifyModel(dir, entry(pinned))).toEqual({
      ok: false, files: fp32Files.length, problems: ['preprocessor_config.json: SHA-256 mismatch (file changed or corrupted)'],
    });
  });

  it('retries a 5xx answer, but not a 404', async () => {
    knobs.unavailableOnce.add('tokenizer.json');
    const dir = freshDir();
    await downloadModel(entry(), opts(dir));
    expect(log.filter((l) => l.path.endsWith('/tokenizer.json'))).toHaveLength(2);
    expect((await verifyModel(dir)).ok).toBe(true);
  });

  it('reports a missing file (404) by name', async () => {
    knobs.missing.add('preprocessor_config.json');
    const err = await failure(downloadModel(entry(), opts(freshDir())));
    expect(err.kind).toBe('not-found');
    expect(err.message).toMatch(/^preprocessor_config\.json not found on 127\.0\.0\.1:\d+ \(HTTP 404/);
    expect(log.filter((l) => l.path.endsWith('/preprocessor_config.json'))).toHaveLength(1); // not retried
  });

  it('gives up with a clear message when the server stalls', async () => {
    knobs.stall.add('onnx/vision_model.onnx');
    const err = await failure(downloadModel(entry(), { ...opts(freshDir()), idleTimeoutMs: 300 }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/^download of onnx\/vision_model\.onnx from 127\.0\.0\.1:\d+ stalled \(no data for 300 ms\)/);
  });

  it('explains an unreachable server', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await new Promise((r) => closed.once('listening', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await failure(downloadModel(entry(), { ...opts(freshDir()), baseUrl: `http://127.0.0.1:${port}` }));
    expect(err.kind).toBe('offline');
    expect(err.message).toBe(`cannot reach 127.0.0.1:${port} — check your internet connection, or pass --model DIR with a model folder`);
  });

  it('refuses plain http unless allowed', async () => {
    const err = await failure(downloadModel(entry(), { dir: freshDir(), baseUrl: base }));
    expect(err.kind).toBe('unsafe');
    expect(err.message).toMatch(/only https downloads are allowed/);
    expect(log).toHaveLength(0);
  });

  it('refuses file names that would escape the model folder, before any request', async () => {
    for (const bad of ['../evil.json', '/etc/passwd', 'onnx/../../evil.json', 'a//b', 'C:\\evil.json', 'c:evil', './config.json', '']) {
      const dir = freshDir();
      const err = await failure(downloadModel(entry([...FILES, { path: bad }]), opts(dir)));
      expect(err.kind, bad).toBe('unsafe');
      expect(err.message).toContain('refusing unsafe file name');
      expect(fs.existsSync(dir), bad).toBe(false);
    }
    expect(fs.existsSync(path.join(work, 'evil.json'))).toBe(false);
    expect(log).toHaveLength(0);
    expect(safePath('/m', 'onnx/text_model.onnx')).toBe(path.resolve('/m/onnx/text_model.onnx'));
  });

  it('refuses a revision that is not a pinned commit', async () => {
    const err = await failure(downloadModel({ ...entry(), revision: 'main' }, opts(freshDir())));
    expect(err.kind).toBe('unsafe');
  });
});
