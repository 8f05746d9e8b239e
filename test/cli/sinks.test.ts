import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { repoRoot, runCli } from '../helpers/cli.ts';
import { freePort, influxdFor, skipUnlessInfluxd } from '../helpers/influxd.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { until } from '../helpers/seedlink-server.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const devFiles = ['HHE', 'HHN', 'HHZ'].map((c) =>
  sharedPath('data', 'continuous-dev', `XX.DEV1.00.${c}.mseed`),
);
const skip =
  skipUnlessShared('data', 'continuous-dev') ||
  skipUnlessShared('models', 'phasenet-original') ||
  skipUnlessInfluxd();

t.test(
  'replay with every sink: InfluxDB, a subscriber, /healthz and /metrics see the picks of the file',
  { skip },
  async (t) => {
    const influxd = await influxdFor(t);
    const dir = t.testdir();
    const port = await freePort();
    const output = join(dir, 'picks.jsonl');
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        `model: { dir: ${JSON.stringify(await originalModelDir())} }`,
        'sinks:',
        `  influx: { url: "${influxd.url}", spool: { dir: ${JSON.stringify(join(dir, 'spool'))} }, stationHealthS: 1 }`,
        '  websocket: { tokenEnv: TEST_WS_TOKEN }',
        `  http: { port: ${port} }`,
        '',
      ].join('\n'),
    );
    const env = { ...process.env, TEST_WS_TOKEN: 'let-me-in', PHASESTREAM_LOG_LEVEL: 'warn' };
    const bin = resolve(repoRoot, 'bin/phasestream.js');
    // Paced so that the server lives long enough for a subscriber to join halfway.
    const replay = spawn(
      process.execPath,
      [bin, 'replay', ...devFiles, '--config', config, '--output', output, '--speed', '1000'],
      {
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let replayErr = '';
    replay.stderr.on('data', (d) => {
      replayErr += d;
    });
    const replayDone = new Promise<number | null>((r) => replay.once('exit', r));
    t.teardown(() => replay.kill('SIGKILL'));

    // Subscribers started with the replay wait for its server; one holds the token, one does not.
    const subscriber = spawn(
      process.execPath,
      [
        bin,
        'subscribe',
        `ws://127.0.0.1:${port}/ws`,
        '--since',
        '2000-01-01',
        '--token-env',
        'TEST_WS_TOKEN',
      ],
      { env, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    t.teardown(() => subscriber.kill('SIGKILL'));
    let received = '';
    subscriber.stdout.on('data', (d) => {
      received += d;
    });
    const refused = runCli(['subscribe', `ws://127.0.0.1:${port}/ws`], { env: { TEST_WS_TOKEN: '' } });

    const base = `http://127.0.0.1:${port}`;
    while (
      !(await fetch(`${base}/healthz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (replay.exitCode !== null) throw new Error(`replay ended before serving: ${replayErr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    t.match(metrics, /^phasestream_records_total \d+/m, 'records counted');
    t.match(metrics, /^phasestream_influx_spool_points \d+/m, 'spool backlog exported');
    t.match(metrics, /^phasestream_ws_clients \d+/m, 'subscribers exported');
    const health = await (await fetch(`${base}/healthz`)).json();
    t.match(health, { status: 'ok', influx: { backlogPoints: Number }, websocket: { clients: Number } });

    const refusal = await refused;
    t.equal(refusal.code, 1, 'the subscriber without the token ends');
    t.match(refusal.stderr, /refused the subscription \(401/);
    t.equal(await replayDone, 0, replayErr);
    const expected = readFileSync(output, 'utf8');
    t.ok(expected.split('\n').length > 100, 'the replay picked');
    // On a timeout, the comparison below shows what is missing.
    await until(() => received.length >= expected.length, 10_000, 'every pick').catch(() => {});
    t.equal(received, expected, 'the subscriber printed the picks of the file, in order');

    const series = await influxd.query('SELECT probability, station, phase FROM picks', 'phasestream');
    const stored = series[0].values.map(
      ([time, probability, station, phase]) => `${station} ${phase} ${time} ${probability}`,
    );
    const fromFile = expected
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .map(
        (p) =>
          `${p.station} ${p.phase} ${Date.parse(p.time) * 1000 + Number(p.time.slice(23, 26))} ${p.probability}`,
      )
      .sort();
    t.same(stored.sort(), fromFile, 'InfluxDB holds the picks of the file, once each');
    const healthSeries = await influxd.query('SELECT sum(samples) FROM station_health', 'phasestream');
    t.ok((healthSeries[0]?.values[0][1] as number) > 0, 'station health was written');
  },
);
