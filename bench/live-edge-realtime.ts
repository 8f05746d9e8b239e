/**
 * The live edge at real time: how soon after its data arrives a phase gets its first pick. The dev
 * record (2.6 h) is cut into N consecutive slices, each re-labelled as a station and fed at once by
 * the project's SeedLink server at real time (bench/live-edge-feed.ts, another process), so that all
 * of it goes through in 2.6 h / N. The pipeline of `phasestream run` (pickPipeline with the lane on)
 * runs here behind a SeedLink client; each record's arrival and each pick's emission are timed. Then
 * the same records are replayed with the lane off: the final picks must be identical.
 *
 *   nice -n 10 node --import tsx bench/live-edge-realtime.ts [--slices 8] [--speed 1] [--json out.json]
 *     [--config overrides.yaml]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { lastValueFrom, Subject, takeUntil, tap, toArray } from 'rxjs';
import { pickPipeline } from '../src/app/pipeline.ts';
import { checkConfig, readConfigFile } from '../src/config/load.ts';
import { createEngine } from '../src/engine/index.ts';
import { archiveRecords } from '../src/ingest/archive.ts';
import { seedLinkPackets } from '../src/ingest/seedlink/client.ts';
import { resolveModelDir } from '../src/model/resolve.ts';
import { loadModelDir } from '../src/model/store.ts';
import type { Pick } from '../src/picker/pick.ts';
import { decodeRecords } from '../src/stream/index.ts';
import { readArrivalsCsv, readTransientExclusions } from '../src/train/continuous-truth.ts';
import { pickingMetrics } from '../src/train/metrics.ts';
import { devRecordDir } from './archive-builder.ts';
import { type SliceFeedMessage, type SliceFeedRequest, sliceStation } from './live-edge-feed.ts';
import { type EmittedPick, laneReport, type RecordArrival } from './live-edge-measure.ts';

const { values } = parseArgs({
  options: {
    slices: { type: 'string', default: '8' },
    speed: { type: 'string', default: '1' },
    json: { type: 'string' },
    config: { type: 'string' },
  },
});
const slices = Number(values.slices);
const speed = Number(values.speed);

function startFeed(request: SliceFeedRequest): {
  child: ChildProcess;
  next: <T>(type: string) => Promise<T>;
} {
  const child = fork(
    fileURLToPath(new URL('./live-edge-feed.ts', import.meta.url)),
    [JSON.stringify(request)],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const queue: SliceFeedMessage[] = [];
  const waiters: ((m: SliceFeedMessage) => void)[] = [];
  child.on('message', (m: SliceFeedMessage) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const take = (m: SliceFeedMessage) =>
        m.type === type ? resolve(m as T) : reject(new Error(`feed: expected ${type}, got ${m.type}`));
      const queued = queue.shift();
      if (queued) take(queued);
      else waiters.push(take);
    });
  child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w({ type: 'done', appended: -1 - (code ?? 0) });
  });
  return { child, next };
}

const dir = await mkdtemp(join(tmpdir(), 'phasestream-live-edge-'));
const load: { before: number; after?: number } = { before: loadavg()[0] };
const overrides = values.config ? ((await readConfigFile(values.config)) as Record<string, unknown>) : {};
const feed = startFeed({ slices, speed, outDir: dir });
try {
  const listening = await feed.next<Extract<SliceFeedMessage, { type: 'listening' }>>('listening');
  const config = checkConfig({
    ...overrides,
    seedlink: [{ url: `127.0.0.1:${listening.port}`, stations: ['XX.L*'] }],
  });
  const model = await loadModelDir(await resolveModelDir(config.model.dir));
  const engine = await createEngine(model, {
    engine: config.engine.kind,
    backend: config.engine.backend,
    threads: config.engine.threads,
  });
  const arrivals = new Map<string, RecordArrival[]>();
  let edgeWindows = 0;
  let regularWindows = 0;
  const stop = new Subject<void>();
  const records = seedLinkPackets({
    url: config.seedlink[0].url,
    stations: [{ network: 'XX', station: 'L*' }],
    protocol: config.seedlink[0].protocol,
    idleTimeoutS: 300,
  }).pipe(
    decodeRecords({ source: 'bench' }),
    takeUntil(stop),
    tap((r) => {
      const key = `${r.streamId.network}.${r.streamId.station}`;
      const endUs = r.startTimeUs + (r.samples.length / r.samplingRate) * 1e6;
      const list = arrivals.get(key) ?? [];
      list.push([r.startTimeUs, endUs, Date.now()]);
      arrivals.set(key, list);
    }),
  );
  const emitted: EmittedPick[] = [];
  const live = lastValueFrom(
    pickPipeline(
      records,
      engine,
      config,
      {
        onBatch: ({ windows }) => {
          regularWindows += windows;
        },
        onEdgeBatch: ({ windows }) => {
          edgeWindows += windows;
        },
      },
      { liveEdge: true },
    ).pipe(tap((pick) => emitted.push({ pick, emittedAtMs: Date.now() }))),
    { defaultValue: undefined },
  );
  const started = await feed.next<{ wallMs: number }>('started');
  process.stderr.write(
    `feeding ${slices} slices x ${((listening.sliceSamples / 100) * 1).toFixed(0)} s at ${speed}x from ${new Date(started.wallMs).toISOString()}\n`,
  );
  await feed.next('done');
  await new Promise((r) => setTimeout(r, 15_000 / speed));
  stop.next();
  feed.child.send({ op: 'stop' });
  await live;
  // The same records replayed, lane off: what `phasestream replay` gives.
  const replayed = await lastValueFrom(
    pickPipeline(archiveRecords(listening.files), engine, config).pipe(toArray()),
  );
  await engine.dispose();
  const key = (p: Pick) => `${p.id} ${p.probability}`;
  const liveFinal = emitted
    .filter((e) => e.pick.status === 'final')
    .map((e) => key(e.pick))
    .sort();
  const replayFinal = replayed.map(key).sort();
  const identical = JSON.stringify(liveFinal) === JSON.stringify(replayFinal);
  const report = laneReport(emitted, arrivals);
  // Truth: each slice's arrivals, on its station and re-timed as the slice was.
  const truth = readArrivalsCsv(join(devRecordDir, 'picks.csv')).map((a) => {
    const sample = Math.round((a.timeUs - listening.startUs) / 1e4);
    const k = Math.floor(sample / listening.sliceSamples);
    return { ...a, station: `XX.${sliceStation(k)}`, timeUs: a.timeUs - k * listening.sliceSamples * 1e4 };
  });
  const exclusionsUs = readTransientExclusions(join(devRecordDir, 'manifest.json')).map(
    ([a, b]) =>
      [
        a - Math.floor((a - listening.startUs) / 1e4 / listening.sliceSamples) * listening.sliceSamples * 1e4,
        b - Math.floor((a - listening.startUs) / 1e4 / listening.sliceSamples) * listening.sliceSamples * 1e4,
      ] as [number, number],
  );
  const asTimed = (status: Pick['status']) =>
    emitted
      .filter((e) => e.pick.status === status)
      .map((e) => ({
        phase: e.pick.phase,
        timeUs: e.pick.timeUs,
        station: `${e.pick.network}.${e.pick.station}`,
      }));
  const vsTruth = {
    provisional: pickingMetrics(asTimed('provisional'), truth, { exclusionsUs }),
    final: pickingMetrics(asTimed('final'), truth, { exclusionsUs }),
  };
  load.after = loadavg()[0];
  const summary = {
    slices,
    speed,
    config: config.picker,
    load,
    // onBatch sees both lanes' batches, onEdgeBatch the lane's only.
    windows: {
      regular: regularWindows - edgeWindows,
      edge: edgeWindows,
      edgePerRegular: edgeWindows / Math.max(1, regularWindows - edgeWindows),
    },
    finalsIdenticalToReplay: identical,
    liveFinals: liveFinal.length,
    replayFinals: replayFinal.length,
    ...report,
    vsTruth,
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (values.json)
    await writeFile(values.json, JSON.stringify({ summary, emitted, arrivals: [...arrivals] }));
} finally {
  feed.child.kill();
  await rm(dir, { recursive: true, force: true });
}
