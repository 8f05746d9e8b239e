/**
 * A PhaseStream process that spools picks for an InfluxDB that is down, says how many it spooled and
 * then waits to be killed: the crash in `test/sink/influx.test.ts`. Argument: JSON InfluxSink options
 * (url, spool dir) and the number of picks.
 */
import { InfluxSink } from '../../src/sink/influx/influx-sink.ts';
import { testPicks } from './picks.ts';
import { silentLogger } from './seedlink-server.ts';

const { url, spoolDir, count } = JSON.parse(process.argv[2]) as {
  url: string;
  spoolDir: string;
  count: number;
};
const sink = InfluxSink.open({
  url,
  database: 'phasestream',
  retentionPolicy: { name: 'picks', duration: 'INF', replication: 1 },
  batchSize: 100,
  flushIntervalMs: 50,
  retryInitialMs: 50,
  retryMaxMs: 200,
  requestTimeoutMs: 1000,
  spool: { dir: spoolDir, maxBytes: 1 << 24 },
  logger: silentLogger,
});
for (const pick of testPicks(count)) sink.writePick(pick);
process.stdout.write(`spooled ${sink.stats().backlogPoints}\n`);
setInterval(() => {}, 1000);
