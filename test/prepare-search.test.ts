// The text encoder opened ahead of the first search (Library.prepareSearch, which the window calls
// once idle after opening the library), with a generated model's real ONNX text session; and opened
// off the main thread (native-models/text-session.ts), so that its load — the first explainAll's or
// search's — never stalls the photos a server process is serving meanwhile.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestModel } from '../native-models/testmodel/index.ts';
import { loadModelFolder } from '../native-models/folder.ts';
import { openClipModel } from '../native-models/runtime.ts';
import { Library } from '../electron/services/library.ts';
import { PRESETS } from '../electron/services/signals/presets.ts';
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

  it('loads the tokenizer and text session and encodes the presets\' prompts without stalling the main thread', async () => {
    const clip = await openClipModel(loadModelFolder(modelDir), { lazyVision: true });
    const prompts = PRESETS.flatMap((p) => [...p.attribute.positive.prompts, ...p.attribute.negative.prompts]);
    let last = performance.now();
    let longest = 0;
    let turns = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      turns++;
    }, 2);
    try {
      await new Promise((r) => setTimeout(r, 20));
      [longest, turns, last] = [0, 0, performance.now()];
      const t = performance.now();
      await clip.prepareText!();
      const v = await clip.embedTexts(prompts);
      const took = performance.now() - t;
      await new Promise((r) => setTimeout(r, 5)); // the timer's first turn after a stall records it
      expect(v.length).toBe(prompts.length * clip.info.dim);
      // On the main thread the tokenizer (~0.4 s) and the session (~0.25 s) held it for nearly all
      // of `took` (469 of 486 ms measured); in the worker it keeps turning. Relative, so load-proof.
      expect(longest, `longest stall ${longest.toFixed(0)} ms of ${took.toFixed(0)} ms`).toBeLessThan(took / 2);
      expect(turns).toBeGreaterThan(3);
    } finally {
      clearInterval(timer);
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
