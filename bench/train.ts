/**
 * Training bench: windows per second of PhaseNet training steps (forward, cross-entropy, backward,
 * Adam; batch of 3000-sample windows) on each tfjs backend, against two yardsticks measured in the
 * same run: the baseline (tfjs-wasm with tfjs's own gradient kernels, as before PhaseStream's) and
 * PyTorch training the same network on the same threads. Also the data pipeline alone (cutting,
 * augmenting, normalizing, labelling), to show that it is not what limits training.
 *
 *   node --import tsx bench/train.ts [--engines tfjs-wasm,tfjs-wasm-tfjs-kernels,tfjs-cpu,pytorch]
 *     [--batch 16] [--threads 2] [--seconds 20] [--repeats 4] [--json out.json]
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_AUGMENT_OPTIONS } from '../src/train/augment.ts';
import { type DatasetEntry, trainingBatches } from '../src/train/dataset.ts';
import { DEFAULT_LABEL_OPTIONS } from '../src/train/labels.ts';
import { normals, seededUniform } from '../src/util/random.ts';
import { EngineWorker, WorkerFailure } from './workers.ts';

const { values: args } = parseArgs({
  options: {
    engines: {
      type: 'string',
      default: 'tfjs-wasm,tfjs-wasm-workers,tfjs-wasm-tfjs-kernels,tfjs-cpu,tfjs-tensorflow,pytorch',
    },
    batch: { type: 'string', default: '16' },
    threads: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '20' },
    repeats: { type: 'string', default: '4' },
    python: { type: 'string', default: '/usr/bin/python3' },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'Usage: node --import tsx bench/train.ts [--engines LIST] [--batch 16] [--threads 2] [--seconds 20] [--repeats 4] [--python PATH] [--json FILE]\n',
  );
  process.exit(0);
}
const engines = args.engines.split(',');
const batch = Number(args.batch);
const threads = Number(args.threads);
const seconds = Number(args.seconds);
const repeats = Number(args.repeats);
const BASELINE = 'tfjs-wasm-tfjs-kernels';

function startWorker(engine: string): Promise<EngineWorker> {
  if (engine === 'pytorch') {
    const script = fileURLToPath(new URL('./pytorch_phasenet.py', import.meta.url));
    return EngineWorker.start(args.python, [script, '--threads', String(threads)], process.env);
  }
  const worker = fileURLToPath(new URL('./train-worker.ts', import.meta.url));
  return EngineWorker.start(
    process.execPath,
    ['--import', 'tsx', worker, JSON.stringify({ engine, threads })],
    {
      ...process.env,
      PHASESTREAM_LOG_LEVEL: process.env.PHASESTREAM_LOG_LEVEL ?? 'warn',
    },
  );
}

/** Windows per second of the data pipeline alone: augmented, normalized, labelled batches. */
async function pipelineRate(): Promise<number> {
  const records: DatasetEntry[] = Array.from({ length: 64 }, (_, i) => {
    const data = normals(9001 * 3, seededUniform(i + 1));
    return {
      id: String(i),
      station: 'XX.BENCH',
      load: async () => ({
        id: String(i),
        station: 'XX.BENCH',
        samplingRate: 100,
        data,
        channels: 3,
        arrivals: { P: [3000], S: [4000] },
      }),
    };
  });
  const augment = {
    ...DEFAULT_AUGMENT_OPTIONS,
    noise: { probability: 1, snrDb: [0, 20] as [number, number] },
  };
  const started = performance.now();
  let windows = 0;
  for (let epoch = 0; performance.now() - started < 3000; epoch++) {
    for await (const b of trainingBatches(records, {
      windowLength: 3000,
      label: DEFAULT_LABEL_OPTIONS,
      augment,
      batchSize: batch,
      seed: 1,
      epoch,
    })) {
      windows += b.count;
    }
  }
  return windows / ((performance.now() - started) / 1000);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const workers = new Map<string, EngineWorker>();
const notes: string[] = [];
for (const engine of engines) {
  try {
    const worker = await startWorker(engine);
    workers.set(engine, worker);
    // PyTorch's worker describes its inference set-up; its `train` command switches to train mode and autograd.
    const detail =
      engine === 'pytorch'
        ? `${worker.ready.detail}; for training: train mode, autograd, Adam`
        : worker.ready.detail;
    notes.push(`${engine}: ${detail}, ${worker.ready.threads} thread(s)`);
  } catch (error) {
    notes.push(`${engine}: skipped (${error instanceof WorkerFailure ? error.message : String(error)})`);
  }
}
const rates = new Map<string, number[]>([...workers.keys()].map((e) => [e, []]));
const names = [...workers.keys()];
// Warm-up: two steps each (graph set-up, wasm kernels' first calls, PyTorch's allocator).
for (const name of names)
  await workers
    .get(name)!
    .measure({ op: 'train', batch, seconds: 0, minCalls: 2 })
    .catch(() => 0);
for (let r = 0; r < repeats; r++) {
  // Engines take turns, the first moving one place each round, so that load from other processes
  // falls on all of them alike.
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length];
    try {
      rates
        .get(name)!
        .push(
          await workers.get(name)!.measure({ op: 'train', batch, seconds: seconds / repeats, minCalls: 1 }),
        );
    } catch (error) {
      notes.push(`${name}: failed (${(error as Error).message})`);
      workers.delete(name);
      names.splice(names.indexOf(name), 1);
      i--;
    }
  }
}
for (const worker of workers.values()) await worker.close();

const pipeline = await pipelineRate();
const base = rates.get(BASELINE)?.length ? median(rates.get(BASELINE)!) : undefined;
const torch = rates.get('pytorch')?.length ? median(rates.get('pytorch')!) : undefined;
const rows = [...rates.entries()]
  .filter(([, r]) => r.length > 0)
  .map(([engine, r]) => {
    const m = median(r);
    return {
      engine,
      windowsPerSecond: m,
      spread: (Math.max(...r) - Math.min(...r)) / m,
      best: Math.max(...r),
      xBaseline: base ? m / base : null,
      xPyTorch: torch ? m / torch : null,
    };
  });
const cell = (v: number | null, digits = 2) => (v === null ? '-' : v.toFixed(digits));
const header = ['engine', 'windows/s', 'spread', 'best', 'x baseline', 'x PyTorch'];
const table = [
  header,
  ...rows.map((r) => [
    r.engine,
    cell(r.windowsPerSecond, 1),
    cell(r.spread),
    cell(r.best, 1),
    cell(r.xBaseline),
    cell(r.xPyTorch),
  ]),
];
const widths = header.map((_, c) => Math.max(...table.map((row) => row[c].length)));
process.stdout.write(
  `PhaseNet training, batch ${batch} x 3000 samples, ${seconds} s per engine in ${repeats} turns; ${cpus()[0]?.model ?? 'cpu'} x ${availableParallelism()}, load ${loadavg()[0].toFixed(1)}\n\n`,
);
for (const row of table) process.stdout.write(`${row.map((v, c) => v.padStart(widths[c])).join('  ')}\n`);
process.stdout.write(
  `\ndata pipeline alone (cut, augment with noise, normalize, label): ${pipeline.toFixed(0)} windows/s on one thread\n`,
);
for (const note of notes) process.stdout.write(`note: ${note}\n`);
if (args.json) {
  await writeFile(
    args.json,
    `${JSON.stringify({ settings: { engines, batch, threads, seconds, repeats }, rows, raw: Object.fromEntries(rates), pipeline, notes }, null, 2)}\n`,
  );
}
