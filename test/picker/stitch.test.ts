import { deserialize, serialize } from 'node:v8';
import t from 'tap';
import { ConfigError } from '../../src/errors.ts';
import {
  createStitchState,
  flushStitch,
  type ProbabilityWindow,
  pushWindow,
  type StitchedSegment,
  type StitchOptions,
  type StitchState,
} from '../../src/picker/stitch.ts';

// Three windows of length 4 at stride 2, one class: samples 0..7.
const windows: ProbabilityWindow[] = [
  { start: 0, probs: [1, 2, 3, 4] },
  { start: 2, probs: [5, 6, 7, 8] },
  { start: 4, probs: [9, 10, 11, 12] },
];

/** Push every window, then flush; the finished segments in order. */
function run(options: StitchOptions, input: ProbabilityWindow[]): StitchedSegment[] {
  let state = createStitchState(options);
  const out: StitchedSegment[] = [];
  for (const w of input) {
    const r = pushWindow(state, w);
    state = r.state;
    // A pushed window's segment is valid until the next push: kept as a copy.
    if (r.finished) out.push({ start: r.finished.start, probs: r.finished.probs.slice() });
  }
  const last = flushStitch(state).finished;
  if (last) out.push(last);
  return out;
}

const plain = (segments: StitchedSegment[]) =>
  segments.map((s) => ({ start: s.start, probs: Array.from(s.probs) }));

t.test('mean of the windows covering each sample, finished at each new window start', async (t) => {
  // Samples 2, 3: (3 + 5) / 2, (4 + 6) / 2; samples 4, 5: (7 + 9) / 2, (8 + 10) / 2.
  t.same(plain(run({ classes: 1 }, windows)), [
    { start: 0, probs: [1, 2] },
    { start: 2, probs: [4, 5] },
    { start: 4, probs: [8, 9, 11, 12] },
  ]);
});

t.test('max of the windows covering each sample', async (t) => {
  t.same(
    plain(run({ classes: 1, reduce: 'max' }, windows)).flatMap((s) => s.probs),
    [1, 2, 5, 6, 9, 10, 11, 12],
  );
  // Max of values where the later window is lower.
  const falling = [
    { start: 0, probs: [4, 3, 2, 1] },
    { start: 2, probs: [0, 0, 0, 0] },
  ];
  t.same(
    plain(run({ classes: 1, reduce: 'max' }, falling)).flatMap((s) => s.probs),
    [4, 3, 2, 1, 0, 0],
  );
});

t.test('edge blinding: window edges count only where nothing else covers the sample', async (t) => {
  // One blinded sample at each end: window 0 blinds samples 0 and 3, window 1 blinds 2 and 5, window 2 4 and 7.
  // 0: only window 0's edge -> 1; 2: window 0 inside (3), window 1 edge -> 3; 3: window 1 inside -> 6;
  // 4: window 1 inside (7); 5: window 2 inside (10); 7: only window 2's edge -> 12.
  t.same(
    plain(run({ classes: 1, edgeBlindSamples: 1 }, windows)).flatMap((s) => s.probs),
    [1, 2, 3, 6, 7, 10, 11, 12],
  );
  // With max and a blind of 2 (every sample of a length-4 window is an edge): all samples fall back.
  t.same(
    plain(run({ classes: 1, reduce: 'max', edgeBlindSamples: 2 }, windows)).flatMap((s) => s.probs),
    [1, 2, 5, 6, 9, 10, 11, 12],
  );
  // The mean with every sample an edge (a blind of 2, or more than the window holds): the edge means.
  for (const edgeBlindSamples of [2, 3]) {
    t.same(
      plain(run({ classes: 1, edgeBlindSamples }, windows)).flatMap((s) => s.probs),
      [1, 2, 4, 5, 8, 9, 11, 12],
      `mean, blind ${edgeBlindSamples}`,
    );
  }
});

t.test('several classes keep their columns', async (t) => {
  const twoClass = [
    { start: 0, probs: [1, 10, 2, 20, 3, 30] },
    { start: 1, probs: [5, 50, 7, 70, 9, 90] },
  ];
  t.same(plain(run({ classes: 2 }, twoClass)), [
    { start: 0, probs: [1, 10] },
    { start: 1, probs: [3.5, 35, 5, 50, 9, 90] },
  ]);
});

t.test('a gap finishes the pending part and starts a new segment', async (t) => {
  const gapped = [
    { start: 100, probs: [1, 2, 3, 4] },
    { start: 110, probs: [5, 6, 7, 8] },
  ];
  t.same(plain(run({ classes: 1 }, gapped)), [
    { start: 100, probs: [1, 2, 3, 4] },
    { start: 110, probs: [5, 6, 7, 8] },
  ]);
  // Adjacent windows (stride = length) leave no gap and no overlap.
  const adjacent = [
    { start: 0, probs: [1, 2] },
    { start: 2, probs: [3, 4] },
  ];
  t.same(plain(run({ classes: 1 }, adjacent)), [
    { start: 0, probs: [1, 2] },
    { start: 2, probs: [3, 4] },
  ]);
});

t.test('state is plain data: a structured clone resumes identically', async (t) => {
  const first = pushWindow(createStitchState({ classes: 1, edgeBlindSamples: 1 }), windows[0]);
  const copy = deserialize(serialize(first.state)) as StitchState;
  const second = pushWindow(first.state, windows[1]);
  const resumed = pushWindow(copy, windows[1]);
  t.same(resumed, second, 'a state that went through v8.serialize continues the same');
  t.same(Array.from(second.finished!.probs), [1, 2]);
  t.equal(second.state.start, 2);
  t.equal(second.state.length, 4);
  const plainState = (s: StitchState) => ({ ...s, value: Array.from(s.value.subarray(0, s.length)) });
  t.same(plainState(resumed.state), plainState(second.state), 'the pending sums agree');
});

t.test('flush hands out the rest once, and later windows must not reach back', async (t) => {
  const { state } = pushWindow(createStitchState({ classes: 1 }), windows[0]);
  const flushed = flushStitch(state);
  t.same(Array.from(flushed.finished!.probs), [1, 2, 3, 4]);
  t.equal(flushStitch(flushed.state).finished, null);
  t.throws(() => pushWindow(flushed.state, { start: 3, probs: [1] }), RangeError);
  t.equal(pushWindow(flushed.state, { start: 4, probs: [9] }).finished, null);
  t.equal(flushStitch(createStitchState({ classes: 1 })).finished, null, 'nothing to flush');
});

t.test("a segment's last window: the pushed segment survives the flush that follows it", async (t) => {
  // A window with endOfSegment gives a pushed segment and a flushed one together (pick-phases.ts),
  // and both are read after the flush: the flush must not write where the pushed segment lies.
  let state = createStitchState({ classes: 1 });
  state = pushWindow(state, windows[0]).state;
  const pushed = pushWindow(state, windows[1]);
  const flushed = flushStitch(pushed.state);
  t.same(Array.from(pushed.finished!.probs), [1, 2], 'samples 0 and 1 as pushed');
  t.same(Array.from(flushed.finished!.probs), [4, 5, 7, 8], 'samples 2 to 5 as flushed');
});

t.test('bad windows and options', async (t) => {
  const state = pushWindow(createStitchState({ classes: 2 }), { start: 4, probs: [0, 0] }).state;
  t.throws(() => pushWindow(state, { start: 2, probs: [0, 0] }), { message: /start order/ });
  t.throws(() => pushWindow(state, { start: 5, probs: [0, 0, 0] }), RangeError);
  t.throws(() => pushWindow(state, { start: 5.5, probs: [0, 0] }), RangeError);
  t.throws(() => createStitchState({ classes: 0 }), ConfigError);
  t.throws(() => createStitchState({ classes: 3, edgeBlindSamples: -1 }), ConfigError);
  t.throws(() => createStitchState({ classes: 3, reduce: 'median' as 'mean' }), ConfigError);
});

/** Per covered sample: the windows away from their edges combined, else the edge ones (by brute force). */
function reference(options: Required<StitchOptions>, input: ProbabilityWindow[]): Map<number, number[]> {
  const { classes, reduce, edgeBlindSamples: blind } = options;
  const combine = (parts: number[][]) =>
    Array.from({ length: classes }, (_, k) => {
      if (reduce === 'max') return Math.max(...parts.map((p) => p[k]));
      let sum = 0;
      for (const p of parts) sum += p[k];
      return Math.fround(sum / parts.length);
    });
  const inner = new Map<number, number[][]>();
  const edge = new Map<number, number[][]>();
  for (const w of input) {
    const length = w.probs.length / classes;
    for (let i = 0; i < length; i++) {
      const parts = i < blind || i >= length - blind ? edge : inner;
      const row = Array.from({ length: classes }, (_, k) => w.probs[i * classes + k]);
      parts.set(w.start + i, [...(parts.get(w.start + i) ?? []), row]);
    }
  }
  const out = new Map<number, number[]>();
  for (const at of new Set([...inner.keys(), ...edge.keys()])) {
    out.set(at, combine(inner.get(at) ?? edge.get(at)!));
  }
  return out;
}

t.test(
  'long streams of windows (strides, gaps, edges, both reductions) equal the brute-force combination',
  async (t) => {
    let seed = 11;
    const random = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    for (let run_ = 0; run_ < 40; run_++) {
      const options: Required<StitchOptions> = {
        classes: 1 + Math.floor(random() * 3),
        reduce: random() < 0.5 ? 'mean' : 'max',
        edgeBlindSamples: Math.floor(random() * 3),
      };
      const length = 6 + Math.floor(random() * 6);
      const input: ProbabilityWindow[] = [];
      let start = Math.floor(random() * 5);
      for (let w = 0; w < 60; w++) {
        // Mostly the pipeline's regular stride, sometimes another, a gap, or a short last window.
        const windowLength = random() < 0.1 ? 1 + Math.floor(random() * length) : length;
        const probs = Array.from({ length: windowLength * options.classes }, () => Math.fround(random()));
        input.push({ start, probs });
        const r = random();
        start +=
          r < 0.1
            ? length + 1 + Math.floor(random() * 4)
            : r < 0.3
              ? Math.floor(random() * length)
              : Math.ceil(length / 3);
      }
      const want = reference(options, input);
      const got = new Map<number, number[]>();
      let again = 0;
      for (const segment of run(options, input)) {
        for (let i = 0; i < segment.probs.length / options.classes; i++) {
          if (got.has(segment.start + i)) again++;
          got.set(
            segment.start + i,
            Array.from(segment.probs.subarray(i * options.classes, (i + 1) * options.classes)),
          );
        }
      }
      t.equal(again, 0, `run ${run_}: no sample handed out twice`);
      t.same(
        [...got.keys()].sort((a, b) => a - b),
        [...want.keys()].sort((a, b) => a - b),
        `run ${run_}: every covered sample`,
      );
      t.same(
        got,
        want,
        `run ${run_} (${JSON.stringify(options)}, length ${length}): the same values, bit for bit`,
      );
    }
  },
);
