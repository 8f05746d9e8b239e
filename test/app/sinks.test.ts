import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { PickSinks } from '../../src/app/sinks.ts';
import { checkConfig } from '../../src/config/load.ts';
import { PickFile } from '../../src/sink/pick-file.ts';
import { freePort } from '../helpers/influxd.ts';
import { testPicks } from '../helpers/picks.ts';
import { until } from '../helpers/seedlink-server.ts';

t.test('live picks are counted with their latency; /healthz says when InfluxDB is away', async (t) => {
  const dir = t.testdir();
  const unreachable = `http://127.0.0.1:${await freePort()}`;
  const config = checkConfig({
    sinks: {
      influx: { url: unreachable, spool: { dir: join(dir, 'spool') }, retryInitialMs: 20, drainTimeoutS: 0 },
      http: { port: 0 },
    },
  });
  const file = new PickFile(join(dir, 'picks.jsonl'), 'jsonl');
  const sinks = await PickSinks.open(config, file, { live: true, classes: ['noise', 'P', 'S'] });
  const base = sinks.url as string;
  t.match(base, /^http:\/\/127\.0\.0\.1:\d+$/, 'served on loopback');
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'healthy before any write failed');

  const [pick] = testPicks(1);
  const made = { ...pick, timeUs: (Date.now() - 12_000) * 1000 }; // picked 12 s after its time
  await sinks.write(made);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  t.match(metrics, /^phasestream_picks_total\{phase="P"\} 1$/m);
  t.match(metrics, /^phasestream_pick_latency_seconds_bucket\{le="10"\} 0$/m, 'latency above 10 s...');
  t.match(metrics, /^phasestream_pick_latency_seconds_bucket\{le="15"\} 1$/m, '...and below 15 s');
  t.match(metrics, /^phasestream_influx_spool_points 1$/m, 'the pick waits in the spool');

  await until(() => sinks.healthz().status === 'degraded', 5000, 'a failed write');
  const response = await fetch(`${base}/healthz`);
  t.equal(response.status, 503);
  t.match(await response.json(), {
    status: 'degraded',
    problems: ['InfluxDB is not taking points'],
    picks: 1,
  });
  t.equal((await fetch(`${base}/nothing`)).status, 404);

  await sinks.close();
  await file.close();
  t.equal(readFileSync(join(dir, 'picks.jsonl'), 'utf8').split('\n').length, 2, 'the file has the pick');
  await t.rejects(fetch(`${base}/healthz`), 'the server is gone after close');
});

t.test("records counted one by one and a replay shard's counts per stream add up the same", async (t) => {
  const dir = t.testdir();
  const config = checkConfig({ sinks: { http: { port: 0 } } });
  const file = new PickFile(join(dir, 'picks.jsonl'), 'jsonl');
  const sinks = await PickSinks.open(config, file, { live: false, classes: ['noise', 'P', 'S'] });
  t.teardown(async () => {
    await sinks.close();
    await file.close();
  });
  const streamId = { network: 'XX', station: 'A', location: '00', channel: 'HHZ' };
  for (let i = 0; i < 3; i++) {
    sinks.record({ streamId, startTimeUs: i * 4e6, samplingRate: 100, samples: new Float64Array(400) });
  }
  sinks.countRecords(streamId, 5, 2000, 32e6);
  const metrics = await (await fetch(`${sinks.url}/metrics`)).text();
  t.match(metrics, /^phasestream_records_total 8$/m, 'three records and five counted');
  t.match(metrics, /^phasestream_samples_total 3200$/m, 'and their samples');
});
