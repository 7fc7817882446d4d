// Model folder validation, the download registry and the data-directory paths.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEIGHT_HASH_CACHE, loadModelFolder, weightHashStats } from '../native-models/folder.ts';
import { ModelFolderError } from '../native-models/errors.ts';
import {
  DEFAULT_MODEL_ID, approxDownloadSize, fileUrl, filesFor, installedModelDir, modelDir, registryEntry,
} from '../native-models/registry.ts';
import { clipConfig, makeTestModel, TEST_MODEL_DIMS } from '../native-models/testmodel/index.ts';
import { dataDir, defaultDbPath, modelsDir, thumbsDir } from '../electron/services/paths.ts';

let root = '';
let tiny = '';
let n = 0;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'cull-folder-'));
  tiny = path.join(root, 'tiny');
  await makeTestModel({ out: tiny, size: 'tiny', seed: 7, quantized: true });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A copy of the generated model to break in one test. */
function copy(edit?: (dir: string) => void): string {
  const dir = path.join(root, `copy${++n}`);
  fs.cpSync(tiny, dir, { recursive: true });
  edit?.(dir);
  return dir;
}
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const writeJson = (file: string, value: unknown) => fs.writeFileSync(file, JSON.stringify(value));
const editJson = (dir: string, file: string, edit: (v: Record<string, unknown>) => void) => {
  const v = readJson(path.join(dir, file));
  edit(v);
  writeJson(path.join(dir, file), v);
};

function folderError(dir: string, opts?: { quantized?: boolean }): ModelFolderError {
  try {
    loadModelFolder(dir, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFolderError);
    const e = err as ModelFolderError;
    expect(e.message).toContain('run `cull models download` or pass --model DIR');
    return e;
  }
  throw new Error(`expected ${dir} to be rejected`);
}

describe('loadModelFolder', () => {
  it('describes a generated test model', () => {
    const info = loadModelFolder(tiny);
    expect(info).toEqual({
      id: 'test-tiny-seed7',
      name: 'Generated test model (tiny, random weights)',
      dir: tiny,
      dim: TEST_MODEL_DIMS.tiny.projection,
      preprocess: { imageSize: 224, mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
      logitScale: 100,
      visionFile: path.join(tiny, 'onnx', 'vision_model.onnx'),
      textFile: path.join(tiny, 'onnx', 'text_model.onnx'),
      tokenizerFile: path.join(tiny, 'tokenizer.json'),
      quantized: false,
      architecture: null,
      randomWeights: true,
    });
  });

  it('uses the quantized files when asked, under a different id', () => {
    const info = loadModelFolder(tiny, { quantized: true });
    expect(info.quantized).toBe(true);
    expect(info.visionFile).toBe(path.join(tiny, 'onnx', 'vision_model_quantized.onnx'));
    expect(info.textFile).toBe(path.join(tiny, 'onnx', 'text_model_quantized.onnx'));
    expect(info.id).toBe('test-tiny-seed7-quantized');
  });

  it('falls back to the quantized pair when it is the only one', () => {
    const dir = copy((d) => ['vision_model', 'text_model'].forEach((m) => fs.rmSync(path.join(d, 'onnx', `${m}.onnx`))));
    expect(loadModelFolder(dir).quantized).toBe(true);
    const e = folderError(dir, { quantized: false });
    expect(e.file).toBe('onnx/vision_model.onnx');
  });

  it('recognises the ViT-B/32 architecture from config.json', () => {
    const dir = copy((d) => writeJson(path.join(d, 'config.json'), clipConfig(TEST_MODEL_DIMS['vit-b-32'])));
    const info = loadModelFolder(dir);
    expect(info.architecture).toBe('ViT-B/32');
    expect(info.dim).toBe(512);
    const other = copy((d) => {
      const cfg = clipConfig(TEST_MODEL_DIMS['vit-b-32']) as { vision_config: Record<string, unknown> };
      cfg.vision_config.patch_size = 14;
      writeJson(path.join(d, 'config.json'), cfg);
    });
    expect(loadModelFolder(other).architecture).toBeNull();
  });

  it('derives a stable local id from config.json and the ONNX files when there is no cull-model.json', () => {
    const dir = copy((d) => fs.rmSync(path.join(d, 'cull-model.json')));
    const info = loadModelFolder(dir);
    expect(info.id).toMatch(/^local-[0-9a-f]{12}$/);
    expect(loadModelFolder(dir).id).toBe(info.id);
    expect(info.randomWeights).toBe(false);
    expect(info.name).toBe(path.basename(dir)); // no _name_or_path in the generated config
    expect(loadModelFolder(dir, { quantized: true }).id).not.toBe(info.id);

    editJson(dir, 'config.json', (c) => (c._name_or_path = 'openai/clip-vit-base-patch32'));
    const renamed = loadModelFolder(dir);
    expect(renamed.name).toBe('openai/clip-vit-base-patch32');
    expect(renamed.id).not.toBe(info.id);

    fs.appendFileSync(path.join(dir, 'onnx', 'text_model.onnx'), Buffer.alloc(1));
    expect(loadModelFolder(dir).id).not.toBe(renamed.id);
  });

  it("keys a local model by its weights' content, hashed once and cached by size and mtime", () => {
    const dir = copy((d) => fs.rmSync(path.join(d, 'cull-model.json')));
    const text = path.join(dir, 'onnx', 'text_model.onnx');
    const before = weightHashStats.hashed;
    const first = loadModelFolder(dir);
    expect(weightHashStats.hashed - before).toBe(2); // vision + text, streamed once
    const cache = readJson(path.join(dir, WEIGHT_HASH_CACHE));
    expect(Object.keys(cache.files).sort()).toEqual(['onnx/text_model.onnx', 'onnx/vision_model.onnx']);
    const st = fs.statSync(text);
    expect(cache.files['onnx/text_model.onnx']).toEqual({
      size: st.size, mtimeMs: st.mtimeMs, sha256: crypto.createHash('sha256').update(fs.readFileSync(text)).digest('hex'),
    });

    // Unchanged folder: same id, nothing hashed again.
    const hashed = weightHashStats.hashed;
    expect(loadModelFolder(dir).id).toBe(first.id);
    expect(weightHashStats.hashed).toBe(hashed);

    // Re-exported weights of the same size (new bytes, new mtime): a different id.
    const bytes = fs.readFileSync(text);
    bytes[bytes.length - 1] ^= 0xff;
    fs.writeFileSync(text, bytes);
    fs.utimesSync(text, st.atime, new Date(st.mtimeMs + 5000));
    expect(fs.statSync(text).size).toBe(st.size);
    const reexported = loadModelFolder(dir);
    expect(reexported.id).toMatch(/^local-[0-9a-f]{12}$/);
    expect(reexported.id).not.toBe(first.id);
    expect(weightHashStats.hashed).toBe(hashed + 1); // only the changed file

    // The cache is what the id comes from while (path, size, mtime) match.
    const c2 = readJson(path.join(dir, WEIGHT_HASH_CACHE));
    c2.files['onnx/text_model.onnx'].sha256 = '0'.repeat(64);
    writeJson(path.join(dir, WEIGHT_HASH_CACHE), c2);
    expect(loadModelFolder(dir).id).not.toBe(reexported.id);
    expect(weightHashStats.hashed).toBe(hashed + 1);

    // Without the cache file it is rebuilt from the files: the true id again.
    fs.rmSync(path.join(dir, WEIGHT_HASH_CACHE));
    expect(loadModelFolder(dir).id).toBe(reexported.id);
  });

  it('uses an explicit logit_scale, never logit_scale_init_value', () => {
    expect(readJson(path.join(tiny, 'config.json')).logit_scale_init_value).toBe(2.6592);
    expect(loadModelFolder(tiny).logitScale).toBe(100);
    const dir = copy((d) => editJson(d, 'config.json', (c) => (c.logit_scale = 50)));
    expect(loadModelFolder(dir).logitScale).toBe(50);
  });

  it('takes name and randomWeights from cull-model.json', () => {
    const dir = copy((d) => writeJson(path.join(d, 'cull-model.json'), { id: 'my-model', name: 'Mine' }));
    expect(loadModelFolder(dir)).toMatchObject({ id: 'my-model', name: 'Mine', randomWeights: false });
    const bad = copy((d) => writeJson(path.join(d, 'cull-model.json'), { id: '../x' }));
    expect(folderError(bad).file).toBe('cull-model.json');
  });

  it.each([
    ['a missing folder', (d: string) => fs.rmSync(d, { recursive: true }), null, /model folder not found/],
    ['a missing config.json', (d: string) => fs.rmSync(path.join(d, 'config.json')), 'config.json', /config\.json is missing/],
    ['invalid JSON', (d: string) => fs.writeFileSync(path.join(d, 'config.json'), '{ nope'), 'config.json', /config\.json .* is not valid JSON/],
    ['no projection_dim', (d: string) => editJson(d, 'config.json', (c) => delete c.projection_dim), 'config.json', /projection_dim/],
    ['no vision_config', (d: string) => editJson(d, 'config.json', (c) => delete c.vision_config), 'config.json', /vision_config/],
    ['a missing preprocessor_config.json', (d: string) => fs.rmSync(path.join(d, 'preprocessor_config.json')), 'preprocessor_config.json', /preprocessor_config\.json is missing/],
    ['bad image_mean', (d: string) => editJson(d, 'preprocessor_config.json', (c) => (c.image_mean = [0.5, 0.5])), 'preprocessor_config.json', /image_mean must be three numbers/],
    ['zero image_std', (d: string) => editJson(d, 'preprocessor_config.json', (c) => (c.image_std = [0.2, 0, 0.2])), 'preprocessor_config.json', /image_std must be positive/],
    ['resize ≠ crop', (d: string) => editJson(d, 'preprocessor_config.json', (c) => (c.size = { shortest_edge: 256 })), 'preprocessor_config.json', /resize 256 differs from crop 224/],
    ['crop ≠ vision image_size', (d: string) => editJson(d, 'preprocessor_config.json', (c) => ((c.size = { shortest_edge: 336 }), (c.crop_size = { height: 336, width: 336 }))), 'preprocessor_config.json', /preprocessor_config\.json in .* crops to 336 px but config\.json vision_config\.image_size is 224/],
    ['a missing tokenizer.json', (d: string) => fs.rmSync(path.join(d, 'tokenizer.json')), 'tokenizer.json', /tokenizer\.json is missing/],
    ['an empty vision model', (d: string) => fs.writeFileSync(path.join(d, 'onnx', 'vision_model.onnx'), ''), 'onnx/vision_model.onnx', /onnx\/vision_model\.onnx .* is empty/],
    ['a missing text model', (d: string) => fs.rmSync(path.join(d, 'onnx', 'text_model.onnx')), 'onnx/text_model.onnx', /onnx\/text_model\.onnx is missing/],
  ] as const)('rejects %s, naming the file', (_what, edit, file, message) => {
    const dir = copy(edit);
    const e = folderError(dir);
    expect(e.file).toBe(file);
    expect(e.dir).toBe(dir);
    expect(e.message).toMatch(message);
    expect(e.message).toContain(dir);
  });
});

describe('registry', () => {
  it('pins the default model to a commit and lists its files', () => {
    const e = registryEntry();
    expect(e.id).toBe(DEFAULT_MODEL_ID);
    expect(e.repo).toBe('Xenova/clip-vit-base-patch32');
    expect(e.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(filesFor(e).map((f) => f.path)).toEqual([
      'config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
      'onnx/vision_model.onnx', 'onnx/text_model.onnx',
    ]);
    expect(filesFor(e, true).map((f) => f.path).filter((p) => p.endsWith('.onnx'))).toEqual(['onnx/vision_model_quantized.onnx', 'onnx/text_model_quantized.onnx']);
    for (const f of e.files) if (f.sha256) expect(f.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(approxDownloadSize(e)).toBeGreaterThan(600e6);
    expect(approxDownloadSize(e, true)).toBeLessThan(approxDownloadSize(e));
    expect(fileUrl(e, 'onnx/vision_model.onnx')).toBe(`https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/${e.revision}/onnx/vision_model.onnx`);
    expect(() => registryEntry('nope')).toThrow(/unknown model "nope" \(known: clip-vit-b-32\)/);
  });

  it('stores models under the data directory and only counts complete downloads as installed', () => {
    const saved = process.env.CULL_DATA_DIR;
    process.env.CULL_DATA_DIR = path.join(root, 'data');
    try {
      const store = modelsDir();
      expect(store).toBe(path.join(root, 'data', 'models'));
      expect(modelDir(store)).toBe(path.join(root, 'data', 'models', DEFAULT_MODEL_ID));
      expect(installedModelDir(store)).toBeNull();
      fs.mkdirSync(modelDir(store), { recursive: true });
      fs.writeFileSync(path.join(modelDir(store), 'config.json'), '{}'); // half-downloaded
      expect(installedModelDir(store)).toBeNull();
      fs.writeFileSync(path.join(modelDir(store), 'cull-model.json'), '{"id":"clip-vit-b-32"}');
      expect(installedModelDir(store)).toBe(modelDir(store));
    } finally {
      if (saved === undefined) delete process.env.CULL_DATA_DIR;
      else process.env.CULL_DATA_DIR = saved;
    }
  });
});

describe('paths', () => {
  it('honours CULL_DATA_DIR, then the per-OS convention', () => {
    expect(dataDir({ env: { CULL_DATA_DIR: '/srv/cull' } })).toBe(path.resolve('/srv/cull'));
    expect(dataDir({ env: {}, platform: 'linux', home: '/home/ann' })).toBe('/home/ann/.local/share/cull');
    expect(dataDir({ env: { XDG_DATA_HOME: '/xdg' }, platform: 'linux', home: '/home/ann' })).toBe('/xdg/cull');
    expect(dataDir({ env: { XDG_DATA_HOME: 'relative' }, platform: 'linux', home: '/home/ann' })).toBe('/home/ann/.local/share/cull');
    expect(dataDir({ env: {}, platform: 'darwin', home: '/Users/ann' })).toBe('/Users/ann/Library/Application Support/Cull');
    expect(dataDir({ env: { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, platform: 'win32', home: 'C:\\Users\\ann' })).toBe('C:\\Users\\ann\\AppData\\Roaming\\Cull');
    const env = { env: { CULL_DATA_DIR: '/d' } };
    expect([defaultDbPath(env), thumbsDir(env), modelsDir(env)]).toEqual([path.resolve('/d/library.db'), path.resolve('/d/thumbs'), path.resolve('/d/models')]);
    expect(modelsDir({ env: { APPDATA: 'C:\\A' }, platform: 'win32', home: 'C:\\H' })).toBe('C:\\A\\Cull\\models');
  });
});
