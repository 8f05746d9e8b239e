import type { Command } from 'commander';
import { concatMap } from 'rxjs';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { UsageError } from '../../errors.ts';
import { SeedLinkClient } from '../../ingest/seedlink/client.ts';
import { SeedLinkResumeState } from '../../ingest/seedlink/state.ts';
import { parseSeedLinkUrl } from '../../ingest/seedlink/transport.ts';
import { log } from '../../log.ts';
import { ingestArchive, RecordPublisher, SeedLinkIngest } from '../../scale/ingest.ts';
import { openScaleLog, type ScaleLog } from '../../scale/jetstream.ts';
import { untilStopSignal } from '../../scale/signals.ts';
import { isoToEpochUs } from '../../train/continuous-truth.ts';
import { positiveNumber } from '../options.ts';
import { startUs, stationRequest } from './run.ts';

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
    .argument(
      '[files...]',
      'miniSEED files to replay into the log; none: the SeedLink servers of the config, live',
    )
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
        if (files.length === 0 && config.seedlink.length === 0) {
          throw new UsageError('nothing to ingest', {
            hint: 'give miniSEED files, or SeedLink servers in the config (key seedlink)',
          });
        }
        const scale = await openScaleLog(config.jetstream, 'phasestream ingest');
        const { stopped, signal } = untilStopSignal();
        try {
          if (files.length > 0) {
            await ingestArchive(scale, files, {
              speed: opts.speed,
              startUs,
              endUs,
              stopped,
              onBadRecord: (file, error) =>
                log.warn({ file, offset: error.offset, problem: error.problem }, 'bad record skipped'),
            });
          } else {
            await ingestSeedLink(scale, config, signal);
          }
        } finally {
          await scale.nc.drain();
        }
      },
    );
}

/** Every configured SeedLink server into the log until SIGINT/SIGTERM; each server's state file resumes it. */
async function ingestSeedLink(scale: ScaleLog, config: Config, signal: Promise<string>): Promise<void> {
  const publisher = new RecordPublisher(scale);
  const states: SeedLinkResumeState[] = [];
  const clients: SeedLinkClient[] = [];
  for (const server of config.seedlink) {
    const state = await SeedLinkResumeState.load(
      server.stateFile,
      parseSeedLinkUrl(server.url).url,
      log.child({ module: 'seedlink' }),
      { startUs: startUs(server, undefined), tracksProcessing: true },
    );
    const client = new SeedLinkClient({
      url: server.url,
      stations: server.stations.map(stationRequest),
      protocol: server.protocol,
      state,
      startUs: startUs(server, undefined),
      idleTimeoutS: server.idleTimeoutS,
    });
    const ingest = new SeedLinkIngest(publisher, state);
    client.packets$.pipe(concatMap((packet) => ingest.packet(packet))).subscribe({
      error: (error) => log.error({ err: error, server: server.url }, 'SeedLink ingest failed'),
    });
    states.push(state);
    clients.push(client);
    client.start();
  }
  log.info({ servers: config.seedlink.length }, 'ingest started');
  await signal;
  await Promise.all(clients.map((client) => client.stop()));
  await publisher.flush();
  await Promise.all(states.map((state) => state.flush()));
  log.info({ published: publisher.published, alreadyStored: publisher.skipped }, 'stopped');
}
