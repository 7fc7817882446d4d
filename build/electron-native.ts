// Native modules for the Electron build, kept OUT of node_modules so tests (Node's ABI) never break.
//
// onnxruntime-node and sharp are Node-API addons: one binary works in Node and Electron alike.
// better-sqlite3 is not (it uses V8's C++ API), so Electron needs its own build. Instead of
// rebuilding node_modules/better-sqlite3 in place (which would break `npm test` until someone
// rebuilds it back), we copy the package into a staging folder, rebuild it there for Electron with
// @electron/rebuild (prebuilt binary if one is published, else node-gyp against Electron's headers),
// and place the result in dist-electron/native/better-sqlite3. The main-process bundle resolves
// `better-sqlite3` to that folder (see build-electron.ts), and electron-builder packages it from
// there (npmRebuild: false). node_modules keeps its Node build, untouched.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const NATIVE_DIR = 'native';
const MODULE = 'better-sqlite3';
const STAMP = '.cull-native.json';

export interface NativeOptions {
  root: string; // project root (has node_modules)
  outDir: string; // dist-electron
  /** 'electron' (default): rebuild for the installed Electron; 'node': copy the Node build (smoke tests under Node). */
  target?: 'electron' | 'node';
  electronVersion?: string;
  arch?: string;
  force?: boolean;
  log?: (line: string) => void;
}

interface Stamp {
  module: string;
  version: string;
  target: 'electron' | 'node';
  runtimeVersion: string;
  platform: string;
  arch: string;
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Electron's NODE_MODULE_VERSION, from the node-abi table @electron/rebuild itself uses. */
async function electronAbi(root: string, electronVersion: string): Promise<string> {
  const rebuildMain = createRequire(path.join(root, 'package.json')).resolve('@electron/rebuild');
  const nodeAbi = createRequire(rebuildMain).resolve('node-abi');
  const { getAbi } = (await import(pathToFileURL(nodeAbi).href)) as { getAbi(target: string, runtime: string): string };
  return getAbi(electronVersion, 'electron');
}

/**
 * Whether `addon` was compiled for ABI `abi`: a V8-API addon exports `node_register_module_v<abi>`
 * (symbol names are plain bytes in ELF, Mach-O and PE files alike).
 */
export function addonAbiMatches(addon: string, abi: string): boolean {
  const bytes = fs.readFileSync(addon);
  return bytes.includes(Buffer.from(`node_register_module_v${abi}\0`));
}

function assertAbi(addon: string, abi: string, what: string): void {
  if (!addonAbiMatches(addon, abi)) {
    throw new Error(
      `${addon} is not built for ${what} (NODE_MODULE_VERSION ${abi}). If npm's "nodedir" or node-gyp's ` +
        'configuration points at Node headers, unset it so Electron headers are used.',
    );
  }
}

/** Copies the files better-sqlite3 needs at run time (package.json, lib/, the addon). */
function installRuntimeCopy(pkgDir: string, dest: string, stamp: Stamp): void {
  const addon = path.join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
  if (!fs.existsSync(addon)) throw new Error(`No compiled addon at ${addon}.`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(path.join(dest, 'build', 'Release'), { recursive: true });
  fs.copyFileSync(path.join(pkgDir, 'package.json'), path.join(dest, 'package.json'));
  fs.cpSync(path.join(pkgDir, 'lib'), path.join(dest, 'lib'), { recursive: true });
  fs.copyFileSync(addon, path.join(dest, 'build', 'Release', 'better_sqlite3.node'));
  fs.writeFileSync(path.join(dest, STAMP), JSON.stringify(stamp, null, 2) + '\n');
}

/** Makes dist-electron/native/better-sqlite3 hold a build for the target runtime; returns its folder. */
export async function prepareNativeModules(opts: NativeOptions): Promise<string> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const target = opts.target ?? 'electron';
  const require = createRequire(path.join(opts.root, 'package.json'));
  const pkgDir = path.dirname(require.resolve(`${MODULE}/package.json`));
  const version = readJson<{ version: string }>(path.join(pkgDir, 'package.json'))!.version;
  const arch = opts.arch ?? process.arch;
  const runtimeVersion =
    target === 'node' ? process.versions.node : (opts.electronVersion ?? readJson<{ version: string }>(require.resolve('electron/package.json'))!.version);
  const stamp: Stamp = { module: MODULE, version, target, runtimeVersion, platform: process.platform, arch };
  const dest = path.join(opts.outDir, NATIVE_DIR, MODULE);

  const abi = target === 'node' ? process.versions.modules : await electronAbi(opts.root, runtimeVersion);
  const what = target === 'node' ? `Node ${runtimeVersion}` : `Electron ${runtimeVersion}`;
  const addonIn = (dir: string) => path.join(dir, 'build', 'Release', 'better_sqlite3.node');

  const current = readJson<Stamp>(path.join(dest, STAMP));
  if (!opts.force && current && JSON.stringify(current) === JSON.stringify(stamp) && fs.existsSync(addonIn(dest)) && addonAbiMatches(addonIn(dest), abi)) {
    log(`${MODULE} ${version} for ${what} (${arch}) is up to date in ${path.relative(opts.root, dest)}`);
    return dest;
  }

  if (target === 'node') {
    assertAbi(addonIn(pkgDir), abi, what);
    installRuntimeCopy(pkgDir, dest, stamp);
    log(`copied the Node build of ${MODULE} to ${path.relative(opts.root, dest)}`);
    return dest;
  }

  // Staging project: its own package.json so @electron/rebuild looks nowhere else.
  const staging = path.join(opts.root, '.cache', 'electron-native', `${runtimeVersion}-${process.platform}-${arch}`);
  const stagedPkg = path.join(staging, 'node_modules', MODULE);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(stagedPkg), { recursive: true });
  fs.writeFileSync(
    path.join(staging, 'package.json'),
    JSON.stringify({ name: 'cull-electron-native', private: true, dependencies: { [MODULE]: version } }, null, 2),
  );
  // Sources only: the Node build in build/ must not be mistaken for an Electron one.
  fs.cpSync(pkgDir, stagedPkg, { recursive: true, filter: (src) => path.relative(pkgDir, src).split(path.sep)[0] !== 'build' });

  log(`rebuilding ${MODULE} ${version} for Electron ${runtimeVersion} (ABI ${abi}, ${arch}) in ${path.relative(opts.root, staging)}…`);
  const { rebuild } = await import('@electron/rebuild');
  // `npm run` exports npm's config as npm_config_*; a configured nodedir would make node-gyp
  // compile against the local Node headers instead of Electron's (a silently wrong binary).
  const saved: Record<string, string | undefined> = {};
  for (const key of Object.keys(process.env)) {
    if (/^npm_config_nodedir$/i.test(key)) {
      saved[key] = process.env[key];
      delete process.env[key];
    }
  }
  try {
    await rebuild({
      buildPath: staging,
      projectRootPath: staging,
      electronVersion: runtimeVersion,
      arch,
      onlyModules: [MODULE],
      force: true,
      mode: 'sequential',
    });
  } finally {
    Object.assign(process.env, saved);
  }
  assertAbi(addonIn(stagedPkg), abi, what);
  installRuntimeCopy(stagedPkg, dest, stamp);
  log(`${MODULE} for Electron ${runtimeVersion} → ${path.relative(opts.root, dest)}`);
  return dest;
}
