/**
 * Sinks bench: picks per second sustained into InfluxDB (through the durable spool, every pick
 * confirmed by a real influxd) and to 100 WebSocket subscribers (each gets every pick), against a
 * baseline measured in the same run: the same picks written to a pick file (JSON lines, as
 * `phasestream replay --output` does). See bench/README.md.
 *
 *   node --import tsx bench/sinks.ts [--picks 20000] [--subscribers 100] [--repeats 3] [--json out.json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Logger } from '../src/log.ts';
import { Broadcaster } from '../src/sink/broadcast/broadcaster.ts';
import { SinkHttpServer } from '../src/sink/http-server.ts';
import { InfluxSink } from '../src/sink/influx/influx-sink.ts';
import { PickFile } from '../src/sink/pick-file.ts';
import { Influxd, skipUnlessInfluxd } from '../test/helpers/influxd.ts';
import { testPicks } from '../test/helpers/picks.ts';
import { figure, percentile, textTable } from './pipeline-measure.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const silent = pino({ level: 'silent' }) as unknown as Logger;

const { values: args } = parseArgs({
  options: {
    picks: { type: 'string', default: '20000' },
    subscribers: { type: 'string', default: '100' },
    repeats: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
const count = Number(args.picks);
const subscribers = Number(args.subscribers);
const repeats = Number(args.repeats);
const picks = testPicks(count, 50);
const work = mkdtempSync(join(tmpdir(), 'bench-sinks-'));

/** Picks/s writing the pick file, each write awaited as the pipeline awaits it. */
async function fileRate(): Promise<number> {
  const out = new PickFile(join(work, 'picks.jsonl'), 'jsonl');
  const started = performance.now();
  for (const pick of picks) await out.write(pick);
  await out.close();
  return count / ((performance.now() - started) / 1000);
}

/** Picks/s into InfluxDB: the pipeline's side (spool appends) and end to end (InfluxDB confirmed every one). */
async function influxRates(influxd: Influxd, run: number): Promise<{ append: number; delivered: number }> {
  const database = `bench${run}`;
  const sink = InfluxSink.open({
    url: influxd.url,
    database,
    retentionPolicy: { name: 'bench', duration: 'INF', replication: 1 },
    batchSize: 5000,
    flushIntervalMs: 100,
    retryInitialMs: 200,
    retryMaxMs: 2000,
    requestTimeoutMs: 30_000,
    spool: { dir: join(work, `spool${run}`), maxBytes: 1 << 30 },
    logger: silent,
  });
  const started = performance.now();
  for (const pick of picks) sink.writePick(pick);
  const appended = performance.now();
  if ((await sink.close(600_000)) !== 0) throw new Error('InfluxDB did not take every pick');
  const done = performance.now();
  const [series] = await influxd.query('SELECT count(probability) FROM picks', database);
  if (series?.values[0][1] !== count)
    throw new Error(`InfluxDB holds ${series?.values[0][1]} picks, not ${count}`);
  return { append: count / ((appended - started) / 1000), delivered: count / ((done - started) / 1000) };
}

function line(child: ChildProcess, prefix: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let buffer = '';
    const onData = (d: Buffer) => {
      buffer += d;
      const found = buffer.split('\n').find((l) => l.startsWith(prefix));
      if (found) {
        child.stdout?.off('data', onData);
        resolvePromise(found);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the subscribers' process exited (${code})`)));
  });
}

/** Picks/s until every one of the subscribers (in another process) has every pick. */
async function websocketRate(): Promise<{ rate: number; gaps: number }> {
  const broadcaster = new Broadcaster({
    heartbeatS: 60,
    historySize: 1000,
    maxQueue: count, // the bench measures throughput; the bound is tested by test/sink/broadcast.test.ts
    slowClient: 'gap',
    logger: silent,
  });
  const server = new SinkHttpServer({ host: '127.0.0.1', port: 0, logger: silent }).upgrade(
    '/ws',
    broadcaster.handleUpgrade,
  );
  await server.start();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'bench/sinks-subscribers.ts'),
      `${server.url.replace('http', 'ws')}/ws`,
      String(subscribers),
      String(count),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await line(child, 'ready');
  const done = line(child, 'done');
  const started = Date.now();
  // Published in slices, as picks come from the pipeline: the event loop runs between them.
  for (let i = 0; i < count; i += 500) {
    for (const pick of picks.slice(i, i + 500)) broadcaster.publishPick(pick);
    await new Promise((r) => setImmediate(r));
  }
  const finished = Number((await done).split(' ')[1]);
  const gapsLine = line(child, 'gaps').catch(() => 'gaps 0');
  child.stdin?.write('stop\n');
  const gaps = Number((await gapsLine).split(' ')[1]);
  await broadcaster.close();
  await server.stop();
  return { rate: count / ((finished - started) / 1000), gaps };
}

const influxSkip = skipUnlessInfluxd();
const influxd = influxSkip ? undefined : await Influxd.create();
await influxd?.start();
const runs: { file: number; append?: number; delivered?: number; websocket: number; gaps: number }[] = [];
try {
  for (let run = 0; run < repeats; run++) {
    // Each repetition measures every sink once, so that load from other processes hits them alike.
    const file = await fileRate();
    const influx = influxd ? await influxRates(influxd, run) : undefined;
    const ws = await websocketRate();
    runs.push({
      file,
      append: influx?.append,
      delivered: influx?.delivered,
      websocket: ws.rate,
      gaps: ws.gaps,
    });
  }
} finally {
  await influxd?.destroy();
  rmSync(work, { recursive: true, force: true });
}

const median = (values: (number | undefined)[]) => {
  const defined = values.filter((v): v is number => v !== undefined);
  return defined.length === 0 ? Number.NaN : percentile(defined, 50);
};
const file = median(runs.map((r) => r.file));
const rows: [string, number][] = [
  ['pick file (baseline)', file],
  ['InfluxDB: spool append (what the pipeline waits for)', median(runs.map((r) => r.append))],
  ['InfluxDB: delivered and confirmed', median(runs.map((r) => r.delivered))],
  [`WebSocket: every pick to each of ${subscribers} subscribers`, median(runs.map((r) => r.websocket))],
];
console.log(
  `${count} picks, ${repeats} repetitions (median), load average ${loadavg()[0].toFixed(2)}\n\n${textTable(
    ['sink', 'picks/s', 'x file'],
    rows.map(([name, rate]) => [name, figure(rate), figure(rate / file)]),
  )}`,
);
if (influxSkip) console.log(`\nInfluxDB skipped: ${influxSkip}`);
const gaps = runs.reduce((sum, r) => sum + r.gaps, 0);
console.log(
  `\nWebSocket: ${figure(median(runs.map((r) => r.websocket)) * subscribers)} messages/s sent in all; picks missed: ${gaps}`,
);
if (args.json) writeFileSync(args.json, JSON.stringify({ count, subscribers, repeats, runs }, null, 2));
