import type { Command } from 'commander';
import { PickSinks } from '../../app/sinks.ts';
import { loadConfig } from '../../config/load.ts';
import { ConfigError } from '../../errors.ts';
import { log } from '../../log.ts';
import { resolveModelDir } from '../../model/resolve.ts';
import { loadModelDir } from '../../model/store.ts';
import { ConsumerLag } from '../../scale/consumer-lag.ts';
import { openScaleLog } from '../../scale/jetstream.ts';
import { untilStopSignal } from '../../scale/signals.ts';
import { consumePicks } from '../../scale/sink.ts';
import { PickFile } from '../../sink/pick-file.ts';
import { pageOption } from '../options.ts';

export function registerSinkCommand(program: Command): void {
  program
    .command('sink')
    .description(
      'Scale-out: write the picks stream to the pick file, InfluxDB, the WebSocket and the page (docs/scale-out.md)',
    )
    .requiredOption(
      '--config <file>',
      'a YAML or JSON config with a jetstream section (see config/example.yaml)',
    )
    .option('--output <file>', 'where picks go (overrides output.file)')
    .option('--page [port]', 'serve the live page (docs/page.md), at this port if given')
    .action(async (opts: { config: string; output?: string; page?: boolean | string }) => {
      const loaded = await loadConfig(opts.config);
      const config = { ...loaded, ...pageOption(loaded, opts.page) };
      const format = config.output.format;
      if (format !== 'jsonl' && format !== 'csv') {
        throw new ConfigError(`output.format ${format} is for replays: the sink writes jsonl or csv`, {
          hint: `write jsonl (or csv) and convert with \`phasestream export <file> --format ${format}\``,
        });
      }
      const model = await loadModelDir(await resolveModelDir(config.model.dir));
      const scale = await openScaleLog(config.jetstream, 'phasestream sink');
      // The file skips (id, status) pairs it holds: a pick delivered again (its ack lost) is written once.
      const out = new PickFile(opts.output ?? config.output.file, format, { append: true });
      const sinks = await PickSinks.open(config, out, { live: true, classes: model.card.classes });
      const lag = new ConsumerLag();
      sinks.addHealthSource(lag);
      const { stopped, signal } = untilStopSignal();
      try {
        await consumePicks(scale, (pick) => sinks.write(pick), lag, signal, stopped);
      } finally {
        await sinks.close();
        await out.close();
        await scale.nc.drain().catch(() => {});
      }
      log.info({ picks: out.written, alreadyWritten: out.skipped }, 'stopped');
    });
}
