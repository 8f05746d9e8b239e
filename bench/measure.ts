/**
 * The numeric core of the inference bench: the timing loop, the order in which engines take turns,
 * the statistics of the repetitions and the rates derived from them. Pure apart from the clock,
 * which callers may pass in.
 */

export interface TimingOptions {
  /** Run until this many seconds have passed… */
  seconds: number;
  /** …and at least this many calls (default 1), so that slow engines still give a rate. */
  minCalls?: number;
  /** Milliseconds, monotonic; `performance.now` unless a test drives the clock. */
  now?: () => number;
}

/**
 * Calls `step` repeatedly and returns the rate in units per second. `step` does some work and
 * returns how many units it did (windows, FLOPs). A warm-up is the same call with its rate ignored.
 */
export async function measureRate(step: () => Promise<number>, options: TimingOptions): Promise<number> {
  const now = options.now ?? (() => performance.now());
  const minCalls = options.minCalls ?? 1;
  let units = 0;
  let elapsedMs = 0;
  const start = now();
  for (let calls = 0; calls < minCalls || elapsedMs < options.seconds * 1000; calls++) {
    units += await step();
    elapsedMs = now() - start;
  }
  return units / (elapsedMs / 1000);
}

/**
 * The order of the measurements: batch sizes from small to large; within each, every engine that
 * runs it takes one turn per repetition, the first engine moving one place each round. Taking
 * turns spreads the load other processes put on a shared machine over all engines alike, so that
 * the ratios between engines hold even when the absolute rates drift.
 */
export function measurementPlan(
  batches: Readonly<Record<string, readonly number[]>>,
  repeats: number,
): { batch: number; rounds: string[][] }[] {
  const sizes = [...new Set(Object.values(batches).flat())].sort((a, b) => a - b);
  return sizes.map((batch) => {
    const engines = Object.keys(batches).filter((e) => batches[e].includes(batch));
    const rounds = Array.from({ length: repeats }, (_, r) =>
      engines.map((_, i) => engines[(i + r) % engines.length]),
    );
    return { batch, rounds };
  });
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface RateSummary {
  /** Median over the repetitions. */
  median: number;
  /** (max - min) / median of the repetitions: 0.05 means the repetitions lay within 5 % of each other. */
  spread: number;
  /** The fastest repetition: the one least disturbed by other processes on a shared machine. */
  best: number;
  samples: number[];
}

export function summarise(samples: readonly number[]): RateSummary {
  const m = median(samples);
  const best = Math.max(...samples);
  return { median: m, spread: (best - Math.min(...samples)) / m, best, samples: [...samples] };
}

/** FLOPs of one square n x n by n x n matrix product. */
export const matMulFlops = (n: number) => 2 * n ** 3;

/** What one engine (or PyTorch) measured, as its worker process reports it. */
export interface EngineMeasurement {
  /** The bench's name for it: `onnxruntime`, `tfjs-wasm`, `tfjs-cpu`, `pytorch`. */
  engine: string;
  /** What the engine calls itself, with versions where known. */
  detail: string;
  threads: number;
  runs: { batch: number; windowsPerS: number[] }[];
  peak: { matrixSize: number; gflops: number[]; via: string };
}

export interface BenchRow {
  engine: string;
  batch: number;
  windowsPerS: RateSummary;
  /** Achieved GFLOP/s: median windows/s times FLOPs per window. */
  gflops: number;
  /** Median GFLOP/s of the backend's own large matrix product at the same thread count. */
  peakGflops: number;
  fractionOfPeak: number;
  /** Median windows/s over PyTorch's at the same batch; absent without a PyTorch run at that batch. */
  ratioToPytorch?: number;
}

/** One row per engine and batch, with the rates derived from FLOPs per window and the peaks. */
export function benchRows(
  measurements: readonly EngineMeasurement[],
  flopsPerWindow: number,
  yardstick = 'pytorch',
): BenchRow[] {
  const reference = measurements.find((m) => m.engine === yardstick);
  const referenceRate = new Map(reference?.runs.map((r) => [r.batch, median(r.windowsPerS)]));
  return measurements.flatMap((m) => {
    const peakGflops = median(m.peak.gflops);
    return m.runs.map((run) => {
      const windowsPerS = summarise(run.windowsPerS);
      const gflops = (windowsPerS.median * flopsPerWindow) / 1e9;
      const pytorch = referenceRate.get(run.batch);
      return {
        engine: m.engine,
        batch: run.batch,
        windowsPerS,
        gflops,
        peakGflops,
        fractionOfPeak: gflops / peakGflops,
        ...(pytorch === undefined ? {} : { ratioToPytorch: windowsPerS.median / pytorch }),
      };
    });
  });
}

const significant = (x: number) =>
  x >= 100 ? Math.round(x).toLocaleString('en-US') : x >= 10 ? x.toFixed(1) : x.toFixed(2);
const percent = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)} %`;

/** The rows as an aligned text table: numbers right-aligned, one header line and a rule. */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = [
    'engine',
    'batch',
    'windows/s',
    'spread',
    'best',
    'GFLOP/s',
    'peak GFLOP/s',
    'of peak',
    'x PyTorch',
  ];
  const cells = rows.map((r) => [
    r.engine,
    String(r.batch),
    significant(r.windowsPerS.median),
    percent(r.windowsPerS.spread),
    significant(r.windowsPerS.best),
    significant(r.gflops),
    significant(r.peakGflops),
    percent(r.fractionOfPeak),
    r.ratioToPytorch === undefined ? '-' : `${r.ratioToPytorch.toFixed(2)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
