/**
 * Replay bench: how many station-days per minute `phasestream replay` picks from an SDS archive,
 * against the rate at which the same archive is merely read (archiveRecords, decode only), with the
 * picks made and the peak memory of each run. The archive is built in a temporary directory from the
 * dev record (bench/archive-builder.ts). See bench/README.md.
 *
 *   node --import tsx bench/replay.ts [--stations 1,4,16] [--days D] [--stride 15] [--threads 1,2]
 *     [--modes cli,pipeline] [--keep] [--json out.json]
 */
import { fork, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultShards } from '../src/app/replay-shards.ts';
import type { TfjsBackendName } from '../src/engine/tfjs/tfjs-engine.ts';
import { PhaseStreamError, UsageError } from '../src/errors.ts';
import { isoFromEpochUs } from '../src/ingest/mseed/index.ts';
import { buildSdsArchive, devRecordDir, loadDevRecord, writeBenchModel } from './archive-builder.ts';
import { parallelCapacity } from './parallel-capacity.ts';
import { figure, parseTimeVerbose, stationDaysPerMinute, textTable } from './pipeline-measure.ts';
import type { ReplayWorkerRequest, ReplayWorkerResult } from './replay-worker.ts';

const USAGE = `Usage: node --import tsx bench/replay.ts [options]

  --stations LIST   station counts to replay, one run each (default 1,4,16)
  --days D          span of the archive in days (default: the dev record's 2.6 h; longer spans tile it)
  --stride S        seconds between window starts (default 15, the config's default)
  --threads LIST    onnxruntime intra-op threads, one set of runs (inference alone, cli, pipeline)
                    each (default 1,2)
  --engine E        onnxruntime (default) or tfjs; a slow one (tfjs --backend cpu) shows what the
                    archive source's missing backpressure does when inference is the bottleneck
  --backend B       tfjs backend (default auto)
  --modes LIST      cli (node bin/phasestream.js replay under /usr/bin/time -v) and/or pipeline
                    (pickPipeline in a worker process); default cli,pipeline. The decode-only
                    baseline always runs.
  --keep            keep the temporary directory (archive, model, picks) and print where it is
  --json FILE       also write settings, runs and memory samples as JSON
`;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GNU_TIME = '/usr/bin/time';

interface ReplaySettings {
  stations: number[];
  durationS?: number;
  strideS: number;
  threads: number[];
  engine: 'onnxruntime' | 'tfjs';
  backend: TfjsBackendName | 'auto';
  modes: ('cli' | 'pipeline')[];
  keep: boolean;
  json?: string;
}

function positiveList(option: string, text: string, integer: boolean): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !(v > 0) || (integer && !Number.isInteger(v)))) {
    throw new UsageError(
      `--${option} ${text}: expected ${integer ? 'positive integers' : 'a positive number'}`,
      {
        hint: USAGE,
      },
    );
  }
  return values;
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      stations: { type: 'string', default: '1,4,16' },
      days: { type: 'string' },
      stride: { type: 'string', default: '15' },
      threads: { type: 'string', default: '1,2' },
      engine: { type: 'string', default: 'onnxruntime' },
      backend: { type: 'string', default: 'auto' },
      modes: { type: 'string', default: 'cli,pipeline' },
      keep: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

function parseSettings(argv: string[]): ReplaySettings | 'help' {
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    ({ values } = parseOptions(argv));
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: USAGE, cause: error });
  }
  if (values.help) return 'help';
  const modes = values.modes.split(',').map((m) => m.trim());
  if (modes.length === 0 || modes.some((m) => m !== 'cli' && m !== 'pipeline')) {
    throw new UsageError(`--modes ${values.modes}: choose from cli, pipeline`, { hint: USAGE });
  }
  if (values.engine !== 'onnxruntime' && values.engine !== 'tfjs') {
    throw new UsageError(`--engine ${values.engine}: choose onnxruntime or tfjs`, { hint: USAGE });
  }
  const backends = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
  if (!backends.includes(values.backend)) {
    throw new UsageError(`--backend ${values.backend}: choose from ${backends.join(', ')}`, { hint: USAGE });
  }
  return {
    stations: positiveList('stations', values.stations, true),
    engine: values.engine,
    backend: values.backend as ReplaySettings['backend'],
    ...(values.days === undefined ? {} : { durationS: positiveList('days', values.days, false)[0] * 86_400 }),
    strideS: positiveList('stride', values.stride, false)[0],
    threads: positiveList('threads', values.threads, true),
    modes: modes as ReplaySettings['modes'],
    keep: values.keep,
    ...(values.json === undefined ? {} : { json: values.json }),
  };
}

/** A worker (bench/replay-worker.ts) in a process of its own; resolves with what it measured. */
function runWorker(request: ReplayWorkerRequest): Promise<ReplayWorkerResult> {
  const worker = fork(
    fileURLToPath(new URL('./replay-worker.ts', import.meta.url)),
    [JSON.stringify(request)],
    {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  return new Promise((resolvePromise, reject) => {
    let reply: ReplayWorkerResult | { error: string } | undefined;
    worker.on('message', (message) => {
      reply = message as ReplayWorkerResult | { error: string };
    });
    worker.on('exit', (code, signal) => {
      if (reply && 'error' in reply) reject(new Error(`replay worker (${request.mode}): ${reply.error}`));
      else if (reply) resolvePromise(reply);
      else reject(new Error(`replay worker (${request.mode}) exited with ${signal ?? `code ${code}`}`));
    });
  });
}

interface CliResult {
  seconds: number;
  processSeconds: number;
  picks: number;
  maxRssMb?: number;
  /** CPU time of the replay (user and system, every thread), as the CLI logs it. */
  cpuS?: number;
}

/** `phasestream replay` as a user runs it, under GNU time for its peak memory. */
async function runCli(
  args: {
    sds: string;
    stations: string[];
    startUs: number;
    endUs: number;
    modelDir: string;
    picksFile: string;
    threads: number;
  },
  settings: ReplaySettings,
): Promise<CliResult> {
  const cli = [
    join(repoRoot, 'bin/phasestream.js'),
    'replay',
    '--sds',
    args.sds,
    '--start',
    isoFromEpochUs(args.startUs),
    '--end',
    isoFromEpochUs(args.endUs),
    '--model',
    args.modelDir,
    '--engine',
    settings.engine,
    '--backend',
    settings.backend,
    '--threads',
    String(args.threads),
    '--stride',
    String(settings.strideS),
    '--output',
    args.picksFile,
    '--stations',
    ...args.stations,
  ];
  const timed = existsSync(GNU_TIME);
  const started = performance.now();
  const child = spawn(timed ? GNU_TIME : process.execPath, timed ? ['-v', process.execPath, ...cli] : cli, {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'info' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  const processSeconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`phasestream replay exited with ${code}:\n${stderr.slice(-2000)}`);
  const done = stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; seconds?: number; picks?: number; cpuS?: number })
    .find((entry) => entry.msg === 'replay done');
  const lines = readFileSync(args.picksFile, 'utf8').split('\n').filter(Boolean).length;
  const time = parseTimeVerbose(stderr);
  return {
    seconds: done?.seconds ?? processSeconds,
    processSeconds,
    picks: lines,
    ...(time.maxRssKb === undefined ? {} : { maxRssMb: time.maxRssKb / 1024 }),
    ...(done?.cpuS === undefined ? {} : { cpuS: done.cpuS }),
  };
}

interface RunRow {
  stations: number;
  /** onnxruntime intra-op threads of the run (none for decode). */
  threads?: number;
  stationDays: number;
  mode: 'decode' | 'cli' | 'pipeline' | 'inference alone';
  seconds: number;
  /** This run's seconds over the network's alone on the same windows (the `inference alone` row). */
  ofInference?: number;
  stationDaysPerMin: number;
  /** This run's rate over the decode-only rate at the same station count. */
  ofDecodeRate: number;
  picks?: number;
  windows?: number;
  inferenceFraction?: number;
  maxRssMb?: number;
  peakQueuedWindows?: number;
  /** cli: CPU seconds of the replay, every thread (engine start-up excluded, as from `seconds`). */
  cpuS?: number;
}

function tableOf(rows: RunRow[]): string {
  return textTable(
    [
      'stations',
      'station-days',
      'threads',
      'mode',
      'seconds',
      'station-days/min',
      'of decode rate',
      'x inference alone',
      'picks',
      'in inference',
      'peak RSS MB',
      'peak queued windows',
    ],
    rows.map((r) => [
      String(r.stations),
      r.stationDays.toFixed(3),
      r.threads === undefined ? '-' : String(r.threads),
      r.mode,
      figure(r.seconds),
      figure(r.stationDaysPerMin),
      `${(100 * r.ofDecodeRate).toFixed(r.ofDecodeRate < 0.1 ? 1 : 0)} %`,
      r.ofInference === undefined ? '-' : r.ofInference.toFixed(2),
      r.picks === undefined ? '-' : String(r.picks),
      r.inferenceFraction === undefined ? '-' : `${(100 * r.inferenceFraction).toFixed(0)} %`,
      r.maxRssMb === undefined ? '-' : figure(r.maxRssMb),
      r.peakQueuedWindows === undefined ? '-' : `${r.peakQueuedWindows} of ${r.windows}`,
    ]),
  );
}

/**
 * What the CPU allows: a replay of many stations can go no faster than every core busy all the run,
 * cores / (CPU seconds a station-day) station-days a second, whatever the sharding. Set beside one
 * station's measured rate (which already overlaps its pipeline with inference on two threads), it
 * says how far more stations could gain at all with the arithmetic of this build.
 */
function cpuBoundNotes(rows: RunRow[], cores: number): string[] {
  const notes: string[] = [];
  for (const r of rows.filter((row) => row.mode === 'cli' && row.cpuS !== undefined)) {
    const perDay = r.cpuS! / r.stationDays;
    const bound = (60 * cores) / perDay;
    const one = rows.find((o) => o.mode === 'cli' && o.stations === 1 && o.threads === r.threads);
    const againstOne =
      one === undefined || r.stations === 1
        ? ''
        : `: ${(bound / one.stationDaysPerMin).toFixed(2)}x the rate of 1 station measured here; measured ` +
          `${(r.stationDaysPerMin / one.stationDaysPerMin).toFixed(2)}x`;
    notes.push(
      `cli, ${r.stations} station(s), ${r.threads} thread(s): ${figure(perDay)} CPU s a station-day; ` +
        `${cores} cores busy the whole run would make at most ${figure(bound)} station-days/min${againstOne}.`,
    );
  }
  return notes;
}

/**
 * How peak memory moved with the station count (at one duration: run --days to vary that), and
 * whether windows queued in front of inference: the archive source reads without backpressure, so a
 * picker slower than the reader would make the queue, and memory, grow with stations x duration.
 */
function memoryNotes(rows: RunRow[]): string[] {
  const notes: string[] = [];
  // Against the station count, at the first thread count.
  const threads = rows.find((r) => r.threads !== undefined)?.threads;
  for (const mode of ['decode', 'cli', 'pipeline'] as const) {
    const runs = rows.filter(
      (r) => r.mode === mode && r.maxRssMb !== undefined && (mode === 'decode' || r.threads === threads),
    );
    if (runs.length < 2 || runs.at(-1)!.stations === runs[0].stations) continue;
    const first = runs[0];
    const last = runs.at(-1)!;
    const perStation = (last.maxRssMb! - first.maxRssMb!) / (last.stations - first.stations);
    notes.push(
      `${mode}: peak RSS ${figure(first.maxRssMb!)} MB at ${first.stations} station(s), ` +
        `${figure(last.maxRssMb!)} MB at ${last.stations}: ${figure(perStation)} MB more per added station.`,
    );
  }
  for (const r of rows.filter((row) => row.peakQueuedWindows !== undefined)) {
    const queued = r.peakQueuedWindows!;
    notes.push(
      queued > 0.5 * r.windows!
        ? `pipeline, ${r.stations} station(s), ${r.threads} thread(s): up to ${queued} of its ${r.windows} windows waited for the ` +
            'network at once: the reader ran ahead of the picker (no backpressure) and memory grows with ' +
            'stations x duration.'
        : `pipeline, ${r.stations} station(s), ${r.threads} thread(s): at most ${queued} of ${r.windows} windows waited for the network: ` +
            'the reader did not run ahead of the picker in this run.',
    );
  }
  return notes;
}

async function main(argv: string[]): Promise<void> {
  const settings = parseSettings(argv);
  if (settings === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (!existsSync(devRecordDir)) {
    throw new UsageError(`the dev record ${devRecordDir} is not there`, {
      hint: 'the replay bench builds its archive from ../shared/data/continuous-dev',
    });
  }
  const loadBefore = loadavg()[0];
  const capacityBefore = await parallelCapacity();
  const work = await mkdtemp(join(tmpdir(), 'phasestream-replay-bench-'));
  try {
    const dev = await loadDevRecord();
    const durationS = settings.durationS ?? dev.samples[0].length / dev.samplingRate;
    process.stderr.write(
      `bench: model and an archive of ${Math.max(...settings.stations)} stations in ${work}\n`,
    );
    const model = await writeBenchModel(join(work, 'model'));
    const buildStarted = performance.now();
    const archive = await buildSdsArchive(
      dev,
      join(work, 'sds'),
      Math.max(...settings.stations),
      dev.startTimeUs,
      durationS,
    );
    const buildSeconds = (performance.now() - buildStarted) / 1000;
    const rows: RunRow[] = [];
    const workerRuns: ReplayWorkerResult[] = [];
    for (const stations of settings.stations) {
      const selection = archive.stations.slice(0, stations);
      const stationDays = (stations * durationS) / 86_400;
      const request = {
        sds: archive.root,
        stations: selection,
        startUs: archive.startUs,
        endUs: archive.endUs,
      };
      process.stderr.write(`bench: ${stations} station(s): decode only\n`);
      const decode = await runWorker({ ...request, mode: 'decode' });
      workerRuns.push(decode);
      const decodeRate = stationDaysPerMinute(stations, durationS, decode.seconds);
      rows.push({
        stations,
        stationDays,
        mode: 'decode',
        seconds: decode.seconds,
        stationDaysPerMin: decodeRate,
        ofDecodeRate: 1,
        maxRssMb: decode.maxRssMb,
      });
      for (const threads of settings.threads) {
        const engineRequest = {
          modelDir: model.dir,
          threads,
          engine: settings.engine,
          backend: settings.backend,
          strideS: settings.strideS,
        };
        process.stderr.write(`bench: ${stations} station(s), ${threads} thread(s): inference alone\n`);
        // As many sessions as the CLI's replay of these stations has shards (one per shard).
        const sessions = defaultShards(stations, availableParallelism(), false, false);
        const alone = await runWorker({ ...request, ...engineRequest, mode: 'inference', sessions });
        workerRuns.push(alone);
        rows.push({
          stations,
          threads,
          stationDays,
          mode: 'inference alone',
          seconds: alone.inferenceS!,
          ofInference: 1,
          stationDaysPerMin: stationDaysPerMinute(stations, durationS, alone.inferenceS!),
          ofDecodeRate: stationDaysPerMinute(stations, durationS, alone.inferenceS!) / decodeRate,
          windows: alone.windows,
        });
        for (const mode of settings.modes) {
          process.stderr.write(`bench: ${stations} station(s), ${threads} thread(s): ${mode}\n`);
          if (mode === 'cli') {
            const cli = await runCli(
              {
                ...request,
                stations: selection,
                modelDir: model.dir,
                picksFile: join(work, `picks-${stations}-${threads}.jsonl`),
                threads,
              },
              settings,
            );
            const rate = stationDaysPerMinute(stations, durationS, cli.seconds);
            rows.push({
              stations,
              threads,
              stationDays,
              mode,
              seconds: cli.seconds,
              ofInference: cli.seconds / alone.inferenceS!,
              stationDaysPerMin: rate,
              ofDecodeRate: rate / decodeRate,
              picks: cli.picks,
              ...(cli.maxRssMb === undefined ? {} : { maxRssMb: cli.maxRssMb }),
              ...(cli.cpuS === undefined ? {} : { cpuS: cli.cpuS }),
            });
          } else {
            const result = await runWorker({ ...request, ...engineRequest, mode: 'pipeline' });
            workerRuns.push(result);
            const rate = stationDaysPerMinute(stations, durationS, result.seconds);
            rows.push({
              stations,
              threads,
              stationDays,
              mode,
              seconds: result.seconds,
              ofInference: result.seconds / alone.inferenceS!,
              stationDaysPerMin: rate,
              ofDecodeRate: rate / decodeRate,
              picks: result.picks,
              windows: result.windows,
              inferenceFraction: result.inferenceS! / result.seconds,
              maxRssMb: result.maxRssMb,
              peakQueuedWindows: result.peakQueuedWindows,
            });
          }
        }
      }
    }
    const loadAfter = loadavg()[0];
    const capacityAfter = await parallelCapacity();
    const notes = [
      `two threads of arithmetic at once ran at ${capacityBefore.toFixed(2)}x the rate of one before the runs and ` +
        `${capacityAfter.toFixed(2)}x after (2.00: two free cores; bench/parallel-capacity.ts)`,
      `archive: ${archive.files} day files, ${(archive.bytes / 1e6).toFixed(1)} MB of 512-byte Steim2 records, ` +
        `${(durationS / 3600).toFixed(2)} h per station from ${isoFromEpochUs(archive.startUs)}, ` +
        `built in ${buildSeconds.toFixed(1)} s`,
      `model: ${model.weights === 'original' ? 'the original PhaseNet weights' : 'random weights (picks mean nothing)'}; ` +
        `${settings.engine === 'tfjs' ? `tfjs (${settings.backend})` : 'onnxruntime'}, stride ${settings.strideS} s, batches of 32 (500 ms wait)`,
      'seconds: cli = the replay as the CLI logs it (engine start-up excluded); pipeline and decode = ' +
        'subscription to completion in a worker process; inference alone = the summed engine.run time of ' +
        "the pipeline's own batches (made beforehand into a scratch file: decode, stationWindows, batchWindows), " +
        'run one after the other, each awaited before the next is posted, with nothing else running, by the same ' +
        'engine (its own thread, src/engine/worker-engine.ts) on the same number of intra-op threads as the rows ' +
        'of its `threads` below: the network with the pipeline taken away. Where the CLI shards the stations ' +
        '(8 or more on 2 cores) and so runs a session per shard, inference alone deals the batches over as ' +
        'many sessions, each taking the next when its last is done, and counts the longest sum',
      ...memoryNotes(rows),
      ...cpuBoundNotes(rows, availableParallelism()),
    ];
    const out = process.stdout;
    out.write(
      `Replay: station-days per minute, load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after\n\n`,
    );
    out.write(`${tableOf(rows)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
    if (settings.keep) out.write(`\nkept: ${work}\n`);
    if (settings.json) {
      const report = {
        date: new Date().toISOString(),
        loadAverage1m: { before: loadBefore, after: loadAfter },
        settings: { ...settings, durationS },
        archive,
        model: model.weights,
        rows,
        workerRuns,
        notes,
      };
      await writeFile(settings.json, `${JSON.stringify(report, null, 2)}\n`);
    }
  } finally {
    if (!settings.keep) await rm(work, { recursive: true, force: true });
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof PhaseStreamError)) throw error;
  process.stderr.write(`bench/replay: ${error.message}\n`);
  if (error.hint) process.stderr.write(`${error.hint}\n`);
  process.exitCode = 1;
}
