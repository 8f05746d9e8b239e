import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { UsageError } from '../../errors.ts';
import { log } from '../../log.ts';
import { ingestArchive } from '../../scale/ingest.ts';
import { openScaleLog } from '../../scale/jetstream.ts';
import { untilStopSignal } from '../../scale/signals.ts';
import { isoToEpochUs } from '../../train/continuous-truth.ts';
import { positiveNumber } from '../options.ts';

function timeUs(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const us = isoToEpochUs(value);
  if (!Number.isFinite(us))
    throw new UsageError(`${name} '${value}' is not a time`, { hint: 'e.g. 2026-01-01T00:00:00Z' });
  return us;
}

export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('Scale-out: publish miniSEED records to the JetStream records stream (docs/scale-out.md)')
    .argument('<files...>', 'miniSEED files to replay into the log (any stations and channels)')
    .requiredOption(
      '--config <file>',
      'a YAML or JSON config with a jetstream section (see config/example.yaml)',
    )
    .option(
      '--speed <factor>',
      'pace at real time x factor (default: as fast as JetStream takes them)',
      positiveNumber('--speed'),
    )
    .option('--start <time>', 'only records from this time (ISO 8601)')
    .option('--end <time>', 'only records before this time (ISO 8601)')
    .action(
      async (files: string[], opts: { config: string; speed?: number; start?: string; end?: string }) => {
        const config = await loadConfig(opts.config);
        const startUs = timeUs('--start', opts.start);
        const endUs = timeUs('--end', opts.end);
        const scale = await openScaleLog(config.jetstream, 'phasestream ingest');
        const { stopped } = untilStopSignal();
        try {
          await ingestArchive(scale, files, {
            speed: opts.speed,
            startUs,
            endUs,
            stopped,
            onBadRecord: (file, error) =>
              log.warn({ file, offset: error.offset, problem: error.problem }, 'bad record skipped'),
          });
        } finally {
          await scale.nc.drain();
        }
      },
    );
}
