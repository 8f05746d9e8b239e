/**
 * Scale-out bench (docs/scale-out.md): how fast `phasestream pick` workers pick through NATS JetStream
 * with 1, 2 and 3 workers, against `phasestream replay` of the same archive in the same run (the
 * single-process pipeline, without the log), and the delay the log adds on its two hops (record
 * stored -> delivered to a consumer; pick stored -> delivered to the sink's consumer). Real processes
 * and a real nats-server on a temporary store. See bench/README.md.
 *
 *   node --import tsx bench/scale-out.ts [--stations 12] [--minutes 30] [--workers 1,2,3]
 *     [--partitions 12] [--speed 30] [--json out.json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { sdsFiles } from '../src/ingest/archive.ts';
import { partitionOf } from '../src/scale/subjects.ts';
import { NatsServer, skipUnlessNatsServer } from '../test/helpers/nats-server.ts';
import { buildSdsArchive, devRecordDir, loadDevRecord } from './archive-builder.ts';
import { textTable } from './pipeline-measure.ts';

const { values } = parseArgs({
  options: {
    stations: { type: 'string', default: '12' },
    minutes: { type: 'string', default: '30' },
    workers: { type: 'string', default: '1,2,3' },
    partitions: { type: 'string', default: '12' },
    speed: { type: 'string', default: '30' },
    json: { type: 'string' },
  },
});
const stations = Number(values.stations);
const minutes = Number(values.minutes);
const workerCounts = values.workers!.split(',').map(Number);
const partitions = Number(values.partitions);
const speed = Number(values.speed);

const cli = [join(import.meta.dirname, '../src/cli/main.ts')];
const missing = skipUnlessNatsServer();
if (missing) throw new Error(missing);
if (!existsSync(devRecordDir)) throw new Error(`needs the dev record at ${devRecordDir}`);

interface Role {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function role(args: string[]): Role {
  const child = spawn(process.execPath, ['--import', 'tsx', ...cli, ...args], {
    env: { ...process.env, PHASESTREAM_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let rest = '';
  const take = (chunk: Buffer) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  return { child, lines, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

const logged = (r: Role, msg: string) =>
  r.lines.filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l) as Record<string, number>);

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(r: Role): Promise<void> {
  if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
  await r.exited;
}

const lineCount = (path: string) =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0;

const dir = await mkdtemp(join(tmpdir(), 'bench-scale-out-'));
const loadBefore = loadavg()[0];
try {
  const dev = await loadDevRecord();
  const archive = await buildSdsArchive(dev, join(dir, 'sds'), stations, dev.startTimeUs, minutes * 60);
  const files = sdsFiles(archive.root, archive.startUs, archive.endUs);
  const stationHours = (stations * minutes) / 60;
  const rows: Record<string, string | number>[] = [];

  // The baseline: one process, the same pipeline, no log (one thread, and the default shards).
  let replayPicks = 0;
  let replayS = 0;
  for (const shards of ['1', String(Math.min(availableParallelism(), stations))]) {
    const out = join(dir, `replay-${shards}.jsonl`);
    const replay = role(['replay', '--shards', shards, '--output', out, ...files]);
    await replay.exited;
    const seconds = logged(replay, 'replay done')[0].seconds;
    if (shards === '1') {
      replayS = seconds;
      replayPicks = lineCount(out);
    }
    rows.push({
      run: `replay --shards ${shards} x ${availableParallelism()} threads`,
      seconds,
      'station-h/s': (stationHours / seconds).toFixed(3),
      'realtime stations': Math.round((stations * minutes * 60) / seconds),
      'x replay': (replayS / seconds).toFixed(2),
      picks: lineCount(out),
    });
  }

  for (const count of workerCounts) {
    const nats = await NatsServer.create();
    await nats.start();
    const config = join(dir, `scale-${count}.yaml`);
    // Each worker gets its share of the cores for inference: more threads than cores only contend.
    const threads = Math.max(1, Math.floor(availableParallelism() / count));
    writeFileSync(
      config,
      `engine: { threads: ${threads} }\njetstream:\n  servers: ["${nats.url}"]\n  partitions: ${partitions}\n  leaseTtlS: 4\n  renewS: 1\n`,
    );
    const output = join(dir, `sink-${count}.jsonl`);
    const sink = role(['sink', '--config', config, '--output', output]);
    const workers = Array.from({ length: count }, () => role(['pick', '--config', config]));
    await until(() => workers.every((w) => logged(w, 'pick worker started').length > 0), 180_000, 'workers');
    await until(
      () => workers.reduce((n, w) => n + logged(w, 'partition taken').length, 0) >= partitions,
      60_000,
      'every partition taken',
    );
    const startedMs = Date.now();
    const ingest = role(['ingest', '--config', config, ...files]);
    const ended = () => workers.flatMap((w) => logged(w, 'partition at the end of its data: flushed'));
    const partitionsWithData = new Set(
      archive.stations.map((s) => {
        const [n, st] = s.split('.');
        return partitionOf(n, st, partitions);
      }),
    ).size;
    await until(() => ended().length >= partitionsWithData, 900_000, 'the workers to reach the end');
    // From the first record stored (the ingest's own start-up left out, as replay's is) to the last end.
    const nc = await connect({ servers: nats.url });
    const first = await (await jetstreamManager(nc)).streams.getMessage('ps-records', { seq: 1 });
    await nc.close();
    const firstMs = Number(first!.timestamp ? Date.parse(first!.timestamp) : startedMs);
    const seconds = (Math.max(...ended().map((e) => e.time)) - firstMs) / 1000;
    await until(() => lineCount(output) >= replayPicks, 30_000, 'the sink').catch(() => {});
    await ingest.exited;
    for (const w of workers) await stop(w);
    await stop(sink);
    await nats.destroy();
    rows.push({
      run: `${count} pick worker${count > 1 ? 's' : ''} x ${threads} thread${threads > 1 ? 's' : ''}`,
      seconds: seconds.toFixed(1),
      'station-h/s': (stationHours / seconds).toFixed(3),
      'realtime stations': Math.round((stations * minutes * 60) / seconds),
      'x replay': (replayS / seconds).toFixed(2),
      picks: lineCount(output),
    });
  }

  // The log's delay: a paced ingest, two workers, and consumers of our own timing each hop.
  const latency = await logDelay(dir, files);
  process.stdout.write(
    `${stations} stations x ${minutes} min (${stationHours} station-hours), ${partitions} partitions, ` +
      `${availableParallelism()} cores, load ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after\n\n`,
  );
  const header = Object.keys(rows[0]);
  process.stdout.write(
    `${textTable(
      header,
      rows.map((row) => header.map((h) => String(row[h]))),
    )}\n\n`,
  );
  process.stdout.write(
    `log delay at x${speed} (2 workers): record stored -> delivered p50 ${latency.records.p50} ms, p95 ${latency.records.p95} ms; ` +
      `pick stored -> delivered p50 ${latency.picks.p50} ms, p95 ${latency.picks.p95} ms (${latency.picks.n} picks)\n`,
  );
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ rows, latency, loadBefore }, null, 2)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

async function logDelay(dir: string, files: string[]) {
  const nats = await NatsServer.create();
  await nats.start();
  const config = join(dir, 'scale-delay.yaml');
  writeFileSync(config, `jetstream:\n  servers: ["${nats.url}"]\n  partitions: ${partitions}\n  renewS: 1\n`);
  const sink = role(['sink', '--config', config, '--output', join(dir, 'delay.jsonl')]);
  const workers = [role(['pick', '--config', config]), role(['pick', '--config', config])];
  await until(() => workers.every((w) => logged(w, 'pick worker started').length > 0), 180_000, 'workers');
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  const delays = { records: [] as number[], picks: [] as number[] };
  const watch = async (stream: string, into: number[]) => {
    const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    void (async () => {
      for await (const m of messages) into.push(Date.now() - m.info.timestampNanos / 1e6);
    })();
    return messages;
  };
  let recordWatch: Awaited<ReturnType<typeof watch>> | undefined;
  let pickWatch: Awaited<ReturnType<typeof watch>> | undefined;
  for (;;) {
    try {
      recordWatch = await watch('ps-records', delays.records);
      pickWatch = await watch('ps-picks', delays.picks);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 500)); // the streams are made by the first role up
    }
  }
  const ingest = role(['ingest', '--config', config, '--speed', String(speed), ...files]);
  await ingest.exited;
  await new Promise((r) => setTimeout(r, 5000));
  await recordWatch?.stop();
  await pickWatch?.stop();
  await nc.close();
  for (const w of workers) await stop(w);
  await stop(sink);
  await nats.destroy();
  const stats = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    return { n: xs.length, p50: at(0.5), p95: at(0.95), max: at(1) };
  };
  return { records: stats(delays.records), picks: stats(delays.picks) };
}
