import type { Command } from 'commander';
import { concatMap, filter, lastValueFrom, map, merge, Observable, Subject, takeUntil, tap } from 'rxjs';
import { LiveHealth } from '../../app/live-health.ts';
import { RECORDS_POOLED } from '../../app/pipeline.ts';
import { PickResume, picksAndOpenSamples, resumeLeadSamples } from '../../app/resume.ts';
import { PickSinks } from '../../app/sinks.ts';
import { loadStationMetadata } from '../../app/station-metadata.ts';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { createWorkerEngine } from '../../engine/worker-engine.ts';
import { ConfigError, UsageError } from '../../errors.ts';
import { SeedLinkClient, type SeedLinkPacket } from '../../ingest/seedlink/client.ts';
import type { SeedLinkStationRequest } from '../../ingest/seedlink/session.ts';
import { SeedLinkResumeState } from '../../ingest/seedlink/state.ts';
import { parseSeedLinkUrl } from '../../ingest/seedlink/transport.ts';
import { log } from '../../log.ts';
import { resolveModelDir } from '../../model/resolve.ts';
import { loadModelDir } from '../../model/store.ts';
import { PickFile } from '../../sink/pick-file.ts';
import { decodeRecords } from '../../stream/index.ts';
import type { ChannelEvent } from '../../stream/types.ts';
import { type Float64Pool, float64Pool } from '../../util/array-pool.ts';
import { pageOption } from '../options.ts';

const seedLinkLog = log.child({ module: 'seedlink' });

/** `NET.STA` or `NET.STA:LOC.CHA,CHA...` (config) to a SeedLink station request. */
export function stationRequest(text: string): SeedLinkStationRequest {
  const [codes, selectors] = text.split(':');
  const [network, station] = codes.split('.');
  return {
    network,
    station,
    selectors: selectors?.split(',').map((s) => {
      const parts = s.split('.');
      return parts.length === 2 ? { location: parts[0], channel: parts[1] } : { channel: parts[0] };
    }),
  };
}

/** The backfill start of `server` (`--start` over `seedlink[].start`), epoch microseconds. */
export function startUs(
  server: Config['seedlink'][number],
  cliStart: string | undefined,
): number | undefined {
  const text = cliStart ?? server.start;
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms))
    throw new UsageError(`--start '${text}' is not a time`, { hint: 'e.g. 2026-01-01T00:00:00Z' });
  return ms * 1000;
}

/**
 * The records of every configured SeedLink server, decoded, as one stream; each server's client
 * resumes from `states` (one per server) and reports to `health`; `resume` cuts what a restart asked
 * for again down to the resume point.
 */
function seedLinkRecords(
  config: Config,
  states: readonly SeedLinkResumeState[],
  resume: PickResume,
  health: LiveHealth,
  clients: SeedLinkClient[],
  cliStart: string | undefined,
  recordData: Float64Pool,
) {
  return merge(
    ...config.seedlink.map((server, i) =>
      new Observable<SeedLinkPacket>((subscriber) => {
        const client = new SeedLinkClient({
          url: server.url,
          stations: server.stations.map(stationRequest),
          protocol: server.protocol,
          state: states[i],
          startUs: startUs(server, cliStart),
          idleTimeoutS: server.idleTimeoutS,
        });
        clients.push(client);
        const events = client.events$.subscribe((event) => health.connectionEvent(client.server, event));
        const packets = client.packets$.subscribe(subscriber);
        client.start();
        return () => {
          packets.unsubscribe();
          events.unsubscribe();
          void client.stop();
        };
      }).pipe(
        decodeRecords({ source: server.url, sampleData: recordData }),
        map(resume.trim),
        filter((record) => record !== undefined),
      ),
    ),
  );
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Pick P and S live from SeedLink servers (TCP or WebSocket), as the config says')
    .requiredOption('--config <file>', 'a YAML or JSON config (see config/example.yaml)')
    .option('--output <file>', 'where picks go (overrides output.file)')
    .option(
      '--start <time>',
      'backfill: stations new to the state file start with the data from this time (overrides seedlink[].start)',
    )
    .option('--page [port]', 'serve the live page (docs/page.md) on the HTTP server, at this port if given')
    .action(async (opts: { config: string; output?: string; start?: string; page?: boolean | string }) => {
      const loaded = await loadConfig(opts.config);
      const config = { ...loaded, ...pageOption(loaded, opts.page) };
      if (config.seedlink.length === 0) {
        throw new ConfigError('the config names no SeedLink server (key seedlink)', {
          hint: 'add e.g. `seedlink: [{ url: "localhost:18000", stations: ["XX.*"] }]`, or use `phasestream replay` for archives',
        });
      }
      const format = config.output.format;
      if (format !== 'jsonl' && format !== 'csv') {
        // A document format is written whole at the end: a crash would lose it, which live picking must not.
        throw new ConfigError(`output.format ${format} is for replays: live picks go to jsonl or csv`, {
          hint:
            'run with output.format jsonl (or csv) and convert with `phasestream export <file> --format ' +
            format +
            '`',
        });
      }
      const metadata = await loadStationMetadata(config.stations.xml);
      const model = await loadModelDir(await resolveModelDir(config.model.dir));
      // The network runs in a thread of its own, so ingest, sinks and the page go on during a batch.
      const engine = await createWorkerEngine(model, {
        engine: config.engine.kind,
        backend: config.engine.backend,
        device: config.engine.device,
        threads: config.engine.threads,
      });
      const { card } = engine;
      const states = await Promise.all(
        config.seedlink.map((server) =>
          SeedLinkResumeState.load(server.stateFile, parseSeedLinkUrl(server.url).url, seedLinkLog, {
            startUs: startUs(server, opts.start),
            tracksProcessing: true,
          }),
        ),
      );
      const resume = new PickResume(states, resumeLeadSamples(card, config));
      const out = new PickFile(opts.output ?? config.output.file, format, { append: true });
      const sinks = await PickSinks.open(config, out, {
        live: true,
        classes: card.classes,
        coordinates: metadata?.inventory.stations,
      });
      const health = new LiveHealth({
        silentAfterS: Math.min(...config.seedlink.map((s) => s.silentAfterS)),
        expected: config.seedlink.flatMap((s) =>
          s.stations.map((text) => text.split(':')[0]).filter((codes) => !/[*?]/.test(codes)),
        ),
        logger: log,
      });
      sinks.addHealthSource(health);
      // SIGINT/SIGTERM end the sources; the pipeline then flushes every station, so the picks of the
      // data received so far are written and the SeedLink state files saved before exit. A SIGKILL
      // loses nothing either: the restart asks again for the data whose picks were not final.
      const stop = new Subject<void>();
      const onSignal = (signal: string) => {
        log.info({ signal }, 'stopping: flushing the stations');
        stop.next();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const clients: SeedLinkClient[] = [];
      try {
        // The records' sample arrays go round between the decoder and station assembly.
        const recordData = float64Pool(RECORDS_POOLED);
        const records = seedLinkRecords(config, states, resume, health, clients, opts.start, recordData).pipe(
          takeUntil(stop),
          tap(sinks.record),
          tap(health.record),
        );
        // Picks and the picker's open samples in one queue: a resume point moves only after the
        // picks before it are written.
        const hooks = {
          ...sinks.hooks,
          ...metadata?.hooks,
          onChannelEvent: (event: ChannelEvent) => {
            sinks.hooks.onChannelEvent?.(event);
            health.channelEvent(event);
          },
        };
        const work = picksAndOpenSamples(records, engine, config, hooks, { liveEdge: true, recordData });
        await lastValueFrom(
          work.pipe(
            concatMap(async (item) => {
              if ('open' in item) {
                resume.open(...item.open);
                for (const state of states) state.scheduleFlush(1000);
              } else if (resume.keep(item.pick)) await sinks.write(item.pick);
            }),
          ),
          { defaultValue: undefined },
        );
      } finally {
        health.close();
        await Promise.all(clients.map((client) => client.stop()));
        await Promise.all(states.map((state) => state.flush()));
        await sinks.close();
        await out.close();
        await engine.dispose();
      }
      log.info({ picks: out.written, alreadyWritten: out.skipped }, 'stopped');
    });
}
