// `npm test` runs under Node, so node_modules/better-sqlite3 must be built for Node's ABI.
// The Electron build never touches it (build/electron-native.ts rebuilds a separate copy into
// dist-electron/native/), but a manual `electron-rebuild` or `electron-builder install-app-deps`
// would switch it to Electron's ABI: detect that and rebuild it for Node before the tests run.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

function loads() {
  try {
    const Database = require('better-sqlite3');
    new Database(':memory:').close();
    return null;
  } catch (err) {
    return err;
  }
}

const err = loads();
if (err) {
  const abi = /NODE_MODULE_VERSION|ERR_DLOPEN_FAILED|was compiled against a different Node\.js version|invalid ELF|not a valid Win32/i;
  if (!abi.test(`${err.code ?? ''} ${err.message}`)) {
    console.error(`better-sqlite3 does not load: ${err.message}`);
    process.exit(1);
  }
  console.log(`better-sqlite3 is built for another runtime (Node ABI ${process.versions.modules} needed): running npm rebuild better-sqlite3…`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['rebuild', 'better-sqlite3'], { cwd: path.resolve(__dirname, '..'), stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  for (const key of Object.keys(require.cache)) if (key.includes('better-sqlite3')) delete require.cache[key];
  const again = loads();
  if (again) {
    console.error(`better-sqlite3 still does not load after the rebuild: ${again.message}`);
    process.exit(1);
  }
}
