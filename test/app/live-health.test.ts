import { Registry } from 'prom-client';
import t from 'tap';
import { LiveHealth } from '../../src/app/live-health.ts';
import type { SequenceRecord } from '../../src/stream/index.ts';
import { memoryLogger } from '../helpers/seedlink-server.ts';

const record = (station: string, startTimeUs: number): SequenceRecord => ({
  streamId: { network: 'XX', station, location: '00', channel: 'HHZ' },
  startTimeUs,
  samplingRate: 100,
  samples: new Int32Array(100),
});

t.test(
  'silence, gaps and connections in /healthz and /metrics; the log says silent and back once',
  async (t) => {
    let now = 1_000_000;
    const { logger, entries } = memoryLogger();
    const health = new LiveHealth({
      silentAfterS: 60,
      expected: ['XX.A', 'XX.NEVER'],
      logger,
      clock: () => now,
    });
    t.teardown(() => health.close());
    const server = 'tcp://127.0.0.1:18000';
    health.connectionEvent(server, { type: 'connecting', server, attempt: 0 });
    health.connectionEvent(server, {
      type: 'streaming',
      server,
      protocol: '4.0',
      transport: 'tcp',
      stations: [],
    });
    health.connectionEvent(server, { type: 'packet', stationKey: 'XX_A', sequence: 1n });
    health.record(record('A', now * 1000 - 3_000_000));
    health.channelEvent({
      kind: 'gap',
      streamId: { network: 'XX', station: 'A', location: '00', channel: 'HHZ' },
    } as never);
    now += 30_000;
    health.check();
    t.same(health.problems(), [], 'all well after 30 s');
    t.match(health.stationsReport()['XX.A'], {
      lastSampleAgeS: 32,
      lastArrivalAgeS: 30,
      gaps: 1,
      silent: false,
    });

    now += 31_000;
    health.check();
    health.check();
    t.same(health.problems(), ['station XX.A is silent', 'station XX.NEVER is silent'], 'silent after 60 s');
    t.equal(entries.filter((e) => e.msg === 'station went silent').length, 1, 'logged once');
    t.equal(
      entries.filter((e) => e.msg === 'station has sent nothing yet').length,
      1,
      'a station that never sent',
    );

    health.connectionEvent(server, {
      type: 'disconnected',
      server,
      reason: 'closed',
      error: new Error('ECONNREFUSED'),
    });
    health.connectionEvent(server, { type: 'reconnecting', server, attempt: 1, delayMs: 1000 });
    t.match(health.problems()[0], `SeedLink ${server} is disconnected: ECONNREFUSED`);
    t.match(health.connectionsReport()[server], { state: 'disconnected', reconnects: 1, lastPacketAgeS: 61 });

    health.record(record('A', now * 1000));
    t.equal(entries.filter((e) => e.msg === 'station is sending again').length, 1, 'back, once');
    const registry = new Registry();
    health.register(registry);
    const metrics = await registry.metrics();
    t.match(metrics, `phasestream_seedlink_connected{server="${server}"} 0`);
    t.match(metrics, `phasestream_seedlink_reconnects{server="${server}"} 1`);
    t.match(metrics, 'phasestream_station_gaps{station="XX.A"} 1');
    t.match(metrics, 'phasestream_station_silent{station="XX.A"} 0');
    t.match(metrics, 'phasestream_station_silent{station="XX.NEVER"} 1');
    t.match(metrics, /phasestream_station_last_sample_age_seconds\{station="XX.A"\} -1\n/);
  },
);
