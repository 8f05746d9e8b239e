/**
 * The picking side of the realtime bench, in a process of its own: a SeedLink client (seedLinkPackets)
 * -> decodeRecords -> stationWindows -> batchWindows -> pickPhases, as `phasestream run` wires it
 * (src/app/pipeline.ts), with taps between the stages to time each window: when its last sample came
 * (receivedAtMs), when its batch went out, when its probabilities were done. Started by
 * bench/realtime.ts with fork(); sends `subscribed`, then on `drain` waits for the windows made to be
 * through the network, stops the source and sends what it measured.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { finalize, lastValueFrom, Subject, takeUntil, tap } from 'rxjs';
import type { LaneTaps } from '../src/app/live-edge-pipeline.ts';
import type { Pick } from '../src/picker/pick.ts';
import type { StitchedSegment } from '../src/picker/stitch.ts';
import type { StationBlock, StationId, StationWindow } from '../src/stream/index.ts';
import { compiled } from './compiled.ts';

if (process.env.GC_FLAGS) for (const f of process.env.GC_FLAGS.split(' ')) setFlagsFromString(f);

// The compiled build, as `phasestream run` runs it (bench/compiled.ts).
const { growHeapForStreaming } =
  await compiled<typeof import('../src/app/heap-growth.ts')>('app/heap-growth');
// As src/cli/main.ts does for every command.
growHeapForStreaming();
const { liveEdgePipeline } =
  await compiled<typeof import('../src/app/live-edge-pipeline.ts')>('app/live-edge-pipeline');
const { batchSizeFor, pickerOptionsFor, RECORDS_POOLED, stationWindowsOptions, WINDOWS_POOLED } =
  await compiled<typeof import('../src/app/pipeline.ts')>('app/pipeline');
const { checkConfig } = await compiled<typeof import('../src/config/load.ts')>('config/load');
const { createWorkerEngine } =
  await compiled<typeof import('../src/engine/worker-engine.ts')>('engine/worker-engine');
const { seedLinkPackets } =
  await compiled<typeof import('../src/ingest/seedlink/client.ts')>('ingest/seedlink/client');
const { loadModelDir } = await compiled<typeof import('../src/model/store.ts')>('model/store');
const { LiveView } = await compiled<typeof import('../src/web/live-view.ts')>('web/live-view');
const { pickPhases } = await compiled<typeof import('../src/picker/pick-phases.ts')>('picker/pick-phases');
const { float32Pool, float64Pool } =
  await compiled<typeof import('../src/util/array-pool.ts')>('util/array-pool');
const { batchWindows, decodeRecords, stationWindows } =
  await compiled<typeof import('../src/stream/index.ts')>('stream/index');

export interface PipelineRequest {
  url: string;
  modelDir: string;
  threads: number;
  strideS: number;
  batchSize: number;
  maxWaitMs: number;
  /** How long to wait at most, after the feed ended, for the windows made to get through. */
  drainTimeoutMs: number;
  /** Run the live-edge lane beside the regular windows (bench/live-edge-realtime.ts measures its picks). */
  liveEdge?: boolean;
  /**
   * Feed the live page's view (src/web/live-view.ts) from the pipeline's hooks and take the stations'
   * snapshot once a second, as `phasestream run` does with page.enabled; nothing watches it.
   */
  page?: boolean;
  /** picker.staggerWindows: each station's windows at its own offset within the stride. */
  staggerWindows?: boolean;
}

/** Wall-clock ms (Date.now) of one window's way through the pipeline. */
export interface WindowTiming {
  station: string;
  startIndex: number;
  receivedAtMs: number;
  batchedAtMs: number;
  inferenceStartMs: number;
  doneAtMs: number;
  batchSize: number;
}

export interface PipelineResult {
  type: 'result';
  windows: WindowTiming[];
  /** Windows made by stationWindows before the source stopped. */
  made: number;
  picks: { timeUs: number; emittedAtMs: number; station: string; phase: string; status: Pick['status'] }[];
  /** The live-edge lane's windows through the network, and its summed engine.run seconds. */
  edgeWindows: number;
  /** Edge windows the lane skipped, its batches in the engine being at their limit. */
  edgeSkipped: number;
  edgeInferenceS: number;
  /**
   * [Date.now(), windows made, windows done, event loop active ms so far] once a second (the last
   * column gives the loop's busy share over any stretch, e.g. the steady part without the start's backlog).
   */
  backlog: [number, number, number, number][];
  /** [Date.now(), RSS MB, V8 heap used MB, array buffers MB] once a second. */
  memory: [number, number, number, number][];
  /** Wall ms from the drain request until every window made was done (or the timeout). */
  drainMs: number;
  records: number;
  /** Share of wall time the event loop was busy (decoding, operators, picker; inference runs in its own thread). */
  loopBusy: number;
  /** Summed engine.run wall time, seconds. */
  inferenceS: number;
  cpuSeconds: number;
  maxRssMb: number;
  /**
   * Live memory (V8 heap used + array buffers, MB) after a forced garbage collection: once subscribed
   * before any data, and at the end of the feed with every station's state in place (the process runs
   * with --expose-gc).
   */
  liveMb: { before: number; after: number };
  engine: string;
}

const MB = 1024 * 1024;

async function run(request: PipelineRequest): Promise<void> {
  const send = (message: unknown) => process.send!(message);
  // The engine in a thread of its own, as `phasestream run` has it: the loop's time is all outside inference.
  const engine = await createWorkerEngine(await loadModelDir(request.modelDir), {
    engine: 'onnxruntime',
    backend: 'auto',
    threads: request.threads,
  });
  const { card } = engine;
  const config = checkConfig({
    picker: { strideS: request.strideS, staggerWindows: request.staggerWindows ?? false },
    batching: { size: request.batchSize, maxWaitMs: request.maxWaitMs },
  });
  const stop = new Subject<void>();
  let stopped = false;
  let records = 0;
  let made = 0;
  let inferenceS = 0;
  const windows: WindowTiming[] = [];
  // Batches enter pickPhases in order and the engine's thread runs them one at a time, in order: onBatch
  // belongs to the oldest batch not yet done. Its inferenceMs counts from posting the batch to the
  // thread, so a batch's wait behind the one before is in it.
  const inFlight: { windows: StationWindow[]; batchedAtMs: number; remaining: number }[] = [];
  const picks: PipelineResult['picks'] = [];
  const backlog: PipelineResult['backlog'] = [];

  let edgeWindows = 0;
  let edgeInferenceS = 0;
  const page = request.page
    ? new LiveView({ clock: 'wall', historyS: 120, classes: card.classes, publish: () => undefined })
    : undefined;
  const pageTimer = page && setInterval(() => page.stations(), 1000);
  const pageHooks = page
    ? {
        onBlock: (block: StationBlock) => page.block(block),
        onProbabilities: (station: StationId, rate: number, segment: StitchedSegment) =>
          page.stitched(station, rate, segment),
      }
    : {};
  const packets = seedLinkPackets({ url: request.url, stations: [{ network: 'XX', station: 'R*' }] });
  // The operators and options of pickPipeline (src/app/pipeline.ts), with taps in between.
  const regular = (lane?: LaneTaps) => {
    const windowData = float32Pool(WINDOWS_POOLED);
    const recordData = float64Pool(RECORDS_POOLED);
    return packets.pipe(
      decodeRecords({ source: request.url, sampleData: recordData }),
      tap(() => records++),
      takeUntil(stop),
      stationWindows({
        ...stationWindowsOptions(card, config),
        onBlock: lane?.onBlock ?? pageHooks.onBlock,
        windowData,
        recordData,
      }),
      tap(() => {
        if (!stopped) made++;
      }),
      batchWindows({ size: batchSizeFor(engine, config), maxWaitMs: config.batching.maxWaitMs }),
      tap((batch) => inFlight.push({ windows: batch, batchedAtMs: Date.now(), remaining: batch.length })),
      pickPhases(engine, {
        pickerOptions: (key) => pickerOptionsFor(card, config, key),
        onProbabilities: lane?.onProbabilities ?? pageHooks.onProbabilities,
        windowData,
        onBatch: ({ windows: count, inferenceMs }) => {
          const doneAtMs = Date.now();
          if (!stopped) inferenceS += inferenceMs / 1000;
          const batch = inFlight[0];
          for (const window of batch.windows.slice(batch.windows.length - batch.remaining).slice(0, count)) {
            if (stopped) continue;
            windows.push({
              station: window.station.station,
              startIndex: window.startIndex,
              receivedAtMs: window.receivedAtMs,
              batchedAtMs: batch.batchedAtMs,
              inferenceStartMs: doneAtMs - inferenceMs,
              doneAtMs,
              batchSize: batch.windows.length,
            });
          }
          batch.remaining -= count;
          if (batch.remaining <= 0) inFlight.shift();
        },
      }),
      finalize(() => lane?.end()),
    );
  };
  let edgeSkipped = 0;
  const onEdgeSkipped = (count: number) => {
    if (!stopped) edgeSkipped += count;
  };
  const onEdgeBatch = ({ windows: count, inferenceMs }: { windows: number; inferenceMs: number }) => {
    if (stopped) return;
    edgeWindows += count;
    edgeInferenceS += inferenceMs / 1000;
  };
  const picks$ = (
    request.liveEdge
      ? liveEdgePipeline(engine, config, { onEdgeBatch, onEdgeSkipped, ...pageHooks }, regular)
      : regular()
  ).pipe(
    tap((pick) => {
      if (!stopped) {
        picks.push({
          timeUs: pick.timeUs,
          emittedAtMs: Date.now(),
          station: pick.station,
          phase: pick.phase,
          status: pick.status,
        });
      }
    }),
  );
  const memory: PipelineResult['memory'] = [];
  const loopBefore = performance.eventLoopUtilization();
  const sampler = setInterval(() => {
    const now = Date.now();
    backlog.push([now, made, windows.length, performance.eventLoopUtilization(loopBefore).active]);
    const usage = process.memoryUsage();
    memory.push([now, usage.rss / MB, usage.heapUsed / MB, usage.arrayBuffers / MB]);
  }, 1000);
  const liveMb = () => {
    (globalThis as { gc?: () => void }).gc?.();
    const usage = process.memoryUsage();
    return (usage.heapUsed + usage.arrayBuffers) / MB;
  };
  const liveBefore = liveMb();
  const cpuBefore = process.cpuUsage();
  const finished = lastValueFrom(picks$, { defaultValue: undefined });
  send({ type: 'subscribed' });

  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const drainStarted = performance.now();
  while (windows.length < made && performance.now() - drainStarted < request.drainTimeoutMs) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const drainMs = performance.now() - drainStarted;
  const liveAfter = liveMb();
  const cpu = process.cpuUsage(cpuBefore);
  const loopBusy = performance.eventLoopUtilization(loopBefore).utilization;
  // What the stop flushes (every station's open segment) is not realtime work: it is not counted.
  stopped = true;
  clearInterval(sampler);
  clearInterval(pageTimer);
  stop.next();
  await finished;
  await engine.dispose();
  const result: PipelineResult = {
    type: 'result',
    windows,
    made,
    picks,
    backlog,
    memory,
    drainMs,
    records,
    loopBusy,
    inferenceS: inferenceS + edgeInferenceS,
    edgeWindows,
    edgeSkipped,
    edgeInferenceS,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    liveMb: { before: liveBefore, after: liveAfter },
    engine: engine.name,
  };
  process.send!(result, undefined, undefined, () => process.exit(0));
}

if (process.send) {
  process.once('disconnect', () => process.exit(0));
  await run(JSON.parse(process.argv[2]) as PipelineRequest);
}
