// `cull models list | download | verify`: the known CLIP models, their download (resumable, every
// file checked against its SHA-256) and the check of a downloaded one. Registered by electron/cli.ts.
import type { Command } from 'commander';
import { downloadKnownModel, listModels, verifyKnownModel } from '../services/model-source.ts';
import type { Cli } from './context.ts';
import { formatBytes, table } from './format.ts';
import { downloadBar } from './progress.ts';

/** Adds `models` and its `list`, `download` and `verify`. */
export function registerModelCommands(program: Command, { print, globals }: Cli): void {
  const models = program.command('models').description('CLIP models: list, download, verify');
  models
    .command('list')
    .description('known models and whether they are downloaded')
    .action(async () => {
      const rows = await listModels();
      print(rows, () => table(rows, [
        { header: 'id', value: (m) => m.id + (m.isDefault ? ' (default)' : '') },
        { header: 'name', value: (m) => m.name },
        { header: 'size', value: (m) => (m.bytes ? formatBytes(m.bytes) : '?'), align: 'right' },
        { header: 'status', value: (m) => (m.installed ? `downloaded: ${m.dir}` : 'not downloaded') },
      ]));
    });
  models
    .command('download')
    .description('download a model (resumable; every file checked against its published SHA-256)')
    .argument('[id]', 'model id (default: clip-vit-b-32)')
    .action(async (id?: string) => {
      const bar = downloadBar();
      try {
        const info = await downloadKnownModel(id, { quantized: globals().quantized, onProgress: bar.onProgress });
        bar.stop();
        print(info, () => `Downloaded and verified ${info.name} into ${info.dir}`);
      } finally {
        bar.stop();
      }
    });
  models
    .command('verify')
    .description('recompute every file hash of a downloaded model, compare with its manifest, and run the canary (a grey image vs the published embedding)')
    .argument('[id|dir]', 'model id or folder (default: clip-vit-b-32)')
    .action(async (ref?: string) => {
      const result = await verifyKnownModel(ref);
      print(result, () =>
        result.ok
          ? `OK: ${result.files} file(s) in ${result.dir} match their SHA-256.\n${result.canary.status === 'none' ? `Canary: ${result.canary.message}.` : result.canary.message}`
          : `FAILED: ${result.problems.join('; ')}`);
      if (!result.ok) process.exitCode = 1;
    });
}
