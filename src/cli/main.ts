import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { growHeapForStreaming } from '../app/heap-growth.ts';
import { PhaseStreamError } from '../errors.ts';
import { log } from '../log.ts';
import { registerCommands } from './commands.ts';

/**
 * The CLI entry point: the one place where ingest, stream, picker and sink are wired together,
 * each command in its own file under src/cli/commands/.
 */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

const program = new Command('phasestream')
  .description('Realtime seismic phase picking with PhaseNet: SeedLink and miniSEED in, P and S picks out.')
  .version(version, '-V, --version', 'the version of PhaseStream')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);
growHeapForStreaming();

// A reader that stops early (`phasestream replay ... | head`) is not an error: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else if (error instanceof PhaseStreamError) {
    process.stderr.write(`phasestream: ${error.message}\n`);
    if (error.hint) process.stderr.write(`  ${error.hint}\n`);
    log.debug({ err: error }, 'command failed');
    process.exitCode = error.exitCode;
  } else {
    log.error({ err: error }, 'unexpected error');
    process.exitCode = 70;
  }
}
