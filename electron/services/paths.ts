// Where Cull keeps its own data: the library database, the thumbnail cache and downloaded models.
// CULL_DATA_DIR overrides everything (tests, portable installs); otherwise the per-OS convention.
import os from 'node:os';
import path from 'node:path';

export interface PathEnv {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

export function dataDir({ env = process.env, platform = process.platform, home = os.homedir() }: PathEnv = {}): string {
  if (env.CULL_DATA_DIR) return path.resolve(env.CULL_DATA_DIR);
  // Pick the path flavour of the target OS so the answer is right even when computed elsewhere.
  if (platform === 'win32') return path.win32.join(env.APPDATA || path.win32.join(home, 'AppData', 'Roaming'), 'Cull');
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'Cull');
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(home, '.local', 'share');
  return path.join(xdg, 'cull');
}

const join = (opts: PathEnv, name: string) =>
  ((opts.platform ?? process.platform) === 'win32' ? path.win32 : path).join(dataDir(opts), name);

export const defaultDbPath = (opts: PathEnv = {}): string => join(opts, 'library.db');
export const thumbsDir = (opts: PathEnv = {}): string => join(opts, 'thumbs');
export const modelsDir = (opts: PathEnv = {}): string => join(opts, 'models');
