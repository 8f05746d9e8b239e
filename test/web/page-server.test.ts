import { once } from 'node:events';
import t from 'tap';
import WebSocket from 'ws';
import type { Pick } from '../../src/picker/pick.ts';
import type { StationBlock, StationId } from '../../src/stream/types.ts';
import { LiveView } from '../../src/web/live-view.ts';
import type { ServerMessage } from '../../src/web/messages.ts';
import { PageServer } from '../../src/web/page-server.ts';

const stationA: StationId = { network: 'XX', station: 'A', location: '00', channelPrefix: 'HH' };
const stationB: StationId = { ...stationA, station: 'B' };
const classes = ['noise', 'P', 'S'];

/** One second of 100 Hz samples of a station, starting at second `second` (E = 1, N = 2, Z = 3). */
function block(station: StationId, second: number): StationBlock {
  const data = new Float32Array(300);
  for (let i = 0; i < 100; i++) data.set([1, 2, 3], i * 3);
  return {
    station,
    samplingRate: 100,
    startIndex: second * 100,
    length: 100,
    components: ['E', 'N', 'Z'],
    data,
    present: [true, true, true],
  };
}

const pick: Pick = {
  network: 'XX',
  station: 'A',
  location: '00',
  channel: 'HH',
  phase: 'P',
  time: '1970-01-01T00:00:05.000000Z',
  timeUs: 5e6,
  probability: 0.9,
  model: 'm',
};

async function client(url: string): Promise<{ socket: WebSocket; messages: ServerMessage[] }> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}live`);
  const messages: ServerMessage[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  await once(socket, 'open');
  return { socket, messages };
}

const until = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
};

t.test('pages get stations and picks; traces only of the station they watch, history first', async (t) => {
  const view = new LiveView({ clock: 'data', historyS: 3, recentPicks: 10, classes });
  const server = await PageServer.start(view, { host: '127.0.0.1', port: 0, stationsIntervalMs: 50 });
  t.teardown(() => server.close());
  for (let second = 0; second < 5; second++) view.block(block(stationA, second));
  view.block(block(stationB, 0));
  view.stitched(stationA, 100, { start: 0, probs: Float32Array.from({ length: 300 }, (_, i) => i % 3) });
  view.pick(pick);

  const watcher = await client(server.url);
  const other = await client(server.url);
  watcher.socket.send(JSON.stringify({ v: 1, type: 'watch', station: 'XX.A.00.HH' }));
  await until(() => watcher.messages.some((m) => m.type === 'probability'), 'the history');

  const opening = watcher.messages[0];
  t.equal(opening.type, 'stations');
  t.same(
    opening.type === 'stations' &&
      opening.stations.map((s) => [s.key, s.state, s.latencyMs, s.lastPick?.phase]),
    [
      ['XX.A.00.HH', 'live', 0, 'P'],
      ['XX.B.00.HH', 'live', 4000, undefined],
    ],
    'the data clock: B is 4 s behind A',
  );
  const { timeUs, model, ...shown } = pick;
  t.strictSame(watcher.messages[1], { v: 1, type: 'pick', pick: shown }, 'the recent picks');
  const waveforms = watcher.messages.filter((m) => m.type === 'waveform');
  t.same(
    waveforms.map((m) => m.type === 'waveform' && m.startUs),
    [1e6, 2e6, 3e6, 4e6],
    'history: the blocks within historyS of the newest (the one before stays while it overlaps)',
  );
  t.same(waveforms[0].type === 'waveform' && waveforms[0].names, ['E', 'N', 'Z']);
  t.same(waveforms[0].type === 'waveform' && waveforms[0].data.map((c) => c[0]), [1, 2, 3]);
  const probability = watcher.messages.find((m) => m.type === 'probability');
  t.same(probability?.type === 'probability' && probability.names, ['P', 'S'], 'noise is left out');
  t.same(probability?.type === 'probability' && probability.data.map((c) => c.slice(0, 2)), [
    [1, 1],
    [2, 2],
  ]);

  const before = watcher.messages.length;
  view.block(block(stationA, 5));
  view.block(block(stationB, 1));
  await until(() => watcher.messages.length > before, 'the new block');
  await until(
    () => other.messages.filter((m) => m.type === 'stations').length >= 2,
    'the station list again',
  );
  t.same(
    watcher.messages
      .slice(before)
      .filter((m) => m.type === 'waveform')
      .map((m) => m.type === 'waveform' && m.station),
    ['XX.A.00.HH'],
    'the watcher gets A only',
  );
  t.notOk(
    other.messages.some((m) => m.type === 'waveform' || m.type === 'probability'),
    'a page that watches nothing gets no traces',
  );
});

t.test('a page that stops reading is cut off; the others and the pipeline go on', async (t) => {
  const view = new LiveView({ clock: 'data', historyS: 60, recentPicks: 10, classes });
  const server = await PageServer.start(view, {
    host: '127.0.0.1',
    port: 0,
    stationsIntervalMs: 1000,
    maxBufferedBytes: 64 * 1024,
  });
  t.teardown(() => server.close());
  const stalled = await client(server.url);
  const reading = await client(server.url);
  for (const c of [stalled, reading])
    c.socket.send(JSON.stringify({ v: 1, type: 'watch', station: 'XX.A.00.HH' }));
  await new Promise((r) => setTimeout(r, 100));
  // The stalled page's socket stops reading: what the server sends piles up on its side.
  (stalled.socket as unknown as { _socket: { pause(): void } })._socket.pause();
  const closed = once(stalled.socket, 'close');
  // Loopback's kernel buffers take megabytes before the server's own queue grows; past
  // maxBufferedBytes the page gets no more traces, and past four times that (picks) it is dropped.
  let second = 0;
  for (; second < 50_000 && server.pages === 2; second++) {
    view.block(block(stationA, second));
    if (second % 2 === 0) view.pick({ ...pick, timeUs: second * 1e6 });
    if (second % 20 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  t.equal(server.pages, 1, `the stalled page was dropped after ${second} s of data`);
  (stalled.socket as unknown as { _socket: { resume(): void } })._socket.resume();
  const [code] = await closed;
  t.equal(code, 1006, 'its connection ends');
  const picks = Math.ceil(second / 2);
  await until(() => reading.messages.filter((m) => m.type === 'pick').length === picks, 'every pick');
  t.equal(reading.messages.filter((m) => m.type === 'pick').length, picks, 'the reading page got every pick');
});
