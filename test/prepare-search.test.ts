// The text encoder opened ahead of the first search (Library.prepareSearch, which the window calls
// once idle after opening the library), with a generated model's real ONNX text session.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { loadModelFolder } from '../native-models/folder.ts';
import { openClipModel } from '../native-models/runtime.ts';
import { Library } from '../electron/services/library.ts';
import { tempDir } from './helpers/fixtures.ts';

let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = tempDir('cull-prepare-search-');
  modelDir = path.join(dir, 'model');
  await makeTestModel({ out: modelDir, size: 'tiny', seed: 1 });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('text session opened ahead of the first search', () => {
  it('a model opened to score has no text session until asked; prepareText opens it, and embedTexts uses it', async () => {
    const clip = await openClipModel(loadModelFolder(modelDir), { lazyVision: true });
    try {
      expect(clip.textReady).toBe(false);
      await clip.prepareText!();
      expect(clip.textReady).toBe(true);
      const v = await clip.embedTexts(['a photo of a dog']);
      expect(v.length).toBe(clip.info.dim);
      await clip.dispose();
      expect(clip.textReady).toBe(false);
    } finally {
      await clip.dispose();
    }
  });

  it('Library.prepareSearch leaves the text session open before the first search', async () => {
    const lib = await Library.open({ dbPath: path.join(dir, 'library.db'), modelDir, thumbsDir: path.join(dir, 'thumbs') });
    try {
      expect(lib.textSessionOpen).toBe(false); // opening a library does not load the text tower
      expect(await lib.prepareSearch()).toEqual({ textSessionOpen: true });
      expect(lib.textSessionOpen).toBe(true); // before any search
      expect(await lib.search('a photo of a dog')).toEqual([]); // an empty library: nothing to rank
      expect(lib.textSessionOpen).toBe(true);
    } finally {
      await lib.close();
    }
  });
});
