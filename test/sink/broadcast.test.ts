import { once } from 'node:events';
import t from 'tap';
import { WebSocket } from 'ws';
import type { Pick } from '../../src/picker/pick.ts';
import {
  type Broadcaster,
  MAX_BUFFERED_BYTES,
  SLOW_CLIENT_CLOSE,
} from '../../src/sink/broadcast/broadcaster.ts';
import { pickKey, testPicks } from '../helpers/picks.ts';
import { until } from '../helpers/seedlink-server.ts';
import { type Message, startBroadcaster, subscriber } from '../helpers/subscriber.ts';

const keyOf = (m: Message) => pickKey({ ...m.pick, timeUs: Date.parse(m.pick.time) * 1000 });
const keys = (picks: Pick[]) => picks.map(pickKey);

/**
 * Publishes picks 250 at a time (the event loop turns between, and `done` is asked), until `done`
 * holds, then `more`;
 * resolves with how many were published. A stalled client fills the kernel's socket buffers before
 * the server's, and their size varies from machine to machine.
 */
async function publishUntil(broadcaster: Broadcaster, done: () => boolean, more: number): Promise<number> {
  const picks = testPicks(400_000, 20);
  let published = 0;
  let stopAt = picks.length;
  while (published < stopAt) {
    for (const pick of picks.slice(published, published + 250)) broadcaster.publishPick(pick);
    published += 250;
    if (done() && stopAt === picks.length) stopAt = published + more;
    await new Promise((r) => setImmediate(r));
  }
  if (!done()) throw new Error(`still not done after ${published} picks`);
  return published;
}

/** Filters and, for each, the same condition written out plainly. */
const FILTERS: [Record<string, unknown>, (p: Pick) => boolean][] = [
  [{}, () => true],
  [{ networks: ['XX'] }, (p) => p.network === 'XX'],
  [{ networks: ['Y*'] }, (p) => p.network === 'YY'],
  [{ stations: ['XX.S0*'] }, (p) => p.network === 'XX' && p.station.startsWith('S0')],
  [
    { stations: ['*.S03', 'YY.S1?'] },
    (p) => p.station === 'S03' || (p.network === 'YY' && /^S1.$/.test(p.station)),
  ],
  [{ stations: ['XX.S07.00'] }, (p) => p.network === 'XX' && p.station === 'S07' && p.location === '00'],
  [{ phases: ['P'] }, (p) => p.phase === 'P'],
  [{ phases: ['S'], networks: ['XX'] }, (p) => p.phase === 'S' && p.network === 'XX'],
  [{ minProbability: 0.9 }, (p) => p.probability >= 0.9],
  [{ networks: ['ZZ'] }, () => false],
];

t.test(
  'fifty subscribers with different filters each get exactly the matching picks, in order',
  async (t) => {
    const { broadcaster, wsUrl, stop } = await startBroadcaster();
    t.teardown(stop);
    const clients = await Promise.all(
      Array.from({ length: 50 }, (_, i) => {
        const [filter] = FILTERS[i % FILTERS.length];
        const minProbability = Math.max(
          (filter.minProbability as number) ?? 0,
          [0, 0.15, 0.3, 0.45, 0.6][Math.floor(i / 10)],
        );
        return subscriber(wsUrl, { filter: { ...filter, minProbability } });
      }),
    );
    await Promise.all(clients.map((c) => c.ready));
    const picks = testPicks(2000, 20);
    for (const pick of picks) broadcaster.publishPick(pick);
    for (const [i, client] of clients.entries()) {
      const [filter, matches] = FILTERS[i % FILTERS.length];
      const minProbability = Math.max(
        (filter.minProbability as number) ?? 0,
        [0, 0.15, 0.3, 0.45, 0.6][Math.floor(i / 10)],
      );
      const wanted = keys(picks.filter((p) => matches(p) && p.probability >= minProbability));
      await until(() => client.picks().length >= wanted.length, 10_000, `client ${i}'s picks`);
      await new Promise((r) => setTimeout(r, i === 49 ? 100 : 0)); // nothing more arrives after
      t.same(
        client.picks().map(keyOf),
        wanted,
        `client ${i}: ${JSON.stringify(filter)} p >= ${minProbability}`,
      );
    }
    t.ok(
      clients.some((c) => c.picks().length === 0),
      'a filter that matches nothing gets nothing',
    );
    for (const c of clients) c.ws.close();
  },
);

t.test('a stalled subscriber neither delays the others nor grows the queue past its bound', async (t) => {
  const maxQueue = 200;
  const { broadcaster, wsUrl, stop } = await startBroadcaster({ maxQueue });
  t.teardown(stop);
  const stalled = await subscriber(wsUrl, {});
  const others = await Promise.all([1, 2, 3].map(() => subscriber(wsUrl, {})));
  await Promise.all([stalled, ...others].map((c) => c.ready));
  // The stalled client stops reading: the kernel's buffers fill, then the server's queue.
  (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();

  let maxQueued = 0;
  const total = await publishUntil(
    broadcaster,
    () => {
      maxQueued = Math.max(maxQueued, broadcaster.stats().maxClientQueue);
      return broadcaster.stats().dropped > 0;
    },
    5000,
  );
  for (const other of others) await until(() => other.picks().length === total, 20_000, 'the others');
  t.ok(stalled.picks().length < total, 'the stalled client is still behind when the others have everything');
  const stats = broadcaster.stats();
  t.ok(maxQueued <= maxQueue + 2, `the stalled client's queue stayed within ${maxQueue} (most ${maxQueued})`);
  t.ok(
    stats.bufferedBytes < MAX_BUFFERED_BYTES + 1000,
    `its socket holds ${MAX_BUFFERED_BYTES} bytes at most, and a message (${stats.bufferedBytes})`,
  );
  t.ok(stats.dropped > 0, 'what did not fit was dropped for it');

  (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const accounted = () =>
    stalled.picks().length +
    stalled.messages.filter((m) => m.type === 'gap').reduce((sum, m) => sum + m.missed, 0);
  await until(() => accounted() === total, 20_000, 'the stalled client to catch up');
  // Every pick is either received or inside a gap notice, in sequence order.
  let expectedSeq = 1;
  for (const m of stalled.messages) {
    if (m.type === 'pick' && m.seq !== expectedSeq++)
      t.fail(`pick ${m.seq} where ${expectedSeq - 1} was due`);
    if (m.type === 'gap') {
      t.equal(m.fromSeq, expectedSeq, 'a gap starts where the picks stopped');
      t.equal(m.toSeq - m.fromSeq + 1, m.missed);
      expectedSeq = m.toSeq + 1;
    }
  }
  t.equal(expectedSeq, total + 1, 'the sequence is complete');
  for (const c of [stalled, ...others]) c.ws.close();
});

t.test('with slowClient: disconnect, a stalled subscriber is closed and the others go on', async (t) => {
  const { broadcaster, wsUrl, stop } = await startBroadcaster({ maxQueue: 50, slowClient: 'disconnect' });
  t.teardown(stop);
  const stalled = await subscriber(wsUrl, {});
  const other = await subscriber(wsUrl, {});
  await Promise.all([stalled.ready, other.ready]);
  (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  // Published until the stalled client's kernel buffers, socket and queue are full.
  const total = await publishUntil(broadcaster, () => broadcaster.stats().slowDisconnects > 0, 1000);
  await until(() => other.picks().length === total, 20_000, 'the other client');
  t.equal(broadcaster.stats().slowDisconnects, 1);
  const closed = once(stalled.ws, 'close');
  (stalled.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const [code] = await closed;
  t.ok(code === SLOW_CLIENT_CLOSE || code === 1006, `closed (${code})`);
  await until(() => broadcaster.stats().clients === 1, 5000, 'the server to let it go');
  other.ws.close();
});

t.test('since and afterSeq replay the bounded history; bad requests get an error', async (t) => {
  const { broadcaster, wsUrl, stop } = await startBroadcaster({ historySize: 100 });
  t.teardown(stop);
  const picks = testPicks(300);
  for (const pick of picks) broadcaster.publishPick(pick);

  const since = await subscriber(wsUrl, { since: picks[250].time, filter: { phases: ['P'] } });
  await since.ready;
  await until(() => since.picks().length === 25, 5000, 'the since replay');
  t.same(since.picks().map(keyOf), keys(picks.slice(250).filter((p) => p.phase === 'P')));
  t.match(
    since.messages.find((m) => m.type === 'subscribed'),
    { stream: 'picks', replay: 25, seq: 300 },
  );

  const resume = await subscriber(wsUrl, { afterSeq: 50 });
  await resume.ready;
  await until(() => resume.picks().length === 100, 5000, 'the afterSeq replay');
  t.match(
    resume.messages.find((m) => m.type === 'gap'),
    {
      reason: 'history',
      fromSeq: 51,
      toSeq: 200,
      missed: 150,
    },
  );
  t.same(
    resume.picks().map((m) => m.seq),
    Array.from({ length: 100 }, (_, i) => 201 + i),
  );
  broadcaster.publishPick(testPicks(301)[300]);
  await until(() => resume.picks().length === 101, 5000, 'a live pick after the replay');

  const bad = await subscriber(wsUrl, { filter: { minProbability: 2 } });
  await bad.ready;
  t.match(bad.messages.at(-1), { type: 'error', error: 'bad-filter', message: /minProbability/ });
  bad.ws.send('{"v":2,"type":"subscribe"}');
  await until(() => bad.messages.length === 3, 5000, 'a second error');
  t.match(bad.messages.at(-1), { type: 'error', error: 'bad-request' });
  for (const c of [since, resume, bad]) c.ws.close();
});

t.test('a token, when configured, is required: header or query parameter', async (t) => {
  const { wsUrl, stop } = await startBroadcaster({ token: 's3cret' });
  t.teardown(stop);
  for (const [what, url, headers] of [
    ['no token', wsUrl, {}],
    ['a wrong token', wsUrl, { authorization: 'Bearer nope' }],
  ] as const) {
    const ws = new WebSocket(url, { headers });
    ws.on('error', () => {}); // the refusal ends the handshake
    const [, response] = await once(ws, 'unexpected-response');
    t.equal(response.statusCode, 401, `${what}: refused`);
    ws.terminate();
  }
  const withHeader = await subscriber(wsUrl, {}, { authorization: 'Bearer s3cret' });
  await withHeader.ready;
  t.equal(withHeader.messages[0].type, 'hello');
  const withQuery = await subscriber(`${wsUrl}?token=s3cret`, {});
  await withQuery.ready;
  t.equal(withQuery.messages[0].type, 'hello');
  withHeader.ws.close();
  withQuery.ws.close();
});

t.test('hello, then heartbeats with the stream positions', async (t) => {
  const { broadcaster, wsUrl, stop } = await startBroadcaster({ heartbeatS: 0.05 });
  t.teardown(stop);
  const client = await subscriber(wsUrl, undefined);
  broadcaster.publishPick(testPicks(1)[0]);
  await until(
    () => client.messages.some((m) => m.type === 'heartbeat' && m.seq.picks === 1),
    5000,
    'a heartbeat',
  );
  t.match(client.messages[0], { v: 1, type: 'hello', streams: ['picks'], heartbeatS: 0.05 });
  t.equal(client.picks().length, 0, 'no subscription, no picks');
  client.ws.close();
});

t.test('an unsubscribed client gets no more picks; an unknown stream is an error', async (t) => {
  const { broadcaster, wsUrl, stop } = await startBroadcaster();
  t.teardown(stop);
  const client = await subscriber(wsUrl, {});
  await client.ready;
  const [first, second] = testPicks(2);
  broadcaster.publishPick(first);
  await until(() => client.picks().length === 1, 5000, 'the first pick');
  client.ws.send(JSON.stringify({ v: 1, type: 'unsubscribe', streams: ['picks', 'waveforms'] }));
  await until(() => client.messages.some((m) => m.type === 'unsubscribed'), 5000, 'unsubscribed');
  broadcaster.publishPick(second);
  await until(() => client.messages.some((m) => m.type === 'error'), 5000, 'the error');
  t.match(
    client.messages.find((m) => m.type === 'error'),
    { error: 'unknown-stream', message: /waveforms/ },
  );
  await new Promise((r) => setTimeout(r, 50));
  t.same(client.picks().map(keyOf), keys([first]), 'only the pick before the unsubscribe');
  client.ws.close();
});
