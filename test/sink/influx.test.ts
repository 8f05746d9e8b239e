import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { InfluxSink, type InfluxSinkOptions } from '../../src/sink/influx/influx-sink.ts';
import { pickPoint } from '../../src/sink/influx/points.ts';
import { DurableSpool } from '../../src/sink/spool.ts';
import { repoRoot } from '../helpers/cli.ts';
import { freePort, Influxd, influxdFor, skipUnlessInfluxd } from '../helpers/influxd.ts';
import { pickKey, testPicks } from '../helpers/picks.ts';
import { memoryLogger, silentLogger, until } from '../helpers/seedlink-server.ts';

const skip = skipUnlessInfluxd();
const DB = 'phasestream';

function sinkOptions(
  url: string,
  spoolDir: string,
  more: Partial<InfluxSinkOptions> = {},
): InfluxSinkOptions {
  return {
    url,
    database: DB,
    retentionPolicy: { name: 'picks', duration: 'INF', replication: 1 },
    batchSize: 100,
    flushIntervalMs: 50,
    retryInitialMs: 50,
    retryMaxMs: 300,
    requestTimeoutMs: 2000,
    spool: { dir: spoolDir, maxBytes: 1 << 24 },
    logger: silentLogger,
    ...more,
  };
}

/** Every pick in the database, as pick keys (with its probability), in time order. */
async function storedPicks(influxd: Influxd): Promise<string[]> {
  const series = await influxd.query('SELECT probability, network, station, location, phase FROM picks', DB);
  return (series[0]?.values ?? []).map(
    ([time, probability, network, station, location, phase]) =>
      `${pickKey({
        network: network as string,
        station: station as string,
        location: location as string,
        phase: phase as string,
        timeUs: time as number,
      })} ${probability}`,
  );
}

const expected = (picks: ReturnType<typeof testPicks>) => picks.map((p) => `${pickKey(p)} ${p.probability}`);

t.test(
  'picks go in once each, the database and retention policy are made, a rewrite overwrites',
  { skip },
  async (t) => {
    const influxd = await influxdFor(t);
    const picks = testPicks(250);
    const sink = InfluxSink.open(sinkOptions(influxd.url, t.testdir()));
    for (const pick of picks) sink.writePick(pick, 1234.5);
    await until(() => sink.stats().backlogPoints === 0, 10_000, 'the first delivery');
    for (const pick of picks.slice(0, 100)) sink.writePick({ ...pick, probability: 0.5 });
    t.equal(await sink.close(10_000), 0, 'nothing left in the spool');
    t.equal(sink.stats().delivered, 350);

    const policies = await influxd.query(`SHOW RETENTION POLICIES ON ${DB}`);
    const picksPolicy = policies[0].values.find((row) => row[0] === 'picks');
    t.ok(picksPolicy, 'retention policy created');
    t.equal(picksPolicy?.at(-1), true, 'and made the default');
    const stored = await storedPicks(influxd);
    t.same(
      stored,
      expected(picks.map((p, i) => (i < 100 ? { ...p, probability: 0.5 } : p))),
      'one point per pick, the rewrite overwrote the first 100',
    );
    const [row] = (
      await influxd.query("SELECT latency_ms, channel, model FROM picks WHERE station = 'S01' LIMIT 1", DB)
    )[0].values;
    t.same(row.slice(1), [1234.5, 'HH', 'test-model'], 'fields');
  },
);

t.test('two models picking the same instant are two points (model is a tag)', { skip }, async (t) => {
  const influxd = await influxdFor(t);
  const [pick] = testPicks(1);
  const sink = InfluxSink.open(sinkOptions(influxd.url, t.testdir()));
  sink.writePick(pick);
  sink.writePick({
    ...pick,
    model: 'other-model',
    probability: 0.25,
    uncertaintyS: 0.05,
    polarity: 'negative',
    latitude: 46.5,
    longitude: 7.25,
    elevationM: 1200,
  });
  t.equal(await sink.close(10_000), 0, 'nothing left in the spool');
  const series = await influxd.query(
    'SELECT probability, model, uncertainty_s, polarity, latitude, longitude, elevation_m FROM picks',
    DB,
  );
  t.same(
    series[0].values.map((row) => row.slice(1)).sort(),
    [
      [0.25, 'other-model', 0.05, 'negative', 46.5, 7.25, 1200],
      [pick.probability, 'test-model', null, null, null, null, null],
    ].sort(),
    'both kept, with uncertainty, polarity and coordinates where known',
  );
});

t.test('influxd killed (SIGKILL) mid-stream and restarted: every pick exactly once', { skip }, async (t) => {
  const influxd = await influxdFor(t);
  const picks = testPicks(3000);
  const sink = InfluxSink.open(sinkOptions(influxd.url, t.testdir()));
  for (const [i, pick] of picks.entries()) {
    sink.writePick(pick);
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
    if (i === 1000) await influxd.kill();
    if (i === 2000) await influxd.start();
  }
  t.ok(sink.stats().failedWrites > 0, 'writes failed while influxd was down');
  t.equal(await sink.close(20_000), 0, 'the spool drained');
  t.same(await storedPicks(influxd), expected(picks), 'all 3000, none twice');
});

t.test('PhaseStream killed with a full spool: the next start delivers it', { skip }, async (t) => {
  const influxd = await Influxd.create();
  t.teardown(() => influxd.destroy());
  const spoolDir = t.testdir();
  const count = 1500;
  // InfluxDB is down: the writer can only spool.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'test/helpers/spool-writer.ts'),
      JSON.stringify({ url: influxd.url, spoolDir, count }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  await until(() => stdout.includes('\n'), 20_000, 'the writer to spool');
  t.equal(stdout.trim(), `spooled ${count}`);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;

  await influxd.start();
  const sink = InfluxSink.open(sinkOptions(influxd.url, spoolDir));
  t.equal(sink.stats().backlogPoints, count, 'the spool survived the kill');
  t.equal(await sink.close(20_000), 0);
  t.same(await storedPicks(influxd), expected(testPicks(count)), 'delivered, in full');
});

t.test('a full spool drops new points with one clear error and keeps what it holds', { skip }, async (t) => {
  const { logger, entries } = memoryLogger();
  const port = await freePort(); // nothing listens there
  const sink = InfluxSink.open(
    sinkOptions(`http://127.0.0.1:${port}`, t.testdir(), {
      logger,
      spool: { dir: t.testdir(), maxBytes: 20_000 },
    }),
  );
  for (const pick of testPicks(500)) sink.writePick(pick);
  const stats = sink.stats();
  t.ok(stats.backlogBytes <= 20_000, 'bounded');
  t.ok(
    stats.dropped > 0 && stats.dropped + stats.backlogPoints === 500,
    'what did not fit is counted as dropped',
  );
  const errors = entries.filter((e) => e.level === 50);
  t.equal(errors.length, 1, 'one error for the episode');
  t.match(errors[0].msg, /spool is full/);
  t.equal(await sink.close(100), stats.backlogPoints, 'the rest stays spooled');
});

t.test(
  'credentials: a wrong password keeps picks spooled, the right one delivers them',
  { skip },
  async (t) => {
    const influxd = await influxdFor(t, { auth: true });
    await influxd.query("CREATE USER admin WITH PASSWORD 'secret' WITH ALL PRIVILEGES");
    const auth = { username: 'admin', password: 'secret' };

    const refused = InfluxSink.open(
      sinkOptions(influxd.url, t.testdir(), { username: 'admin', password: 'wrong' }),
    );
    refused.writePick(testPicks(1)[0]);
    await until(() => refused.stats().failedWrites > 0, 5000, 'a refusal');
    t.equal(await refused.close(100), 1, 'a wrong password keeps the pick spooled');

    const sink = InfluxSink.open(sinkOptions(influxd.url, t.testdir(), { ...auth }));
    for (const pick of testPicks(10)) sink.writePick(pick);
    t.equal(await sink.close(10_000), 0);
    const series = await influxd.query('SELECT count(probability) FROM picks', DB, auth);
    t.equal(series[0].values[0][1], 10);
  },
);

t.test(
  'a damaged spool line and a point InfluxDB refuses are set aside; the others go in',
  { skip },
  async (t) => {
    const influxd = await influxdFor(t);
    const spoolDir = t.testdir();
    const [a, b, c] = testPicks(3);
    const conflicting = { ...pickPoint(c), fields: { probability: 'high' } };
    const spool = DurableSpool.open({ dir: spoolDir, maxBytes: 1 << 20 });
    spool.append([JSON.stringify(pickPoint(a)), 'garbage{', JSON.stringify(pickPoint(b))]);
    spool.close();
    const first = InfluxSink.open(sinkOptions(influxd.url, spoolDir));
    t.equal(await first.close(10_000), 0, 'a damaged line does not block the spool');
    t.equal(first.stats().rejected, 1);
    // A string where the measurement has a float: InfluxDB answers 400 (field type conflict).
    const again = DurableSpool.open({ dir: spoolDir, maxBytes: 1 << 20 });
    again.append([JSON.stringify(conflicting)]);
    again.close();
    const sink = InfluxSink.open(sinkOptions(influxd.url, spoolDir));
    t.equal(await sink.close(10_000), 0, 'nor does a point InfluxDB refuses');
    t.equal(sink.stats().rejected, 1);
    t.same(await storedPicks(influxd), expected([a, b]));
    const rejected = readFileSync(join(spoolDir, 'rejected.jsonl'), 'utf8').trim().split('\n');
    t.same(rejected, ['garbage{', JSON.stringify(conflicting)]);
  },
);
