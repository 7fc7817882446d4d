// The benchmark model: the generated full-size ViT-B/32 (exact OpenAI compute, seeded random
// weights) with its int8 variant, cached in .cache/bench-models/vit-b-32 (~750 MB, ~25 s to make).
import fs from 'node:fs';
import path from 'node:path';
import { makeTestModel } from '../../native-models/testmodel/index.ts';
import { CACHE, log, rmrf } from './util.ts';

export const MODEL_ROOT = path.join(CACHE, 'bench-models');
export const MODEL_NAME = 'vit-b-32';
export const MODEL_DIR = path.join(MODEL_ROOT, MODEL_NAME);

const FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'cull-model.json'].concat(
  ['vision_model', 'text_model'].flatMap((n) => [`onnx/${n}.onnx`, `onnx/${n}_quantized.onnx`]),
);

function complete(dir: string): boolean {
  return FILES.every((f) => {
    const p = path.join(dir, f);
    return fs.existsSync(p) && fs.statSync(p).size > 0;
  });
}

/** The model folder, generated on first use. Written to a temp folder then renamed: never half-made. */
export async function ensureBenchModel(): Promise<string> {
  if (complete(MODEL_DIR)) {
    log(`model: reusing ${path.relative(process.cwd(), MODEL_DIR)}`);
    return MODEL_DIR;
  }
  const tmp = `${MODEL_DIR}.tmp-${process.pid}`;
  rmrf(tmp);
  log('model: generating the full-size ViT-B/32 test model (fp32 + int8, seeded random weights)…');
  const t = performance.now();
  await makeTestModel({ out: tmp, size: 'vit-b-32', seed: 1, quantized: true });
  rmrf(MODEL_DIR);
  fs.renameSync(tmp, MODEL_DIR);
  log(`model: generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return MODEL_DIR;
}
