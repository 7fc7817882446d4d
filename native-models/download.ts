// Resumable, verified model download. Each file streams into `<file>.part` (resumed with an HTTP
// Range request), is hashed while streaming, checked against the pinned SHA-256 and/or the hub's
// X-Linked-Etag (the LFS object's SHA-256), fsynced and only then renamed into place. While a download
// runs, the folder holds cull-download.incomplete (written first, removed last, after cull-model.json),
// and loadModelFolder refuses a folder with that marker or any .part file: a half-downloaded model is
// never loaded. Files land only inside the model folder (names checked, symlinked folders refused),
// and only https URLs are fetched (plain http only with allowHttp, and then only from loopback).
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { DownloadError } from './errors.ts';
import { DOWNLOAD_MARKER, MANIFEST_FILE, loadModelFolder, type CullModelManifest } from './folder.ts';
import { HF_BASE_URL, REGISTRY, fileUrl, filesFor, type RegistryEntry, type RegistryFile } from './registry.ts';
import type { ModelInfo } from './types.ts';

export interface DownloadProgress {
  file: string;
  /** Bytes of this file on disk so far (a resumed part included). */
  bytes: number;
  total: number | null;
  /** Bytes per second of the current transfer. */
  rate: number;
  index: number;
  count: number;
  /** Bytes of all files so far (finished files included). */
  received: number;
  /** Expected bytes of all files: known sizes (pinned, or announced once a transfer starts); null when none is known. */
  expectedTotal: number | null;
}

export interface DownloadOptions {
  dir: string;
  baseUrl?: string;
  /** Fetch the quantized ONNX pair instead of the full-precision one. */
  quantized?: boolean;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
  /** Accept plain http URLs from loopback hosts only (tests against a local server). */
  allowHttp?: boolean;
  /** Abort when no byte arrives for this long (default 30 s). */
  idleTimeoutMs?: number;
  /** Extra attempts per file after a dropped connection, resuming each time (default 3). */
  retries?: number;
}

type FileRecord = NonNullable<CullModelManifest['files']>[string];

const OFFLINE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EAI_NONAME']);
const SHA256_RE = /^[0-9a-f]{64}$/;

export async function downloadModel(entry: RegistryEntry, opts: DownloadOptions): Promise<ModelInfo> {
  const dir = path.resolve(opts.dir);
  const baseUrl = opts.baseUrl ?? HF_BASE_URL;
  checkUrl(baseUrl, opts.allowHttp);
  if (!/^[\w.-]+\/[\w.-]+$/.test(entry.repo)) throw new DownloadError('unsafe', `invalid repository name "${entry.repo}"`);
  if (!/^[0-9a-f]{40}$/.test(entry.revision)) throw new DownloadError('unsafe', `revision of ${entry.id} must be a 40-hex commit, got "${entry.revision}"`);
  const files = filesFor(entry, opts.quantized);
  const targets = files.map((f) => ({ file: f, dest: safePath(dir, f.path) })); // all checked before any I/O

  await fsp.mkdir(dir, { recursive: true });
  // Incomplete until the manifest is written again and the marker removed.
  await writeDurably(path.join(dir, DOWNLOAD_MARKER), `${JSON.stringify({ id: entry.id, revision: entry.revision, startedAt: new Date().toISOString() })}\n`);
  await fsp.rm(path.join(dir, MANIFEST_FILE), { force: true });
  const realDir = await fsp.realpath(dir);

  const records: Record<string, FileRecord> = {};
  const sizes = targets.map(({ file }) => file.size ?? 0); // refined as sizes become known
  let received = 0;
  for (const [index, { file, dest }] of targets.entries()) {
    if (opts.signal?.aborted) throw new DownloadError('aborted', 'download cancelled', file.path);
    const progress = (bytes: number, total: number | null, rate: number) => {
      if (total !== null) sizes[index] = total;
      const expected = sizes.reduce((a, b) => a + b, 0);
      opts.onProgress?.({ file: file.path, bytes, total, rate, index, count: targets.length, received: received + bytes, expectedTotal: expected || null });
    };
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await insideFolder(realDir, dest, file.path);
    const record = (await reuseExisting(file, dest)) ?? (await downloadFile(entry, file, dest, baseUrl, opts, progress));
    records[file.path] = record;
    progress(record.size, record.size, 0);
    received += record.size;
  }

  const manifest: CullModelManifest = {
    id: entry.id,
    name: entry.name,
    repo: entry.repo,
    revision: entry.revision,
    downloadedAt: new Date().toISOString(),
    files: records,
  };
  await writeDurably(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await fsp.rm(path.join(dir, DOWNLOAD_MARKER), { force: true });
  return loadModelFolder(dir, { quantized: opts.quantized ?? false });
}

export interface VerifyResult {
  ok: boolean;
  /** Files listed in cull-model.json (all checked). */
  files: number;
  /** One line per problem, "<file>: <what is wrong>". */
  problems: string[];
}

/**
 * Recomputes every file's size and SHA-256 against cull-model.json and, for a registry model (or
 * `entry`), against the registry's pinned values, so an edited manifest cannot vouch for a changed file.
 */
export async function verifyModel(dir: string, entry?: RegistryEntry): Promise<VerifyResult> {
  let manifest: CullModelManifest;
  try {
    manifest = JSON.parse(await fsp.readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as CullModelManifest;
  } catch {
    return { ok: false, files: 0, problems: [`${MANIFEST_FILE}: missing or unreadable (the download did not finish)`] };
  }
  const known = entry ?? (Object.hasOwn(REGISTRY, manifest.id) ? REGISTRY[manifest.id] : undefined);
  const pins = new Map<string, RegistryFile>();
  if (known && (!manifest.revision || manifest.revision === known.revision)) {
    for (const f of known.files) if (f.sha256 || f.size !== undefined) pins.set(f.path, f);
  }
  const entries = Object.entries(manifest.files ?? {});
  const problems: string[] = [];
  for (const [file, want] of entries) {
    let full: string;
    try {
      full = safePath(dir, file);
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
      continue;
    }
    const pin = pins.get(file);
    const wantSize = pin?.size ?? want.size;
    const wantSha = pin?.sha256 ?? want.sha256;
    const size = await fsp.stat(full).then((s) => s.size, () => -1);
    if (size < 0) problems.push(`${file}: missing`);
    else if (size !== wantSize) problems.push(`${file}: size ${size} bytes, expected ${wantSize}`);
    else if ((await hashFile(full)) !== wantSha) problems.push(`${file}: SHA-256 mismatch (file changed or corrupted)`);
    else if (pin && ((pin.sha256 && want.sha256 !== pin.sha256) || (pin.size !== undefined && want.size !== pin.size))) {
      problems.push(`${file}: ${MANIFEST_FILE} records a different hash than the pinned one (manifest edited)`);
    }
  }
  // Pinned files every precision needs must be listed.
  for (const [file, pin] of pins) {
    if (!pin.variant && !manifest.files?.[file]) problems.push(`${file}: not listed in ${MANIFEST_FILE}`);
  }
  return { ok: problems.length === 0, files: entries.length, problems };
}

/** `dir/file` for a repository path, refusing anything that could land outside `dir`. */
export function safePath(dir: string, file: string): string {
  const bad =
    !file || file.includes('\\') || file.includes('\0') || file.includes(':') || path.posix.isAbsolute(file) ||
    file.split('/').some((seg) => seg === '' || seg === '.' || seg === '..');
  const root = path.resolve(dir);
  const full = path.resolve(root, ...file.split('/'));
  if (bad || !full.startsWith(root + path.sep)) throw new DownloadError('unsafe', `refusing unsafe file name "${file}"`, file);
  return full;
}

/** temp + fsync + rename, so the file is complete or absent. */
async function writeDurably(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

async function fsyncPath(file: string): Promise<void> {
  const fh = await fsp.open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Refuses a destination whose folder resolves outside the model folder (a symlinked "onnx/", say). */
async function insideFolder(realDir: string, dest: string, file: string): Promise<void> {
  const parent = await fsp.realpath(path.dirname(dest));
  const target = await fsp.lstat(dest).then((st) => st, () => null);
  if ((parent !== realDir && !parent.startsWith(realDir + path.sep)) || target?.isSymbolicLink()) {
    throw new DownloadError('unsafe', `refusing to write "${file}": it would land outside the model folder (symbolic link)`, file);
  }
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

function checkUrl(url: string, allowHttp = false): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DownloadError('unsafe', `invalid URL "${url}"`);
  }
  if (u.protocol !== 'https:' && !(allowHttp && u.protocol === 'http:' && LOOPBACK.test(u.hostname))) {
    throw new DownloadError('unsafe', `refusing ${u.protocol.replace(':', '')} URL ${u.origin}: only https downloads are allowed`);
  }
  return u;
}

/** A complete file from an earlier run is kept when its pinned hash still matches. */
async function reuseExisting(file: RegistryFile, dest: string): Promise<FileRecord | null> {
  if (!file.sha256 || !fs.existsSync(dest)) return null;
  const size = (await fsp.stat(dest)).size;
  if ((file.size === undefined || size === file.size) && (await hashFile(dest)) === file.sha256) {
    return { sha256: file.sha256, size, verifiedBy: 'registry' };
  }
  await fsp.rm(dest, { force: true });
  return null;
}

async function downloadFile(
  entry: RegistryEntry, file: RegistryFile, dest: string, baseUrl: string, opts: DownloadOptions,
  progress: (bytes: number, total: number | null, rate: number) => void,
): Promise<FileRecord> {
  const url = fileUrl(entry, file.path, baseUrl);
  const part = `${dest}.part`;
  let attemptsLeft = opts.retries ?? 3;
  let restartedAfterMismatch = false;
  for (;;) {
    const resumedFrom = await fsp.stat(part).then((s) => s.size, () => 0);
    try {
      const got = await transfer(url, file.path, part, opts, progress);
      const record = checkHash(file, got);
      await fsyncPath(part);
      await fsp.rename(part, dest);
      return record;
    } catch (err) {
      if (!(err instanceof DownloadError)) throw err;
      if (err.kind === 'hash') {
        await fsp.rm(part, { force: true });
        // A stale part from an earlier run can poison a resume: start over once from zero.
        if (resumedFrom > 0 && !restartedAfterMismatch) {
          restartedAfterMismatch = true;
          continue;
        }
        throw err;
      }
      if (err.kind === 'network' && attemptsLeft-- > 0) continue; // resume from the part on disk
      throw err;
    }
  }
}

interface Transferred {
  sha256: string;
  size: number;
  /** SHA-256 announced by the server (X-Linked-Etag / ETag), when it is one. */
  announced: string | null;
}

/** One HTTP transfer into `part`, resuming from its current size. */
async function transfer(
  url: string, file: string, part: string, opts: DownloadOptions,
  progress: (bytes: number, total: number | null, rate: number) => void,
): Promise<Transferred> {
  const host = new URL(url).host;
  const idleMs = opts.idleTimeoutMs ?? 30_000;
  const controller = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ((timedOut = true), controller.abort()), idleMs);
  };
  const onAbort = () => controller.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) controller.abort();

  const fail = (err: unknown): never => {
    if (err instanceof DownloadError) throw err;
    if (timedOut) throw new DownloadError('timeout', `download of ${file} from ${host} stalled (no data for ${idleMs >= 1000 ? `${Math.round(idleMs / 1000)} s` : `${idleMs} ms`}) — check your connection and try again; it resumes where it stopped`, file);
    if (opts.signal?.aborted) throw new DownloadError('aborted', `download of ${file} cancelled`, file, { cause: err });
    const code = (err as { cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
    if (code && OFFLINE_CODES.has(code)) {
      throw new DownloadError('offline', `cannot reach ${host} — check your internet connection, or pass --model DIR with a model folder`, file, { cause: err });
    }
    throw new DownloadError('network', `connection to ${host} failed while downloading ${file} (${code ?? (err as Error)?.message ?? err})`, file, { cause: err });
  };

  try {
    touch();
    let offset = await fsp.stat(part).then((s) => s.size, () => 0);
    const { res, announced } = await request(url, offset, controller.signal, opts).catch(fail);

    if (res.status === 416 && offset > 0) {
      // Range past the end: the part may already be complete.
      await res.body?.cancel();
      const total = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
      if (total === offset) return { sha256: await hashFile(part), size: offset, announced };
      await fsp.rm(part, { force: true });
      throw new DownloadError('network', `server rejected the resume of ${file}; restarting`, file);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new DownloadError('not-found', `${file} not found on ${host} (HTTP 404 for ${url}) — the model repository or revision may have moved`, file);
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      // 5xx is usually transient (retried, resuming); anything else will not change by retrying.
      throw new DownloadError(res.status >= 500 ? 'network' : 'http', `HTTP ${res.status} ${res.statusText} from ${host} while downloading ${file}`, file);
    }

    let total: number | null = null;
    if (res.status === 206) {
      const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== offset) {
        await res.body?.cancel();
        await fsp.rm(part, { force: true });
        throw new DownloadError('network', `server resumed ${file} at the wrong offset; restarting`, file);
      }
      if (m[2] !== '*') total = Number(m[2]);
    } else {
      offset = 0; // 200: the server sent the whole file, so start over
      const len = res.headers.get('content-length');
      if (len !== null) total = Number(len);
    }

    const hash = crypto.createHash('sha256');
    if (offset > 0) await hashFile(part, hash);
    const out = fs.createWriteStream(part, { flags: offset > 0 ? 'a' : 'w' });
    let writeError: Error | null = null;
    out.on('error', (err) => {
      writeError = err;
      controller.abort();
    });
    let bytes = offset;
    const started = Date.now();
    let lastReport = 0;
    try {
      if (!res.body) throw new DownloadError('network', `empty response from ${host} for ${file}`, file);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        touch();
        hash.update(chunk);
        bytes += chunk.length;
        if (!out.write(chunk)) await once(out, 'drain');
        const now = Date.now();
        if (now - lastReport >= 100) {
          lastReport = now;
          progress(bytes, total, ((bytes - offset) * 1000) / Math.max(1, now - started));
        }
      }
    } catch (err) {
      if (!writeError) fail(err);
    } finally {
      // Keep what arrived: the next attempt resumes from it.
      out.end();
      await once(out, 'close').catch(() => undefined);
    }
    if (writeError) throw new Error(`cannot write ${part}: ${(writeError as Error).message}`, { cause: writeError });
    if (total !== null && bytes !== total) {
      throw new DownloadError('network', `connection to ${host} closed early while downloading ${file} (${bytes} of ${total} bytes)`, file);
    }
    return { sha256: hash.digest('hex'), size: bytes, announced };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** GET with manual redirects: the hub puts X-Linked-Etag on its redirect to the LFS storage. */
async function request(url: string, offset: number, signal: AbortSignal, opts: DownloadOptions): Promise<{ res: Response; announced: string | null }> {
  const fetchImpl = opts.fetchImpl ?? fetch;
  let announced: string | null = null;
  let current = url;
  for (let hop = 0; hop < 10; hop++) {
    const headers: Record<string, string> = { 'user-agent': 'cull-model-download' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const res = await fetchImpl(current, { headers, redirect: 'manual', signal });
    // X-Linked-Etag on any hop; a plain ETag only from the resolve endpoint itself (CDN ETags are not SHA-256).
    announced ??= sha256Etag(res.headers.get('x-linked-etag')) ?? (hop === 0 ? sha256Etag(res.headers.get('etag')) : null);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) return { res, announced };
    await res.body?.cancel();
    current = checkUrl(new URL(location, current).toString(), opts.allowHttp).toString();
  }
  throw new DownloadError('http', `too many redirects while downloading ${url}`);
}

/** An ETag that is a 64-hex SHA-256 (LFS object), else null (git blob SHA-1 of small files). */
function sha256Etag(etag: string | null): string | null {
  const v = etag?.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase() ?? '';
  return SHA256_RE.test(v) ? v : null;
}

function checkHash(file: RegistryFile, got: Transferred): FileRecord {
  for (const [want, source] of [[file.sha256, 'pinned'], [got.announced, 'server-announced']] as const) {
    if (want && want !== got.sha256) {
      throw new DownloadError('hash', `${file.path}: SHA-256 mismatch (${source} ${want}, downloaded ${got.sha256}) — the download was corrupted and has been removed; run the download again`, file.path);
    }
  }
  if (file.size !== undefined && file.size !== got.size) {
    throw new DownloadError('hash', `${file.path}: size ${got.size} bytes, expected ${file.size} — removed; run the download again`, file.path);
  }
  return { sha256: got.sha256, size: got.size, verifiedBy: file.sha256 ? 'registry' : got.announced ? 'etag' : 'none' };
}

async function hashFile(file: string, hash = crypto.createHash('sha256')): Promise<string> {
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.copy().digest('hex');
}
