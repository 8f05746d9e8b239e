import type { Command } from 'commander';
import { registerModelCommands } from './commands/model.ts';
import { registerPredictCommand } from './commands/predict.ts';

/** Every command of the CLI, registered in the order `--help` lists them. */
export function registerCommands(program: Command): void {
  registerPredictCommand(program);
  registerModelCommands(program);
}
