import type { Command } from 'commander';
import { registerEvaluateCommand } from './commands/evaluate.ts';
import { registerExportCommand } from './commands/export.ts';
import { registerIngestCommand } from './commands/ingest.ts';
import { registerModelCommands } from './commands/model.ts';
import { registerPickCommand } from './commands/pick.ts';
import { registerPredictCommand } from './commands/predict.ts';
import { registerPseudoLabelCommand } from './commands/pseudolabel.ts';
import { registerReplayCommand } from './commands/replay.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerSimulateCommand } from './commands/simulate.ts';
import { registerSinkCommand } from './commands/sink.ts';
import { registerSubscribeCommand } from './commands/subscribe.ts';
import { registerTrainCommands } from './commands/train.ts';

/** Every command of the CLI, registered in the order `--help` lists them. */
export function registerCommands(program: Command): void {
  registerRunCommand(program);
  registerReplayCommand(program);
  registerIngestCommand(program);
  registerPickCommand(program);
  registerSinkCommand(program);
  registerPredictCommand(program);
  registerEvaluateCommand(program);
  registerExportCommand(program);
  registerModelCommands(program);
  registerSubscribeCommand(program);
  registerSimulateCommand(program);
  registerTrainCommands(program);
  registerPseudoLabelCommand(program);
}
