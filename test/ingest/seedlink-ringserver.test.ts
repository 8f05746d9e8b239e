import { writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import WebSocket from 'ws';
import { SeedLinkProtocolError } from '../../src/ingest/seedlink/errors.ts';
import { readRecordSpan } from '../../src/ingest/seedlink/record-header.ts';
import { formatV3Time, formatV4Time } from '../../src/ingest/seedlink/wire.ts';
import { MAX_COMMAND_LENGTH, RecordFeed } from '../helpers/seedlink/server.ts';
import {
  DEV_DATA,
  devRecords,
  hex,
  memoryLogger,
  record,
  startServer,
  tempDir,
  testClient,
  until,
} from '../helpers/seedlink-server.ts';
import { skipUnlessShared } from '../helpers/shared.ts';

/**
 * The facts of the SeedLink protocol as ringserver (4.x) implements them, written into the test server
 * (test/helpers/seedlink/server.ts), and the client's behaviour against them.
 */

const skip = skipUnlessShared(...DEV_DATA);

/** A raw TCP conversation: what the server answered to `text` within `waitMs`. */
async function converse(
  port: number,
  text: string,
  waitMs = 200,
): Promise<{ reply: string; closed: boolean }> {
  const socket = connect(port, '127.0.0.1');
  let reply = '';
  let closed = false;
  socket.on('data', (chunk) => {
    reply += chunk.toString('latin1');
  });
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => {});
  socket.write(text);
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  socket.destroy();
  return { reply, closed };
}

t.test('commands end with CR: a LF alone is no end, and an endless command closes', async (t) => {
  const { server } = await startServer();
  t.teardown(() => server.kill());
  t.match((await converse(server.port, 'HELLO\r\n')).reply, /^SeedLink v4\.0 .*\r\n.*\r\n$/);
  t.match((await converse(server.port, 'HELLO\r')).reply, /^SeedLink/, 'the LF is optional');
  t.equal((await converse(server.port, 'HELLO\n')).reply, '', 'a LF-only line is not a command');
  const long = await converse(server.port, 'X'.repeat(MAX_COMMAND_LENGTH + 10));
  t.ok(long.closed, 'a command longer than ringserver reads closes the connection');
});

t.test('over WebSocket, a frame without CR LF closes the connection', async (t) => {
  const { server } = await startServer();
  t.teardown(() => server.kill());
  const talk = (frame: string) =>
    new Promise<{ replies: string[]; closed: boolean }>((resolve) => {
      const ws = new WebSocket(server.wsUrl, ['SeedLink4.0']);
      const replies: string[] = [];
      ws.on('message', (data) => replies.push(data.toString()));
      ws.on('open', () => ws.send(frame));
      ws.on('close', () => resolve({ replies, closed: true }));
      setTimeout(() => {
        ws.terminate();
        resolve({ replies, closed: false });
      }, 300);
    });
  const good = await talk('HELLO\r\n');
  t.match(good.replies.join(''), /^SeedLink/);
  const bare = await talk('HELLO');
  t.same(bare, { replies: [], closed: true }, 'no answer, connection closed');
});

t.test(
  '4.0: DATA -1 is an invalid sequence number, TIME is not a command; 3.1 refuses a TIME in the future',
  async (t) => {
    const { ring, server } = await startServer();
    t.teardown(() => server.kill());
    ring.declareStation('XX', 'DEV1');
    const v4 = (command: string) => `SLPROTO 4.0\r\nSTATION XX_DEV1\r\n${command}\r\n`;
    t.match(
      (await converse(server.port, v4('DATA -1 2011-03-31T00:00:00Z'))).reply,
      /^OK\r\nOK\r\nERROR ARGUMENTS Invalid sequence number/,
    );
    t.match((await converse(server.port, v4('DATA ALL 2011-03-31T00:00:00Z'))).reply, /^OK\r\nOK\r\nOK\r\n$/);
    t.match(
      (await converse(server.port, v4('TIME 2011,03,31,00,00,00'))).reply,
      /^OK\r\nOK\r\nERROR UNSUPPORTED/,
    );
    const future = formatV3Time((Date.now() + 3_600_000) * 1000);
    t.equal((await converse(server.port, `STATION DEV1 XX\r\nTIME ${future}\r\n`)).reply, 'OK\r\nERROR\r\n');
    t.equal(
      (await converse(server.port, 'STATION DEV1 XX\r\nTIME 2011,03,31,00,00,00\r\n')).reply,
      'OK\r\nOK\r\n',
    );
  },
);

t.test(
  'DATA seq time: the sequence counts only when the time is the start second of the packet before it',
  { skip },
  async (t) => {
    const records = await devRecords(40);
    const { ring, server } = await startServer();
    t.teardown(() => server.kill());
    await new RecordFeed(ring, records).start().done;
    const startOf = (seq: number) => readRecordSpan(records[seq - 1]).startTimeUs;
    const endOf = (seq: number) => readRecordSpan(records[seq - 1]).endTimeUs;
    /** The sequence of the first packet a v4 connection gets for a DATA command. */
    const firstAfter = async (data: string) => {
      const { reply } = await converse(
        server.port,
        `SLPROTO 4.0\r\nSTATION XX_DEV1\r\n${data}\r\nEND\r\n`,
        300,
      );
      const bytes = Buffer.from(reply, 'latin1');
      const at = bytes.indexOf('SE');
      return at < 0 ? undefined : bytes.readBigUInt64LE(at + 8);
    };
    t.equal(
      await firstAfter(`DATA 21 ${formatV4Time(startOf(20))}`),
      21n,
      "the last packet's start: trusted",
    );
    t.equal(await firstAfter('DATA 21'), 21n, 'no time: trusted');
    // The end time of the last packet (what PhaseStream sent before) is another second: by time.
    const byEnd = await firstAfter(`DATA 21 ${formatV4Time(endOf(20))}`);
    t.not(byEnd, 21n, 'another second: positioned by time instead');
    t.equal(
      byEnd,
      BigInt(records.findIndex((r) => readRecordSpan(r).endTimeUs >= endOf(20)) + 1),
      'at the first packet ending at or after that time',
    );
    t.equal(
      await firstAfter(`DATA ALL ${formatV4Time(startOf(30))}`),
      BigInt(records.findIndex((r) => readRecordSpan(r).endTimeUs >= startOf(30)) + 1),
      'DATA ALL time: by time',
    );
  },
);

t.test(
  'a state saved under another spelling of the server, or under 3.1 with 4.0 now, still resumes',
  { skip, timeout: 20_000 },
  async (t) => {
    const records = await devRecords(120);
    const { ring, server } = await startServer();
    t.teardown(() => server.kill());
    await new RecordFeed(ring, records.slice(0, 60)).start().done;
    const dir = await tempDir(t);
    for (const saved of [
      { server: `tcp://localhost:${server.port}`, protocol: '4.0', sequence: '30', spelled: 'localhost' },
      { server: server.tcpUrl, protocol: '3.1', sequence: '30', spelled: '3.1 state' },
    ]) {
      const stateFile = join(dir, `${saved.spelled}.json`);
      await writeFile(
        stateFile,
        JSON.stringify({
          version: 2,
          savedAt: new Date().toISOString(),
          stations: {
            XX_DEV1: {
              server: saved.server,
              protocol: saved.protocol,
              sequence: saved.sequence,
              lastStartTimeUs: readRecordSpan(records[29]).startTimeUs,
            },
          },
        }),
      );
      const c = testClient({ url: server.tcpUrl, protocol: '4.0', stateFile });
      const got = record(c);
      c.start();
      // The v3 sequence means nothing to v4: by the time of the saved packet (DATA ALL), from it on.
      const lastStart = readRecordSpan(records[29]).startTimeUs;
      const from =
        saved.protocol === '4.0' ? 30 : records.findIndex((r) => readRecordSpan(r).endTimeUs >= lastStart);
      await until(() => got.packets.length >= 60 - from, 5000, `${saved.spelled}: the rest of the ring`);
      await c.stop();
      t.equal(await got.error, undefined, `${saved.spelled}: no error`);
      t.same(
        got.packets.map((p) => hex(p.recordBytes)),
        records.slice(from, 60).map(hex),
        `${saved.spelled}: resumed from the saved packet`,
      );
    }
  },
);

t.test('a server that sends an endless line during the handshake is dropped at once', async (t) => {
  const endless = createServer((socket) => {
    socket.on('error', () => {});
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = () => {
      while (!socket.destroyed && socket.write(chunk)) {}
      if (!socket.destroyed) socket.once('drain', pump);
    };
    socket.once('data', pump);
  });
  await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
  t.teardown(() => endless.close());
  const port = (endless.address() as { port: number }).port;
  const c = testClient({ url: `tcp://127.0.0.1:${port}`, reconnect: { initialDelayMs: 60_000 } });
  const got = record(c);
  c.start();
  await until(() => got.events.some((e) => e.type === 'disconnected'), 3000, 'the client to give up');
  await c.stop();
  const end = got.events.find((e) => e.type === 'disconnected');
  t.type(end?.type === 'disconnected' && end.error, SeedLinkProtocolError);
  t.match(end, { error: { message: /line of more than 4096 bytes/ } });
});

t.test(
  'a packet that breaks the connection every time is skipped after three tries, with an error',
  { skip, timeout: 20_000 },
  async (t) => {
    const records = await devRecords(30);
    const { ring, server } = await startServer({
      // Packet 10's header says format 'x': no client can read it.
      mangle: (packet, bytes) => {
        if (packet.sequence !== 10n || bytes[0] !== 0x53 || bytes[1] !== 0x45) return undefined;
        const bad = bytes.slice();
        bad[2] = 0x78;
        return bad;
      },
    });
    t.teardown(() => server.kill());
    await new RecordFeed(ring, records).start().done;
    const { logger, entries } = memoryLogger();
    const c = testClient({ url: server.tcpUrl, protocol: '4.0', logger, startUs: 0 });
    const got = record(c);
    c.start();
    await until(() => got.packets.length >= 29, 5000, 'the packets after the bad one');
    await c.stop();
    t.same(
      got.packets.map((p) => p.sequence),
      records.map((_, i) => BigInt(i + 1)).filter((s) => s !== 10n),
      'every packet but the bad one, once',
    );
    t.equal(got.events.filter((e) => e.type === 'disconnected').length, 3, 'three tries');
    const error = entries.find((l) => l.level === 50 && /skipped/.test(l.msg));
    t.match(error, { station: 'XX_DEV1', sequence: '10', tries: 3 });
    const warnings = entries.filter((l) => l.level === 40 && /reconnecting/.test(l.msg));
    t.ok(
      warnings.length > 0 && warnings.every((l) => l.err === undefined && typeof l.error === 'string'),
      'reconnect warnings carry the reason, no stack',
    );
  },
);

t.test(
  'a server that refuses the time: the next packet on, with a warning',
  { skip, timeout: 10_000 },
  async (t) => {
    const records = await devRecords(20);
    const { ring, server } = await startServer();
    t.teardown(() => server.kill());
    await new RecordFeed(ring, records.slice(0, 10)).start().done;
    const { logger, entries } = memoryLogger();
    // 3.1 refuses a TIME in the future, as it would refuse one from an untrusted client.
    const c = testClient({
      url: server.tcpUrl,
      protocol: '3.1',
      logger,
      startUs: (Date.now() + 3_600_000) * 1000,
    });
    const got = record(c);
    c.start();
    await until(() => server.streamingCount === 1, 5000, 'the handshake');
    await new RecordFeed(ring, records.slice(10)).start().done;
    await until(() => got.packets.length >= 10, 5000, 'the new packets');
    await c.stop();
    t.same(
      got.packets.map((p) => hex(p.recordBytes)),
      records.slice(10).map(hex),
      'the packets after the connection',
    );
    t.ok(entries.some((l) => l.level === 40 && /refused resuming by time/.test(l.msg)));
  },
);
