/**
 * Realtime bench: does the live pipeline keep up with N stations, and how long does each window and
 * each pick take? For each N, a SeedLink server fed in real time (bench/realtime-feed.ts) and the
 * pipeline behind a SeedLink client (bench/realtime-pipeline.ts), each in a process of its own, on
 * loopback; every run is bounded in time and stops by itself. Station counts go up until one does not
 * keep up (or the time budget is spent). See bench/README.md.
 *
 *   node --import tsx bench/realtime.ts [--stations 100,200,400,800,1600,3200] [--stride 10] [--seconds 60]
 *     [--speed 1] [--json out.json]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pipelineEngineThreads } from '../src/engine/worker-engine.ts';
import { PhaseStreamError, UsageError } from '../src/errors.ts';
import type { ModelCard } from '../src/model/card.ts';
import { devRecordDir, writeBenchModel } from './archive-builder.ts';
import { parallelCapacity } from './parallel-capacity.ts';
import {
  expectedWindows,
  figure,
  percentile,
  type RealtimeVerdict,
  realtimeVerdict,
  textTable,
} from './pipeline-measure.ts';
import type { FeedMessage, FeedRequest } from './realtime-feed.ts';
import type { PipelineRequest, PipelineResult } from './realtime-pipeline.ts';

const USAGE = `Usage: node --import tsx bench/realtime.ts [options]

  --stations LIST   station counts, tried in increasing order (default 100,200,400,800,1600,3200)
  --all             try every count, not only until the first that does not keep up
  --stride S        seconds between window starts (default 10)
  --seconds S       wall seconds of feeding per run, after a preroll of one window less one stride (default 60)
  --speed X         data seconds per wall second (default 1, real time; see bench/README.md)
  --batch N         windows per batch (default 32)
  --max-wait MS     how long a batch waits to fill (default 500)
  --threads N       inference threads (default: as phasestream run, all cores but one)
  --budget S        wall seconds for the whole bench: a run that would not fit is skipped (default 540)
  --json FILE       also write settings, runs and per-run series as JSON
  --live-edge       run the live-edge lane too (provisional picks; docs/stream.md)
  --page            feed the live page's view too, as \`phasestream run\` with page.enabled (docs/page.md)
  --stagger         each station's windows at its own offset in the stride (picker.staggerWindows)
`;

interface RealtimeSettings {
  stations: number[];
  all: boolean;
  strideS: number;
  seconds: number;
  speed: number;
  batchSize: number;
  maxWaitMs: number;
  threads: number;
  budgetS: number;
  json?: string;
  liveEdge: boolean;
  page: boolean;
  stagger: boolean;
}

function numbers(option: string, text: string, integer: boolean): number[] {
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
      stations: { type: 'string', default: '100,200,400,800,1600,3200' },
      all: { type: 'boolean', default: false },
      stride: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '60' },
      speed: { type: 'string', default: '1' },
      batch: { type: 'string', default: '32' },
      'max-wait': { type: 'string', default: '500' },
      threads: { type: 'string', default: String(pipelineEngineThreads()) },
      budget: { type: 'string', default: '540' },
      json: { type: 'string' },
      'live-edge': { type: 'boolean', default: false },
      page: { type: 'boolean', default: false },
      stagger: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

function parseSettings(argv: string[]): RealtimeSettings | 'help' {
  let values: ReturnType<typeof parseOptions>['values'];
  try {
    ({ values } = parseOptions(argv));
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: USAGE, cause: error });
  }
  if (values.help) return 'help';
  const one = (option: string, text: string, integer = false) => numbers(option, text, integer)[0];
  return {
    stations: [...new Set(numbers('stations', values.stations, true))].sort((a, b) => a - b),
    all: values.all,
    strideS: one('stride', values.stride),
    seconds: one('seconds', values.seconds),
    speed: one('speed', values.speed),
    batchSize: one('batch', values.batch, true),
    maxWaitMs: values['max-wait'] === '0' ? 0 : one('max-wait', values['max-wait']),
    threads: one('threads', values.threads, true),
    budgetS: one('budget', values.budget),
    liveEdge: values['live-edge'],
    page: values.page,
    stagger: values.stagger,
    ...(values.json === undefined ? {} : { json: values.json }),
  };
}

/** A bench child process, its IPC messages as a queue to await one at a time. */
class Child {
  private readonly queue: unknown[] = [];
  private waiter: ((message: unknown) => void) | undefined;
  private exit: string | undefined;

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    process.on('message', (message) => {
      if (this.waiter) {
        const waiter = this.waiter;
        this.waiter = undefined;
        waiter(message);
      } else this.queue.push(message);
    });
    process.on('exit', (code, signal) => {
      this.exit = `${name} exited with ${signal ?? `code ${code}`}`;
      this.waiter?.({ type: 'exit', reason: this.exit });
    });
  }

  static start(name: string, script: string, request: unknown): Child {
    const child = fork(fileURLToPath(new URL(script, import.meta.url)), [JSON.stringify(request)], {
      // BENCH_CPU_PROF=dir: a V8 CPU profile of each process (and thread) in dir, written at its exit.
      // BENCH_NODE_FLAGS='--trace-gc --trace-incremental-marking': node and V8 flags for both processes
      // (what showed the full collections and what started each, bench/README.md).
      // BENCH_HEAP_PROF=dir: a sampling heap profile of each process in dir (bench/heap-sample.mjs).
      // BENCH_THREAD_CPU=dir: each thread's CPU time, sampled every 250 ms (bench/thread-cpu.mjs).
      execArgv: [
        '--import',
        'tsx',
        '--expose-gc',
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
        ...(process.env.BENCH_HEAP_PROF
          ? ['--import', fileURLToPath(new URL('heap-sample.mjs', import.meta.url))]
          : []),
        ...(process.env.BENCH_THREAD_CPU
          ? ['--import', fileURLToPath(new URL('thread-cpu.mjs', import.meta.url))]
          : []),
        ...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []),
      ],
      env: { ...process.env, PHASESTREAM_LOG_LEVEL: process.env.PHASESTREAM_LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Child(name, child);
  }

  /** The next message of `type`; rejects if the child exits first or `timeoutMs` passes. */
  async next<T extends { type: string }>(type: T['type'], timeoutMs: number): Promise<T> {
    const message = (await new Promise<unknown>((resolve, reject) => {
      if (this.queue.length > 0) return resolve(this.queue.shift());
      if (this.exit) return reject(new Error(this.exit));
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiter = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
    })) as { type: string; reason?: string };
    if (message.type === 'exit') throw new Error(message.reason);
    if (message.type !== type) throw new Error(`${this.name}: expected '${type}', got '${message.type}'`);
    return message as T;
  }

  send(message: { op: string }): void {
    if (this.process.connected) this.process.send(message);
  }

  /** Resolves when the child has exited, or after `timeoutMs`. */
  async exited(timeoutMs: number): Promise<void> {
    if (this.exit !== undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.process.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Ends the child (ours, by its pid) unless it has ended. */
  kill(): void {
    if (this.exit === undefined) this.process.kill();
  }
}

interface RunSummary {
  stations: number;
  expectedPerS: number;
  madePerS: number;
  donePerS: number;
  producedFraction: number;
  windows: number;
  latencyS: { p50: number; p99: number; max: number };
  batchingWaitS: { p50: number; p99: number };
  queueWaitS: { p50: number; p99: number };
  inferenceS: { p50: number; p99: number };
  meanBatch: number;
  backlogMax: number;
  backlogAtFeedEnd: number;
  drainS: number;
  picks: number;
  pickDelayS?: { p50: number; p99: number; min: number };
  /** With the live-edge lane: its windows through the network per second, and its picks' delays. */
  edge?: {
    windowsPerS: number;
    /** Edge windows skipped per second, the lane's batches in the engine being at their limit. */
    skippedPerS: number;
    provisional: number;
    delayS?: { p50: number; p90: number; p99: number };
  };
  feedLatenessMs: { p50: number; p99: number; max: number };
  pipelineCores: number;
  /** The pipeline process's CPU (inference included) per window through the network, ms. */
  cpuMsPerWindow: number;
  /** Event loop busy, and in engine.run, as shares of the pipeline's wall time. */
  loopBusy: number;
  inferenceShare: number;
  /**
   * The same over the steady part only, as the rates (every station has made its first window, until
   * the feed ends): without the start's backlog, when every station's preroll comes at once.
   */
  steady: { fromS: number; windows: number; latencyS: { p50: number; p99: number }; loopBusy: number };
  feedCores: number;
  pipelineRssMb: number;
  /** Live memory (heap + array buffers after a forced GC) added per station, MB. */
  liveMbPerStation: number;
  verdict: RealtimeVerdict;
}

const stats = (values: number[]) => ({ p50: percentile(values, 50), p99: percentile(values, 99) });

async function runOnce(stations: number, settings: RealtimeSettings, modelDir: string, windowS: number) {
  const prerollS = windowS - settings.strideS;
  const feedRequest: FeedRequest = {
    stations,
    seconds: settings.seconds,
    speed: settings.speed,
    prerollS,
    strideS: settings.strideS,
    startUs: (Math.floor(Date.now() / 1000) - Math.ceil(prerollS)) * 1e6,
  };
  const feed = Child.start('feed', './realtime-feed.ts', feedRequest);
  let pipeline: Child | undefined;
  try {
    type Listening = Extract<FeedMessage, { type: 'listening' }>;
    const listening = await feed.next<Listening>('listening', 120_000);
    const request: PipelineRequest = {
      url: `127.0.0.1:${listening.port}`,
      modelDir,
      threads: settings.threads,
      strideS: settings.strideS,
      batchSize: settings.batchSize,
      maxWaitMs: settings.maxWaitMs,
      drainTimeoutMs: Math.max(10_000, settings.strideS * 2000),
      liveEdge: settings.liveEdge,
      page: settings.page,
      staggerWindows: settings.stagger,
    };
    pipeline = Child.start('pipeline', './realtime-pipeline.ts', request);
    await pipeline.next('subscribed', 60_000);
    const started = await feed.next<Extract<FeedMessage, { type: 'started' }>>('started', 60_000);
    const done = await feed.next<Extract<FeedMessage, { type: 'done' }>>(
      'done',
      settings.seconds * 1000 + 60_000,
    );
    const feedEndMs = Date.now();
    pipeline.send({ op: 'drain' });
    const result = await pipeline.next<PipelineResult>('result', request.drainTimeoutMs + 60_000);
    feed.send({ op: 'stop' });
    return { listening, started, done, feedEndMs, result, prerollS };
  } finally {
    // A profiled child writes its profile as it exits: give it the time.
    if (process.env.BENCH_CPU_PROF) await Promise.all([pipeline?.exited(20_000), feed.exited(5_000)]);
    pipeline?.kill();
    feed.kill();
  }
}

function summarise(
  stations: number,
  settings: RealtimeSettings,
  windowS: number,
  run: Awaited<ReturnType<typeof runOnce>>,
): RunSummary {
  const { listening, started, done, feedEndMs, result } = run;
  const s = (ms: number) => ms / 1000;
  const feedSeconds = s(feedEndMs - started.wallMs);
  const expected = expectedWindows(
    listening.stationStartsUs,
    listening.endUs,
    windowS * 1e6,
    settings.strideS * 1e6,
  );
  const windows = result.windows;
  const latencies: [number, number][] = windows.map((w) => [
    s(w.receivedAtMs - started.wallMs),
    s(w.doneAtMs - w.receivedAtMs),
  ]);
  const backlogAtFeedEnd =
    result.backlog
      .filter(([at]) => at <= feedEndMs)
      .map(([, made, doneCount]) => made - doneCount)
      .at(-1) ?? 0;
  // Data time t became available (as a record end) at wallMs + (t - firstEndUs) / speed.
  const dataWallMs = (timeUs: number) =>
    started.wallMs + (timeUs - started.firstEndUs) / 1000 / settings.speed;
  const delaysOf = (status: string) =>
    result.picks.filter((p) => p.status === status).map((p) => s(p.emittedAtMs - dataWallMs(p.timeUs)));
  const pickDelays = delaysOf('final');
  const provisionalDelays = delaysOf('provisional');
  const verdict = realtimeVerdict({
    strideS: settings.strideS,
    producedFraction: result.made / expected,
    latencies,
    backlogAtFeedEnd,
    feedLatenessP99Ms: done.latenessMs.p99,
  });
  // Rates over the steady part: once every station has made its first window, until the feed ended.
  const steadyFromMs = started.wallMs + ((windowS - run.prerollS + settings.strideS) * 1000) / settings.speed;
  const steady = result.backlog.filter(([at]) => at >= steadyFromMs && at <= feedEndMs);
  const rate = (column: 1 | 2) =>
    steady.length < 2
      ? Number.NaN
      : (steady.at(-1)![column] - steady[0][column]) / s(steady.at(-1)![0] - steady[0][0]);
  const steadyLatencies = windows
    .filter((w) => w.receivedAtMs >= steadyFromMs && w.receivedAtMs <= feedEndMs)
    .map((w) => s(w.doneAtMs - w.receivedAtMs));
  const steadyLoopBusy =
    steady.length < 2 ? Number.NaN : (steady.at(-1)![3] - steady[0][3]) / (steady.at(-1)![0] - steady[0][0]);
  const pipelineSeconds = s(feedEndMs - started.wallMs) + result.drainMs / 1000;
  return {
    stations,
    expectedPerS: stations / (settings.strideS / settings.speed),
    madePerS: rate(1),
    donePerS: rate(2),
    producedFraction: result.made / expected,
    windows: windows.length,
    latencyS: windows.length
      ? {
          ...stats(latencies.map(([, l]) => l)),
          max: latencies.reduce((most, [, l]) => Math.max(most, l), Number.NEGATIVE_INFINITY),
        }
      : { p50: Number.NaN, p99: Number.NaN, max: Number.NaN },
    batchingWaitS: windows.length
      ? stats(windows.map((w) => s(w.batchedAtMs - w.receivedAtMs)))
      : { p50: Number.NaN, p99: Number.NaN },
    queueWaitS: windows.length
      ? stats(windows.map((w) => s(w.inferenceStartMs - w.batchedAtMs)))
      : { p50: Number.NaN, p99: Number.NaN },
    inferenceS: windows.length
      ? stats(windows.map((w) => s(w.doneAtMs - w.inferenceStartMs)))
      : { p50: Number.NaN, p99: Number.NaN },
    meanBatch: windows.length
      ? windows.reduce((sum, w) => sum + w.batchSize, 0) / windows.length
      : Number.NaN,
    backlogMax: Math.max(0, ...result.backlog.map(([, made, doneCount]) => made - doneCount)),
    backlogAtFeedEnd,
    drainS: result.drainMs / 1000,
    picks: result.picks.filter((p) => p.status === 'final').length,
    ...(pickDelays.length ? { pickDelayS: { ...stats(pickDelays), min: Math.min(...pickDelays) } } : {}),
    ...(settings.liveEdge && {
      edge: {
        windowsPerS: result.edgeWindows / pipelineSeconds,
        skippedPerS: result.edgeSkipped / pipelineSeconds,
        provisional: provisionalDelays.length,
        ...(provisionalDelays.length && {
          delayS: { ...stats(provisionalDelays), p90: percentile(provisionalDelays, 90) },
        }),
      },
    }),
    feedLatenessMs: done.latenessMs,
    pipelineCores: result.cpuSeconds / pipelineSeconds,
    cpuMsPerWindow: (1000 * result.cpuSeconds) / Math.max(1, windows.length),
    loopBusy: result.loopBusy,
    inferenceShare: result.inferenceS / pipelineSeconds,
    steady: {
      fromS: s(steadyFromMs - started.wallMs),
      windows: steadyLatencies.length,
      latencyS: steadyLatencies.length ? stats(steadyLatencies) : { p50: Number.NaN, p99: Number.NaN },
      loopBusy: steadyLoopBusy,
    },
    feedCores: done.cpuSeconds / feedSeconds,
    pipelineRssMb: result.maxRssMb,
    liveMbPerStation: (result.liveMb.after - result.liveMb.before) / stations,
    verdict,
  };
}

function tables(runs: RunSummary[]): string {
  const seconds = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : '-');
  const main = textTable(
    [
      'stations',
      'windows/s due',
      'made/s',
      'done/s',
      'latency p50 s',
      'p99 s',
      'max s',
      'pick delay p50 s',
      'p99 s',
      'picks',
      'backlog max',
      'feed late p99 ms',
      'CPU cores',
      'CPU ms/window',
      'loop busy',
      'RSS MB',
      'live MB/station',
      'keeps up',
    ],
    runs.map((r) => [
      String(r.stations),
      figure(r.expectedPerS),
      figure(r.madePerS),
      figure(r.donePerS),
      seconds(r.latencyS.p50),
      seconds(r.latencyS.p99),
      seconds(r.latencyS.max),
      r.pickDelayS ? seconds(r.pickDelayS.p50) : '-',
      r.pickDelayS ? seconds(r.pickDelayS.p99) : '-',
      String(r.picks),
      String(r.backlogMax),
      figure(r.feedLatenessMs.p99),
      `${figure(r.pipelineCores)}+${figure(r.feedCores)}`,
      figure(r.cpuMsPerWindow),
      `${(100 * r.loopBusy).toFixed(0)} % (${(100 * r.inferenceShare).toFixed(0)} %)`,
      figure(r.pipelineRssMb),
      r.liveMbPerStation.toFixed(3),
      r.verdict.sustained ? 'yes' : 'NO',
    ]),
  );
  const parts = textTable(
    [
      'stations',
      'batching wait p50 ms',
      'p99 ms',
      'queue wait p50 ms',
      'p99 ms',
      'inference p50 ms',
      'p99 ms',
      'mean batch',
      'drain s',
      'why not',
    ],
    runs.map((r) => [
      String(r.stations),
      figure(1000 * r.batchingWaitS.p50),
      figure(1000 * r.batchingWaitS.p99),
      figure(1000 * r.queueWaitS.p50),
      figure(1000 * r.queueWaitS.p99),
      figure(1000 * r.inferenceS.p50),
      figure(1000 * r.inferenceS.p99),
      figure(r.meanBatch),
      seconds(r.drainS),
      r.verdict.reasons.join('; ') || '-',
    ]),
  );
  const lane = runs.some((r) => r.edge)
    ? `\n\nLive-edge lane (provisional picks; delay from the data time's place on the wall clock):\n\n${textTable(
        ['stations', 'edge windows/s', 'skipped/s', 'provisional picks', 'delay p50 s', 'p90 s', 'p99 s'],
        runs.map((r) => [
          String(r.stations),
          figure(r.edge?.windowsPerS ?? Number.NaN),
          figure(r.edge?.skippedPerS ?? Number.NaN),
          String(r.edge?.provisional ?? 0),
          seconds(r.edge?.delayS?.p50 ?? Number.NaN),
          seconds(r.edge?.delayS?.p90 ?? Number.NaN),
          seconds(r.edge?.delayS?.p99 ?? Number.NaN),
        ]),
      )}`
    : '';
  const steady = textTable(
    ['stations', 'from s', 'windows', 'latency p50 s', 'p99 s', 'loop busy'],
    runs.map((r) => [
      String(r.stations),
      figure(r.steady.fromS),
      String(r.steady.windows),
      seconds(r.steady.latencyS.p50),
      seconds(r.steady.latencyS.p99),
      Number.isFinite(r.steady.loopBusy) ? `${(100 * r.steady.loopBusy).toFixed(0)} %` : '-',
    ]),
  );
  return `${main}\n\nThe steady part (from once every station has made its first window until the feed ends):\n\n${steady}\n\nWhere a window's latency goes:\n\n${parts}${lane}`;
}

async function main(argv: string[]): Promise<void> {
  const settings = parseSettings(argv);
  if (settings === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (!existsSync(devRecordDir)) {
    throw new UsageError(`the dev record ${devRecordDir} is not there`, {
      hint: 'the realtime bench feeds copies of ../shared/data/continuous-dev',
    });
  }
  const benchStarted = performance.now();
  const loadBefore = loadavg()[0];
  const capacityBefore = await parallelCapacity();
  const work = await mkdtemp(join(tmpdir(), 'phasestream-realtime-bench-'));
  const runs: RunSummary[] = [];
  const notes: string[] = [];
  const series: {
    stations: number;
    backlog: PipelineResult['backlog'];
    memory: PipelineResult['memory'];
    latencies: [number, number][];
  }[] = [];
  try {
    const model = await writeBenchModel(join(work, 'model'));
    const card = JSON.parse(readFileSync(join(model.dir, 'card.json'), 'utf8')) as ModelCard;
    const windowS = card.windowLength / card.samplingRate;
    for (const stations of settings.stations) {
      const elapsedS = (performance.now() - benchStarted) / 1000;
      const needS = settings.seconds + 30;
      if (elapsedS + needS > settings.budgetS) {
        notes.push(
          `${stations} stations skipped: ~${needS} s more would pass the ${settings.budgetS} s budget`,
        );
        continue;
      }
      process.stderr.write(`bench: ${stations} stations, ${settings.seconds} s\n`);
      let run: Awaited<ReturnType<typeof runOnce>>;
      try {
        run = await runOnce(stations, settings, model.dir, windowS);
      } catch (error) {
        notes.push(`${stations} stations: the run failed: ${(error as Error).message}`);
        break;
      }
      const summary = summarise(stations, settings, windowS, run);
      runs.push(summary);
      series.push({
        stations,
        backlog: run.result.backlog.map(([at, made, done, loopActiveMs]) => [
          at - run.started.wallMs,
          made,
          done,
          loopActiveMs,
        ]),
        memory: run.result.memory.map(([at, ...rest]) => [at - run.started.wallMs, ...rest]),
        latencies: run.result.windows.map((w) => [
          w.receivedAtMs - run.started.wallMs,
          w.doneAtMs - w.receivedAtMs,
        ]),
      });
      process.stderr.write(
        `bench: ${stations} stations: latency p99 ${summary.latencyS.p99.toFixed(2)} s, ` +
          `${summary.verdict.sustained ? 'keeps up' : `falls behind (${summary.verdict.reasons.join('; ')})`}\n`,
      );
      if (!summary.verdict.sustained && !settings.all) break;
    }
    const loadAfter = loadavg()[0];
    const capacityAfter = await parallelCapacity();
    const kept = runs.filter((r) => r.verdict.sustained).map((r) => r.stations);
    const failed = runs.find((r) => !r.verdict.sustained);
    notes.unshift(
      kept.length === 0
        ? 'no station count kept up'
        : `largest station count that kept up: ${Math.max(...kept)}` +
            (failed ? `; ${failed.stations} did not` : ' (the largest tried: more may keep up)'),
      `model: ${model.weights === 'original' ? 'the original PhaseNet weights' : 'random weights (picks mean nothing)'}; ` +
        `onnxruntime, ${settings.threads} threads; stride ${settings.strideS} s, batches of ${settings.batchSize} ` +
        `(${settings.maxWaitMs} ms wait); feed at ${settings.speed}x real time for ${settings.seconds} s after a ` +
        `${windowS - settings.strideS} s preroll; SeedLink 4 over TCP on 127.0.0.1` +
        (settings.page ? "; the live page's view fed (no page watching)" : '') +
        (settings.stagger ? "; windows staggered (each station's at its own offset in the stride)" : ''),
      "latency: from the arrival of a window's last sample (receivedAtMs) to its probabilities being done; " +
        "pick delay: from the pick's data time, as the feed scheduled it on the wall clock, to the pick's emission",
      'CPU cores: pipeline process (its inference thread included) + feed process, CPU seconds over wall ' +
        "seconds; loop busy: the pipeline's event loop utilization, all of it outside inference (the engine " +
        'runs in a thread of its own, src/engine/worker-engine.ts), in brackets the share of wall time a batch ' +
        "was in the inference thread (queued or running); CPU ms/window: the pipeline process's CPU " +
        'seconds (inference included) per window through the network',
      `two threads of arithmetic at once ran at ${capacityBefore.toFixed(2)}x the rate of one before the runs ` +
        `and ${capacityAfter.toFixed(2)}x after (2.00: two free cores; bench/parallel-capacity.ts)`,
      ...runs.map(
        (r) =>
          `${r.stations} stations: at ${figure(r.cpuMsPerWindow)} ms of CPU per window and ` +
          `${figure((1000 * r.feedCores) / r.stations)} ms/s of feed per station, two free cores would carry ` +
          `about ${figure(Math.floor(2 / (r.cpuMsPerWindow / 1000 / settings.strideS + r.feedCores / r.stations)))} ` +
          `stations at a ${settings.strideS} s stride (an extrapolation from CPU time, not a run)`,
      ),
    );
    if (settings.speed !== 1) {
      notes.push(
        `speed ${settings.speed}: data come ${settings.speed}x faster than real time; rates are per wall ` +
          'second, and latencies and pick delays are wall seconds, not data seconds',
      );
    }
    const out = process.stdout;
    out.write(
      `Realtime: SeedLink -> pipeline, load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after\n\n`,
    );
    out.write(`${tables(runs)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
    if (settings.json) {
      const report = {
        date: new Date().toISOString(),
        loadAverage1m: { before: loadBefore, after: loadAfter },
        settings,
        model: model.weights,
        runs,
        series,
        notes,
      };
      await writeFile(settings.json, `${JSON.stringify(report, null, 2)}\n`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof PhaseStreamError)) throw error;
  process.stderr.write(`bench/realtime: ${error.message}\n`);
  if (error.hint) process.stderr.write(`${error.hint}\n`);
  process.exitCode = 1;
}
