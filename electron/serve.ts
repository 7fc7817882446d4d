// `npm run serve`: the app in a browser. Builds the renderer if dist/renderer is missing, opens
// the library like the desktop app does (--db, --model / $CULL_MODEL_DIR / the downloaded default;
// without a model the page offers the download), and serves it on 127.0.0.1 with a fresh token.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { AppServices } from './services/app-services.ts';
import { startServer } from './transport/server.ts';

// The repository root: this file is electron/serve.ts, run by tsx from source (`npm run serve`).
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_PORT = 5178;

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0 = any free port)');
  return n;
}

function parsePositiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number above 0');
  return n;
}

/** Runs `vite build` (the renderer) with this Node. */
function buildRenderer(): Promise<void> {
  const require = createRequire(path.join(ROOT, 'package.json'));
  const viteBin = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
  console.log('dist/renderer is missing or older than its sources: building the renderer (vite build)…');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [viteBin, 'build'], { cwd: ROOT, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vite build exited with code ${code}`))));
  });
}

/** Newest modification time (ms) of the files under `p` (a file or a folder), 0 if it is missing. */
function newest(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  return fs.readdirSync(p).reduce((m, name) => Math.max(m, newest(path.join(p, name))), st.mtimeMs);
}

/**
 * Whether the built page is missing or older than its sources (the renderer, the shared types it
 * imports, the Vite config): after a `git pull` an old build would show yesterday's window — the
 * desktop app's `npm start` always builds, so `npm run serve` must not lag behind it either.
 */
function builtBefore(indexHtml: string): boolean {
  const built = newest(indexHtml);
  if (!built) return true;
  const sources = ['renderer', 'common', 'vite.config.ts', 'package.json'].map((f) => newest(path.join(ROOT, f)));
  return Math.max(...sources) > built;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('npm run serve --')
    .description('Serve Cull to a browser on 127.0.0.1 (token-protected).')
    .option('--port <n>', `port (default ${DEFAULT_PORT}, or any free port when it is taken; 0 = any)`, parsePort)
    .option('--db <file>', 'library database (default: the one in your user data folder, as for the CLI and the app)')
    .option('--model <dir|id>', 'CLIP model folder or known model id (default: $CULL_MODEL_DIR, else the downloaded default)')
    .option('--quantized', 'use the int8 *_quantized.onnx variant of the model')
    .option('--threads <n>', 'inference threads (default: all cores)', parsePositiveInt)
    .option('--static <dir>', 'built renderer to serve', path.join(ROOT, 'dist', 'renderer'))
    .option('--rebuild', 'rebuild the renderer even if it exists')
    .showHelpAfterError()
    .parse();
  const opts = program.opts<{ port?: number; db?: string; model?: string; quantized?: boolean; threads?: number; static: string; rebuild?: boolean }>();

  const staticDir = path.resolve(opts.static);
  const defaultStatic = staticDir === path.join(ROOT, 'dist', 'renderer');
  if (defaultStatic && (opts.rebuild || builtBefore(path.join(staticDir, 'index.html')))) await buildRenderer();
  if (!fs.existsSync(path.join(staticDir, 'index.html'))) throw new Error(`No index.html in ${staticDir}.`);

  const services = new AppServices({ db: opts.db, model: opts.model, quantized: opts.quantized, threads: opts.threads, log: (l) => console.log(l) });
  console.log(`library: ${services.paths.dbPath}`);
  const status = await services.start();
  if (status.state === 'ready') {
    console.log(`model: ${status.model!.name} (${status.dir})${status.model!.randomWeights ? ' — test model with random weights: scores are meaningless' : ''}`);
  } else {
    console.log(`model: ${status.state}${status.error ? ` — ${status.error}` : ''}; the page offers the download.`);
  }

  const serverOpts = { getLibrary: () => services.getLibrary(), models: services, staticDir };
  let server;
  try {
    server = await startServer({ ...serverOpts, port: opts.port ?? DEFAULT_PORT });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || opts.port !== undefined) throw err;
    server = await startServer({ ...serverOpts, port: 0 });
  }
  console.log(`\nCull is running at\n\n  ${server.url}\n\nOpen that URL (it carries this session's access token). Ctrl+C stops the server.`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    void server
      .close()
      .then(() => services.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`cull serve: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
