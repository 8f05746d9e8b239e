import t from 'tap';
import {
  createPhasePicker,
  firstOpenSample,
  flushPhasePicker,
  type PhasePeak,
  type PhasePickerState,
  pushProbabilities,
} from '../../src/picker/phase-picker.ts';
import { lcg } from '../stream/marbles.ts';

const L = 60;
const STRIDE = 30;
const MPD = 8;
const options = { classes: ['noise', 'P'], minPeakHeight: { P: 0.3 }, minPeakDistanceSamples: MPD };

/** Bumps of random heights: a P probability trace. */
function trace(random: () => number, n: number): number[] {
  const x = new Array<number>(n).fill(0);
  for (let b = 0; b < n / 25; b++) {
    const centre = random() * n;
    const height = random();
    const width = 1 + random() * 6;
    for (let i = 0; i < n; i++) x[i] += height * Math.exp(-(((i - centre) / width) ** 2));
  }
  return x.map((v) => Math.round(Math.min(v, 1) * 200) / 200);
}

/**
 * What a network would say about window [start, start + L): the trace, damped towards the window's
 * edges, so that the same sample differs from window to window and stitching matters.
 */
function windowProbs(x: number[], start: number): number[] {
  const probs: number[] = [];
  for (let i = 0; i < L; i++) {
    const p = x[start + i] * (0.55 + 0.45 * Math.sin((Math.PI * (i + 0.5)) / L));
    probs.push(1 - p, p);
  }
  return probs;
}

/** The windows of sliding-windows.ts over [from, end): one at `from`, the stride grid, one at the end. */
function windowStarts(from: number, end: number): number[] {
  const starts = [from];
  for (let g = (Math.floor(from / STRIDE) + 1) * STRIDE; g + L <= end; g += STRIDE) starts.push(g);
  if (starts[starts.length - 1] + L < end) starts.push(end - L);
  return starts;
}

/** Picks [from, end) of `x`; the open sample after each window; the peaks. */
function pick(x: number[], from: number, stopAfter = Number.POSITIVE_INFINITY) {
  let state: PhasePickerState = createPhasePicker(options);
  const peaks: PhasePeak[] = [];
  const open: number[] = [];
  const starts = windowStarts(from, x.length);
  for (const [k, start] of starts.entries()) {
    if (k >= stopAfter) return { peaks, open, state };
    const result = pushProbabilities(state, { start, probs: windowProbs(x, start) });
    state = result.state;
    peaks.push(...result.peaks);
    open.push(firstOpenSample(state)!);
  }
  const flushed = flushPhasePicker(state);
  peaks.push(...flushed.peaks);
  return { peaks, open, state: flushed.state };
}

t.test('no peak comes out before the open sample reported earlier', async (t) => {
  const random = lcg(5);
  for (let trial = 0; trial < 20; trial++) {
    const x = trace(random, 600);
    let state = createPhasePicker(options);
    let open = Number.NEGATIVE_INFINITY;
    for (const start of windowStarts(0, x.length)) {
      const result = pushProbabilities(state, { start, probs: windowProbs(x, start) });
      state = result.state;
      for (const peak of result.peaks)
        t.ok(peak.sample >= open, `trial ${trial}: peak ${peak.sample} >= ${open}`);
      open = firstOpenSample(state)!;
    }
  }
});

t.test(
  'a run resumed from a window and a minimum peak distance before the open sample gives the same peaks from it on',
  async (t) => {
    const random = lcg(11);
    for (let trial = 0; trial < 40; trial++) {
      const x = trace(random, 900);
      const whole = pick(x, 0);
      // The run stops after a random window; the resumed run starts L + MPD + 2 samples before its open sample.
      const stop = 3 + Math.floor(random() * (whole.open.length - 4));
      const open = whole.open[stop - 1];
      const resumeAt = Math.max(0, open - L - MPD - 2);
      const resumed = pick(x, resumeAt);
      t.same(
        resumed.peaks.filter((p) => p.sample >= open),
        whole.peaks.filter((p) => p.sample >= open),
        `trial ${trial}: stopped at ${open}, resumed from ${resumeAt}`,
      );
    }
  },
);
