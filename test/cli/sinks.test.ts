import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cliEntry, runCli } from '../helpers/cli.ts';
import { freePort, influxdFor, skipUnlessInfluxd } from '../helpers/influxd.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { RecordFeed, SeedLinkRing, SeedLinkServer } from '../helpers/seedlink/server.ts';
import { devRecords, silentLogger, until } from '../helpers/seedlink-server.ts';
import { skipUnlessShared } from '../helpers/shared.ts';

const skip =
  skipUnlessShared('data', 'continuous-dev') ||
  skipUnlessShared('models', 'phasenet-original') ||
  skipUnlessInfluxd();

/** A number in Prometheus text, or -1 while the metric is absent. */
const metric = (text: string, name: string) =>
  Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? -1);

t.test(
  'live picking with every sink: InfluxDB, subscribers, /healthz and /metrics get the picks of the file',
  { skip },
  async (t) => {
    const influxd = await influxdFor(t);
    const dir = t.testdir();
    const port = await freePort();
    const output = join(dir, 'picks.jsonl');
    // The first hour of the dev record: enough picks, a few seconds of work.
    const records = await devRecords(3000);
    const ring = new SeedLinkRing({ capacityPerStation: 100_000 });
    ring.declareStation('XX', 'DEV1');
    const seedlink = new SeedLinkServer({ ring, logger: silentLogger });
    await seedlink.start();
    t.teardown(() => seedlink.stop());
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        `model: { dir: ${JSON.stringify(await originalModelDir())} }`,
        `seedlink: [{ url: "${seedlink.tcpUrl}", stations: [XX.DEV1] }]`,
        'sinks:',
        `  influx: { url: "${influxd.url}", spool: { dir: ${JSON.stringify(join(dir, 'spool'))} }, stationHealthS: 1 }`,
        '  websocket: { tokenEnv: TEST_WS_TOKEN }',
        `  http: { port: ${port} }`,
        '',
      ].join('\n'),
    );
    const env = { ...process.env, TEST_WS_TOKEN: 'let-me-in', PHASESTREAM_LOG_LEVEL: 'warn' };
    const run = spawn(process.execPath, [...cliEntry, 'run', '--config', config, '--output', output], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let runErr = '';
    run.stderr.on('data', (d) => {
      runErr += d;
    });
    const runDone = new Promise<number | null>((r) => run.once('exit', r));
    t.teardown(() => run.kill('SIGKILL'));

    const base = `http://127.0.0.1:${port}`;
    while (
      !(await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (run.exitCode !== null) throw new Error(`run ended before serving: ${runErr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const subscriber = spawn(
      process.execPath,
      [...cliEntry, 'subscribe', `ws://127.0.0.1:${port}/ws`, '--token-env', 'TEST_WS_TOKEN'],
      { env, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    t.teardown(() => subscriber.kill('SIGKILL'));
    let received = '';
    subscriber.stdout.on('data', (d) => {
      received += d;
    });
    const refused = await runCli(['subscribe', `ws://127.0.0.1:${port}/ws`], { env: { TEST_WS_TOKEN: '' } });
    t.equal(refused.code, 1, 'a subscriber without the token is refused');
    t.match(refused.stderr, /refused the subscription \(401/);
    const clients = async () =>
      metric(await (await fetch(`${base}/metrics`)).text(), 'phasestream_ws_clients');
    while ((await clients()) < 1) await new Promise((r) => setTimeout(r, 50));

    while (seedlink.streamingCount === 0) await new Promise((r) => setTimeout(r, 50));
    await new RecordFeed(ring, records, { intervalMs: 0.5 }).start().done;
    let metrics = '';
    const deadline = Date.now() + 60_000;
    // Records are counted as they come, windows once inferred: wait for both (the pipeline lags a feed this fast).
    const counted = () =>
      metric(metrics, 'phasestream_records_total') >= records.length &&
      metric(metrics, 'phasestream_windows_total') > 0;
    while (Date.now() < deadline && !counted()) {
      metrics = await (await fetch(`${base}/metrics`)).text();
      if (run.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.equal(metric(metrics, 'phasestream_records_total'), records.length, 'every record counted');
    t.ok(metric(metrics, 'phasestream_windows_total') > 0, 'windows counted');
    t.match(metrics, /^phasestream_influx_spool_points \d+$/m, 'the spool backlog is exported');
    const healthz = await (await fetch(`${base}/healthz`)).json();
    t.match(healthz, { status: 'ok', websocket: { clients: 1 } }, JSON.stringify(healthz));

    run.kill('SIGTERM'); // flushes the stations: their last picks come out
    t.equal(await runDone, 0, runErr);
    const expected = readFileSync(output, 'utf8');
    t.ok(expected.split('\n').length > 20, 'the run picked');
    // On a timeout, the comparison below shows what is missing.
    await until(() => received.length >= expected.length, 10_000, 'every pick').catch(() => {});
    t.equal(received, expected, 'the subscriber printed the picks of the file, in order');

    const series = await influxd.query(
      'SELECT probability, station, phase, latency_ms FROM picks',
      'phasestream',
    );
    const stored = series[0].values.map(
      ([time, probability, station, phase]) => `${station} ${phase} ${time} ${probability}`,
    );
    // A pick's life (the live edge) writes its point again: the point holds its last line.
    const points = new Map<string, string>();
    for (const p of expected
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))) {
      const key = `${p.station} ${p.phase} ${Date.parse(p.time) * 1000 + Number(p.time.slice(23, 26))}`;
      points.set(key, `${key} ${p.probability}`);
    }
    t.same(stored.sort(), [...points.values()].sort(), 'InfluxDB holds the picks of the file, once each');
    t.ok(
      series[0].values.every((row) => (row[4] as number) > 0),
      'live picks carry their latency',
    );
    const health = await influxd.query('SELECT sum(samples) FROM station_health', 'phasestream');
    const samples = metric(metrics, 'phasestream_samples_total');
    t.ok(samples > 0);
    t.equal(health[0]?.values[0][1], samples, 'station health summed every sample received');
  },
);
