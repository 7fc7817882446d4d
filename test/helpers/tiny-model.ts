// The setup many Node tests share: a temp folder with the tiny generated CLIP model made in it and
// opened once for the whole file (one ONNX session, one thread), then disposed and the folder removed.
// Its scores mean nothing (random weights); it exercises the real pipeline. Also the model with hooks
// around each image batch (hookedModel): counting what it embeds, for the "nothing embedded again"
// checks of the analyzers' backfill, stopping a run part-way or failing like a broken runtime.
import fs from 'node:fs';
import path from 'node:path';
import { loadModelFolder } from '../../native-models/folder.ts';
import { openClipModel } from '../../native-models/runtime.ts';
import { makeTestModel } from '../../native-models/testmodel/index.ts';
import type { ClipModel } from '../../native-models/types.ts';
import { tempDir } from './fixtures.ts';

export interface TinyModel {
  /** The temp folder (prefix `prefix`); the model is its `model/`. */
  tmp: string;
  modelDir: string;
  model: ClipModel;
}

/** Makes the tiny model of `seed` in a new temp folder and opens it. */
export async function openTinyModel(prefix: string, seed: number): Promise<TinyModel> {
  const tmp = tempDir(prefix);
  const modelDir = path.join(tmp, 'model');
  await makeTestModel({ out: modelDir, size: 'tiny', seed });
  return { tmp, modelDir, model: await openClipModel(loadModelFolder(modelDir), { threads: 1 }) };
}

/** Disposes the model and removes its temp folder (either may be missing when the setup failed). */
export async function closeTinyModel(t: { tmp?: string; model?: ClipModel }): Promise<void> {
  await t.model?.dispose();
  if (t.tmp) fs.rmSync(t.tmp, { recursive: true, force: true });
}

/**
 * The real `model` with hooks around each batch of `n` images: `before(n)` (throw from it for a
 * model that fails) and `after(n)` once its rows are back, before the indexer gets them (abort a
 * run there). Disposing it does nothing: the model stays with whoever opened it.
 */
export function hookedModel(model: ClipModel, hooks: { before?: (n: number) => void; after?: (n: number) => void }): ClipModel {
  return {
    info: model.info,
    embedTexts: (t) => model.embedTexts(t),
    dispose: async () => {},
    embedImages: async (pixels, n) => {
      hooks.before?.(n);
      const out = await model.embedImages(pixels, n);
      hooks.after?.(n);
      return out;
    },
  };
}

/** `model` counting the images it embeds in `embedded` (set it back to 0 between runs). */
export function countingModel(model: ClipModel): { embedded: number; model: ClipModel } {
  const spy = { embedded: 0, model: hookedModel(model, { before: (n) => (spy.embedded += n) }) };
  return spy;
}
