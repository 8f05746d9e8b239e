import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { lastValueFrom, take, toArray } from 'rxjs';
import t from 'tap';
import {
  SeedLinkClient,
  type SeedLinkClientOptions,
  seedLinkPackets,
} from '../../src/ingest/seedlink/client.ts';
import { readRecordSpan } from '../../src/ingest/seedlink/record-header.ts';
import type { SeedLinkProtocolVersion } from '../../src/ingest/seedlink/wire.ts';
import { RecordFeed } from '../helpers/seedlink/server.ts';
import {
  DEV_DATA,
  devRecords,
  hex,
  memoryLogger,
  record,
  silentLogger,
  startServer,
  tempDir,
  until,
} from '../helpers/seedlink-server.ts';
import { skipUnlessShared } from '../helpers/shared.ts';

const skip = skipUnlessShared(...DEV_DATA);

function client(
  options: Partial<SeedLinkClientOptions> & Pick<SeedLinkClientOptions, 'url'>,
): SeedLinkClient {
  return new SeedLinkClient({
    stations: [{ network: 'XX', station: 'DEV1' }],
    logger: silentLogger,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    stateFlushIntervalMs: 20,
    ...options,
  });
}

/** Commands each connection sent, by connection number. */
function commandLog(): {
  onCommand: (connection: number, command: string) => void;
  byConnection: Map<number, string[]>;
} {
  const byConnection = new Map<number, string[]>();
  return {
    byConnection,
    onCommand: (connection, command) =>
      byConnection.set(connection, [...(byConnection.get(connection) ?? []), command]),
  };
}

const variants: { transport: 'tcp' | 'ws'; protocol: SeedLinkProtocolVersion }[] = [
  { transport: 'tcp', protocol: '4.0' },
  { transport: 'ws', protocol: '3.1' },
];

for (const { transport, protocol } of variants) {
  t.test(
    `server killed and restarted mid-stream (${protocol} over ${transport}): nothing lost, nothing twice`,
    { skip, timeout: 30_000 },
    async (t) => {
      const records = await devRecords(600);
      const log = commandLog();
      const { ring, server } = await startServer({ onCommand: log.onCommand });
      t.teardown(() => server.kill());
      ring.declareStation('XX', 'DEV1');
      const c = client({ url: transport === 'tcp' ? server.tcpUrl : server.wsUrl, protocol });
      const got = record(c);
      let atDisconnect: number | undefined;
      c.events$.subscribe((e) => {
        if (e.type === 'disconnected') atDisconnect ??= got.packets.length;
      });
      c.start();
      await until(() => server.streamingCount === 1, 5000, 'the handshake');
      const feed = new RecordFeed(ring, records, { intervalMs: 2 }).start();

      await until(() => got.packets.length >= 150, 10_000, '150 packets');
      await server.kill();
      const atKill = got.packets.length;
      await new Promise((resolve) => setTimeout(resolve, 300)); // the ring fills on while the server is down
      t.ok(feed.produced > atKill, 'records were produced while the server was down');
      await server.start();
      await feed.done;
      await until(() => got.packets.length >= records.length, 10_000, 'all records');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await c.stop();

      t.equal(got.packets.length, records.length, 'as many packets as records');
      t.same(
        got.packets.map((p) => hex(p.recordBytes)),
        records.map(hex),
        'every record once, in order',
      );
      t.equal(new Set(got.packets.map((p) => p.sequence)).size, records.length, 'no sequence twice');
      const types = got.events.map((e) => e.type);
      t.ok(types.includes('disconnected') && types.includes('reconnecting'), 'it noticed and reconnected');
      t.notOk(
        got.events.some((e) => e.type === 'gap'),
        'no gap',
      );
      const resumed = [...log.byConnection.values()].slice(1).find((commands) => commands.includes('END'))!;
      const last = got.packets[atDisconnect! - 1].sequence;
      const expectedSeq =
        protocol === '4.0' ? String(last + 1n) : (last + 1n).toString(16).toUpperCase().padStart(6, '0');
      t.match(
        resumed.find((cmd) => cmd.startsWith('DATA')),
        new RegExp(`^DATA ${expectedSeq} \\S+$`),
        'resumed with seq and time',
      );
    },
  );
}

t.test('a restarted client resumes from its state file', { skip, timeout: 30_000 }, async (t) => {
  const records = await devRecords(400);
  const stateFile = join(await tempDir(t), 'seedlink-state.json');
  const log = commandLog();
  const { ring, server } = await startServer({ onCommand: log.onCommand });
  t.teardown(() => server.kill());
  ring.declareStation('XX', 'DEV1');
  const first = client({ url: server.tcpUrl, stateFile });
  const a = record(first);
  first.start();
  await until(() => server.streamingCount === 1, 5000, 'the handshake');
  const feed = new RecordFeed(ring, records, { intervalMs: 2 }).start();
  await until(() => a.packets.length >= 100, 10_000, '100 packets');
  await first.stop();
  const lastA = a.packets.at(-1)!;

  const saved = JSON.parse(await readFile(stateFile, 'utf8'));
  t.equal(
    saved.stations.XX_DEV1.sequence,
    String(lastA.sequence),
    'the state file holds the last sequence delivered',
  );
  t.equal(saved.stations.XX_DEV1.server, server.tcpUrl);
  t.equal(
    saved.stations.XX_DEV1.lastStartTimeUs,
    readRecordSpan(lastA.recordBytes).startTimeUs,
    'and the data start time of its packet',
  );

  await new Promise((resolve) => setTimeout(resolve, 100)); // records go on while no client listens
  const second = client({ url: server.tcpUrl, stateFile });
  const b = record(second);
  second.start();
  await feed.done;
  await until(() => a.packets.length + b.packets.length >= records.length, 10_000, 'all records');
  await second.stop();

  const all = [...a.packets, ...b.packets];
  t.same(
    all.map((p) => hex(p.recordBytes)),
    records.map(hex),
    'every record once, in order, across both clients',
  );
  t.equal(b.packets[0].sequence, lastA.sequence + 1n);
  const data = [...log.byConnection.values()][1].find((cmd) => cmd.startsWith('DATA'));
  t.match(data, new RegExp(`^DATA ${lastA.sequence + 1n} \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z$`));
  t.notOk(b.events.some((e) => e.type === 'gap'));
});

for (const protocol of ['4.0', '3.1'] as const) {
  t.test(
    `${protocol}: a sequence that left the ring resumes by time, and the gap is logged`,
    { skip, timeout: 30_000 },
    async (t) => {
      const records = await devRecords(260);
      const stateFile = join(await tempDir(t), 'state.json');
      const serverLog = memoryLogger();
      const { ring, server } = await startServer({ capacityPerStation: 100, logger: serverLog.logger });
      t.teardown(() => server.kill());
      ring.declareStation('XX', 'DEV1');

      const first = client({ url: server.tcpUrl, protocol, stateFile });
      const a = record(first);
      first.start();
      await until(() => server.streamingCount === 1, 5000, 'the handshake');
      await new RecordFeed(ring, records.slice(0, 60)).start().done;
      await until(() => a.packets.length === 60, 10_000, '60 packets');
      await first.stop();

      // 200 more records: the ring (100) now holds sequences 161..260, the client's next (61) is gone.
      await new RecordFeed(ring, records.slice(60)).start().done;
      t.equal(ring.oldestSequence('XX_DEV1'), 161n);

      const { logger, entries } = memoryLogger();
      const second = client({ url: server.tcpUrl, protocol, stateFile, logger });
      const b = record(second);
      second.start();
      await until(() => b.packets.length >= 100, 10_000, 'the ring content');
      await new Promise((resolve) => setTimeout(resolve, 50));
      await second.stop();

      t.same(
        b.packets.map((p) => hex(p.recordBytes)),
        records.slice(160).map(hex),
        'everything the ring still held, nothing more',
      );
      t.equal(b.packets[0].sequence, 161n);
      const gap = b.events.find((e) => e.type === 'gap');
      t.match(gap, {
        stationKey: 'XX_DEV1',
        expectedSequence: 61n,
        receivedSequence: 161n,
        skippedSequences: 100n,
      });
      const warning = entries.find(
        (l) => l.level === 40 && l.station === 'XX_DEV1' && l.skippedSequences === '100',
      );
      t.ok(warning, 'a warning names the station and the number of packets skipped');
      t.match(warning, { expectedSequence: '61', receivedSequence: '161' });
      t.ok(
        (warning?.resumedStartTime as string) > (warning?.lastStartTime as string),
        'and the times around the gap',
      );
      t.ok(
        serverLog.entries.some((l) => l.msg.includes('positioning by time')),
        'the server positioned by time',
      );
    },
  );
}

t.test(
  'the server without a time skips a sequence that left its ring (what the time defends against)',
  { skip, timeout: 10_000 },
  async (t) => {
    const records = await devRecords(201);
    const { ring, server } = await startServer({ capacityPerStation: 100 });
    t.teardown(() => server.kill());
    await new RecordFeed(ring, records.slice(0, 200)).start().done;
    const socket = connect(server.port, '127.0.0.1');
    t.teardown(() => socket.destroy());
    let received = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.write('STATION DEV1 XX\r\nDATA 00003D\r\nEND\r\n');
    await until(() => server.streamingCount === 1, 5000, 'END');
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.equal(received.toString('latin1'), 'OK\r\nOK\r\n', 'OK, and none of the 100 packets in the ring');
    ring.append(records[200]);
    await until(() => received.length === 8 + 520, 5000, 'the next packet');
    t.equal(received.subarray(8, 16).toString('latin1'), 'SL0000C9', 'only the next packet, 201');
  },
);

for (const protocol of ['4.0', '3.1'] as const) {
  t.test(
    `${protocol}: a silent server is detected and the client reconnects without loss`,
    { skip, timeout: 30_000 },
    async (t) => {
      const records = await devRecords(400);
      const { ring, server } = await startServer();
      t.teardown(() => server.kill());
      ring.declareStation('XX', 'DEV1');
      const { logger, entries } = memoryLogger();
      const c = client({ url: server.tcpUrl, protocol, idleTimeoutS: 0.4, keepaliveIntervalS: 0.15, logger });
      const got = record(c);
      c.start();
      await until(() => server.streamingCount === 1, 5000, 'the handshake');
      const feed = new RecordFeed(ring, records, { intervalMs: 2 }).start();
      await until(() => got.packets.length >= 100, 10_000, '100 packets');
      const started = Date.now();
      server.silence();
      await until(() => got.events.some((e) => e.type === 'disconnected'), 5000, 'the client to give up');
      t.ok(Date.now() - started >= 300, 'not before the idle timeout');
      t.match(
        got.events.find((e) => e.type === 'disconnected'),
        { reason: 'idle' },
      );
      t.ok(entries.some((l) => l.level === 40 && /silent/.test(l.msg)));
      await feed.done;
      await until(() => got.packets.length >= records.length, 10_000, 'all records');
      await c.stop();
      t.same(
        got.packets.map((p) => hex(p.recordBytes)),
        records.map(hex),
        'every record once, in order',
      );
    },
  );

  t.test(`${protocol}: keep-alives hold a quiet connection open`, { skip, timeout: 30_000 }, async (t) => {
    const records = await devRecords(40);
    const log = commandLog();
    const { ring, server } = await startServer({ onCommand: log.onCommand });
    t.teardown(() => server.kill());
    ring.declareStation('XX', 'DEV1');
    const c = client({ url: server.wsUrl, protocol, idleTimeoutS: 0.8, keepaliveIntervalS: 0.2 });
    const got = record(c);
    c.start();
    await until(() => server.streamingCount === 1, 5000, 'the handshake');
    const feed = new RecordFeed(ring, records, { intervalMs: 5 }).start();
    await until(() => got.packets.length >= 20, 5000, '20 packets');
    feed.pause();
    const paused = feed.produced;
    await new Promise((resolve) => setTimeout(resolve, 2000)); // two and a half idle timeouts without data
    t.equal(feed.produced, paused, 'nothing produced while paused');
    feed.resume();
    await feed.done;
    await until(() => got.packets.length >= records.length, 5000, 'all records');
    await c.stop();
    const keepalives = [...log.byConnection.values()].flat().filter((cmd) => cmd === 'INFO ID').length;
    t.ok(keepalives >= 3, `INFO ID sent while quiet (${keepalives})`);
    t.notOk(
      got.events.some((e) => e.type === 'disconnected'),
      'the INFO answers kept it alive',
    );
    t.equal(log.byConnection.size, 1, 'one connection');
    t.equal(got.packets.length, records.length);
  });
}

t.test(
  'seedLinkPackets(): subscribing connects, unsubscribing closes and saves the state',
  { skip, timeout: 20_000 },
  async (t) => {
    const records = await devRecords(100);
    const stateFile = join(await tempDir(t), 'state.json');
    const { ring, server } = await startServer();
    t.teardown(() => server.kill());
    ring.declareStation('XX', 'DEV1');
    const packets = lastValueFrom(
      seedLinkPackets({
        url: server.tcpUrl,
        stations: [{ network: 'XX', station: 'DEV1' }],
        stateFile,
        logger: silentLogger,
      }).pipe(take(40), toArray()),
    );
    await until(() => server.streamingCount === 1, 5000, 'the handshake');
    new RecordFeed(ring, records).start();
    const got = await packets;
    t.same(
      got.map((p) => hex(p.recordBytes)),
      records.slice(0, 40).map(hex),
    );
    await until(() => server.connectionCount === 0, 5000, 'the connection to close');
    const readState = () => readFile(stateFile, 'utf8').then(JSON.parse, () => undefined);
    let state = await readState();
    for (let i = 0; i < 100 && state?.stations.XX_DEV1.sequence !== '40'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      state = await readState();
    }
    t.equal(
      state?.stations.XX_DEV1.sequence,
      '40',
      'the state file says where to resume: after the last packet taken',
    );
  },
);
