import type { Command } from 'commander';

/** Every command of the CLI, registered in the order `--help` lists them. */
export function registerCommands(program: Command): void {
  void program;
}
