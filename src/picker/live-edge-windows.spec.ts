import { from, lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import type { StationBlock } from '../stream/types.ts';
import { float32Pool } from '../util/array-pool.ts';
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

t.test('a closed gate: due windows skipped and counted, the others as before', async (t) => {
  const blocks = [block('A', 0, 3000), block('B', 0, 3000), block('A', 3000, 200), block('B', 3000, 200)];
  const open = [false, true, true, false];
  const asked: number[] = [];
  const skipped: number[] = [];
  let completed = false;
  const windows = await lastValueFrom(
    from(blocks.map((b, i) => ({ block: b, arrivedAtMs: i }))).pipe(
      liveEdgeWindows(
        { length: 3000, strideSamples: 100, trigger: null },
        {
          admit: () => open[asked.push(asked.length) - 1],
          onSkipped: (n) => skipped.push(n),
        },
      ),
      toArray(),
    ),
  ).finally(() => {
    completed = true;
  });
  t.same(
    windows.map((w) => [w.station.station, w.startIndex, w.receivedAtMs]),
    [
      ['B', 0, 1],
      ['A', 200, 2],
    ],
  );
  t.same(skipped, [1, 1], "A's first window and B's second");
  t.ok(completed);
});

t.test("windows' data from the pool given", async (t) => {
  const pool = float32Pool(4);
  const spare = pool.take(3000);
  pool.give(spare);
  const windows = await lastValueFrom(
    from([{ block: block('A', 0, 3000), arrivedAtMs: 0 }]).pipe(
      liveEdgeWindows({ length: 3000, strideSamples: 100, trigger: null }, { windowData: pool }),
      toArray(),
    ),
  );
  t.equal(windows.length, 1);
  t.equal(windows[0].data.buffer, spare.buffer, 'the pooled buffer, not a new one');
  t.ok(Math.abs(windows[0].data.reduce((a, b) => a + b, 0)) < 1e-2, 'normalized into it');
});
