import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { PickSinks } from '../../app/sinks.ts';
import { loadConfig } from '../../config/load.ts';
import { httpServerSchema } from '../../config/schema.ts';
import { createWorkerEngine } from '../../engine/worker-engine.ts';
import { log } from '../../log.ts';
import { resolveModelDir } from '../../model/resolve.ts';
import { loadModelDir } from '../../model/store.ts';
import { ConsumerLag } from '../../scale/consumer-lag.ts';
import { openScaleLog } from '../../scale/jetstream.ts';
import { PartitionLeases } from '../../scale/leases.ts';
import { PartitionRun } from '../../scale/partition-run.ts';
import { PickPublisher } from '../../scale/pick-publisher.ts';
import { untilStopSignal } from '../../scale/signals.ts';
import { engineOptionsFrom, positiveInteger } from '../options.ts';

export function registerPickCommand(program: Command): void {
  program
    .command('pick')
    .description(
      'Scale-out: a picking worker that takes its share of the partitions of the records stream (docs/scale-out.md)',
    )
    .requiredOption(
      '--config <file>',
      'a YAML or JSON config with a jetstream section (see config/example.yaml)',
    )
    .option(
      '--http <port>',
      'serve /healthz and /metrics (partition lag) on this port; 0: any free one',
      (v) => (v === '0' ? 0 : positiveInteger('--http')(v)),
    )
    .action(async (opts: { config: string; http?: number }) => {
      const config = await loadConfig(opts.config);
      const worker = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
      const model = await loadModelDir(await resolveModelDir(config.model.dir));
      const engine = await createWorkerEngine(
        model,
        engineOptionsFrom({ ...config.engine, engine: config.engine.kind }),
      );
      const scale = await openScaleLog(config.jetstream, `phasestream pick ${worker}`);
      const publisher = new PickPublisher(scale);
      // The worker's picks go to the log; InfluxDB, the rebroadcast and the page are the sink's.
      const sinks = await PickSinks.open(
        {
          ...config,
          page: { ...config.page, enabled: false },
          sinks: opts.http === undefined ? {} : { http: httpServerSchema.parse({ port: opts.http }) },
        },
        publisher,
        { live: true, classes: engine.card.classes },
      );
      if (sinks.url) process.stderr.write(`metrics: ${sinks.url}/metrics\n`);
      const runs = new Map<number, PartitionRun>();
      let leases: PartitionLeases | undefined;
      const lag = new ConsumerLag(() => leases?.owned() ?? []);
      sinks.addHealthSource(lag);
      const context = {
        scale,
        engine,
        config,
        hooks: sinks.hooks,
        record: sinks.record,
        write: (pick: Parameters<PickSinks['write']>[0]) => sinks.write(pick),
        lag,
      };
      const { signal } = untilStopSignal();
      leases = new PartitionLeases(
        scale.leases,
        worker,
        config.jetstream.partitions,
        config.jetstream.renewS,
        config.jetstream.leaseTtlS,
        {
          gained: (partition) => runs.set(partition, new PartitionRun(partition, context)),
          lost: async (partition) => {
            await runs.get(partition)?.stop();
            runs.delete(partition);
          },
        },
      );
      log.info({ worker, partitions: config.jetstream.partitions }, 'pick worker started');
      const name = await signal;
      log.info({ signal: name }, 'stopping: handing the partitions back');
      try {
        await leases.close();
      } finally {
        await sinks.close();
        await scale.nc.drain().catch(() => {});
        await engine.dispose();
      }
      log.info({ picks: publisher.written, alreadyPublished: publisher.duplicates }, 'stopped');
    });
}
