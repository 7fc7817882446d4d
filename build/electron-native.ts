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

  const current = readJson<Stamp>(path.join(dest, STAMP));
  if (!opts.force && current && JSON.stringify(current) === JSON.stringify(stamp)) {
    log(`${MODULE} ${version} for ${target} ${runtimeVersion} (${arch}) is up to date in ${path.relative(opts.root, dest)}`);
    return dest;
  }

  if (target === 'node') {
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

  log(`rebuilding ${MODULE} ${version} for Electron ${runtimeVersion} (${arch}) in ${path.relative(opts.root, staging)}…`);
  const { rebuild } = await import('@electron/rebuild');
  await rebuild({
    buildPath: staging,
    projectRootPath: staging,
    electronVersion: runtimeVersion,
    arch,
    onlyModules: [MODULE],
    force: true,
    mode: 'sequential',
  });
  installRuntimeCopy(stagedPkg, dest, stamp);
  log(`${MODULE} for Electron ${runtimeVersion} → ${path.relative(opts.root, dest)}`);
  return dest;
}
