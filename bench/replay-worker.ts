/**
 * One measured replay in a process of its own (so that its peak memory is its own), started by
 * bench/replay.ts with fork(): `decode` reads the archive with archiveRecords and nothing else (the
 * reader's cost), `pipeline` runs the same records through pickPipeline (src/app/pipeline.ts) in
 * process, with the engine in its thread and the reader held by the picker's backlog, as `phasestream
 * replay` does. `inference` is the yardstick of the pipeline: it makes the same windows and batches
 * (stationWindows, batchWindows) into a scratch file, then times the same engine on those batches
 * alone, one after the other with nothing else running. Samples memory as it goes and sends one
 * ReplayWorkerResult back over IPC.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, tap } from 'rxjs';
import { growHeapForStreaming } from '../src/app/heap-growth.ts';
import { batchSizeFor, pickPipeline, stationWindowsOptions } from '../src/app/pipeline.ts';
import { WindowGate } from '../src/app/window-gate.ts';
import { checkConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import type { InferenceEngine } from '../src/engine/engine.ts';
import type { TfjsBackendName } from '../src/engine/tfjs/tfjs-engine.ts';
import { createWorkerEngine, engineOverPort, type WorkerEngine } from '../src/engine/worker-engine.ts';
import { archiveRecords, sdsFiles } from '../src/ingest/archive.ts';
import { endTimeUs, type MseedRecord } from '../src/ingest/mseed/index.ts';
import { loadModelDir } from '../src/model/store.ts';
import { batchWindows, stationWindows } from '../src/stream/index.ts';

export interface ReplayWorkerRequest {
  mode: 'decode' | 'pipeline' | 'inference';
  sds: string;
  stations: string[];
  startUs: number;
  endUs: number;
  /** pipeline only */
  modelDir?: string;
  threads?: number;
  engine?: 'onnxruntime' | 'tfjs';
  backend?: TfjsBackendName | 'auto';
  strideS?: number;
  /** inference only: sessions the batches are dealt over, as `phasestream replay` has one per shard. */
  sessions?: number;
}

export interface MemorySample {
  /** Seconds since the replay started. */
  atS: number;
  rssMb: number;
  heapUsedMb: number;
  /** Typed arrays' buffers (windows and samples live there). */
  arrayBuffersMb: number;
  /** Data seconds read per station, on average. */
  readS: number;
  /** pipeline: windows the data read so far makes, less those through the network (a queue estimate). */
  queuedWindows?: number;
}

export interface ReplayWorkerResult {
  mode: ReplayWorkerRequest['mode'];
  /** Wall seconds from subscribing to completion (engine start-up excluded). */
  seconds: number;
  records: number;
  samples: number;
  picks?: number;
  windows?: number;
  batches?: number;
  /**
   * Summed wall time of engine.run: how much of the replay was the network. inference with several
   * sessions: the longest of the sessions' sums (they run side by side).
   */
  inferenceS?: number;
  /** inference only: seconds to make the windows and batches (decode and stream operators, no network). */
  windowingS?: number;
  /** process.resourceUsage().maxRSS: the process's peak resident memory. */
  maxRssMb: number;
  peakHeapUsedMb: number;
  peakArrayBuffersMb: number;
  peakQueuedWindows?: number;
  /** At most ~40 samples, evenly thinned. */
  memory: MemorySample[];
}

const MB = 1024 * 1024;

function thin<T>(items: T[], most: number): T[] {
  if (items.length <= most) return items;
  const step = items.length / most;
  return Array.from({ length: most }, (_, i) => items[Math.floor(i * step)]).concat(items.at(-1)!);
}

async function run(request: ReplayWorkerRequest): Promise<ReplayWorkerResult> {
  const files = sdsFiles(request.sds, request.startUs, request.endUs, request.stations);
  const engine =
    request.mode === 'decode'
      ? undefined
      : await createWorkerEngine(
          await loadModelDir(request.modelDir!),
          {
            engine: request.engine ?? 'onnxruntime',
            backend: request.backend ?? 'auto',
            threads: request.threads,
          },
          { sessions: request.mode === 'inference' ? (request.sessions ?? 1) : 1 },
        );
  const config = checkConfig({ picker: { strideS: request.strideS ?? 15 } });
  const windowS = engine ? engine.card.windowLength / engine.card.samplingRate : 30;
  const readEndUs = new Map<string, number>();
  let records = 0;
  let samples = 0;
  let windows = 0;
  let batches = 0;
  let inferenceMs = 0;
  let picks = 0;
  const memory: MemorySample[] = [];
  const started = performance.now();

  const sample = () => {
    const usage = process.memoryUsage();
    let readS = 0;
    let madeWindows = 0;
    for (const end of readEndUs.values()) {
      const s = (end - request.startUs) / 1e6;
      readS += s / readEndUs.size;
      if (s >= windowS) madeWindows += Math.floor((s - windowS) / config.picker.strideS) + 1;
    }
    memory.push({
      atS: (performance.now() - started) / 1000,
      rssMb: usage.rss / MB,
      heapUsedMb: usage.heapUsed / MB,
      arrayBuffersMb: usage.arrayBuffers / MB,
      readS,
      ...(engine ? { queuedWindows: Math.max(0, madeWindows - windows) } : {}),
    });
  };
  const sampler = setInterval(sample, 250);
  const count = (record: MseedRecord) => {
    records++;
    samples += record.sampleCount;
    const key = `${record.streamId.network}.${record.streamId.station}`;
    readEndUs.set(key, Math.max(readEndUs.get(key) ?? 0, endTimeUs(record)));
  };
  try {
    const gate = new WindowGate(4 * (config.batching.size ?? 32));
    const source = archiveRecords(files, {
      startUs: request.startUs,
      endUs: request.endUs,
      ...(request.mode === 'pipeline' ? { ready: () => gate.ready() } : {}),
    }).pipe(tap(count));
    if (engine && request.mode === 'inference') {
      const alone = await inferenceAlone(source, engine, config);
      return { ...alone, ...summary(request, records, samples, memory, started, sample) };
    }
    if (engine) {
      const picks$ = pickPipeline(source, engine, config, {
        onBatch: (info) => {
          batches++;
          windows += info.windows;
          inferenceMs += info.inferenceMs;
        },
        onPending: gate.setPending,
      }).pipe(tap(() => picks++));
      await lastValueFrom(picks$, { defaultValue: undefined });
    } else {
      await lastValueFrom(source, { defaultValue: undefined });
    }
  } finally {
    clearInterval(sampler);
    await engine?.dispose();
  }
  return {
    ...summary(request, records, samples, memory, started, sample),
    ...(engine ? { picks, windows, batches, inferenceS: inferenceMs / 1000 } : {}),
    ...(engine ? { peakQueuedWindows: Math.max(...memory.map((m) => m.queuedWindows ?? 0)) } : {}),
  };
}

function summary(
  request: ReplayWorkerRequest,
  records: number,
  samples: number,
  memory: MemorySample[],
  started: number,
  sample: () => void,
): ReplayWorkerResult {
  const seconds = (performance.now() - started) / 1000;
  sample();
  return {
    mode: request.mode,
    seconds,
    records,
    samples,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    peakHeapUsedMb: Math.max(...memory.map((m) => m.heapUsedMb)),
    peakArrayBuffersMb: Math.max(...memory.map((m) => m.arrayBuffersMb)),
    memory: thin(memory, 40),
  };
}

/**
 * The pipeline's windows and batches, made first and kept in a scratch file, then through the engine
 * one batch after the other: the summed engine.run time is what the network alone needs for them.
 * With several sessions (ports of `engine`, as a sharded replay's), each takes the next batch when
 * its last is done, and the longest of their sums counts.
 */
async function inferenceAlone(
  source: Parameters<ReturnType<typeof stationWindows>>[0],
  engine: WorkerEngine,
  config: Config,
): Promise<Pick<ReplayWorkerResult, 'windows' | 'batches' | 'inferenceS' | 'windowingS'>> {
  const scratch = join(tmpdir(), `phasestream-bench-batches-${process.pid}.f32`);
  const fd = openSync(scratch, 'w+');
  const shapes: { batch: number; length: number; bytes: number }[] = [];
  try {
    const windowingStarted = performance.now();
    const batches$ = source.pipe(
      stationWindows(stationWindowsOptions(engine.card, config)),
      batchWindows({ size: batchSizeFor(engine, config), maxWaitMs: config.batching.maxWaitMs }),
      tap((batch) => {
        // One batch per window length, as pickPhases makes them.
        for (const length of new Set(batch.map((w) => w.length))) {
          const same = batch.filter((w) => w.length === length);
          const input = new Float32Array(same.length * length * same[0].components.length);
          for (const [i, w] of same.entries()) input.set(w.data, i * w.data.length);
          writeSync(fd, input);
          shapes.push({ batch: same.length, length, bytes: input.byteLength });
        }
      }),
    );
    await lastValueFrom(batches$, { defaultValue: undefined });
    const windowingS = (performance.now() - windowingStarted) / 1000;
    const positions = shapes.map((_, i) => shapes.slice(0, i).reduce((sum, s) => sum + s.bytes, 0));
    const sessions: InferenceEngine[] =
      engine.sessions === 1
        ? [engine]
        : Array.from({ length: engine.sessions }, () =>
            engineOverPort(engine.connect(), engine.name, engine.card, engine.device),
          );
    let next = 0;
    const session = async (client: InferenceEngine) => {
      let ms = 0;
      for (let i = next++; i < shapes.length; i = next++) {
        const shape = shapes[i];
        const input = new Float32Array(shape.bytes / 4);
        readSync(fd, input, 0, shape.bytes, positions[i]);
        const started = performance.now();
        await client.run(input, shape.batch, shape.length);
        ms += performance.now() - started;
      }
      return ms;
    };
    const inferenceMs = Math.max(...(await Promise.all(sessions.map(session))));
    if (engine.sessions > 1) for (const client of sessions) await client.dispose();
    return {
      windows: shapes.reduce((sum, s) => sum + s.batch, 0),
      batches: shapes.length,
      inferenceS: inferenceMs / 1000,
      windowingS,
    };
  } finally {
    closeSync(fd);
    rmSync(scratch, { force: true });
  }
}

if (process.send) {
  // As src/cli/main.ts does for every command: the engine's and the pipeline's heaps sized as the CLI's.
  growHeapForStreaming();
  const request = JSON.parse(process.argv[2]) as ReplayWorkerRequest;
  const reply = await run(request).catch((error: unknown) => ({
    error: String((error as Error)?.message ?? error),
  }));
  process.send(reply, undefined, undefined, () => process.exit(0));
}
