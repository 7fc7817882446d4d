// The packaging configuration (build/electron-builder.yml) as electron-builder itself reads and
// validates it: the Electron fuses that lock the packaged binary are set (issue 14 item 10). A
// fuse left at its default lets anyone who can start the app run arbitrary code in it:
// ELECTRON_RUN_AS_NODE, NODE_OPTIONS=--require, --inspect, or an edited app folder beside app.asar.
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_DIR } from './helpers/fixtures.ts';

const require = createRequire(path.join(REPO_DIR, 'package.json'));
// electron-builder's own loader and JSON-schema validator (app-builder-lib, what `npm run dist` runs).
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
const { DebugLogger } = require('builder-util');

describe('build/electron-builder.yml', () => {
  it('is valid for this electron-builder and flips every security fuse', async () => {
    const config = await getConfig(REPO_DIR, path.join(REPO_DIR, 'build', 'electron-builder.yml'), null);
    await validateConfiguration(config, new DebugLogger(false));
    const fuses = config.electronFuses ?? {};
    const expected: Record<string, boolean> = {
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false,
    };
    for (const [fuse, value] of Object.entries(expected)) expect(fuses[fuse], `electronFuses.${fuse}`).toBe(value);
    // The fuses need the app inside an asar archive.
    expect(config.asar).toBe(true);
  });

  it('ships the face models the analyzer loads, not the rest of the package nor TensorFlow.js (the app no longer runs them)', async () => {
    const config = await getConfig(REPO_DIR, path.join(REPO_DIR, 'build', 'electron-builder.yml'), null);
    const { minimatch } = require('minimatch');
    // The loader turns the list into [{ filter: [...] }].
    const patterns = (config.files as (string | { filter: string[] })[]).flatMap((f) => (typeof f === 'string' ? [f] : f.filter));
    // Production dependencies' files are in by default (electron-builder adds node_modules itself);
    // the list then applies in order: the last pattern matching a path decides.
    const shipped = (file: string) => {
      let keep = true;
      for (const p of patterns) {
        const exclude = p.startsWith('!');
        if (minimatch(file, exclude ? p.slice(1) : p, { dot: true })) keep = !exclude;
      }
      return keep;
    };
    const { FACE_MODEL_FILES } = await import('../native-models/faces.ts');
    for (const name of Object.keys(FACE_MODEL_FILES)) expect(shipped(`node_modules/@vladmandic/human/models/${name}`), name).toBe(true);
    // human.node.js: what require.resolve('@vladmandic/human') finds, to locate the models folder.
    for (const file of ['node_modules/@vladmandic/human/dist/human.node.js', 'node_modules/@vladmandic/human/package.json']) {
      expect(shipped(file), file).toBe(true);
    }
    for (const file of [
      'node_modules/@vladmandic/human/models/faceres.bin', 'node_modules/@vladmandic/human/models/movenet-lightning.json',
      'node_modules/@vladmandic/human/dist/human.esm.js', 'node_modules/@vladmandic/human/dist/human.node-wasm.js',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm', 'node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js',
    ]) {
      expect(shipped(file), file).toBe(false);
    }
  });
});
