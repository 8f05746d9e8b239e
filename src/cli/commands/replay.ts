import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { concatMap, from, lastValueFrom, type Observable, tap } from 'rxjs';
import { pickPipeline } from '../../app/pipeline.ts';
import { replayProgress } from '../../app/progress.ts';
import { defaultShards, shardedPicks, shardFiles, stationCount } from '../../app/replay-shards.ts';
import { PickSinks } from '../../app/sinks.ts';
import { WindowGate } from '../../app/window-gate.ts';
import { checkConfig, loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { createWorkerEngine } from '../../engine/worker-engine.ts';
import { UsageError } from '../../errors.ts';
import { archiveRecords, sdsFiles } from '../../ingest/archive.ts';
import { log } from '../../log.ts';
import { resolveModelDir } from '../../model/resolve.ts';
import { loadModelDir } from '../../model/store.ts';
import type { Pick } from '../../picker/pick.ts';
import { PickFile } from '../../sink/pick-file.ts';
import { isoToEpochUs } from '../../train/continuous-truth.ts';
import { addEngineOptions, engineOptionsFrom, pageOption } from '../options.ts';

interface ReplayOptions {
  config?: string;
  sds?: string;
  start?: string;
  end?: string;
  stations?: string[];
  model?: string;
  engine?: string;
  backend?: string;
  threads?: number;
  output?: string;
  format?: string;
  speed?: number;
  stride?: number;
  page?: boolean | string;
  hold?: boolean;
  shards?: number;
}

function timeOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const us = isoToEpochUs(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(us))
    throw new UsageError(`${name} '${value}' is not a time`, {
      hint: 'write times as ISO 8601, e.g. 2011-03-31T00:00:00Z or 2011-03-31',
    });
  return us;
}

/** The config of a replay: the file's, with the command line's options on top. */
async function replayConfig(opts: ReplayOptions): Promise<Config> {
  const base = opts.config ? await loadConfig(opts.config) : checkConfig({});
  return checkConfig(
    {
      ...base,
      model: { dir: opts.model ?? base.model.dir },
      engine: {
        kind: opts.engine ?? base.engine.kind,
        backend: opts.backend ?? base.engine.backend,
        threads: opts.threads ?? base.engine.threads,
      },
      picker: { ...base.picker, strideS: opts.stride ?? base.picker.strideS },
      output: { file: opts.output ?? base.output.file, format: opts.format ?? base.output.format },
      ...pageOption(base, opts.page),
    },
    'command line',
  );
}

function untilInterrupted(url: string): Promise<void> {
  process.stderr.write(`replay done; the live page stays at ${url} until Ctrl-C\n`);
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export function registerReplayCommand(program: Command): void {
  const command = program
    .command('replay')
    .description('Pick P and S in archived miniSEED (files, or an SDS archive over a time range)')
    .argument('[files...]', 'miniSEED files (any number of stations and channels)')
    .option('--sds <dir>', 'an SDS archive (YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY)')
    .option('--start <time>', 'start of the time range (ISO 8601), with --sds or to cut files')
    .option('--end <time>', 'end of the time range (ISO 8601)')
    .option('--stations <patterns...>', 'only these stations: NET.STA or NET.STA.LOC.CHA, with ? and *')
    .option('--output <file>', 'where picks go (default: standard output)')
    .option('--format <format>', 'jsonl (one JSON pick a line) or csv')
    .option(
      '--speed <factor>',
      'pace the replay at real time x factor (default: as fast as possible)',
      Number,
    )
    .option('--stride <seconds>', 'seconds between window starts (default 15)', Number)
    .option('--page [port]', 'serve the live page (docs/page.md) while replaying, at this port if given')
    .option('--hold', 'with --page: keep serving the page after the replay, until Ctrl-C')
    .option(
      '--shards <n>',
      'worker threads the stations are split over (default: one per core, at least 4 stations each; 1 with --page or --speed)',
      Number,
    )
    .option('--config <file>', 'a YAML or JSON config (see config/example.yaml); options here win');
  addEngineOptions(command).action(async (files: string[], opts: ReplayOptions) => {
    const config = await replayConfig(opts);
    const startUs = timeOption('--start', opts.start);
    const endUs = timeOption('--end', opts.end);
    let paths = files;
    if (opts.sds) {
      if (startUs === undefined || endUs === undefined) throw new UsageError('--sds needs --start and --end');
      paths = [...files, ...sdsFiles(opts.sds, startUs, endUs, opts.stations)];
    }
    if (paths.length === 0) {
      throw new UsageError('nothing to replay', {
        hint: 'give miniSEED files, or --sds <dir> --start <t> --end <t>',
      });
    }
    const model = await loadModelDir(await resolveModelDir(config.model.dir));
    // The network runs in a thread of its own: reading, windowing and picking go on meanwhile.
    const engine = await createWorkerEngine(
      model,
      engineOptionsFrom({ ...config.engine, engine: config.engine.kind }),
    );
    const out = new PickFile(config.output.file, config.output.format);
    const sinks = await PickSinks.open(config, out, { live: false, classes: engine.card.classes });
    const totalBytes = paths.reduce((sum, p) => sum + statSync(p).size, 0);
    const progress = replayProgress(totalBytes);
    let readBytes = 0;
    let shownFraction = 0;
    const started = performance.now();
    let badRecords = 0;
    // The reader waits while more than a few batches wait for the network.
    const gate = new WindowGate(4 * config.batching.size);
    const advance = (bytes: number) => {
      progress.advance(bytes, out.written);
      readBytes += bytes;
      if (readBytes / totalBytes - shownFraction >= 0.002) {
        shownFraction = readBytes / totalBytes;
        sinks.progress({ fraction: shownFraction, picks: out.written, done: false });
      }
    };
    const badRecord = (file: string, error: { offset?: number; problem?: string; message: string }) => {
      badRecords++;
      log.warn(
        { file, offset: error.offset, problem: error.problem, err: error.message },
        'bad record skipped',
      );
    };
    const paced = opts.speed !== undefined;
    const shards =
      opts.shards ??
      (paced || config.page.enabled
        ? 1
        : defaultShards(await stationCount(paths), availableParallelism(), paced, config.page.enabled));
    if (!Number.isInteger(shards) || shards < 1) {
      throw new UsageError(`--shards ${opts.shards}: expected a positive integer`);
    }
    try {
      let picks: Observable<Pick>;
      if (shards > 1) {
        picks = shardedPicks(
          await shardFiles(paths, shards),
          engine,
          config,
          { startUs, endUs },
          (report) => {
            for (const { record, bytes } of report.records) {
              sinks.record(record);
              advance(bytes);
            }
            for (const event of report.events) sinks.hooks.onChannelEvent?.(event);
            for (const batch of report.batches) sinks.hooks.onBatch?.(batch);
            for (const bad of report.badRecords) badRecord(bad.file, bad);
          },
        );
      } else {
        const records = archiveRecords(paths, {
          startUs,
          endUs,
          speed: opts.speed,
          ready: () => gate.ready(),
          onBadRecord: badRecord,
        }).pipe(
          tap((record) => {
            sinks.record(record);
            advance(record.recordLength);
          }),
        );
        picks = pickPipeline(records, engine, config, { ...sinks.hooks, onPending: gate.setPending });
      }
      await lastValueFrom(picks.pipe(concatMap((pick) => from(sinks.write(pick)))), {
        defaultValue: undefined,
      });
      sinks.progress({ fraction: 1, picks: out.written, done: true });
      if (config.page.enabled && opts.hold) await untilInterrupted(`${sinks.url}/`);
    } finally {
      progress.stop();
      await sinks.close();
      await out.close();
      await engine.dispose();
    }
    log.info(
      {
        picks: out.written,
        files: paths.length,
        badRecords,
        seconds: Math.round((performance.now() - started) / 100) / 10,
      },
      'replay done',
    );
  });
}
