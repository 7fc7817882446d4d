// `cull`: the app's main job without a window. Every command goes through the same services facade
// (electron/services/library.ts) as the desktop app. This file holds the program: its global
// options, the commands registered from electron/cli/ (one file per family of commands, the parts
// they share in cli/context.ts) and what an error prints.
import { Command } from 'commander';
import { UserError } from '../common/errors.ts';
import { createCli, parsePositiveInt, terminalLines } from './cli/context.ts';
import { registerCullingCommands } from './cli/culling-commands.ts';
import { registerFacesCommands } from './cli/faces-commands.ts';
import { registerIntelligenceCommands } from './cli/intelligence-commands.ts';
import { registerIndexCommand, registerStatsCommand } from './cli/library-commands.ts';
import { registerModelCommands } from './cli/model-commands.ts';
import { registerExplainCommand, registerPresetsCommand, registerScoreCommands } from './cli/ranking-commands.ts';

const program = new Command();
program
  .name('cull')
  .description('Index photos once, then sort them by any attribute you type ("sharp vs blurry", "scary vs peaceful").')
  .option('--db <file>', 'library database (default: one library in your user data folder)')
  .option('--model <dir|id>', 'CLIP model folder, or a known model id (default: the model the library was indexed with, else $CULL_MODEL_DIR, else clip-vit-b-32)')
  .option('--quantized', 'use the int8 *_quantized.onnx variant of the model')
  .option('--threads <n>', 'inference threads (default: all cores)', parsePositiveInt)
  .option('--json', 'machine output: JSON instead of tables')
  .showHelpAfterError();

// Added in the order `cull --help` lists them.
const cli = createCli(program);
for (const register of [
  registerIndexCommand,
  registerScoreCommands,
  registerCullingCommands,
  registerExplainCommand,
  registerPresetsCommand,
  registerStatsCommand,
  registerModelCommands,
  registerIntelligenceCommands,
  registerFacesCommands,
]) {
  register(program, cli);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`cull: ${terminalLines(err instanceof UserError ? err.fullText : (err as Error).message)}\n`);
  process.exitCode = process.exitCode || 1;
}
