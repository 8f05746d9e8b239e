/**
 * Inference bench: windows per second of each engine at several batch sizes, the FLOPs that amounts
 * to, the fraction of the machine's measured peak for the same backend, and the ratio to PyTorch in
 * the same run. See bench/README.md.
 *
 *   node --import tsx bench/inference.ts [--engines onnxruntime,tfjs-wasm,tfjs-cpu,pytorch]
 *     [--batches 1,8,32,128] [--threads 2] [--seconds 5] [--json out.json]
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PhaseStreamError, UsageError } from '../src/errors.ts';
import {
  multiplyAdds,
  ORIGINAL_ARCHITECTURE,
  trainableParameterCount,
} from '../src/model/phasenet/architecture.ts';
import { benchRows, type EngineMeasurement, formatTable, measurementPlan } from './measure.ts';
import { BENCH_USAGE, type BenchEngine, type BenchSettings, parseBenchArgs } from './settings.ts';
import { EngineWorker, WorkerFailure, type WorkerReady } from './workers.ts';

/** Starts the worker of one engine: PyTorch in Python, the others in Node. */
function startWorker(engine: BenchEngine, settings: BenchSettings): Promise<EngineWorker> {
  if (engine === 'pytorch') {
    const script = fileURLToPath(new URL('./pytorch_phasenet.py', import.meta.url));
    return EngineWorker.start(settings.python, [script, '--threads', String(settings.threads)], process.env);
  }
  const worker = fileURLToPath(new URL('./engine-worker.ts', import.meta.url));
  const request = JSON.stringify({ engine, threads: settings.threads });
  return EngineWorker.start(process.execPath, ['--import', 'tsx', worker, request], {
    ...process.env,
    PHASESTREAM_LOG_LEVEL: process.env.PHASESTREAM_LOG_LEVEL ?? 'warn',
  });
}

/** The checks PyTorch's worker reports, as a note when its network is not the original's. */
function pytorchMismatch(ready: WorkerReady): string | undefined {
  const expected = trainableParameterCount(ORIGINAL_ARCHITECTURE);
  const { trainableParameters, outputShape, outputSumsToOne } = ready;
  if (trainableParameters === expected && outputSumsToOne && outputShape?.join(',') === '1,3,3000,1') return;
  return (
    `pytorch network differs from the original: ${trainableParameters} trainable parameters ` +
    `(expected ${expected}), output [${outputShape}], probabilities sum to one: ${outputSumsToOne}`
  );
}

/**
 * Measures every started engine, the engines taking turns (measurementPlan): windows per second at
 * each batch size, then the peak matrix product. A worker that fails is dropped with a note.
 */
async function measureAll(
  workers: Map<BenchEngine, EngineWorker>,
  settings: BenchSettings,
  notes: string[],
): Promise<EngineMeasurement[]> {
  const windows = new Map<string, Map<number, number[]>>();
  const peaks = new Map<string, number[]>();
  const failed = async (engine: BenchEngine, error: unknown) => {
    if (!(error instanceof WorkerFailure)) throw error;
    notes.push(`${engine} dropped: ${error.message}`);
    await workers.get(engine)?.close();
    workers.delete(engine);
  };
  const batches = Object.fromEntries([...workers.keys()].map((e) => [e, settings.batches[e]]));
  const repeatSeconds = settings.seconds / settings.repeats;
  for (const { batch, rounds } of measurementPlan(batches, settings.repeats)) {
    process.stderr.write(`bench: batch ${batch}: ${rounds[0].join(', ')}\n`);
    for (const [round, engines] of rounds.entries()) {
      for (const engine of engines as BenchEngine[]) {
        const worker = workers.get(engine);
        if (!worker) continue;
        try {
          // Warm-up before an engine's first turn at this batch size: a tenth of its budget, two calls at least.
          if (round === 0)
            await worker.measure({ op: 'windows', batch, seconds: settings.seconds / 10, minCalls: 2 });
          const rate = await worker.measure({ op: 'windows', batch, seconds: repeatSeconds });
          const byBatch = windows.get(engine) ?? new Map<number, number[]>();
          byBatch.set(batch, [...(byBatch.get(batch) ?? []), rate]);
          windows.set(engine, byBatch);
        } catch (error) {
          await failed(engine, error);
        }
      }
    }
  }
  process.stderr.write('bench: peak matrix products\n');
  const peakPlan = measurementPlan(
    Object.fromEntries([...workers.keys()].map((e) => [e, [0]])),
    settings.repeats,
  );
  for (const [round, engines] of peakPlan[0]?.rounds.entries() ?? []) {
    for (const engine of engines as BenchEngine[]) {
      const worker = workers.get(engine);
      if (!worker) continue;
      const size = settings.peakSize[engine];
      try {
        if (round === 0)
          await worker.measure({ op: 'matmul', size, seconds: settings.peakSeconds / 10, minCalls: 2 });
        const flops = await worker.measure({
          op: 'matmul',
          size,
          seconds: settings.peakSeconds / settings.repeats,
        });
        peaks.set(engine, [...(peaks.get(engine) ?? []), flops / 1e9]);
      } catch (error) {
        await failed(engine, error);
      }
    }
  }
  return [...workers.entries()].map(([engine, worker]) => ({
    engine,
    detail: worker.ready.detail,
    threads: worker.ready.threads,
    runs: [...(windows.get(engine) ?? new Map<number, number[]>()).entries()].map(([batch, windowsPerS]) => ({
      batch,
      windowsPerS,
    })),
    peak: {
      matrixSize: settings.peakSize[engine],
      gflops: peaks.get(engine) ?? [],
      via: worker.ready.peakVia,
    },
  }));
}

async function main(argv: string[]): Promise<void> {
  const settings = parseBenchArgs(argv);
  if (settings === 'help') {
    process.stdout.write(BENCH_USAGE);
    return;
  }
  const flopsPerWindow = 2 * multiplyAdds(ORIGINAL_ARCHITECTURE, 3000);
  const loadBefore = loadavg();
  const notes: string[] = [];
  const workers = new Map<BenchEngine, EngineWorker>();
  for (const engine of settings.engines) {
    process.stderr.write(`bench: starting ${engine}\n`);
    try {
      workers.set(engine, await startWorker(engine, settings));
    } catch (error) {
      if (!(error instanceof WorkerFailure)) throw error;
      notes.push(`${engine} skipped: ${error.message}`);
    }
  }
  let measurements: EngineMeasurement[];
  try {
    measurements = await measureAll(workers, settings, notes);
  } finally {
    await Promise.all([...workers.values()].map((w) => w.close()));
  }
  for (const m of measurements) {
    const asked = m.threads === settings.threads ? '' : ` (asked for ${settings.threads})`;
    notes.push(
      `${m.engine}: ${m.detail}, ${m.threads} thread${m.threads === 1 ? '' : 's'}${asked}; ` +
        `peak: ${m.peak.matrixSize}x${m.peak.matrixSize} float32 matrix product by ${m.peak.via}.`,
    );
  }
  const pytorch = workers.get('pytorch');
  const mismatch = pytorch && pytorchMismatch(pytorch.ready);
  if (mismatch) notes.push(mismatch);
  const loadAfter = loadavg();
  const rows = benchRows(measurements, flopsPerWindow);
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    loadAverage1m: { before: loadBefore[0], after: loadAfter[0] },
  };
  const out = process.stdout;
  const load = machine.loadAverage1m;
  out.write(
    `PhaseNet inference: ${(flopsPerWindow / 1e6).toFixed(1)} MFLOP per 3000-sample window, ` +
      `${settings.threads} threads, median of ${settings.repeats} repetitions over ${settings.seconds} s\n` +
      `${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ` +
      `load average ${load.before.toFixed(1)} before and ${load.after.toFixed(1)} after\n\n`,
  );
  out.write(`${formatTable(rows)}\n`);
  out.write(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
  if (settings.json) {
    const report = {
      date: new Date().toISOString(),
      machine,
      settings,
      flopsPerWindow,
      rows,
      measurements,
      notes,
    };
    await writeFile(settings.json, `${JSON.stringify(report, null, 2)}\n`).catch((error: unknown) => {
      throw new UsageError(`cannot write ${settings.json}: ${(error as Error).message}`, { cause: error });
    });
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof PhaseStreamError)) throw error;
  process.stderr.write(`bench/inference: ${error.message}\n`);
  if (error.hint) process.stderr.write(`${error.hint}\n`);
  process.exitCode = error.exitCode;
}
