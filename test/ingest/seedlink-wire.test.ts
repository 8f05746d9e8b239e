import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { WaveformFormatError } from '../../src/errors.ts';
import { backoffDelayMs, DEFAULT_BACKOFF } from '../../src/ingest/seedlink/client.ts';
import { SeedLinkProtocolError, SeedLinkStateError } from '../../src/ingest/seedlink/errors.ts';
import { readRecordSpan } from '../../src/ingest/seedlink/record-header.ts';
import { SeedLinkResumeState, writeFileAtomic } from '../../src/ingest/seedlink/state.ts';
import {
  chooseProtocol,
  encodeV3InfoPacket,
  encodeV3Packet,
  encodeV4Packet,
  formatDataCommand,
  formatV3Time,
  formatV4Time,
  globToRegExp,
  parseDataArguments,
  parseHello,
  parseSeedLinkTime,
  parseSelector,
  readLine,
  readPacket,
  type StreamSelector,
  selectorsMatch,
  selectorToV3,
  selectorToV4,
  v4StreamId,
} from '../../src/ingest/seedlink/wire.ts';
import { DEV_DATA, silentLogger, tempDir } from '../helpers/seedlink-server.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const T0_US = Date.UTC(2011, 2, 31) * 1000; // 2011-03-31T00:00:00Z, the start of the dev data

t.test(
  'record span: the station and the time span SeedLink needs, from the header',
  { skip: skipUnlessShared(...DEV_DATA) },
  async (t) => {
    const bytes = await readFile(sharedPath('data', 'continuous-dev', 'XX.DEV1.00.HHZ.mseed'));
    // Fixed header bytes: 2011 day 90 00:00:00.0000, 423 samples, factor 100 multiplier 1.
    const first = readRecordSpan(bytes.subarray(0, 512));
    t.same(
      first,
      {
        network: 'XX',
        station: 'DEV1',
        location: '00',
        channel: 'HHZ',
        startTimeUs: T0_US,
        endTimeUs: T0_US + 4_230_000,
      },
      'the end is the time of the sample after the last',
    );
    // The second starts where the first ends (BTIME 00:00:04.2300) and has 443 samples.
    const second = readRecordSpan(bytes.subarray(512, 1024));
    t.equal(second.startTimeUs, first.endTimeUs);
    t.equal(second.endTimeUs, T0_US + 4_230_000 + 4_430_000);
    t.throws(() => readRecordSpan(bytes.subarray(0, 20)), WaveformFormatError);
    t.throws(() => readRecordSpan(new TextEncoder().encode('SL000001'.repeat(64))), WaveformFormatError);
  },
);

t.test('times: v3 commas rounded down to the second, v4 ISO with microseconds', async (t) => {
  const us = T0_US + 4_230_017;
  t.equal(formatV3Time(us), '2011,03,31,00,00,04');
  t.equal(formatV4Time(us), '2011-03-31T00:00:04.230017Z');
  t.equal(parseSeedLinkTime('2011,03,31,00,00,04'), T0_US + 4_000_000);
  t.equal(parseSeedLinkTime('2011,3,31,0,0,4,230017000'), us);
  t.equal(parseSeedLinkTime('2011-03-31T00:00:04.230017Z'), us);
  t.equal(parseSeedLinkTime('2011-03-31T00:00:04Z'), T0_US + 4_000_000);
  t.equal(parseSeedLinkTime('2011-03-31T00:00:04'), undefined, 'v4 times are UTC, with Z');
  t.equal(parseSeedLinkTime('2011,13,31,00,00,04'), undefined);
  t.equal(parseSeedLinkTime('yesterday'), undefined);
});

t.test('wildcards: * any run, ? one character, anchored, other characters literal', async (t) => {
  t.ok(globToRegExp('XX_DEV*').test('XX_DEV1'));
  t.notOk(globToRegExp('XX_DEV*').test('YY_DEV1'));
  t.ok(globToRegExp('DEV?').test('DEV2'));
  t.notOk(globToRegExp('DEV?').test('DEV12'));
  t.notOk(globToRegExp('A.B').test('AxB'));
  t.ok(globToRegExp('2', { prefixOnly: true }).test('2D'));
  t.notOk(globToRegExp('D', { prefixOnly: true }).test('2D'));
});

t.test('stream selectors in each protocol, and what a server makes of them', async (t) => {
  const cases: [StreamSelector, string, string][] = [
    [{ channel: 'HH?' }, 'HH?', '*_H_H_?'],
    [{ location: '00', channel: 'HHZ', type: 'D' }, '00HHZ.D', '00_H_H_Z.?D'],
    [{ channel: '*Z' }, '??Z', '*_*_Z'],
    [{ location: '', channel: 'BHZ' }, '--BHZ', '_B_H_Z'],
    [{ location: '*', channel: 'H*' }, 'H??', '*_H_*'],
    [{ channel: 'HHN', exclude: true }, '!HHN', '!*_H_H_N'],
  ];
  for (const [selector, v3, v4] of cases) {
    t.equal(selectorToV3(selector), v3, `v3 ${JSON.stringify(selector)}`);
    t.equal(selectorToV4(selector), v4, `v4 ${JSON.stringify(selector)}`);
  }
  t.throws(() => selectorToV3({ channel: 'HHZZ' }), /3-character channel/);
  t.throws(() => selectorToV3({ channel: 'H*Z*' }));
  t.throws(() => selectorToV4({ channel: 'H H' }), /bad stream selector/);
  t.throws(() => selectorToV4({ channel: 'HHZ', type: 'X' }), /bad stream selector type/);

  const streams = [
    ['00', 'HHZ'],
    ['00', 'HHN'],
    ['10', 'HHZ'],
    ['', 'BHZ'],
    ['00', 'LOG'],
  ].map(([location, channel]) => ({
    location,
    channel,
    streamId: v4StreamId(location, channel),
    format: '2',
    type: channel === 'LOG' ? 'L' : 'D',
  }));
  t.equal(streams[0].streamId, '00_H_H_Z');
  const pass = (selectors: StreamSelector[]) =>
    (['3.1', '4.0'] as const).map((version) => {
      const toWire = version === '3.1' ? selectorToV3 : selectorToV4;
      const matchers = selectors.map((s) => parseSelector(toWire(s), version));
      return streams.filter((s) => selectorsMatch(matchers, s)).map((s) => `${s.location}.${s.channel}`);
    });
  t.same(pass([]), [
    ['00.HHZ', '00.HHN', '10.HHZ', '.BHZ', '00.LOG'],
    ['00.HHZ', '00.HHN', '10.HHZ', '.BHZ', '00.LOG'],
  ]);
  t.same(pass([{ channel: 'HH?' }, { location: '10', channel: '*', exclude: true }]), [
    ['00.HHZ', '00.HHN'],
    ['00.HHZ', '00.HHN'],
  ]);
  t.same(pass([{ channel: '*Z' }]), [
    ['00.HHZ', '10.HHZ', '.BHZ'],
    ['00.HHZ', '10.HHZ', '.BHZ'],
  ]);
  t.same(pass([{ location: '', channel: 'B*' }]), [['.BHZ'], ['.BHZ']]);
  t.same(pass([{ channel: '*', type: 'D' }]), [
    ['00.HHZ', '00.HHN', '10.HHZ', '.BHZ'],
    ['00.HHZ', '00.HHN', '10.HHZ', '.BHZ'],
  ]);
  t.throws(() => parseSelector('HHZZ', '3.1'), SeedLinkProtocolError);
  t.throws(() => parseSelector('00HHZ.X', '3.1'), SeedLinkProtocolError);
  t.throws(() => parseSelector('.2D', '4.0'), SeedLinkProtocolError);
});

t.test('v3 packets: SL + 6 hex digits + 512 bytes; SLINFO; partial input waits', async (t) => {
  const record = new Uint8Array(512).map((_, i) => i % 251);
  const packet = encodeV3Packet(0x1234abcn, record);
  t.equal(new TextDecoder().decode(packet.subarray(0, 8)), 'SL234ABC', '24 low bits');
  const read = readPacket(packet, 0, '3.1')!;
  t.equal(read.length, 520);
  t.equal(read.packet.sequence, 0x234abcn);
  t.equal(read.packet.info, false);
  t.same(read.packet.payload, record);
  t.equal(readPacket(packet.subarray(0, 519), 0, '3.1'), undefined);
  const info = readPacket(encodeV3InfoPacket(record, false), 0, '3.1')!;
  t.equal(info.packet.info, true);
  t.throws(() => readPacket(new TextEncoder().encode('XX000001'), 0, '3.1'), SeedLinkProtocolError);
  t.throws(
    () => readPacket(new TextEncoder().encode(`SLZZZZZZ${' '.repeat(512)}`), 0, '3.1'),
    /bad SeedLink 3/,
  );
  t.throws(() => encodeV3Packet(1n, new Uint8Array(256)), /512-byte/);
});

t.test('v4 packets: the SE header at its spec offsets, little-endian', async (t) => {
  const payload = new Uint8Array(512).fill(7);
  const sequence = 0x0102030405060708n;
  const packet = encodeV4Packet({ format: '2', subformat: 'D', sequence, stationId: 'XX_DEV1', payload });
  t.equal(packet.length, 17 + 7 + 512);
  t.equal(new TextDecoder().decode(packet.subarray(0, 4)), 'SE2D');
  t.same([...packet.subarray(4, 8)], [0x00, 0x02, 0x00, 0x00], 'payload length 512, little-endian');
  t.same([...packet.subarray(8, 16)], [8, 7, 6, 5, 4, 3, 2, 1], 'sequence, little-endian');
  t.equal(packet[16], 7);
  t.equal(new TextDecoder().decode(packet.subarray(17, 24)), 'XX_DEV1');
  const twice = new Uint8Array([...packet, ...packet]);
  const first = readPacket(twice, 0, '4.0')!;
  t.same(
    { ...first.packet, payload: undefined },
    { info: false, sequence, stationId: 'XX_DEV1', format: '2', subformat: 'D', payload: undefined },
  );
  t.same(first.packet.payload, payload);
  t.equal(readPacket(twice, first.length, '4.0')!.packet.sequence, sequence);
  t.equal(readPacket(packet.subarray(0, 16), 0, '4.0'), undefined);
  t.equal(readPacket(packet.subarray(0, 500), 0, '4.0'), undefined);
  const json = encodeV4Packet({
    format: 'J',
    subformat: 'I',
    sequence: 0n,
    stationId: '',
    payload: new Uint8Array(2),
  });
  t.equal(readPacket(json, 0, '4.0')!.packet.info, true);
  t.throws(() => readPacket(encodeV3Packet(1n, payload), 0, '4.0'), SeedLinkProtocolError);
  const huge = packet.slice();
  new DataView(huge.buffer).setUint32(4, 0xffffffff, true);
  t.throws(() => readPacket(huge, 0, '4.0'), /payload length/);
});

t.test('reply lines end in CR, LF or CRLF', async (t) => {
  const bytes = new TextEncoder().encode('OK\r\nERROR ARGUMENTS bad\nOK\rpartial');
  const a = readLine(bytes, 0)!;
  const b = readLine(bytes, a.length)!;
  const c = readLine(bytes, a.length + b.length)!;
  t.same([a.line, b.line, c.line], ['OK', 'ERROR ARGUMENTS bad', 'OK']);
  t.equal(readLine(bytes, a.length + b.length + c.length), undefined);
});

t.test('HELLO capabilities and protocol choice', async (t) => {
  const ringserver = parseHello(
    'SeedLink v4.0 (2022.075 RingServer) :: SLPROTO:3.1 SLPROTO:4.0 CAP EXTREPLY NSWILDCARD BATCH WS:13',
    'GEOFON\r',
  );
  t.same(ringserver, {
    software: 'SeedLink v4.0 (2022.075 RingServer)',
    capabilities: ['SLPROTO:3.1', 'SLPROTO:4.0', 'CAP', 'EXTREPLY', 'NSWILDCARD', 'BATCH', 'WS:13'],
    organization: 'GEOFON',
  });
  t.equal(chooseProtocol(ringserver.capabilities, ['3.1', '4.0']), '4.0');
  t.equal(chooseProtocol(ringserver.capabilities, ['3.1']), '3.1');
  const seiscomp = parseHello('SeedLink v3.3 (2019.252)', 'GFZ');
  t.same(seiscomp.capabilities, []);
  t.equal(chooseProtocol(seiscomp.capabilities, ['3.1', '4.0']), '3.1', 'no SLPROTO flags: v3');
  t.equal(chooseProtocol(seiscomp.capabilities, ['4.0']), undefined);
  t.equal(chooseProtocol(['SLPROTO:4.0'], ['3.1']), undefined, 'a v4-only server');
  t.throws(() => parseHello('HTTP/1.1 400 Bad Request', ''), SeedLinkProtocolError);
});

t.test(
  'DATA commands as ringserver takes them: after a packet with its start, by time with TIME or DATA ALL',
  async (t) => {
    const timeUs = T0_US + 4_230_000;
    t.equal(formatDataCommand('4.0', {}), 'DATA');
    t.equal(
      formatDataCommand('4.0', { lastSequence: 41n, lastStartTimeUs: timeUs }),
      'DATA 42 2011-03-31T00:00:04.230000Z',
      'the next sequence and the start of the last packet received',
    );
    t.equal(formatDataCommand('4.0', { lastSequence: 41n }), 'DATA 42');
    t.equal(
      formatDataCommand('4.0', { timeUs }),
      'DATA ALL 2011-03-31T00:00:04.230000Z',
      'time only on 4.0: DATA ALL, never DATA -1 (ringserver: "Invalid sequence number")',
    );
    t.equal(formatDataCommand('3.1', {}), 'DATA');
    t.equal(
      formatDataCommand('3.1', { lastSequence: 0x1234n, lastStartTimeUs: timeUs }),
      'DATA 001235 2011,03,31,00,00,04',
    );
    t.equal(formatDataCommand('3.1', { lastSequence: 0xffffffn }), 'DATA 000000', 'wraps at 24 bits');
    t.equal(formatDataCommand('3.1', { timeUs }), 'TIME 2011,03,31,00,00,04', 'time only on 3.1: TIME');

    t.same(parseDataArguments(['001235', '2011,03,31,00,00,04'], '3.1'), {
      sequence: 0x1235n,
      all: false,
      lowBitsOnly: true,
      startTimeUs: T0_US + 4_000_000,
      endTimeUs: undefined,
    });
    t.same(parseDataArguments(['42', '2011-03-31T00:00:04.230000Z'], '4.0'), {
      sequence: 42n,
      all: false,
      lowBitsOnly: false,
      startTimeUs: timeUs,
      endTimeUs: undefined,
    });
    t.same(parseDataArguments(['ALL', '2011-03-31T00:00:04.230000Z'], '4.0'), {
      sequence: undefined,
      all: true,
      lowBitsOnly: false,
      startTimeUs: timeUs,
      endTimeUs: undefined,
    });
    t.throws(
      () => parseDataArguments(['-1'], '4.0'),
      /Invalid sequence number/,
      'ringserver refuses DATA -1',
    );
    t.equal(parseDataArguments([], '3.1').sequence, undefined);
    t.throws(() => parseDataArguments(['12AB'], '4.0'), SeedLinkProtocolError);
    t.throws(() => parseDataArguments(['1234567'], '3.1'), SeedLinkProtocolError);
    t.throws(() => parseDataArguments(['42', 'noon'], '4.0'), /bad time/);
    t.throws(() => parseDataArguments(['1', '2011,03,31,00,00,04', 'x'], '3.1'), /Too many arguments/);
  },
);

t.test('reconnect backoff: exponential, capped, minus up to `jitter` of it', async (t) => {
  const o = DEFAULT_BACKOFF; // 1 s, x2, 10 s cap, jitter 0.5
  t.same(
    [0, 1, 2, 3, 4, 10].map((attempt) => backoffDelayMs(attempt, o, 0)),
    [1000, 2000, 4000, 8000, 10000, 10000],
  );
  t.equal(backoffDelayMs(3, o, 0.5), 6000);
  t.equal(backoffDelayMs(10, o, 0.999), 5005);
  t.equal(backoffDelayMs(2, { ...o, jitter: 0 }, 0.9), 4000);
});

t.test('resume state: atomic writes, resume points, and what does not carry over', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'sub', 'state.json');
  const server = 'tcp://127.0.0.1:18000';

  const empty = await SeedLinkResumeState.load(path, server, silentLogger);
  t.same(empty.stationKeys(), [], 'a missing file is an empty state');
  empty.record('XX_DEV1', 41n, '4.0', T0_US + 9_000_000);
  empty.record('XX_DEV1', 42n, '4.0', T0_US + 8_000_000);
  empty.record('XX_DEV2', 0xfffffen, '3.1', T0_US);
  t.same(
    empty.resumePoint('XX_DEV1', '4.0'),
    { lastSequence: 42n, lastStartTimeUs: T0_US + 8_000_000 },
    'within the process: after the last packet, with its start time',
  );
  await empty.flush();
  t.same(await readdir(join(dir, 'sub')), ['state.json'], 'no temporary file left behind');

  const loaded = await SeedLinkResumeState.load(path, server, silentLogger);
  t.same(loaded.resumePoint('XX_DEV1', '4.0'), { lastSequence: 42n, lastStartTimeUs: T0_US + 8_000_000 });
  t.same(loaded.resumePoint('XX_DEV2', '3.1'), { lastSequence: 0xfffffen, lastStartTimeUs: T0_US });
  t.same(
    loaded.resumePoint('XX_DEV2', '4.0'),
    { timeUs: T0_US },
    'a v3 sequence means nothing in v4: by time',
  );
  t.same(loaded.resumePoint('XX_NONE', '4.0'), {});
  t.same(
    [...loaded.positions(['XX_DEV1', 'XX_DEV2'], '4.0')],
    [
      ['XX_DEV1', { timeUs: T0_US + 8_000_000 }],
      ['XX_DEV2', { timeUs: T0_US }],
    ],
    'one station by time: all by time (ringserver positions a connection once)',
  );

  const respelled = await SeedLinkResumeState.load(path, 'tcp://localhost:18000', silentLogger);
  t.same(
    respelled.resumePoint('XX_DEV1', '4.0'),
    { lastSequence: 42n, lastStartTimeUs: T0_US + 8_000_000 },
    'another spelling of the server keeps the state',
  );

  const backfill = await SeedLinkResumeState.load(path, server, silentLogger, {
    startUs: T0_US - 60_000_000,
    tracksProcessing: true,
  });
  t.same(backfill.resumePoint('XX_NEW', '4.0'), { timeUs: T0_US - 60_000_000 }, 'a new station backfills');
  backfill.record('XX_NEW', 5n, '4.0', T0_US - 61_000_000);
  t.equal(backfill.resumeTimeUs('XX_NEW'), T0_US - 60_000_000, 'its resume time starts at the backfill');
  backfill.markProcessed('XX_NEW', { resumeTimeUs: T0_US, doneUntilUs: T0_US + 30_000_000 });
  backfill.markProcessed('XX_NEW', { resumeTimeUs: T0_US - 5, doneUntilUs: T0_US });
  t.equal(backfill.resumeTimeUs('XX_NEW'), T0_US, 'only forward');
  await backfill.flush();
  const restarted = await SeedLinkResumeState.load(path, server, silentLogger, { tracksProcessing: true });
  t.same(
    restarted.resumePoint('XX_NEW', '4.0'),
    { timeUs: T0_US },
    'a restart asks again from the resume time',
  );
  t.equal(restarted.doneUntilUs('XX_NEW'), T0_US + 30_000_000);

  await writeFileAtomic(path, '{"version": 1, "stations": 3}');
  const error = await SeedLinkResumeState.load(path, server, silentLogger).catch((e: unknown) => e);
  t.type(error, SeedLinkStateError);
  t.match((error as SeedLinkStateError).hint, /Delete it/);
  await writeFile(path, 'not json');
  await t.rejects(SeedLinkResumeState.load(path, server, silentLogger), SeedLinkStateError);
});
