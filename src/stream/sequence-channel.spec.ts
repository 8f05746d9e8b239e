import { of } from 'rxjs';
import t from 'tap';
import { lcg, marbles } from '../../test/stream/marbles.ts';
import {
  createSequenceState,
  flushSequence,
  interpolateNonFinite,
  pushRecord,
  RECENT_RECORDS,
  releaseDue,
  type SequenceRecord,
  type SequenceState,
  sequenceChannel,
} from './sequence-channel.ts';
import type { ChannelChunk, ChannelEvent } from './types.ts';

const streamId = { network: 'XX', station: 'STA', location: '', channel: 'HHZ' };
/** 2023-11-14T22:13:20Z, on the grid of every rate used here. */
const T0_US = 1_700_000_000_000_000;
const base = (rate: number) => (T0_US / 1e6) * rate;
/** A signal with no two neighbours equal, so misplaced samples show. */
const signal = (i: number) => ((i * 7919) % 101) - 50;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => signal(from + k));

/** A record of samples [from, to) of the signal at `rate`, as the decoder gives it (integer counts). */
function rec(from: number, to: number, rate = 100, values = range(from, to)): SequenceRecord {
  return {
    streamId,
    startTimeUs: T0_US + (from * 1e6) / rate,
    samplingRate: rate,
    samples: Int32Array.from(values),
  };
}

function chunk(from: number, to: number, rate = 100, values = range(from, to)): ChannelChunk {
  return { streamId, samplingRate: rate, startIndex: base(rate) + from, samples: Float64Array.from(values) };
}

function event(kind: ChannelEvent['kind'], at: number, durationSamples?: number, rate = 100) {
  return {
    kind,
    streamId,
    timeUs: T0_US + (at * 1e6) / rate,
    ...(durationSamples === undefined ? {} : { durationUs: (durationSamples * 1e6) / rate }),
  };
}

/** Events without their free-text detail, for exact comparison. */
const bare = (events: ChannelEvent[]) => events.map(({ detail: _, ...rest }) => rest);

t.test('contiguous records pass through at once, as float64 chunks, then complete', async (t) => {
  const events: ChannelEvent[] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-b--c|', { a: rec(0, 10), b: rec(10, 25), c: rec(25, 30) });
    expectObservable(records.pipe(sequenceChannel({ report: (e) => events.push(e) }))).toBe('-x-y--z|', {
      x: chunk(0, 10),
      y: chunk(10, 25),
      z: chunk(25, 30),
    });
  });
  t.strictSame(events, []);
});

t.test('a record after a hole waits for the hole; the late record is put back in order', async (t) => {
  const events: ChannelEvent[] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-c-b---|', { a: rec(0, 10), b: rec(10, 20), c: rec(20, 30) });
    const sequenced = records.pipe(sequenceChannel({ maxReorderWaitMs: 5, report: (e) => events.push(e) }));
    expectObservable(sequenced).toBe('-x---(yz)|', { x: chunk(0, 10), y: chunk(10, 20), z: chunk(20, 30) });
  });
  t.strictSame(bare(events), [event('out-of-order', 10)]);
});

t.test('a hole not filled within maxReorderWaitMs is a gap, reported with its duration', async (t) => {
  const events: ChannelEvent[] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-c------|', { a: rec(0, 10), c: rec(25, 30) });
    const sequenced = records.pipe(sequenceChannel({ maxReorderWaitMs: 4, report: (e) => events.push(e) }));
    // c arrives at frame 3 and goes at frame 7, its wait over.
    expectObservable(sequenced).toBe('-x-----y--|', { x: chunk(0, 10), y: chunk(25, 30) });
  });
  t.strictSame(bare(events), [event('gap', 10, 15)]);
});

t.test('a hole is also a gap once the data after it moved on maxReorderWaitMs (replay pace)', async (t) => {
  const events: ChannelEvent[] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    // Records 1 ms apart, far faster than real time: 50 ms is 5 samples of data.
    const records = cold('-a-c-d-e-b---|', {
      a: rec(0, 10),
      c: rec(20, 30),
      d: rec(30, 33),
      e: rec(33, 40),
      b: rec(10, 20),
    });
    const sequenced = records.pipe(sequenceChannel({ maxReorderWaitMs: 50, report: (e) => events.push(e) }));
    // c waits while the data moves on 3 samples (d), goes once it moved on 10 (e): b is then too late.
    expectObservable(sequenced).toBe('-x-----(cde)-|', {
      x: chunk(0, 10),
      c: chunk(20, 30),
      d: chunk(30, 33),
      e: chunk(33, 40),
    });
  });
  t.strictSame(bare(events), [event('gap', 10, 10), event('out-of-order', 10, 10)]);
});

t.test('completion passes on what still waits, declaring its gaps', async (t) => {
  const events: ChannelEvent[] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-c|', { a: rec(0, 10), c: rec(12, 20) });
    const sequenced = records.pipe(
      sequenceChannel({ maxReorderWaitMs: 1000, report: (e) => events.push(e) }),
    );
    expectObservable(sequenced).toBe('-x--(y|)', { x: chunk(0, 10), y: chunk(12, 20) });
  });
  t.strictSame(bare(events), [event('gap', 10, 2)]);
});

t.test('more waiting records than maxPendingRecords declare the oldest hole at once', async (t) => {
  const events: ChannelEvent[] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-c-e-|', { a: rec(0, 10), c: rec(20, 30), e: rec(40, 50) });
    const sequenced = records.pipe(
      sequenceChannel({ maxReorderWaitMs: 1000, maxPendingRecords: 1, report: (e) => events.push(e) }),
    );
    expectObservable(sequenced).toBe('-x---y-(z|)', { x: chunk(0, 10), y: chunk(20, 30), z: chunk(40, 50) });
  });
  t.strictSame(bare(events), [event('gap', 10, 10), event('gap', 30, 10)]);
});

t.test('exact duplicates are dropped and reported, also after they were passed on', async (t) => {
  const events: ChannelEvent[] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-a-b-a-|', { a: rec(0, 10), b: rec(10, 20) });
    expectObservable(records.pipe(sequenceChannel({ report: (e) => events.push(e) }))).toBe('-x---y---|', {
      x: chunk(0, 10),
      y: chunk(10, 20),
    });
  });
  t.strictSame(bare(events), [event('duplicate', 0, 10), event('duplicate', 0, 10)]);
});

t.test('the last RECENT_RECORDS records are known as duplicates; an older one comes too late', async (t) => {
  // 17 records of 10 samples, then the 16th newest again (a duplicate) and the 17th (not remembered:
  // its samples were passed on long ago, so they are late).
  let state = createSequenceState(streamId);
  for (let r = 0; r <= RECENT_RECORDS; r++) state = pushRecord(state, rec(10 * r, 10 * r + 10), 0).state;
  const again = pushRecord(state, rec(10, 20), 0);
  t.strictSame(bare(again.events), [event('duplicate', 10, 10)]);
  const older = pushRecord(again.state, rec(0, 10), 0);
  t.strictSame(bare(older.events), [event('out-of-order', 0, 10)]);
  t.strictSame([again.chunks, older.chunks], [[], []], 'neither passed on');
});

t.test('overlapping samples are trimmed, the first arrival kept; late samples dropped', async (t) => {
  const events: ChannelEvent[] = [];
  const other = range(5, 15).map((v) => v + 1000);
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-b-c-|', {
      a: rec(0, 10),
      // Same times as a's last five samples and five new ones, with other values: a's are kept.
      b: rec(5, 15, 100, other),
      // Entirely before the stream's position and on no record received: too late.
      c: rec(-20, -10),
    });
    expectObservable(records.pipe(sequenceChannel({ report: (e) => events.push(e) }))).toBe('-x-y---|', {
      x: chunk(0, 10),
      y: chunk(10, 15, 100, other.slice(5)),
    });
  });
  t.strictSame(bare(events), [event('overlap', 5, 5), event('out-of-order', -20, 10)]);
});

t.test('a record overlapping one still waiting keeps the waiting one (first arrival)', async (t) => {
  const events: ChannelEvent[] = [];
  const other = range(15, 25).map((v) => v + 1000);
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-c-b-|', { a: rec(0, 10), c: rec(20, 30), b: rec(15, 25, 100, other) });
    const sequenced = records.pipe(
      sequenceChannel({ maxReorderWaitMs: 1000, report: (e) => events.push(e) }),
    );
    expectObservable(sequenced).toBe('-x-----(yz|)', {
      x: chunk(0, 10),
      y: chunk(15, 20, 100, other.slice(0, 5)),
      z: chunk(20, 30),
    });
  });
  t.strictSame(bare(events), [event('overlap', 15, 5), event('out-of-order', 15), event('gap', 10, 5)]);
});

t.test("a decoded record's Float64Array goes on as the chunk's samples, not a copy", async (t) => {
  const record = { ...rec(0, 10), samples: Float64Array.from(range(0, 10)) };
  const chunks: ChannelChunk[] = [];
  of(record)
    .pipe(sequenceChannel())
    .subscribe((c) => chunks.push(c));
  t.equal(chunks.length, 1);
  t.equal(chunks[0].samples, record.samples);
});

t.test('NaN and Infinity are interpolated linearly and reported; an all-NaN record is dropped', async (t) => {
  const events: ChannelEvent[] = [];
  const withBad = [1, 2, Number.NaN, Number.POSITIVE_INFINITY, 8, 9, Number.NEGATIVE_INFINITY];
  const rec64 = (from: number, values: number[]): SequenceRecord => ({
    ...rec(from, from + values.length),
    samples: Float64Array.from(values),
  });
  const a = rec64(0, withBad);
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-b-|', { a, b: rec64(7, [Number.NaN, Number.NaN]) });
    expectObservable(records.pipe(sequenceChannel({ report: (e) => events.push(e) }))).toBe('-x---|', {
      x: chunk(0, 7, 100, [1, 2, 4, 6, 8, 9, 9]),
    });
  });
  t.strictSame(Array.from(a.samples), withBad, "the record's own samples stay as they came");
  t.strictSame(bare(events), [event('non-finite', 0, 3), event('non-finite', 7, 2)]);
  t.match(events[0].detail, /3 of 7 samples .* interpolated/);
  t.match(events[1].detail, /dropped/);
});

t.test(
  'a rate change is reported and starts a new segment on the new grid after the old samples',
  async (t) => {
    const events: ChannelEvent[] = [];
    marbles(t).run(({ cold, expectObservable }) => {
      // 100 Hz samples 0..9 end at 0.1 s; the 40 Hz record starts there (40 Hz index 4), overlapping 1 sample.
      const records = cold('-a-b-c|', { a: rec(0, 10), b: rec(3, 8, 40), c: rec(8, 10, 40) });
      expectObservable(records.pipe(sequenceChannel({ report: (e) => events.push(e) }))).toBe('-x-y-z|', {
        x: chunk(0, 10),
        y: chunk(4, 8, 40),
        z: chunk(8, 10, 40),
      });
    });
    t.strictSame(bare(events), [
      { kind: 'rate-change', streamId, timeUs: T0_US + 75_000 },
      event('out-of-order', 3, 1, 40),
    ]);
  },
);

t.test('a lone record a day ahead is dropped; the stream goes on', async (t) => {
  const events: ChannelEvent[] = [];
  const day = 86_400 * 100;
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-j-b-|', { a: rec(0, 10), j: rec(2 * day, 2 * day + 10), b: rec(10, 20) });
    expectObservable(records.pipe(sequenceChannel({ report: (e) => events.push(e) }))).toBe('-x---y-|', {
      x: chunk(0, 10),
      y: chunk(10, 20),
    });
  });
  t.strictSame(bare(events), [event('clock-jump', 2 * day, 2 * day - 10)]);
});

t.test('a jump a day ahead confirmed by the next record moves the stream there', async (t) => {
  const events: ChannelEvent[] = [];
  const day = 86_400 * 100;
  const j = 2 * day;
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-j-k-----|', { a: rec(0, 10), j: rec(j, j + 10), k: rec(j + 10, j + 20) });
    expectObservable(records.pipe(sequenceChannel({ report: (e) => events.push(e) }))).toBe('-x---(yz)--|', {
      x: chunk(0, 10),
      y: chunk(j, j + 10),
      z: chunk(j + 10, j + 20),
    });
  });
  t.strictSame(bare(events), [event('clock-jump', j, j - 10)]);
});

t.test('a record more than a day behind the stream is dropped', async (t) => {
  const events: ChannelEvent[] = [];
  const day = 86_400 * 100;
  marbles(t).run(({ cold, expectObservable }) => {
    const records = cold('-a-o-|', { a: rec(0, 10), o: rec(-2 * day, -2 * day + 10) });
    expectObservable(records.pipe(sequenceChannel({ report: (e) => events.push(e) }))).toBe('-x---|', {
      x: chunk(0, 10),
    });
  });
  t.strictSame(bare(events), [event('clock-jump', -2 * day, 2 * day + 10)]);
});

t.test('a step takes the state over: it updates the state it is given and returns it', async (t) => {
  let state = createSequenceState(streamId, { maxReorderWaitMs: 1000 });
  state = pushRecord(state, rec(0, 10), 0).state;
  const pushed = pushRecord(state, rec(20, 30), 0);
  t.equal(pushed.state, state, 'the same object');
  const released = releaseDue(state, 1000);
  t.equal(released.state, state);
  t.strictSame(
    released.chunks.map((c) => c.startIndex - base(100)),
    [20],
  );
  t.strictSame(flushSequence(state).chunks, [], 'what was released is not released again');
});

t.test('a start within half a sample of the grid continues the stream; beyond it is a gap', async (t) => {
  let state = createSequenceState(streamId, { maxReorderWaitMs: 0 });
  const jittered = (from: number, to: number, offsetUs: number) => ({
    ...rec(from, to),
    startTimeUs: T0_US + from * 10_000 + offsetUs,
  });
  const steps = [jittered(0, 10, 4_000), jittered(10, 20, -4_999), jittered(20, 30, 5_001)].map((r) => {
    const step = pushRecord(state, r, 0);
    state = step.state;
    return step;
  });
  t.strictSame(
    steps.map((s) => s.chunks.map((c) => c.startIndex - base(100))),
    [[0], [10], [21]],
  );
  t.strictSame(bare(steps[2].events), [event('gap', 20, 1)]);
});

t.test('interpolateNonFinite: interior runs linear, end runs held, all bad is -1', async (t) => {
  const x = Float64Array.from([Number.NaN, 2, Number.NaN, Number.NaN, 8, Number.NaN]);
  t.equal(interpolateNonFinite(x), 4);
  t.strictSame(Array.from(x), [2, 2, 4, 6, 8, 8]);
  t.equal(interpolateNonFinite(Float64Array.from([Number.NaN, Number.POSITIVE_INFINITY])), -1);
  const clean = Float64Array.from([1, 2]);
  t.equal(interpolateNonFinite(clean), 0);
  t.strictSame(Array.from(clean), [1, 2]);
});

/** Runs records through the pure steps (all at time 0) and flushes. */
/** Chunks and events of `records`, then the end; `saved`: the state goes on from a JSON copy after every step. */
function sequence(
  records: SequenceRecord[],
  options: Parameters<typeof createSequenceState>[1],
  saved = false,
) {
  let state: SequenceState = createSequenceState(streamId, options);
  const chunks: ChannelChunk[] = [];
  const events: ChannelEvent[] = [];
  for (const record of records) {
    const step = pushRecord(state, record, 0);
    state = saved ? JSON.parse(JSON.stringify(step.state)) : step.state;
    chunks.push(...step.chunks);
    events.push(...step.events);
  }
  const end = flushSequence(state);
  chunks.push(...end.chunks);
  events.push(...end.events);
  return { chunks, events };
}

/** Random records of the signal: random lengths, shuffled locally, some repeated, some re-cut overlapping. */
function messyRecords(random: () => number, n: number): SequenceRecord[] {
  const records: SequenceRecord[] = [];
  for (let from = 0; from < n; ) {
    const to = Math.min(n, from + 1 + Math.floor(random() * 40));
    records.push(rec(from, to));
    if (random() < 0.15) records.push(rec(from, to));
    if (random() < 0.15) {
      const a = Math.max(0, from - Math.floor(random() * 20));
      records.push(rec(a, Math.min(n, a + 1 + Math.floor(random() * 50))));
    }
    from = to;
  }
  for (let i = records.length - 1; i > 0; i--) {
    const j = Math.max(0, i - Math.floor(random() * 4));
    [records[i], records[j]] = [records[j], records[i]];
  }
  return records;
}

t.test(
  'property: any order, duplicates and overlaps give back the signal exactly once, in order',
  async (t) => {
    const random = lcg(11);
    for (let trial = 0; trial < 100; trial++) {
      const n = 50 + Math.floor(random() * 500);
      let records = messyRecords(random, n);
      // The first record sets the stream's start: put one at sample 0 first.
      records = [rec(0, 1), ...records];
      const options = { maxReorderWaitMs: 1e9, maxPendingRecords: 1e6 };
      const { chunks, events } = sequence(records, options);
      t.strictSame(
        sequence(records, options, true),
        { chunks, events },
        'a state saved as JSON after any record goes on the same',
      );
      const samples = chunks.flatMap((c) => Array.from(c.samples));
      t.strictSame(samples, range(0, n), `trial ${trial}: every sample once, with its value`);
      t.ok(
        chunks.every(
          (c, i) => i === 0 || c.startIndex === chunks[i - 1].startIndex + chunks[i - 1].samples.length,
        ),
        'contiguous',
      );
      t.notOk(
        events.some((e) => e.kind === 'gap'),
        'no gap where nothing is missing',
      );
    }
  },
);

t.test(
  'property: with a small buffer, output is increasing, true to the signal, and gaps add up',
  async (t) => {
    const random = lcg(5);
    for (let trial = 0; trial < 100; trial++) {
      const n = 50 + Math.floor(random() * 500);
      const records = [rec(0, 1), ...messyRecords(random, n).filter(() => random() > 0.1)];
      const { chunks, events } = sequence(records, { maxReorderWaitMs: 0, maxPendingRecords: 2 });
      let next = base(100);
      let gapUs = 0;
      for (const c of chunks) {
        t.ok(c.startIndex >= next, 'in order, no overlap');
        t.strictSame(
          Array.from(c.samples),
          range(c.startIndex - base(100), c.startIndex - base(100) + c.samples.length),
        );
        next = c.startIndex + c.samples.length;
      }
      for (const e of events) if (e.kind === 'gap') gapUs += e.durationUs!;
      const covered = chunks.reduce((sum, c) => sum + c.samples.length, 0);
      t.equal(covered + gapUs / 10_000, next - base(100), `trial ${trial}: samples and gaps fill the span`);
    }
  },
);
