import t from 'tap';
import { picksStream } from '../../src/sink/broadcast/protocol.ts';
import type { StationBlock, StationId } from '../../src/stream/types.ts';
import { LiveView } from '../../src/web/live-view.ts';
import { pageStreams } from '../../src/web/page-streams.ts';
import { silentLogger } from '../helpers/seedlink-server.ts';
import { type Message, startBroadcaster, subscriber } from '../helpers/subscriber.ts';

const stationA: StationId = { network: 'XX', station: 'A', location: '00', channelPrefix: 'HH' };
const stationB: StationId = { ...stationA, station: 'B' };

/** One second of 100 Hz samples of a station from second `second` (E = 1, N = 2, Z = 3). */
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

const until = async (condition: () => boolean, what: string) => {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
};

t.test(
  'the page streams on the rebroadcast: stations, then the watched station only, history first',
  async (t) => {
    let publish: (stream: string, item: unknown) => void = () => {};
    const view = new LiveView({
      clock: 'data',
      historyS: 3,
      classes: ['noise', 'P', 'S'],
      publish: (stream, item) => publish(stream, item),
    });
    const { broadcaster, wsUrl, stop } = await startBroadcaster({}, silentLogger, [
      picksStream,
      ...pageStreams(view),
    ]);
    t.teardown(stop);
    publish = (stream, item) => broadcaster.publish(stream, item);
    for (let second = 0; second < 5; second++) view.block(block(stationA, second));
    view.block(block(stationB, 0));
    view.stitched(stationA, 100, { start: 0, probs: Float32Array.from({ length: 300 }, (_, i) => i % 3) });

    const page = await subscriber(wsUrl, undefined);
    const other = await subscriber(wsUrl, undefined);
    for (const s of [page, other])
      s.ws.send(JSON.stringify({ v: 1, type: 'subscribe', streams: ['stations'] }));
    page.ws.send(
      JSON.stringify({
        v: 1,
        type: 'subscribe',
        streams: ['waveforms', 'probabilities'],
        filter: { stations: ['XX.A.00.HH'] },
      }),
    );
    const of = (messages: Message[], type: string) => messages.filter((m) => m.type === type);
    await until(() => of(page.messages, 'probability').length === 1, 'the history');

    const [stations] = of(page.messages, 'stations');
    t.same(
      stations.stations.map((s: Message) => [s.key, s.state, s.latencyMs]),
      [
        ['XX.A.00.HH', 'live', 0],
        ['XX.B.00.HH', 'live', 4000],
      ],
      'a new subscription starts with the station list; the data clock puts B 4 s behind A',
    );
    t.same(
      of(page.messages, 'waveform').map((m) => m.startUs),
      [1e6, 2e6, 3e6, 4e6],
      'history: the chunks within historyS of the newest (the one before stays while it overlaps)',
    );
    const [first] = of(page.messages, 'waveform');
    t.same(
      [first.stream, first.names, first.data.map((c: number[]) => c[0])],
      ['waveforms', ['E', 'N', 'Z'], [1, 2, 3]],
    );
    const [probability] = of(page.messages, 'probability');
    t.same(probability.names, ['P', 'S'], 'noise is left out');
    t.same(
      probability.data.map((c: number[]) => c.slice(0, 2)),
      [
        [1, 1],
        [2, 2],
      ],
    );

    const before = page.messages.length;
    view.block(block(stationA, 5));
    view.block(block(stationB, 1));
    broadcaster.publish('stations', view.stations());
    await until(() => of(other.messages, 'stations').length === 2, 'the station list again');
    await until(() => page.messages.length > before + 1, 'the new block');
    t.same(
      of(page.messages.slice(before), 'waveform').map((m) => m.station),
      ['XX.A.00.HH'],
      'the page gets the new chunk of A, not of B',
    );
    t.notOk(
      other.messages.some((m) => m.type === 'waveform' || m.type === 'probability'),
      'a client that asked for no traces gets none',
    );

    page.ws.send(
      JSON.stringify({ v: 1, type: 'subscribe', streams: ['waveforms'], filter: { stations: 'A' } }),
    );
    await until(() => of(page.messages, 'error').length === 1, 'the error');
    t.match(
      of(page.messages, 'error')[0].message,
      /stream 'waveforms'/,
      'a bad filter is refused, naming the stream',
    );
  },
);
