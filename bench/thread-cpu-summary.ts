/**
 * Who had the cores, second by second, from a BENCH_THREAD_CPU file (bench/thread-cpu.mjs): the main
 * thread, the worker threads (the inference engine's), and the rest of the process's threads (V8's
 * collector and compiler helpers, libuv), each in percent of one core. Then the seconds grouped by
 * how busy the workers were: the busiest tenth (at 5,000 live stations on the grid, the seconds when
 * every station's window falls due), and the seconds with no inference at all.
 *
 *   node --import tsx bench/thread-cpu-summary.ts FILE [--from S] [--to S] [--series]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ThreadCpuFile {
  pid: number;
  /** USER_HZ: the unit of /proc's utime and stime (100 on Linux). */
  ticksPerS: number;
  workers: string[];
  samples: { ms: number; threads: Record<string, number> }[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    from: { type: 'string', default: '0' },
    to: { type: 'string', default: 'Infinity' },
    series: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) {
  process.stderr.write(
    'usage: node --import tsx bench/thread-cpu-summary.ts FILE [--from S] [--to S] [--series]\n',
  );
  process.exit(2);
}
const file = JSON.parse(readFileSync(positionals[0], 'utf8')) as ThreadCpuFile;
const fromMs = Number(values.from) * 1000;
const toMs = Number(values.to) * 1000;

interface Second {
  atS: number;
  main: number;
  workers: number;
  rest: number;
}

/** Percent of one core per group over [a, b): ticks gained, over the seconds between the samples. */
function share(a: ThreadCpuFile['samples'][number], b: ThreadCpuFile['samples'][number]): Second {
  const gained = (tid: string) => (b.threads[tid] ?? 0) - (a.threads[tid] ?? b.threads[tid] ?? 0);
  const percent = (ticks: number) => (100 * ticks) / file.ticksPerS / ((b.ms - a.ms) / 1000);
  let main = 0;
  let workers = 0;
  let rest = 0;
  for (const tid of Object.keys(b.threads)) {
    if (tid === String(file.pid)) main += gained(tid);
    else if (file.workers.includes(tid)) workers += gained(tid);
    else rest += gained(tid);
  }
  return { atS: b.ms / 1000, main: percent(main), workers: percent(workers), rest: percent(rest) };
}

// One-second steps (every fourth sample of 250 ms): a tick is 10 ms, so shorter steps are mostly noise.
const seconds: Second[] = [];
const samples = file.samples.filter((s) => s.ms >= fromMs && s.ms <= toMs);
for (let i = 4; i < samples.length; i += 4) seconds.push(share(samples[i - 4], samples[i]));
if (seconds.length === 0) {
  process.stderr.write('no whole second of samples in that range\n');
  process.exit(1);
}

const row = (label: string, group: Second[]) => {
  const mean = (pick: (s: Second) => number) => group.reduce((sum, s) => sum + pick(s), 0) / group.length;
  const main = mean((s) => s.main);
  const workers = mean((s) => s.workers);
  const rest = mean((s) => s.rest);
  const cells = [main, workers, rest, main + workers + rest].map((v) => `${v.toFixed(0)} %`.padStart(9));
  return `${label.padEnd(34)} ${String(group.length).padStart(7)} ${cells.join(' ')}`;
};

if (values.series) {
  for (const s of seconds) {
    const cells = [s.main, s.workers, s.rest].map((v) => v.toFixed(0).padStart(4));
    process.stdout.write(
      `${s.atS.toFixed(1).padStart(7)} s  main ${cells[0]}  workers ${cells[1]}  rest ${cells[2]}\n`,
    );
  }
}
const byWorkers = [...seconds].sort((a, b) => b.workers - a.workers);
const tenth = byWorkers.slice(0, Math.max(1, Math.round(seconds.length / 10)));
const idle = seconds.filter((s) => s.workers < 1);
process.stdout.write(`process ${file.pid}: percent of one core, per second\n\n`);
process.stdout.write(
  `${'seconds'.padEnd(34)} ${'count'.padStart(7)} ${['main', 'workers', 'rest', 'all'].map((h) => h.padStart(9)).join(' ')}\n`,
);
process.stdout.write(`${row('all', seconds)}\n`);
// A process without worker threads (the feed) has only the one row.
if (file.workers.length > 0) {
  process.stdout.write(`${row('busiest tenth for the workers', tenth)}\n`);
  if (idle.length > 0) process.stdout.write(`${row('no inference (workers < 1 %)', idle)}\n`);
}
