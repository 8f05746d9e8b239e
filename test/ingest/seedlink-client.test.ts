import { type AddressInfo, connect, createServer } from 'node:net';
import t from 'tap';
import { SeedLinkClient, type SeedLinkClientOptions } from '../../src/ingest/seedlink/client.ts';
import { SeedLinkCommandError, SeedLinkUnsupportedError } from '../../src/ingest/seedlink/errors.ts';
import { readRecordSpan } from '../../src/ingest/seedlink/record-header.ts';
import type { SeedLinkProtocolVersion } from '../../src/ingest/seedlink/wire.ts';
import { RecordFeed, SeedLinkRing } from '../helpers/seedlink/server.ts';
import {
  DEV_DATA,
  devRecords,
  hex,
  memoryLogger,
  record,
  silentLogger,
  startServer,
  until,
  withStation,
} from '../helpers/seedlink-server.ts';
import { skipUnlessShared } from '../helpers/shared.ts';
import { lcg } from '../stream/marbles.ts';

const skip = skipUnlessShared(...DEV_DATA);
const PROTOCOLS: SeedLinkProtocolVersion[] = ['3.1', '4.0'];

function client(
  options: Partial<SeedLinkClientOptions> & Pick<SeedLinkClientOptions, 'url'>,
): SeedLinkClient {
  return new SeedLinkClient({
    stations: [{ network: 'XX', station: 'DEV1' }],
    logger: silentLogger,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    ...options,
  });
}

for (const transport of ['tcp', 'ws'] as const) {
  for (const protocol of PROTOCOLS) {
    t.test(
      `SeedLink ${protocol} over ${transport} delivers every record, in order`,
      { skip, timeout: 20_000 },
      async (t) => {
        const records = await devRecords(300);
        const { ring, server } = await startServer();
        t.teardown(() => server.stop());
        ring.declareStation('XX', 'DEV1');
        const c = client({ url: transport === 'tcp' ? server.tcpUrl : server.wsUrl, protocol });
        const got = record(c);
        c.start();
        await until(() => server.streamingCount === 1, 5000, 'the handshake');
        new RecordFeed(ring, records, { intervalMs: 1 }).start();
        await until(() => got.packets.length >= records.length, 10_000, 'all records');
        await c.stop();

        t.equal(got.packets.length, records.length, 'no more, no fewer');
        t.same(
          got.packets.map((p) => hex(p.recordBytes)),
          records.map(hex),
          'the same bytes, in order',
        );
        t.same(
          got.packets.map((p) => p.sequence),
          records.map((_, i) => BigInt(i + 1)),
          'consecutive sequence numbers',
        );
        t.ok(
          got.packets.every(
            (p) => p.protocol === protocol && p.stationKey === 'XX_DEV1' && p.network === 'XX',
          ),
        );
        t.match(
          got.events.find((e) => e.type === 'streaming'),
          { protocol, transport, stations: ['XX_DEV1'] },
        );
        t.equal(await got.error, undefined, 'stop() completes the packets');
      },
    );
  }
}

t.test(
  '512-byte record packets cut anywhere across reads (a relay re-cuts the stream) arrive whole, in order',
  { skip, timeout: 30_000 },
  async (t) => {
    const records = await devRecords(200);
    const { ring, server } = await startServer();
    t.teardown(() => server.stop());
    ring.declareStation('XX', 'DEV1');
    // A real TCP relay between server and client that writes what it gets in pieces of 1 to 1,500
    // bytes, a turn of the event loop apart, so that the client's reads end anywhere in a packet.
    const upstream = new URL(server.tcpUrl);
    const random = lcg(7);
    const relay = createServer((downstream) => {
      downstream.setNoDelay(true);
      const up = connect(Number(upstream.port), upstream.hostname);
      let queue = Promise.resolve();
      up.on('data', (chunk: Buffer) => {
        up.pause();
        queue = queue.then(async () => {
          for (let at = 0; at < chunk.length; ) {
            const size = 1 + Math.floor(random() * 1500);
            downstream.write(chunk.subarray(at, at + size));
            at += size;
            await new Promise((resolve) => setImmediate(resolve));
          }
          up.resume();
        });
      });
      downstream.on('data', (command) => up.write(command));
      const close = () => {
        up.destroy();
        downstream.destroy();
      };
      up.on('close', close);
      downstream.on('close', close);
      up.on('error', close);
      downstream.on('error', close);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    t.teardown(() => relay.close());
    const c = client({ url: `tcp://127.0.0.1:${(relay.address() as AddressInfo).port}`, protocol: '4.0' });
    const got = record(c);
    c.start();
    await until(() => server.streamingCount === 1, 5000, 'the handshake');
    new RecordFeed(ring, records, { intervalMs: 0 }).start();
    await until(() => got.packets.length >= records.length, 20_000, 'all records');
    await c.stop();
    t.same(
      got.packets.map((p) => hex(p.recordBytes)),
      records.map(hex),
      'the same bytes, in order, none more',
    );
  },
);

t.test(
  'protocol negotiation from HELLO and the WebSocket subprotocol',
  { skip, timeout: 20_000 },
  async (t) => {
    const cases: {
      server: SeedLinkProtocolVersion[];
      client: 'auto' | SeedLinkProtocolVersion;
      transport: 'tcp' | 'ws';
      expect: SeedLinkProtocolVersion;
    }[] = [
      { server: ['3.1', '4.0'], client: 'auto', transport: 'tcp', expect: '4.0' },
      { server: ['3.1'], client: 'auto', transport: 'tcp', expect: '3.1' },
      { server: ['3.1', '4.0'], client: 'auto', transport: 'ws', expect: '4.0' },
      { server: ['3.1'], client: 'auto', transport: 'ws', expect: '3.1' },
      { server: ['3.1', '4.0'], client: '3.1', transport: 'ws', expect: '3.1' },
    ];
    for (const c of cases) {
      const { ring, server } = await startServer({ protocols: c.server });
      ring.declareStation('XX', 'DEV1');
      const sl = client({ url: c.transport === 'tcp' ? server.tcpUrl : server.wsUrl, protocol: c.client });
      const got = record(sl);
      sl.start();
      await until(() => got.events.some((e) => e.type === 'streaming'), 5000, 'the handshake');
      await sl.stop();
      await server.kill();
      t.match(
        got.events.find((e) => e.type === 'streaming'),
        { protocol: c.expect },
        JSON.stringify(c),
      );
    }
    for (const transport of ['tcp', 'ws'] as const) {
      const { ring, server } = await startServer({ protocols: ['3.1'] });
      ring.declareStation('XX', 'DEV1');
      const sl = client({ url: transport === 'tcp' ? server.tcpUrl : server.wsUrl, protocol: '4.0' });
      const got = record(sl);
      sl.start();
      const error = await got.error;
      await server.kill();
      t.type(
        error,
        SeedLinkUnsupportedError,
        `${transport}: a v4-only client and a v3-only server give up at once`,
      );
      t.notOk(
        got.events.some((e) => e.type === 'reconnecting'),
        `${transport}: no reconnect loop`,
      );
    }
  },
);

for (const protocol of PROTOCOLS) {
  t.test(
    `SeedLink ${protocol}: wildcards select stations and streams`,
    { skip, timeout: 20_000 },
    async (t) => {
      const base = await devRecords(90);
      const served = base.flatMap((r) => [
        r,
        withStation(r, 'XX', 'DEV2'),
        withStation(r, 'YY', 'DEV1'),
        withStation(r, 'XX', 'OTHER'),
      ]);
      const { ring, server } = await startServer();
      t.teardown(() => server.kill());
      for (const [net, sta] of [
        ['XX', 'DEV1'],
        ['XX', 'DEV2'],
        ['YY', 'DEV1'],
        ['XX', 'OTHER'],
      ])
        ring.declareStation(net, sta);
      const c = client({
        url: server.tcpUrl,
        protocol,
        stations: [
          {
            network: 'XX',
            station: 'DEV?',
            selectors: [{ channel: 'HH?' }, { channel: 'HHN', exclude: true }],
          },
          { network: 'Y*', station: '*', selectors: [{ location: '00', channel: '*Z' }] },
        ],
      });
      const got = record(c);
      c.start();
      await until(() => server.streamingCount === 1, 5000, 'the handshake');
      const expected = served.filter((r) => {
        const h = readRecordSpan(r);
        if (h.network === 'XX' && /^DEV.$/.test(h.station)) return h.channel !== 'HHN';
        return h.network === 'YY' && h.channel === 'HHZ';
      });
      await new RecordFeed(ring, served, { intervalMs: 0.5 }).start().done;
      await until(() => got.packets.length >= expected.length, 10_000, 'the selected records');
      await new Promise((resolve) => setTimeout(resolve, 100)); // anything unselected would arrive by now
      await c.stop();

      const key = (bytes: Uint8Array) => {
        const h = readRecordSpan(bytes);
        return `${h.network}.${h.station}.${h.channel}:${hex(bytes).slice(96, 160)}`;
      };
      t.same(
        got.packets.map((p) => key(p.recordBytes)).sort(),
        expected.map(key).sort(),
        'exactly the selected records',
      );
      t.same(new Set(got.packets.map((p) => p.stationKey)), new Set(['XX_DEV1', 'XX_DEV2', 'YY_DEV1']));
      for (const station of ['XX_DEV1', 'XX_DEV2', 'YY_DEV1']) {
        const seqs = got.packets.filter((p) => p.stationKey === station).map((p) => p.sequence);
        t.ok(
          seqs.every((s, i) => i === 0 || s > seqs[i - 1]),
          `${station}: sequence numbers increase`,
        );
      }
    },
  );
}

for (const protocol of PROTOCOLS) {
  t.test(
    `SeedLink ${protocol}: a refused station is a clear, typed error`,
    { timeout: 20_000 },
    async (t) => {
      const { ring, server } = await startServer();
      t.teardown(() => server.kill());
      ring.declareStation('XX', 'DEV1');
      const { logger, entries } = memoryLogger();
      const c = client({
        url: server.tcpUrl,
        protocol,
        stations: [{ network: 'XX', station: 'NOPE' }],
        logger,
      });
      const got = record(c);
      c.start();
      const error = await got.error;
      t.type(error, SeedLinkCommandError);
      const e = error as SeedLinkCommandError;
      t.equal(e.stationKey, 'XX_NOPE');
      t.equal(e.command, protocol === '4.0' ? 'STATION XX_NOPE' : 'STATION NOPE XX');
      t.match(e.message, new RegExp(`refused "${e.command}" for station XX_NOPE: ERROR`));
      if (protocol === '4.0') {
        t.equal(e.code, 'ARGUMENTS');
        t.match(e.reply, /unknown station XX_NOPE/);
      } else {
        t.equal(e.reply, 'ERROR');
      }
      t.ok(e.hint, 'with a hint');
      t.ok(got.events.some((ev) => ev.type === 'command-error' && ev.error === e));
      t.notOk(
        got.events.some((ev) => ev.type === 'reconnecting'),
        'a configuration error is not retried',
      );
      t.ok(entries.some((l) => l.level >= 50 && l.station === 'XX_NOPE' && l.command === e.command));
    },
  );
}

t.test(
  'one refused station among others: logged and reported, the others stream',
  { skip, timeout: 20_000 },
  async (t) => {
    const records = await devRecords(30);
    const { ring, server } = await startServer();
    t.teardown(() => server.kill());
    ring.declareStation('XX', 'DEV1');
    const { logger, entries } = memoryLogger();
    const c = client({
      url: server.wsUrl,
      stations: [
        { network: 'XX', station: 'NOPE' },
        { network: 'XX', station: 'DEV1' },
      ],
      logger,
    });
    const got = record(c);
    c.start();
    await until(() => server.streamingCount === 1, 5000, 'the handshake');
    new RecordFeed(ring, records).start();
    await until(() => got.packets.length === records.length, 10_000, 'the records of XX_DEV1');
    await c.stop();
    const refused = got.events.find((e) => e.type === 'command-error');
    t.match(refused, { error: { stationKey: 'XX_NOPE', command: 'STATION XX_NOPE', code: 'ARGUMENTS' } });
    t.match(
      got.events.find((e) => e.type === 'streaming'),
      { stations: ['XX_DEV1'] },
    );
    t.ok(entries.some((l) => l.level === 50 && l.station === 'XX_NOPE'));
    t.equal(await got.error, undefined);
  },
);

t.test(
  'the record feed paces records by their end times at `speed` times real time',
  { skip, timeout: 20_000 },
  async (t) => {
    const records = await devRecords(30);
    const ends = records.map((r) => readRecordSpan(r).endTimeUs);
    const spanMs = (ends.at(-1)! - ends[0]) / 1000;
    const speed = spanMs / 400; // the whole span in 400 ms
    const ring = new SeedLinkRing();
    const appendedAt: number[] = [];
    ring.subscribe(() => appendedAt.push(performance.now()));
    const started = performance.now();
    await new RecordFeed(ring, records, { speed }).start().done;
    t.equal(appendedAt.length, records.length);
    t.ok(
      appendedAt.at(-1)! - started >= 390,
      `the last record comes after the span (${appendedAt.at(-1)! - started} ms)`,
    );
    const halfway = records.findIndex((_, i) => (ends[i] - ends[0]) / 1000 / speed >= 200);
    t.ok(appendedAt[halfway] - started >= 195, 'a record in the middle comes in the middle');
    t.same(
      [...Array(records.length).keys()].map((i) => hex(ring.get('XX_DEV1', BigInt(i + 1))!.record)),
      records.map(hex),
      'in order, sequence numbers from 1',
    );
  },
);
