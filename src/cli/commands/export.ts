import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { openPickWriter, type PickOutputFormat } from '../../sink/pick-document.ts';
import { readPicks } from '../../sink/read-picks.ts';

const FORMATS: PickOutputFormat[] = ['quakeml', 'nonlinloc', 'jsonl', 'csv'];

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'Convert a pick file (JSON lines or CSV) to QuakeML 1.2 or NonLinLoc phases (docs/formats.md)',
    )
    .argument('<pickfile>', 'picks written by replay or run')
    .requiredOption('--format <format>', FORMATS.join(', '))
    .option('--output <file>', 'where the document goes (default: standard output)')
    .action(async (pickFile: string, opts: { format: string; output?: string }) => {
      if (!FORMATS.includes(opts.format as PickOutputFormat)) {
        throw new UsageError(`--format ${opts.format}: expected one of ${FORMATS.join(', ')}`);
      }
      const writer = openPickWriter(opts.output ?? '-', opts.format as PickOutputFormat);
      for (const pick of readPicks(pickFile)) await writer.write(pick);
      await writer.close();
    });
}
