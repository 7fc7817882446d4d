// npm run make-test-model -- --out DIR --size tiny|vit-b-32 [--seed N] [--quantized]
import { Command, InvalidArgumentError, Option } from 'commander';
import { makeTestModel, type TestModelSize } from './index.ts';

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('must be an integer');
  return n;
}

const program = new Command()
  .name('make-test-model')
  .description('Write a CLIP model folder with the real architecture and seeded random weights.')
  .requiredOption('--out <dir>', 'output folder')
  .addOption(new Option('--size <size>', 'model size').choices(['tiny', 'vit-b-32']).default('tiny'))
  .option('--seed <n>', 'random seed', parseSeed, 1)
  .option('--quantized', 'also write onnx/*_quantized.onnx', false)
  .parse();

const opts = program.opts<{ out: string; size: TestModelSize; seed: number; quantized: boolean }>();
const started = Date.now();
await makeTestModel(opts);
console.log(`Wrote ${opts.size} test model (seed ${opts.seed}${opts.quantized ? ', quantized' : ''}) to ${opts.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
