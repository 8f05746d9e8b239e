import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { concatMap, from, lastValueFrom, type Observable, tap } from 'rxjs';
import { batchSizeFor, pickPipeline } from '../../app/pipeline.ts';
import { replayProgress } from '../../app/progress.ts';
import { defaultShards, shardedPicks, shardFiles, stationCount } from '../../app/replay-shards.ts';
import { PickSinks } from '../../app/sinks.ts';
import { loadStationMetadata } from '../../app/station-metadata.ts';
import { WindowGate } from '../../app/window-gate.ts';
import { checkConfig, loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { createWorkerEngine } from '../../engine/worker-engine.ts';
import { UsageError } from '../../errors.ts';
import { archiveRecords, sdsFiles } from '../../ingest/archive.ts';
import { isoFromEpochUs } from '../../ingest/mseed/index.ts';
import { log } from '../../log.ts';
import { resolveModelDir } from '../../model/resolve.ts';
import { loadModelDir } from '../../model/store.ts';
import type { Pick } from '../../picker/pick.ts';
import { openPickWriter } from '../../sink/pick-document.ts';
import { isoToEpochUs } from '../../train/continuous-truth.ts';
import { addEngineOptions, engineOptionsFrom, pageOption, positiveNumber } from '../options.ts';
import { fdsnReplayFiles } from './replay-fdsn.ts';

interface ReplayOptions {
  config?: string;
  sds?: string;
  start?: string;
  end?: string;
  stations?: string[];
  model?: string;
  engine?: string;
  backend?: string;
  device?: string;
  threads?: number;
  output?: string;
  format?: string;
  speed?: number;
  stride?: number;
  page?: boolean | string;
  hold?: boolean;
  stationxml?: string;
  fdsn?: string;
  fdsnCache?: string;
  fdsnChunk?: number;
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
      stations: { xml: opts.stationxml ?? base.stations.xml },
      engine: {
        kind: opts.engine ?? base.engine.kind,
        backend: opts.backend ?? base.engine.backend,
        device: opts.device ?? base.engine.device,
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

/** The files to replay, each checked before anything slow (the model) is loaded. */
function replayInputs(
  files: string[],
  sds: string | undefined,
  startUs: number | undefined,
  endUs: number | undefined,
  stations: string[] | undefined,
  fromFdsn: boolean,
): string[] {
  for (const file of files) {
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat?.isFile()) {
      throw new UsageError(`${file}: ${stat ? 'not a file' : 'no such file'}`, {
        hint: /[*?[]/.test(file)
          ? 'the pattern matched no file: check the directory and the name'
          : 'give miniSEED files that exist, or --sds <dir> --start <t> --end <t>',
      });
    }
    if (stat.size === 0) log.warn({ file }, 'empty file: nothing to replay in it');
  }
  if (sds === undefined) {
    if (files.length === 0 && !fromFdsn) {
      throw new UsageError('nothing to replay', {
        hint: 'give miniSEED files, --sds <dir> or --fdsn <url> with --start <t> --end <t>',
      });
    }
    return files;
  }
  if (startUs === undefined || endUs === undefined) throw new UsageError('--sds needs --start and --end');
  const found = sdsFiles(sds, startUs, endUs, stations);
  if (found.length === 0) {
    throw new UsageError(
      `the SDS archive ${sds} has no file from ${isoFromEpochUs(startUs)} to ${isoFromEpochUs(endUs)}` +
        (stations?.length ? ` for ${stations.join(', ')}` : ''),
      { hint: 'check --start, --end and --stations against the YEAR/NET/STA/CHAN.D folders of the archive' },
    );
  }
  return [...files, ...found];
}

export function registerReplayCommand(program: Command): void {
  const command = program
    .command('replay')
    .description('Pick P and S in archived miniSEED (files, or an SDS archive over a time range)')
    .argument('[files...]', 'miniSEED files (any number of stations and channels)')
    .option('--sds <dir>', 'an SDS archive (YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY)')
    .option('--fdsn <base-url>', 'an FDSN web service (fdsnws-dataselect), with --stations, --start, --end')
    .option('--fdsn-cache <dir>', 'where --fdsn data are cached (default ~/.cache/phasestream/fdsn)')
    .option('--fdsn-chunk <seconds>', 'seconds of data per --fdsn request (default 3600)', Number)
    .option('--start <time>', 'start of the time range (ISO 8601), with --sds or --fdsn, or to cut files')
    .option('--end <time>', 'end of the time range (ISO 8601)')
    .option('--stations <patterns...>', 'only these stations: NET.STA or NET.STA.LOC.CHA, with ? and *')
    .option('--output <file>', 'where picks go (default: standard output)')
    .option('--format <format>', 'jsonl (one JSON pick a line), csv, quakeml or nonlinloc (docs/formats.md)')
    .option(
      '--speed <factor>',
      'pace the replay at real time x factor (default: as fast as possible)',
      positiveNumber('--speed'),
    )
    .option('--stride <seconds>', 'seconds between window starts (default 15)', positiveNumber('--stride'))
    .option('--page [port]', 'serve the live page (docs/page.md) while replaying, at this port if given')
    .option('--hold', 'with --page: keep serving the page after the replay, until Ctrl-C')
    .option(
      '--stationxml <file or url>',
      'station metadata (StationXML or fdsnws-station): Z12 rotated to ZNE',
    )
    .option(
      '--shards <n>',
      'worker threads the stations are split over, each with an inference session of its own on the CPU (default: one per core, at least 4 stations each; 1 with --page, --speed or station metadata)',
      Number,
    )
    .option('--config <file>', 'a YAML or JSON config (see config/example.yaml); options here win');
  addEngineOptions(command).action(async (files: string[], opts: ReplayOptions) => {
    const config = await replayConfig(opts);
    const startUs = timeOption('--start', opts.start);
    const endUs = timeOption('--end', opts.end);
    let paths = replayInputs(files, opts.sds, startUs, endUs, opts.stations, opts.fdsn !== undefined);
    if (opts.fdsn)
      paths = [...paths, ...(await fdsnReplayFiles({ ...opts, fdsn: opts.fdsn }, startUs, endUs))];
    const metadata = await loadStationMetadata(config.stations.xml);
    const model = await loadModelDir(await resolveModelDir(config.model.dir));
    const paced = opts.speed !== undefined;
    const shards =
      opts.shards ??
      (paced || config.page.enabled || metadata
        ? 1
        : defaultShards(await stationCount(paths), availableParallelism(), paced, config.page.enabled));
    if (!Number.isInteger(shards) || shards < 1) {
      throw new UsageError(`--shards ${opts.shards}: expected a positive integer`);
    }
    // The network runs in threads of its own, a session per shard: reading, windowing and picking go
    // on meanwhile.
    const engine = await createWorkerEngine(
      model,
      engineOptionsFrom({ ...config.engine, engine: config.engine.kind }),
      { sessions: shards },
    );
    const out = openPickWriter(config.output.file, config.output.format);
    const sinks = await PickSinks.open(config, out, {
      live: false,
      classes: engine.card.classes,
      coordinates: metadata?.inventory.stations,
    });
    const totalBytes = paths.reduce((sum, p) => sum + statSync(p).size, 0);
    const progress = replayProgress(totalBytes);
    let readBytes = 0;
    let shownFraction = 0;
    const started = performance.now();
    // Every thread's (shards', sessions'): with the seconds, how much of the cores the replay used.
    const cpuBefore = process.cpuUsage();
    const busyBeforeMs = engine.sessionBusyMs();
    let badRecords = 0;
    // The reader waits while more than a few batches wait for the network.
    const gate = new WindowGate(4 * batchSizeFor(engine, config));
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
    let inferenceBusyS: number[] = [];
    try {
      let picks: Observable<Pick>;
      if (shards > 1) {
        picks = shardedPicks(
          await shardFiles(paths, shards),
          engine,
          config,
          { startUs, endUs },
          (report) => {
            for (const counts of report.records) {
              sinks.countRecords(counts.streamId, counts.records, counts.samples, counts.endUs);
              advance(counts.bytes);
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
        picks = pickPipeline(records, engine, config, {
          ...sinks.hooks,
          ...metadata?.hooks,
          onPending: gate.setPending,
        });
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
      // Each inference session's busy seconds in the replay (its thread's event loop): near the
      // replay's own seconds, the network was the bound.
      inferenceBusyS = engine.sessionBusyMs().map((ms, s) => Math.round(ms - busyBeforeMs[s]) / 1000);
      await engine.dispose();
    }
    log.info(
      {
        picks: out.written,
        files: paths.length,
        badRecords,
        seconds: Math.round((performance.now() - started) / 100) / 10,
        cpuS: cpuSeconds(process.cpuUsage(cpuBefore)),
        inferenceBusyS,
      },
      'replay done',
    );
  });
}

/** User and system time in seconds, to a tenth. */
function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return Math.round((usage.user + usage.system) / 100_000) / 10;
}
