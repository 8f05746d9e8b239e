import { parseArgs } from 'node:util';
import { UsageError } from '../src/errors.ts';

/** The WebGPU engines run on whatever adapter Dawn finds (a GPU, or lavapipe on the CPU). */
export const BENCH_ENGINES = [
  'onnxruntime',
  'onnxruntime-webgpu',
  'tfjs-webgpu',
  'tfjs-wasm',
  'tfjs-cpu',
  'tfjs-tensorflow',
  'pytorch',
] as const;
export type BenchEngine = (typeof BENCH_ENGINES)[number];

export interface BenchSettings {
  engines: BenchEngine[];
  /** Batch sizes per engine: tfjs-cpu (~11 windows/s) gets 1 and 8 unless batches are given. */
  batches: Record<string, number[]>;
  threads: number;
  /** Measured seconds per engine and batch size, split into `repeats` repetitions. */
  seconds: number;
  repeats: number;
  /** Side of the square matrices of each engine's peak measurement. */
  peakSize: Record<string, number>;
  peakSeconds: number;
  python: string;
  json?: string;
}

export const BENCH_USAGE = `Usage: node --import tsx bench/inference.ts [options]

  --engines LIST     ${BENCH_ENGINES.join(',')} (default onnxruntime,tfjs-wasm,tfjs-cpu,pytorch;
                     the WebGPU engines need the webgpu package's adapter: a GPU driver, or lavapipe)
  --batches LIST     batch sizes (default 1,8,32,128; tfjs-cpu 1,8 unless given)
  --threads N        CPU threads for every engine and peak (default 2)
  --seconds S        measured seconds per engine and batch (default 5)
  --repeats N        repetitions the seconds are split into; the table shows their median (default 5)
  --peak-size N      square matrix side of the peak MatMul (default 1024; tfjs-cpu 512 unless given)
  --peak-seconds S   measured seconds of each peak (default 3)
  --python PATH      interpreter with torch for the PyTorch yardstick (default /usr/bin/python3)
  --json FILE        also write everything measured as JSON
`;

function positiveNumbers(option: string, text: string, integer: boolean): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !(v > 0) || (integer && !Number.isInteger(v)))) {
    throw new UsageError(
      `--${option} ${text}: expected ${integer ? 'positive integers' : 'a positive number'}`,
      {
        hint: `e.g. --${option} ${integer ? '1,8,32' : '5'}`,
      },
    );
  }
  return values;
}

const single = (option: string, text: string, integer: boolean) => {
  const values = positiveNumbers(option, text, integer);
  if (values.length !== 1) throw new UsageError(`--${option} takes one value, got ${text}`);
  return values[0];
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      engines: { type: 'string', default: 'onnxruntime,tfjs-wasm,tfjs-cpu,pytorch' },
      batches: { type: 'string' },
      threads: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '5' },
      repeats: { type: 'string', default: '5' },
      'peak-size': { type: 'string' },
      'peak-seconds': { type: 'string', default: '3' },
      python: { type: 'string', default: '/usr/bin/python3' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

/** The bench's settings from its command line (without node and the script); bad input is a UsageError. */
export function parseBenchArgs(argv: string[]): BenchSettings | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message, { hint: BENCH_USAGE, cause: error });
  }
  const { values } = parsed;
  if (values.help) return 'help';
  const engines = values.engines.split(',').map((s) => s.trim());
  const unknown = engines.filter((e) => !(BENCH_ENGINES as readonly string[]).includes(e));
  if (unknown.length > 0 || engines.length === 0) {
    throw new UsageError(`--engines: unknown engine ${unknown.join(', ') || '(none)'}`, {
      hint: `choose from ${BENCH_ENGINES.join(', ')}`,
    });
  }
  const given = values.batches === undefined ? undefined : positiveNumbers('batches', values.batches, true);
  const defaultBatches = [1, 8, 32, 128];
  const peakSize =
    values['peak-size'] === undefined ? undefined : single('peak-size', values['peak-size'], true);
  return {
    engines: engines as BenchEngine[],
    batches: Object.fromEntries(
      engines.map((e) => [e, given ?? (e === 'tfjs-cpu' ? defaultBatches.slice(0, 2) : defaultBatches)]),
    ),
    threads: single('threads', values.threads, true),
    seconds: single('seconds', values.seconds, false),
    repeats: single('repeats', values.repeats, true),
    peakSize: Object.fromEntries(engines.map((e) => [e, peakSize ?? (e === 'tfjs-cpu' ? 512 : 1024)])),
    peakSeconds: single('peak-seconds', values['peak-seconds'], false),
    python: values.python,
    ...(values.json === undefined ? {} : { json: values.json }),
  };
}
