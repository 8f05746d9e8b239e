import type { Command } from 'commander';
import { concatMap, from, lastValueFrom, merge, Subject, takeUntil, tap } from 'rxjs';
import { pickPipeline } from '../../app/pipeline.ts';
import { PickSinks } from '../../app/sinks.ts';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { createEngine } from '../../engine/index.ts';
import { ConfigError } from '../../errors.ts';
import { seedLinkPackets } from '../../ingest/seedlink/client.ts';
import type { SeedLinkStationRequest } from '../../ingest/seedlink/session.ts';
import { log } from '../../log.ts';
import { resolveModelDir } from '../../model/resolve.ts';
import { loadModelDir } from '../../model/store.ts';
import { PickFile } from '../../sink/pick-file.ts';
import { decodeRecords } from '../../stream/index.ts';
import { pageOption } from '../options.ts';

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

/** The records of every configured SeedLink server, decoded, as one stream. */
function seedLinkRecords(config: Config) {
  if (config.seedlink.length === 0) {
    throw new ConfigError('the config names no SeedLink server (key seedlink)', {
      hint: 'add e.g. `seedlink: [{ url: "localhost:18000", stations: ["XX.*"] }]`, or use `phasestream replay` for archives',
    });
  }
  return merge(
    ...config.seedlink.map((server) =>
      seedLinkPackets({
        url: server.url,
        stations: server.stations.map(stationRequest),
        protocol: server.protocol,
        stateFile: server.stateFile,
        idleTimeoutS: server.idleTimeoutS,
      }).pipe(decodeRecords({ source: server.url })),
    ),
  );
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Pick P and S live from SeedLink servers (TCP or WebSocket), as the config says')
    .requiredOption('--config <file>', 'a YAML or JSON config (see config/example.yaml)')
    .option('--output <file>', 'where picks go (overrides output.file)')
    .option('--page [port]', 'serve the live page (docs/page.md) on the HTTP server, at this port if given')
    .action(async (opts: { config: string; output?: string; page?: boolean | string }) => {
      const loaded = await loadConfig(opts.config);
      const config = { ...loaded, ...pageOption(loaded, opts.page) };
      const model = await loadModelDir(await resolveModelDir(config.model.dir));
      const engine = await createEngine(model, {
        engine: config.engine.kind,
        backend: config.engine.backend,
        threads: config.engine.threads,
      });
      const out = new PickFile(opts.output ?? config.output.file, config.output.format);
      const sinks = await PickSinks.open(config, out, { live: true, classes: engine.card.classes });
      // SIGINT/SIGTERM end the sources; the pipeline then flushes every station, so the picks of the
      // data received so far are written and the SeedLink state files saved before exit.
      const stop = new Subject<void>();
      const onSignal = (signal: string) => {
        log.info({ signal }, 'stopping: flushing the stations');
        stop.next();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const records = seedLinkRecords(config).pipe(takeUntil(stop), tap(sinks.record));
        await lastValueFrom(
          pickPipeline(records, engine, config, sinks.hooks, { liveEdge: true }).pipe(
            concatMap((pick) => from(sinks.write(pick))),
          ),
          { defaultValue: undefined },
        );
      } finally {
        await sinks.close();
        await out.close();
        await engine.dispose();
      }
      log.info({ picks: out.written }, 'stopped');
    });
}
