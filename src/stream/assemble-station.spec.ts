import { tap } from 'rxjs';
import t from 'tap';
import { lcg, marbles } from '../../test/stream/marbles.ts';
import { float32Pool } from '../util/array-pool.ts';
import {
  type AssembleOptions,
  type AssembleState,
  assembleStation,
  createAssembleState,
  flushAssemble,
  pushAssemble,
} from './assemble-station.ts';
import { perChannel } from './per-station.ts';
import { type SequenceRecord, sequenceChannel } from './sequence-channel.ts';
import type { ChannelChunk, ChannelEvent, StationBlock } from './types.ts';

const station = { network: 'XX', station: 'STA', location: '', channelPrefix: 'HH' };
const BASE = 170_000_000_000; // 2023-11-14T22:13:20Z at 100 Hz
// 10 samples of lag, gaps up to 5 samples filled.
const options: AssembleOptions = {
  components: ['E', 'N', 'Z'],
  samplingRate: 100,
  maxLagMs: 100,
  shortGapFillS: 0.05,
};

/** A distinct value per component and sample: E 1000 + i, N 2000 + i, Z 3000 + i. */
const value = (component: string, i: number) => ({ E: 1000, N: 2000, Z: 3000 })[component]! + i;

function ch(channel: string, from: number, to: number, values?: number[]): ChannelChunk {
  const component = channel === '1' ? 'N' : channel === '2' ? 'E' : channel;
  return {
    streamId: { network: 'XX', station: 'STA', location: '', channel: `HH${channel}` },
    samplingRate: 100,
    startIndex: BASE + from,
    samples: Float64Array.from(
      values ?? Array.from({ length: to - from }, (_, k) => value(component, from + k)),
    ),
  };
}

type Column = ((i: number) => number) | null;

/** The block over [from, to): per component E, N, Z a column of values, or null for absent (zeros). */
function block(
  from: number,
  to: number,
  columns: [Column, Column, Column],
  endOfSegment = false,
): StationBlock {
  const data = new Float32Array((to - from) * 3);
  for (let i = from; i < to; i++) {
    columns.forEach((col, c) => {
      data[(i - from) * 3 + c] = col === null ? 0 : col(i);
    });
  }
  return {
    station,
    samplingRate: 100,
    startIndex: BASE + from,
    length: to - from,
    components: ['E', 'N', 'Z'],
    data,
    present: columns.map((col) => col !== null),
    ...(endOfSegment ? { endOfSegment } : {}),
  };
}

const E = (i: number) => value('E', i);
const N = (i: number) => value('N', i);
const Z = (i: number) => value('Z', i);
/** The zero-length block that ends a segment whose last block went out before. */
const segmentEnd = (at: number) => block(at, at, [null, null, null], true);
const bare = (events: ChannelEvent[]) => events.map(({ detail: _, ...rest }) => rest);

t.test('waits for all components, then one block; completion ends the segment', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-z-n-e-|', { z: ch('Z', 0, 10), n: ch('N', 0, 10), e: ch('E', 0, 10) });
    expectObservable(chunks.pipe(assembleStation(options))).toBe('-----x-(m|)', {
      x: block(0, 10, [E, N, Z]),
      m: segmentEnd(10),
    });
  });
});

t.test('Z12 channels: 1 feeds N and 2 feeds E; other orientations are ignored', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-z-h-a-b-|', {
      z: ch('Z', 0, 10),
      h: ch('F', 0, 10, new Array(10).fill(7)),
      a: ch('1', 0, 10),
      b: ch('2', 0, 10),
    });
    expectObservable(chunks.pipe(assembleStation(options))).toBe('-------x-(m|)', {
      x: block(0, 10, [E, N, Z]),
      m: segmentEnd(10),
    });
  });
});

t.test('a Z-only station: after maxLag without E and N it goes on with them as zeros', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-a-b-c-|', { a: ch('Z', 0, 5), b: ch('Z', 5, 12), c: ch('Z', 12, 20) });
    expectObservable(chunks.pipe(assembleStation(options))).toBe('---x-y-(m|)', {
      x: block(0, 12, [null, null, Z]),
      y: block(12, 20, [null, null, Z]),
      m: segmentEnd(20),
    });
  });
});

t.test(
  'with a pool, blocks are written into its arrays; absent components are zeros all the same',
  async (t) => {
    const pool = float32Pool(4);
    const used = [pool.take(12 * 3), pool.take(8 * 3)];
    for (const array of used) pool.give(array.fill(Number.NaN));
    const buffers: ArrayBufferLike[] = [];
    marbles(t).run(({ cold, expectObservable }) => {
      const chunks = cold('-a-b-c-|', { a: ch('Z', 0, 5), b: ch('Z', 5, 12), c: ch('Z', 12, 20) });
      const blocks = chunks.pipe(
        assembleStation({ ...options, blockData: pool }),
        tap((b) => buffers.push(b.data.buffer)),
      );
      expectObservable(blocks).toBe('---x-y-(m|)', {
        x: block(0, 12, [null, null, Z]),
        y: block(12, 20, [null, null, Z]),
        m: segmentEnd(20),
      });
    });
    t.same(
      buffers.slice(0, 2),
      used.map((array) => array.buffer),
      "both blocks went into the pool's arrays",
    );
  },
);

t.test("a chunk's array goes back to chunkData once all its samples are in blocks, not before", async (t) => {
  const given: Float64Array[] = [];
  const pools = {
    chunkData: { take: (n: number) => new Float64Array(n), give: (a: Float64Array) => given.push(a) },
  };
  const chunks = {
    z: ch('Z', 0, 10),
    n1: ch('N', 0, 5),
    e1: ch('E', 0, 5),
    n2: ch('N', 5, 10),
    e2: ch('E', 5, 10),
  };
  const names = () =>
    given.map((array) => Object.entries(chunks).find(([, c]) => c.samples.buffer === array.buffer)?.[0]);
  let state = createAssembleState(station, options);
  const blocks: StationBlock[] = [];
  for (const name of ['z', 'n1', 'e1'] as const) {
    const step = pushAssemble(state, chunks[name], pools);
    state = step.state;
    blocks.push(...step.blocks);
  }
  t.same(
    blocks.map((b) => [b.startIndex - BASE, b.length]),
    [[0, 5]],
  );
  t.same(names(), ['e1', 'n1'], "Z's later half is still to go out: its array stays");
  for (const name of ['n2', 'e2'] as const) state = pushAssemble(state, chunks[name], pools).state;
  t.same(names(), ['e1', 'n1', 'e2', 'n2', 'z'], 'then every one, once');
  const ignored = ch('F', 0, 10);
  pushAssemble(state, ignored, pools);
  t.equal(given.at(-1), ignored.samples, "an ignored channel's array at once");
});

t.test('a component that lags more than maxLag is left out; its late samples are dropped', async (t) => {
  const events: ChannelEvent[] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-a-b-c-d-e-|', {
      a: ch('Z', 0, 8),
      b: ch('N', 0, 8),
      c: ch('Z', 8, 15),
      d: ch('N', 8, 15),
      // E comes after Z and N hold 15 samples past its start (more than 10): its first 15 are too late.
      e: ch('E', 0, 20),
    });
    const blocks = chunks.pipe(assembleStation({ ...options, report: (e) => events.push(e) }));
    expectObservable(blocks).toBe('-----x-y---(w|)', {
      x: block(0, 8, [null, N, Z]),
      y: block(8, 15, [null, N, Z]),
      w: block(15, 20, [E, null, null], true),
    });
  });
  t.strictSame(bare(events), [
    {
      kind: 'out-of-order',
      streamId: { network: 'XX', station: 'STA', location: '', channel: 'HHE' },
      timeUs: 1_700_000_000_000_000,
      durationUs: 150_000,
    },
  ]);
});

t.test('the start moves back to the earliest component while nothing went out', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-e-n-z-----|', { e: ch('E', 5, 15), n: ch('N', 0, 10), z: ch('Z', 0, 10) });
    expectObservable(chunks.pipe(assembleStation(options))).toBe('-----(xy)--(w|)', {
      x: block(0, 5, [null, N, Z]),
      y: block(5, 10, [E, N, Z]),
      w: block(10, 15, [E, null, null], true),
    });
  });
});

t.test('a short gap in one component is filled linearly; the segment goes on', async (t) => {
  // Z misses 10..12 (3 samples <= 5): filled on the line between Z(9) and Z(13).
  const filledZ = (i: number) => (i >= 10 && i < 13 ? Z(9) + ((Z(13) - Z(9)) * (i - 9)) / 4 : Z(i));
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-a-b-c-d-e-f-|', {
      a: ch('E', 0, 10),
      b: ch('N', 0, 10),
      c: ch('Z', 0, 10),
      d: ch('E', 10, 20),
      e: ch('N', 10, 20),
      f: ch('Z', 13, 20),
    });
    expectObservable(chunks.pipe(assembleStation(options))).toBe('-----x-----y-(m|)', {
      x: block(0, 10, [E, N, Z]),
      y: block(10, 20, [E, N, filledZ]),
      m: segmentEnd(20),
    });
  });
});

t.test('a long gap in one component leaves it out there while the others go on', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-a-b-c-d-e-f-----|', {
      a: ch('E', 0, 10),
      b: ch('N', 0, 10),
      c: ch('Z', 0, 10),
      d: ch('Z', 18, 25),
      e: ch('E', 10, 25),
      f: ch('N', 10, 25),
    });
    // 20 samples of lag: E may run 15 samples ahead of N.
    expectObservable(chunks.pipe(assembleStation({ ...options, maxLagMs: 200 }))).toBe(
      '-----x-----(yz)--(m|)',
      {
        x: block(0, 10, [E, N, Z]),
        y: block(10, 18, [E, N, null]),
        z: block(18, 25, [E, N, Z]),
        m: segmentEnd(25),
      },
    );
  });
});

t.test(
  'records with a hole in one channel, sequenced at replay pace: left out for the hole only',
  async (t) => {
    /** Records of 10 samples, interleaved by start time as an archive replay gives them. */
    const rec = (channel: string, from: number): SequenceRecord => ({
      streamId: { network: 'XX', station: 'STA', location: '', channel: `HH${channel}` },
      startTimeUs: (BASE + from) * 10_000,
      samplingRate: 100,
      samples: Array.from({ length: 10 }, (_, k) => value(channel, from + k)),
    });
    const events: ChannelEvent[] = [];
    const report = (e: ChannelEvent) => events.push(e);
    marbles(t).run(({ cold, expectObservable }) => {
      // Z's record [10, 20) is lost (a corrupt record); 2 ms a record, far faster than real time.
      const records = cold('-a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-|', {
        a: rec('E', 0),
        b: rec('N', 0),
        c: rec('Z', 0),
        d: rec('E', 10),
        e: rec('N', 10),
        f: rec('E', 20),
        g: rec('N', 20),
        h: rec('Z', 20),
        i: rec('E', 30),
        j: rec('N', 30),
        k: rec('Z', 30),
        l: rec('E', 40),
        m: rec('N', 40),
        n: rec('Z', 40),
        o: rec('E', 50),
        p: rec('N', 50),
      });
      const blocks = records.pipe(
        perChannel((channel) => channel.pipe(sequenceChannel({ maxReorderWaitMs: 50, report }))),
        assembleStation({ ...options, maxLagMs: 300, report }),
      );
      // Z's record after the hole goes as soon as Z's next one shows the data moved on (k): Z is left
      // out over [10, 20) only, and nothing of it is dropped.
      expectObservable(blocks).toBe('-----x---------------(yzw)-u-----(v|)', {
        x: block(0, 10, [E, N, Z]),
        y: block(10, 20, [E, N, null]),
        z: block(20, 30, [E, N, Z]),
        w: block(30, 40, [E, N, Z]),
        u: block(40, 50, [E, N, Z]),
        v: block(50, 60, [E, N, null], true),
      });
    });
    t.strictSame(bare(events), [
      {
        kind: 'gap',
        streamId: { network: 'XX', station: 'STA', location: '', channel: 'HHZ' },
        timeUs: 1_700_000_000_100_000,
        durationUs: 100_000,
      },
    ]);
  },
);

t.test('a long gap of the whole station ends the segment; a new one starts after it', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-a-b-c-d-e-f-----|', {
      a: ch('E', 0, 10),
      b: ch('N', 0, 10),
      c: ch('Z', 0, 10),
      // 10 samples later (> 5): Z comes back first, and that gap is no lag for E and N.
      d: ch('Z', 20, 30),
      e: ch('N', 20, 30),
      f: ch('E', 20, 30),
    });
    expectObservable(chunks.pipe(assembleStation(options))).toBe('-----x-----(my)--(n|)', {
      x: block(0, 10, [E, N, Z]),
      m: segmentEnd(10),
      y: block(20, 30, [E, N, Z]),
      n: segmentEnd(30),
    });
  });
});

t.test('endAfterIdleMs ends the segment of a station that went quiet', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-a----b----|', { a: ch('Z', 0, 5), b: ch('Z', 5, 8) });
    expectObservable(chunks.pipe(assembleStation({ ...options, endAfterIdleMs: 3 }))).toBe('----x----y-|', {
      x: block(0, 5, [null, null, Z], true),
      y: block(5, 8, [null, null, Z], true),
    });
  });
});

t.test('chunks at another rate are refused with a clear error', async (t) => {
  const state = createAssembleState(station, options);
  t.throws(() => pushAssemble(state, { ...ch('Z', 0, 5), samplingRate: 40 }), {
    name: 'WaveformFormatError',
    message: /at 40 Hz, not 100 Hz/,
  });
});

/** Per sample: [E, N, Z values, E, N, Z presence]; and where segments end. */
function flatten(blocks: StationBlock[]) {
  const rows = new Map<number, number[]>();
  const ends: number[] = [];
  for (const b of blocks) {
    for (let i = 0; i < b.length; i++) {
      const at = b.startIndex - BASE + i;
      if (rows.has(at)) throw new Error(`sample ${at} came twice`);
      rows.set(at, [...b.data.subarray(i * 3, i * 3 + 3), ...b.present.map(Number)]);
    }
    if (b.endOfSegment) ends.push(b.startIndex + b.length - BASE);
  }
  return { rows: [...rows.entries()].sort((a, b) => a[0] - b[0]), ends };
}

t.test("property: how chunks are cut and interleaved does not change the blocks' content", async (t) => {
  const random = lcg(17);
  const lenient = { ...options, maxLagMs: 100_000 };
  for (let trial = 0; trial < 40; trial++) {
    const n = 100 + Math.floor(random() * 300);
    // Each component: its data runs, with short and long gaps between them.
    const runs = ['E', 'N', 'Z'].map((component) => {
      const out: [number, number][] = [];
      for (let at = Math.floor(random() * 3); at < n; ) {
        const end = Math.min(n, at + 5 + Math.floor(random() * 60));
        out.push([at, end]);
        at = end + (random() < 0.5 ? 1 + Math.floor(random() * 5) : 6 + Math.floor(random() * 20));
      }
      return { component, runs: out };
    });
    const feed = (cutting: () => number) => {
      const chunks: { chunk: ChannelChunk; order: number }[] = [];
      for (const { component, runs: list } of runs) {
        // Arrival order: by end, jittered across components; a channel's own chunks stay in order.
        let order = 0;
        for (const [a, b] of list) {
          for (let at = a; at < b; ) {
            const end = Math.min(b, at + cutting());
            order = Math.max(order, end + random() * 20);
            chunks.push({ chunk: ch(component, at, end), order });
            at = end;
          }
        }
      }
      chunks.sort((x, y) => x.order - y.order);
      let state: AssembleState = createAssembleState(station, lenient);
      const blocks: StationBlock[] = [];
      for (const { chunk } of chunks) {
        const step = pushAssemble(state, chunk);
        state = step.state;
        blocks.push(...step.blocks);
      }
      // What crosses a process or a worker: a structured clone goes on the same.
      const clone = structuredClone(state);
      t.strictSame(clone, state, 'the state survives a structured clone');
      blocks.push(...flushAssemble(clone).blocks);
      return flatten(blocks);
    };
    const whole = feed(() => n);
    const pieces = feed(() => 1 + Math.floor(random() * 15));
    t.strictSame(pieces, whole, `trial ${trial}`);
  }
});
