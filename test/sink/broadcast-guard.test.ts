import { once } from 'node:events';
import t from 'tap';
import { WebSocket } from 'ws';
import { testPicks } from '../helpers/picks.ts';
import { until } from '../helpers/seedlink-server.ts';
import { startBroadcaster, subscriber } from '../helpers/subscriber.ts';

/** The HTTP status of a refused WebSocket handshake, or 101 when it opened. */
async function handshake(url: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => {}); // a refusal ends the handshake
  const status = await Promise.race([
    once(ws, 'unexpected-response').then(([, response]) => response.statusCode as number),
    once(ws, 'open').then(() => 101),
  ]);
  ws.terminate();
  return status;
}

t.test('a web page of another origin cannot connect; the same origin and the allow-list can', async (t) => {
  const { wsUrl, server, stop } = await startBroadcaster({ allowedOrigins: ['https://ops.example.org'] });
  t.teardown(stop);
  const own = server.url; // http://127.0.0.1:PORT, the origin of the live page
  t.equal(await handshake(wsUrl, { origin: 'https://evil.example.com' }), 403, 'another origin');
  t.equal(await handshake(wsUrl, { origin: 'http://localhost:1' }), 403, 'another port');
  t.equal(await handshake(wsUrl, { origin: 'null' }), 403, 'an opaque origin (file://, sandbox)');
  t.equal(await handshake(wsUrl, { origin: own }), 101, 'the server’s own page');
  t.equal(await handshake(wsUrl, { origin: 'https://ops.example.org' }), 101, 'an allowed origin');
  t.equal(await handshake(wsUrl), 101, 'no origin: not a browser (phasestream subscribe)');
});

t.test('connections are capped in all and per address', async (t) => {
  for (const [what, options] of [
    ['in all', { maxClients: 2, maxClientsPerAddress: 10 }],
    ['per address', { maxClients: 10, maxClientsPerAddress: 2 }],
  ] as const) {
    const { broadcaster, wsUrl, stop } = await startBroadcaster(options);
    t.teardown(stop);
    const first = await subscriber(wsUrl, undefined);
    const second = await subscriber(wsUrl, undefined);
    t.equal(await handshake(wsUrl), 503, `${what}: a third is refused`);
    second.ws.close();
    await until(() => broadcaster.stats().clients === 1, 5000, 'the server to see the close');
    t.equal(await handshake(wsUrl), 101, `${what}: room again once one left`);
    first.ws.close();
  }
});

t.test('re-subscribing with since does not replay the history again', async (t) => {
  const { broadcaster, wsUrl, stop } = await startBroadcaster({
    historySize: 500,
    maxSubscribesPerMinute: 1000,
  });
  t.teardown(stop);
  const picks = testPicks(500);
  for (const pick of picks) broadcaster.publishPick(pick);
  const client = await subscriber(wsUrl, { since: picks[0].time });
  await client.ready;
  await until(() => client.picks().length === 500, 5000, 'the first replay');
  for (let i = 0; i < 20; i++) {
    client.ws.send(JSON.stringify({ v: 1, type: 'subscribe', streams: ['picks'], since: picks[0].time }));
  }
  await until(
    () => client.messages.filter((m) => m.type === 'subscribed').length === 21,
    5000,
    'the re-subscriptions confirmed',
  );
  t.same(
    client.messages.filter((m) => m.type === 'subscribed').map((m) => m.replay),
    [500, ...Array(20).fill(0)],
  );
  broadcaster.publishPick(testPicks(501)[500]);
  await until(() => client.picks().length === 501, 5000, 'the next live pick');
  t.equal(new Set(client.picks().map((m) => m.seq)).size, 501, 'each pick sent once');
  client.ws.close();
});

t.test('a client that subscribes too often is told and closed', async (t) => {
  const { wsUrl, stop } = await startBroadcaster({ maxSubscribesPerMinute: 5 });
  t.teardown(stop);
  const client = await subscriber(wsUrl, {});
  await client.ready;
  for (let i = 0; i < 5; i++) client.ws.send(JSON.stringify({ v: 1, type: 'subscribe', streams: ['picks'] }));
  const [code] = await once(client.ws, 'close');
  t.equal(code, 4029);
  t.match(client.messages.at(-1), { type: 'error', error: 'too-many-requests' });
  t.equal(client.messages.filter((m) => m.type === 'subscribed').length, 5);
});
