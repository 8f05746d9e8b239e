import { tap } from 'rxjs';
import t from 'tap';
import { lcg, marbles } from '../../test/stream/marbles.ts';
import { normalizeWindow } from '../picker/normalize.ts';
import { type Float32Pool, float32Pool } from '../util/array-pool.ts';
import { staggerOffset } from './grid.ts';
import { createWindowState, flushWindows, pushWindowBlock, slidingWindows } from './sliding-windows.ts';
import type { StationBlock, StationWindow } from './types.ts';

const station = { network: 'XX', station: 'STA', location: '', channelPrefix: 'HH' };
const BASE = 170_000_000_000;
const components = ['E', 'N', 'Z'];
/** Integer samples (exact in float32), different per component. */
const sample = (c: number, i: number) => Math.round(100 * Math.sin(i * 0.7 + c)) + 10 * c;

function blk(
  from: number,
  to: number,
  options: { present?: boolean[]; endOfSegment?: boolean } = {},
): StationBlock {
  const present = options.present ?? [true, true, true];
  const data = new Float32Array((to - from) * 3);
  for (let i = from; i < to; i++)
    for (let c = 0; c < 3; c++) data[(i - from) * 3 + c] = present[c] ? sample(c, i) : 0;
  return {
    station,
    samplingRate: 100,
    startIndex: BASE + from,
    length: to - from,
    components,
    data,
    present,
    ...(options.endOfSegment ? { endOfSegment: true } : {}),
  };
}

/** The raw rows [from, from + length) of the test signal; `fill` overrides a component's samples. */
function raw(from: number, length: number, fill: Record<number, (i: number) => number> = {}): Float64Array {
  const out = new Float64Array(length * 3);
  for (let i = from; i < from + length; i++) {
    for (let c = 0; c < 3; c++) out[(i - from) * 3 + c] = fill[c] ? fill[c](i) : sample(c, i);
  }
  return out;
}

function win(
  from: number,
  length: number,
  receivedAtMs: number,
  endOfSegment = false,
  data = raw(from, length),
): StationWindow {
  return {
    station,
    samplingRate: 100,
    startIndex: BASE + from,
    length,
    components,
    data: normalizeWindow(data, 3),
    endOfSegment,
    receivedAtMs,
  };
}

const options = { length: 10, stride: 5, components };

t.test('a window every stride, then one aligned to the segment end, marked', async (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const blocks = cold('-a-b-c-----|', {
      a: blk(0, 8),
      b: blk(8, 15),
      c: blk(15, 23, { endOfSegment: true }),
    });
    const windows = blocks.pipe(slidingWindows({ ...options, clock: () => scheduler.now() }));
    expectObservable(windows).toBe('---x-(yzw)-|', {
      x: win(0, 10, 3),
      // Its last sample (14) came with b.
      y: win(5, 10, 3),
      z: win(10, 10, 5),
      w: win(13, 10, 5, true),
    });
  });
});

t.test("a block's array goes back to its pool once copied, and the windows are the same", async (t) => {
  const given: Float32Array[] = [];
  const blockData: Float32Pool = {
    take: (length) => new Float32Array(length),
    give: (array) => given.push(array),
  };
  const input = [blk(0, 8), blk(8, 15), blk(15, 23, { endOfSegment: true })];
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const blocks = cold('-a-b-c-----|', { a: input[0], b: input[1], c: input[2] });
    const windows = blocks.pipe(
      // What the pool would hand out next overwrites each block once it is given back.
      tap(() => {
        for (const array of given) array.fill(Number.NaN);
      }),
      slidingWindows({ ...options, clock: () => scheduler.now(), blockData }),
    );
    expectObservable(windows).toBe('---x-(yzw)-|', {
      x: win(0, 10, 3),
      y: win(5, 10, 3),
      z: win(10, 10, 5),
      w: win(13, 10, 5, true),
    });
  });
  t.same(
    given.map((array) => input.findIndex((b) => b.data === array)),
    [0, 1, 2],
    'every block, in order',
  );
});

t.test('with a pool, windows are normalized into its arrays and nothing else changes', async (t) => {
  const given = new Float32Array(10 * 3).fill(Number.NaN);
  const taken: number[] = [];
  const pool = float32Pool(4);
  pool.give(given);
  const windowData: Float32Pool = {
    take: (length) => {
      taken.push(length);
      return pool.take(length);
    },
    give: (array) => pool.give(array),
  };
  const scheduler = marbles(t);
  const seen: StationWindow[] = [];
  scheduler.run(({ cold, expectObservable }) => {
    const blocks = cold('-a-b-c-----|', {
      a: blk(0, 8),
      b: blk(8, 15),
      c: blk(15, 23, { endOfSegment: true }),
    });
    const windows = blocks.pipe(
      slidingWindows({ ...options, clock: () => scheduler.now(), windowData }),
      tap((w) => seen.push(w)),
    );
    expectObservable(windows).toBe('---x-(yzw)-|', {
      x: win(0, 10, 3),
      y: win(5, 10, 3),
      z: win(10, 10, 5),
      w: win(13, 10, 5, true),
    });
  });
  t.same(taken, [30, 30, 30, 30], 'every window took its array from the pool');
  t.equal(seen[0].data.buffer, given.buffer, 'the first window was written into the array given to the pool');
  t.not(seen[1].data.buffer, given.buffer, 'later ones into new arrays, the given one being still in use');
});

t.test(
  'a window ending at the newest sample waits for the next block; completion ends the segment',
  async (t) => {
    const scheduler = marbles(t);
    scheduler.run(({ cold, expectObservable }) => {
      const blocks = cold('-a---b-|', { a: blk(0, 10), b: blk(10, 12) });
      const windows = blocks.pipe(slidingWindows({ ...options, clock: () => scheduler.now() }));
      expectObservable(windows).toBe('-----x-(y|)', { x: win(0, 10, 1), y: win(2, 10, 5, true) });
    });
  },
);

t.test('a segment that ends exactly at a stride window marks that window', async (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const blocks = cold('-a-m-|', { a: blk(0, 15), m: { ...blk(15, 15), endOfSegment: true } });
    const windows = blocks.pipe(slidingWindows({ ...options, clock: () => scheduler.now() }));
    expectObservable(windows).toBe('-x-y-|', { x: win(0, 10, 1), y: win(5, 10, 1, true) });
  });
});

t.test('a segment shorter than a window gives one window of its own length', async (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const blocks = cold('-a-b-|', { a: blk(0, 4), b: blk(4, 7, { endOfSegment: true }) });
    const windows = blocks.pipe(slidingWindows({ ...options, clock: () => scheduler.now() }));
    expectObservable(windows).toBe('---x-|', { x: win(0, 7, 3, true) });
  });
});

t.test('a block that does not continue the samples ends the segment and starts a new one', async (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const blocks = cold('-a-b-----|', { a: blk(0, 12), b: blk(30, 41) });
    const windows = blocks.pipe(slidingWindows({ ...options, clock: () => scheduler.now() }));
    expectObservable(windows).toBe('-x-(yz)--(w|)', {
      x: win(0, 10, 1),
      y: win(2, 10, 1, true),
      z: win(30, 10, 3),
      w: win(31, 10, 3, true),
    });
  });
});

t.test(
  'a component absent in part of a window is filled with its mean; absent throughout, zeros',
  async (t) => {
    const scheduler = marbles(t);
    // E is absent over [0, 4) and N over the whole first window.
    const present = [4, 5, 6, 7, 8, 9].map((i) => sample(0, i));
    const meanE = present.reduce((a, b) => a + b, 0) / present.length;
    scheduler.run(({ cold, expectObservable }) => {
      const blocks = cold('-a-b-|', {
        a: blk(0, 4, { present: [false, false, true] }),
        b: blk(4, 10, { present: [true, false, true], endOfSegment: true }),
      });
      const windows = blocks.pipe(slidingWindows({ ...options, clock: () => scheduler.now() }));
      expectObservable(windows).toBe('---x-|', {
        x: win(0, 10, 3, true, raw(0, 10, { 0: (i) => (i < 4 ? meanE : sample(0, i)), 1: () => 0 })),
      });
    });
    const window = win(0, 10, 3, true, raw(0, 10, { 0: (i) => (i < 4 ? meanE : sample(0, i)), 1: () => 0 }));
    t.ok(
      window.data.every((v, k) => k % 3 !== 1 || v === 0),
      'the absent component is a dead channel',
    );
  },
);

t.test('a segment off the grid: one window at its start, then the multiples of the stride', async (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const blocks = cold('-a-b-----|', { a: blk(3, 14), b: blk(14, 26, { endOfSegment: true }) });
    const windows = blocks.pipe(slidingWindows({ ...options, clock: () => scheduler.now() }));
    expectObservable(windows).toBe('-x-(yzvw)|', {
      x: win(3, 10, 1),
      y: win(5, 10, 3),
      z: win(10, 10, 3),
      v: win(15, 10, 3),
      // The last grid window ends before the segment does: one aligned to its end.
      w: win(16, 10, 3, true),
    });
  });
});

t.test('a segment that starts later gets the same windows as an unbroken one past its first', async (t) => {
  const windowsFrom = (from: number) => {
    const step = pushWindowBlock(createWindowState({ length: 10, stride: 5 }), blk(from, 60), 0);
    return step.windows;
  };
  const unbroken = windowsFrom(0);
  for (const from of [1, 7, 13, 22]) {
    const resumed = windowsFrom(from);
    t.equal(resumed[0].startIndex, BASE + from, `from ${from}: a window at the segment's start`);
    t.strictSame(
      resumed.slice(1),
      unbroken.filter((w) => w.startIndex > BASE + from),
      `from ${from}: then the unbroken stream's windows`,
    );
  }
});

t.test("staggered: the windows lie on a grid moved by the station's own offset", async (t) => {
  // XX.STA..HH's offset in a stride of 5 is 1 (grid.spec.ts): windows at the segment's start, then 1 mod 5.
  t.equal(staggerOffset('XX.STA..HH', 5), 1);
  const scheduler = marbles(t);
  scheduler.run(({ cold, expectObservable }) => {
    const blocks = cold('-a-b-----|', { a: blk(3, 14), b: blk(14, 26, { endOfSegment: true }) });
    const windows = blocks.pipe(slidingWindows({ ...options, stagger: true, clock: () => scheduler.now() }));
    expectObservable(windows).toBe('-x-(yzw)-|', {
      x: win(3, 10, 1),
      y: win(6, 10, 3),
      z: win(11, 10, 3),
      // The last grid window (11) ends before the segment does: one aligned to its end.
      w: win(16, 10, 3, true),
    });
  });
  const windowsFrom = (from: number, stagger: boolean) =>
    pushWindowBlock(createWindowState({ length: 10, stride: 5, stagger }), blk(from, 60), 0).windows;
  const unbroken = windowsFrom(0, true);
  t.strictSame(
    unbroken.map((w) => w.startIndex - BASE),
    [0, 1, 6, 11, 16, 21, 26, 31, 36, 41, 46],
    'unstaggered the grid would be 5, 10, ...',
  );
  t.strictSame(
    windowsFrom(0, false).map((w) => w.startIndex - BASE),
    [0, 5, 10, 15, 20, 25, 30, 35, 40, 45],
  );
  for (const from of [2, 7, 13]) {
    t.strictSame(
      windowsFrom(from, true).slice(1),
      unbroken.filter((w) => w.startIndex > BASE + from),
      `a segment from ${from} gets the unbroken stream's windows past its first`,
    );
  }
  const other = { ...station, station: 'DEV1' };
  const otherStarts = pushWindowBlock(
    createWindowState({ length: 10, stride: 5, stagger: true }),
    { ...blk(0, 30), station: other },
    0,
  ).windows.map((w) => w.startIndex - BASE);
  t.strictSame(otherStarts, [0, 4, 9, 14, 19], "another station's windows at its own offset (4)");
});

t.test(
  'property: how blocks are cut does not change the windows; the state survives a structured clone',
  async (t) => {
    const random = lcg(23);
    for (let trial = 0; trial < 30; trial++) {
      const n = 1 + Math.floor(random() * 80);
      // The segment starts at a random place relative to the grid of stride 3.
      const offset = Math.floor(random() * 5);
      const windowsOf = (cuts: number[]) => {
        let state = createWindowState({ length: 10, stride: 3 });
        const out: StationWindow[] = [];
        let from = offset;
        for (const to of [...cuts, n].map((c) => c + offset)) {
          const step = pushWindowBlock(state, blk(from, to, { endOfSegment: to === n + offset }), 0);
          // Resume from a structured clone (what crosses a process or a worker): the same windows.
          state = structuredClone(step.state);
          t.strictSame(state, step.state);
          out.push(...step.windows);
          from = to;
        }
        out.push(...flushWindows(state).windows);
        return out;
      };
      const whole = windowsOf([]);
      const cuts = [...new Set(Array.from({ length: 6 }, () => 1 + Math.floor(random() * (n - 1))))]
        .filter((c) => c > 0 && c < n)
        .sort((a, b) => a - b);
      t.strictSame(windowsOf(cuts), whole, `trial ${trial}: ${n} samples from ${offset} cut at ${cuts}`);
      const starts = whole.map((w) => w.startIndex);
      const end = BASE + offset + n;
      const expected = [BASE + offset];
      if (n > 10) {
        // Multiples of 3 on the absolute grid (BASE itself is not one).
        for (let g = (Math.floor((BASE + offset) / 3) + 1) * 3; g + 10 <= end; g += 3) expected.push(g);
        if (expected[expected.length - 1] + 10 < end) expected.push(end - 10);
      }
      t.strictSame(starts, expected, 'the segment start, the multiples of the stride, the aligned end');
      t.strictSame(
        whole.map((w) => w.endOfSegment),
        whole.map((_, i) => i === whole.length - 1),
        'only the last window ends the segment',
      );
    }
  },
);
