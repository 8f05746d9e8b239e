import t from 'tap';
import { detectPeaks } from '../../src/picker/detect-peaks.ts';
import {
  createPeakTracker,
  flushPeaks,
  type PeakTrackerState,
  pushSamples,
  type TrackedPeak,
} from '../../src/picker/peak-tracker.ts';

/** A deterministic pseudo-random generator, so failures reproduce. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A probability-like trace: smooth bumps of random heights on a low floor, with plateaus. */
function trace(random: () => number, n: number): Float64Array {
  const x = new Float64Array(n);
  for (let b = 0; b < n / 40; b++) {
    const centre = random() * n;
    const height = random();
    const width = 2 + random() * 30;
    for (let i = 0; i < n; i++) x[i] += height * Math.exp(-(((i - centre) / width) ** 2));
  }
  for (let i = 0; i < n; i++) x[i] = Math.round(Math.min(x[i], 1) * 200) / 200;
  return x;
}

function streamed(
  x: Float64Array,
  cuts: number[],
  options: { mph: number; mpd: number; threshold?: number },
) {
  let state: PeakTrackerState = createPeakTracker(options);
  const peaks: TrackedPeak[] = [];
  let from = 0;
  for (const to of [...cuts, x.length]) {
    const result = pushSamples(state, from, x.subarray(from, to));
    state = result.state;
    peaks.push(...result.peaks);
    from = to;
  }
  const end = flushPeaks(state);
  return { peaks: [...peaks, ...end.peaks], state: end.state };
}

t.test('pieces give exactly the peaks of detect_peaks on the whole trace', async (t) => {
  const random = lcg(7);
  for (let trial = 0; trial < 200; trial++) {
    const x = trace(random, 400 + Math.floor(random() * 1600));
    const cuts = [
      ...new Set(
        Array.from({ length: 1 + Math.floor(random() * 20) }, () => Math.floor(random() * x.length)),
      ),
    ]
      .filter((c) => c > 0)
      .sort((a, b) => a - b);
    const options = {
      mph: random() * 0.6,
      mpd: [1, 5, 50][trial % 3],
      threshold: trial % 5 === 0 ? 0.01 : 0,
    };
    const whole = detectPeaks(x, {
      mph: options.mph,
      mpd: options.mpd,
      threshold: options.threshold,
      edge: 'rising',
    });
    const { peaks } = streamed(x, cuts, options);
    t.same(
      peaks.map((p) => p.index),
      whole.indices,
      `trial ${trial}: ${x.length} samples, cuts ${cuts.length}`,
      { diagnostic: false },
    );
    t.same(
      peaks.map((p) => p.height),
      whole.heights,
    );
  }
});

t.test('a peak is given as soon as no later sample can change it', async (t) => {
  const x = new Float64Array(200);
  x[50] = 0.9;
  x[49] = 0.5;
  x[51] = 0.5;
  let state = createPeakTracker({ mph: 0.5, mpd: 50 });
  // Up to sample 100 a higher peak at 100 could still suppress the one at 50 (distance <= mpd).
  let result = pushSamples(state, 0, x.subarray(0, 101));
  t.same(result.peaks, []);
  state = result.state;
  // Once sample 101 is seen, no candidate can come before 100: the peak at 50 is final.
  result = pushSamples(state, 101, x.subarray(101, 102));
  t.same(result.peaks, [{ index: 50, height: 0.9 }]);
  t.same(result.state.indices, [], 'nothing pending');
});

t.test('a gap ends the segment: its last sample is no peak, and the state is plain JSON', async (t) => {
  let state = createPeakTracker({ mph: 0.1, mpd: 5 });
  let result = pushSamples(state, 0, [0, 0.2, 0.5]);
  t.same(result.peaks, [], 'the rising last sample of a segment is not a peak');
  state = JSON.parse(JSON.stringify(result.state));
  result = pushSamples(state, 10, [0.9, 0.3, 0.6, 0.1, 0, 0, 0, 0, 0, 0]);
  t.same(result.peaks, [{ index: 12, height: 0.6 }], 'the first sample after the gap is not a peak either');
});
