import { from, lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import type { StationBlock } from '../stream/types.ts';
import { liveEdgeWindows } from './live-edge-windows.ts';

const block = (station: string, startIndex: number, length: number): StationBlock => ({
  station: { network: 'XX', station, location: '', channelPrefix: 'HH' },
  samplingRate: 100,
  startIndex,
  length,
  components: ['Z'],
  data: Float32Array.from({ length }, (_, i) => Math.sin((startIndex + i) / 7)),
  present: [true],
});

t.test('each station its own lane: the exact windows, then completion', async (t) => {
  const blocks = [
    block('A', 0, 2000),
    block('B', 500, 3000),
    block('A', 2000, 1000),
    block('B', 3500, 50),
    block('A', 3000, 200),
    block('B', 3550, 100),
  ];
  let completed = false;
  const windows = await lastValueFrom(
    from(blocks.map((b, i) => ({ block: b, arrivedAtMs: i }))).pipe(
      liveEdgeWindows({ length: 3000, strideSamples: 100, trigger: null }),
      toArray(),
    ),
  ).finally(() => {
    completed = true;
  });
  t.same(
    windows.map((w) => [w.station.station, w.startIndex, w.receivedAtMs]),
    [
      ['B', 500, 1],
      ['A', 0, 2],
      ['A', 200, 4],
      ['B', 650, 5],
    ],
  );
  t.ok(completed);
});
