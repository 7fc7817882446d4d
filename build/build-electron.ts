// Bundles the Electron main process and preload with esbuild:
//   dist-electron/main.cjs      main process (package.json "main")
//   dist-electron/preload.cjs   preload; CommonJS because a sandboxed preload cannot load ES modules
//   dist-electron/workers/*.cjs worker entries found as `new URL('./x.ts', import.meta.url)`
//   dist-electron/assets/**     data files found as `new URL('./data/x.json', import.meta.url)`
//   dist-electron/native/…      better-sqlite3 built for Electron (build/electron-native.ts)
// Native and file-relative packages stay external and load from node_modules at run time.
//
// Usage: tsx build/build-electron.ts [--native=electron|node|skip] [--force-native] [--minify]
import esbuild, { type BuildOptions, type Plugin } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATIVE_DIR, prepareNativeModules } from './electron-native.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Loaded from node_modules at run time: native addons, and packages that locate files next to themselves. */
export const EXTERNAL = [
  'electron',
  'onnxruntime-node',
  'sharp',
  'better-sqlite3',
  // optional accelerators `ws` tries to require
  'bufferutil',
  'utf-8-validate',
];

const BANNER = `const __cullBundleUrl = require('node:url').pathToFileURL(__filename).href;`;

export interface BuildElectronOptions {
  root?: string;
  outDir?: string;
  /** Which better-sqlite3 the bundle loads: the Electron rebuild (default), node_modules' Node build ('node', for smoke runs under Node), or leave it ('skip'). */
  native?: 'electron' | 'node' | 'skip';
  forceNative?: boolean;
  minify?: boolean;
  /** Entry points relative to root (tests bundle other entries with the same rules). */
  entries?: Record<string, string>;
  log?: (line: string) => void;
}

/**
 * Rewrites `new URL('<relative>', import.meta.url)` in project sources: scripts become worker
 * bundles, other files are copied under assets/, and the URL is rebuilt from the bundle's own
 * location. Other `import.meta` uses are mapped to the bundle (see `define`).
 */
function importMetaUrlPlugin(root: string, outDir: string, workers: Map<string, string>): Plugin {
  const pattern = /new\s+URL\(\s*(['"`])(\.{1,2}\/[^'"`]+)\1\s*,\s*import\.meta\.url\s*\)/g;
  return {
    name: 'cull-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        let source = await fs.promises.readFile(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        source = source.replace(pattern, (_match, _q: string, rel: string) => {
          const target = path.resolve(path.dirname(args.path), rel);
          const fromRoot = path.relative(root, target).split(path.sep).join('/');
          if (fromRoot.startsWith('..')) throw new Error(`${args.path}: ${rel} points outside the project`);
          let outRel: string;
          if (/\.[cm]?[jt]s$/.test(target)) {
            outRel = `workers/${fromRoot.replace(/\.[cm]?[jt]s$/, '').replace(/\//g, '_')}.cjs`;
            workers.set(target, outRel);
          } else {
            outRel = `assets/${fromRoot}`;
            fs.mkdirSync(path.dirname(path.join(outDir, outRel)), { recursive: true });
            fs.copyFileSync(target, path.join(outDir, outRel));
          }
          // Relative to the bundle that contains this code (main.cjs or a worker one level down).
          return `new URL(${JSON.stringify(outRel)}, __cullBundleRoot)`;
        });
        return { contents: source, loader: args.path.endsWith('.ts') ? 'ts' : 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/** Points `better-sqlite3` at dist-electron/native/better-sqlite3 (built for Electron's ABI), from a bundle `depth` folders below dist-electron. */
function nativeAliasPlugin(depth: number): Plugin {
  const up = depth === 0 ? './' : '../'.repeat(depth);
  return {
    name: 'cull-native-alias',
    setup(build) {
      build.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: `${up}${NATIVE_DIR}/better-sqlite3`, external: true }));
    },
  };
}

function common(outDir: string, plugins: Plugin[], minify: boolean, depth: number): BuildOptions {
  const up = depth === 0 ? './' : '../'.repeat(depth);
  return {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22', // Electron 45 ships Node 22
    sourcemap: 'linked',
    minify,
    legalComments: 'none',
    external: EXTERNAL,
    plugins,
    define: {
      'import.meta.url': '__cullBundleUrl',
      'import.meta.dirname': '__dirname',
      'import.meta.filename': '__filename',
      'import.meta.env': '{}',
    },
    banner: { js: `${BANNER}\nconst __cullBundleRoot = new (require('node:url').URL)(${JSON.stringify(up)}, __cullBundleUrl).href;` },
    logLevel: 'warning',
    absWorkingDir: outDir,
  };
}

/** Fails the build if the sandboxed preload would require anything but electron. */
function checkPreload(file: string): void {
  const code = fs.readFileSync(file, 'utf8');
  const required = [...code.matchAll(/require\((['"])([^'"]+)\1\)/g)].map((m) => m[2]);
  const bad = required.filter((r) => r !== 'electron' && r !== 'node:url' && r !== 'url');
  if (bad.length) throw new Error(`preload.cjs requires ${bad.join(', ')}: a sandboxed preload can only require electron.`);
}

export async function buildElectron(opts: BuildElectronOptions = {}): Promise<string[]> {
  const root = path.resolve(opts.root ?? ROOT);
  const outDir = path.resolve(opts.outDir ?? path.join(root, 'dist-electron'));
  const native = opts.native ?? 'electron';
  const minify = opts.minify ?? false;
  const log = opts.log ?? ((line: string) => console.log(line));
  for (const sub of ['workers', 'assets']) fs.rmSync(path.join(outDir, sub), { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });

  const workers = new Map<string, string>();
  const metaUrl = importMetaUrlPlugin(root, outDir, workers);
  const pluginsAt = (depth: number) => [metaUrl, ...(native === 'skip' ? [] : [nativeAliasPlugin(depth)])];
  const outputs: string[] = [];

  const entries = opts.entries ?? { main: 'electron/main.ts' };
  for (const [name, entry] of Object.entries(entries)) {
    const outfile = path.join(outDir, `${name}.cjs`);
    await esbuild.build({ ...common(outDir, pluginsAt(0), minify, 0), entryPoints: [path.join(root, entry)], outfile });
    outputs.push(outfile);
  }

  if (!opts.entries) {
    const outfile = path.join(outDir, 'preload.cjs');
    await esbuild.build({
      ...common(outDir, [], minify, 0),
      entryPoints: [path.join(root, 'electron/desktop/preload.ts')],
      outfile,
      external: ['electron'],
      sourcemap: false,
      banner: {},
      define: {},
    });
    checkPreload(outfile);
    outputs.push(outfile);
  }

  // Workers (and the workers they reference) are bundles of their own, one folder down.
  const built = new Set<string>();
  for (let pending = [...workers]; pending.length; pending = [...workers].filter(([src]) => !built.has(src))) {
    for (const [src, outRel] of pending) {
      built.add(src);
      const outfile = path.join(outDir, outRel);
      await esbuild.build({ ...common(outDir, pluginsAt(1), minify, 1), entryPoints: [src], outfile });
      outputs.push(outfile);
    }
  }

  if (native !== 'skip') await prepareNativeModules({ root, outDir, target: native, force: opts.forceNative, log });
  for (const f of outputs) log(`built ${path.relative(root, f)}`);
  return outputs;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}`));
  const nativeArg = arg('native')?.split('=')[1] ?? process.env.CULL_NATIVE_TARGET ?? 'electron';
  if (!['electron', 'node', 'skip'].includes(nativeArg)) {
    console.error(`--native must be electron, node or skip (got ${nativeArg})`);
    process.exit(2);
  }
  buildElectron({
    native: nativeArg as 'electron' | 'node' | 'skip',
    forceNative: !!arg('force-native'),
    minify: !!arg('minify'),
  }).catch((err: unknown) => {
    console.error(`build-electron failed: ${err instanceof Error ? err.message : String(err)}`);
    if (nativeArg === 'electron') {
      console.error(
        'Rebuilding better-sqlite3 for Electron needs either its prebuilt binary (downloaded from GitHub) or a C++ toolchain ' +
          'and Electron headers (downloaded from electronjs.org). Run with --native=skip to bundle only.',
      );
    }
    process.exit(1);
  });
}
