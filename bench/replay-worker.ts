/**
 * One measured replay in a process of its own (so that its peak memory is its own), started by
 * bench/replay.ts with fork(): `decode` reads the archive with archiveRecords and nothing else (the
 * reader's cost), `pipeline` runs the same records through pickPipeline (src/app/pipeline.ts) in
 * process. Samples memory as it goes and sends one ReplayWorkerResult back over IPC.
 */
import { lastValueFrom, tap } from 'rxjs';
import { pickPipeline } from '../src/app/pipeline.ts';
import { checkConfig } from '../src/config/load.ts';
import { createEngine } from '../src/engine/index.ts';
import type { TfjsBackendName } from '../src/engine/tfjs/tfjs-engine.ts';
import { archiveRecords, sdsFiles } from '../src/ingest/archive.ts';
import { endTimeUs, type MseedRecord } from '../src/ingest/mseed/index.ts';
import { loadModelDir } from '../src/model/store.ts';

export interface ReplayWorkerRequest {
  mode: 'decode' | 'pipeline';
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
  /** Summed wall time of engine.run: how much of the replay was the network. */
  inferenceS?: number;
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
    request.mode === 'pipeline'
      ? await createEngine(await loadModelDir(request.modelDir!), {
          engine: request.engine ?? 'onnxruntime',
          backend: request.backend ?? 'auto',
          threads: request.threads,
        })
      : undefined;
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
    const source = archiveRecords(files, { startUs: request.startUs, endUs: request.endUs }).pipe(tap(count));
    if (engine) {
      const picks$ = pickPipeline(source, engine, config, {
        onBatch: (info) => {
          batches++;
          windows += info.windows;
          inferenceMs += info.inferenceMs;
        },
      }).pipe(tap(() => picks++));
      await lastValueFrom(picks$, { defaultValue: undefined });
    } else {
      await lastValueFrom(source, { defaultValue: undefined });
    }
  } finally {
    clearInterval(sampler);
    await engine?.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  sample();
  return {
    mode: request.mode,
    seconds,
    records,
    samples,
    ...(engine ? { picks, windows, batches, inferenceS: inferenceMs / 1000 } : {}),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    peakHeapUsedMb: Math.max(...memory.map((m) => m.heapUsedMb)),
    peakArrayBuffersMb: Math.max(...memory.map((m) => m.arrayBuffersMb)),
    ...(engine ? { peakQueuedWindows: Math.max(...memory.map((m) => m.queuedWindows ?? 0)) } : {}),
    memory: thin(memory, 40),
  };
}

if (process.send) {
  const request = JSON.parse(process.argv[2]) as ReplayWorkerRequest;
  const reply = await run(request).catch((error: unknown) => ({
    error: String((error as Error)?.message ?? error),
  }));
  process.send(reply, undefined, undefined, () => process.exit(0));
}
