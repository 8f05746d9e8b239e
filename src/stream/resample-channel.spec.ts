import { readFileSync } from 'node:fs';
import t from 'tap';
import { lcg, marbles } from '../../test/stream/marbles.ts';
import {
  createResampleState,
  flushResample,
  pushResample,
  type ResampleState,
  resampleChannel,
} from './resample-channel.ts';
import { designResampler, rationalRatio } from './resample-filter.ts';
import type { ChannelChunk } from './types.ts';

const streamId = { network: 'XX', station: 'STA', location: '', channel: 'HHZ' };
const T0_S = 1_700_000_000;

function chunk(rate: number, from: number, samples: ArrayLike<number>): ChannelChunk {
  return {
    streamId,
    samplingRate: rate,
    startIndex: T0_S * rate + from,
    samples: Float64Array.from(samples),
  };
}

/** Runs chunks through the pure steps and returns every output chunk (flushed at the end). */
function resample(chunks: ChannelChunk[], target = 100): { out: ChannelChunk[]; states: ResampleState[] } {
  let state = createResampleState(target);
  const out: ChannelChunk[] = [];
  const states: ResampleState[] = [];
  for (const c of chunks) {
    const step = pushResample(state, c);
    state = step.state;
    states.push(state);
    out.push(...step.chunks);
  }
  out.push(...flushResample(state).chunks);
  return { out, states };
}

/** The outputs of one segment as one series: start index and samples (checks they are contiguous). */
function joined(out: ChannelChunk[]): { startIndex: number; samples: number[] } {
  const samples: number[] = [];
  for (const c of out) {
    if (c.startIndex !== out[0].startIndex + samples.length) throw new Error('outputs are not contiguous');
    samples.push(...c.samples);
  }
  return { startIndex: out[0]?.startIndex, samples };
}

const reference = JSON.parse(
  readFileSync(new URL('../../test/stream/fixtures/resample-reference.json', import.meta.url), 'utf8'),
) as {
  cases: { inputRate: number; up: number; down: number; taps: number; samples: number; expected: number[] }[];
};

/** The fixture's input signal (resample-reference.py `signal`). */
function referenceSignal(rate: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const t = i / rate;
    return (
      1000 +
      300 * Math.sin(2 * Math.PI * 3.1 * t + 0.3) +
      50 * Math.cos(2 * Math.PI * 11.3 * t) +
      400 * Math.exp(-(((t - 1.2345) / 0.08) ** 2))
    );
  });
}

t.test('40, 50, 200 and 250 Hz to 100 Hz equal scipy resample_poly with the same filter', async (t) => {
  for (const c of reference.cases) {
    const filter = designResampler(c.inputRate, 100);
    t.strictSame(
      [filter.up, filter.down, 2 * filter.halfLength + 1],
      [c.up, c.down, c.taps],
      `${c.inputRate} Hz design`,
    );
    const { out } = resample([chunk(c.inputRate, 0, referenceSignal(c.inputRate, c.samples))]);
    const { startIndex, samples } = joined(out);
    t.equal(startIndex, T0_S * 100, 'the first output is at the time of the first input');
    t.equal(samples.length, c.expected.length, 'outputs through the time of the last input');
    const worst = Math.max(...samples.map((v, i) => Math.abs(v - c.expected[i])));
    t.ok(worst < 1e-6, `${c.inputRate} Hz: max |difference| ${worst} < 1e-6`);
  }
});

t.test('100 Hz chunks pass through untouched', async (t) => {
  const c = chunk(100, 0, [1, 2, 3]);
  const { out } = resample([c]);
  t.equal(out.length, 1);
  t.equal(out[0], c, 'the same chunk object');
});

t.test('DC stays DC exactly, up to the segment ends, for every ratio', async (t) => {
  for (const rate of [20, 40, 50, 200, 250, 500, 1]) {
    const { out } = resample([chunk(rate, 3, new Array(rate * 5).fill(123_456.5))]);
    const { samples } = joined(out);
    t.ok(samples.length > 0);
    t.ok(
      samples.every((v) => Math.abs(v - 123_456.5) < 1e-8),
      `${rate} Hz: constant in, the same constant out`,
    );
  }
});

/** Amplitude and phase of a sine of `hz` fitted (least squares) to samples at times `times`. */
function fitSine(samples: number[], times: number[], hz: number): { amplitude: number; phase: number } {
  let ss = 0;
  let sc = 0;
  let cc = 0;
  let ys = 0;
  let yc = 0;
  times.forEach((time, i) => {
    const s = Math.sin(2 * Math.PI * hz * time);
    const c = Math.cos(2 * Math.PI * hz * time);
    ss += s * s;
    sc += s * c;
    cc += c * c;
    ys += samples[i] * s;
    yc += samples[i] * c;
  });
  const det = ss * cc - sc * sc;
  const a = (ys * cc - yc * sc) / det;
  const b = (yc * ss - ys * sc) / det;
  return { amplitude: Math.hypot(a, b), phase: Math.atan2(b, a) };
}

/** A sine of `hz` sampled at `rate` for `seconds`, resampled to 100 Hz; the outputs away from the ends. */
function resampledSine(rate: number, hz: number, seconds: number) {
  const n = rate * seconds;
  const phase0 = 0.7;
  const x = Array.from({ length: n }, (_, i) => Math.sin(2 * Math.PI * hz * (i / rate) + phase0));
  const { startIndex, samples } = joined(resample([chunk(rate, 0, x)]).out);
  const edge = 100; // one second at each end, beyond the filter's reach
  const inner = samples.slice(edge, samples.length - edge);
  const times = inner.map((_, i) => (startIndex + edge + i) / 100 - T0_S);
  return { inner, times, phase0 };
}

t.test('a sine in the passband keeps its amplitude and phase', async (t) => {
  for (const [rate, hz] of [
    [40, 5],
    [40, 15],
    [50, 19],
    [200, 10],
    [200, 39],
    [250, 25],
  ]) {
    const { inner, times, phase0 } = resampledSine(rate, hz, 10);
    const fit = fitSine(inner, times, hz);
    t.ok(Math.abs(fit.amplitude - 1) < 2e-3, `${rate} Hz input, ${hz} Hz sine: amplitude ${fit.amplitude}`);
    // Phase: 1e-3 rad at 39 Hz is 4 µs, far below a sample.
    const dPhase = Math.atan2(Math.sin(fit.phase - phase0), Math.cos(fit.phase - phase0));
    t.ok(Math.abs(dPhase) < 1e-3, `${rate} Hz input, ${hz} Hz sine: phase off by ${dPhase} rad`);
    const worst = Math.max(
      ...inner.map((v, i) => Math.abs(v - Math.sin(2 * Math.PI * hz * times[i] + phase0))),
    );
    t.ok(worst < 3e-3, `${rate} Hz input, ${hz} Hz sine: sample by sample within ${worst}`);
  }
});

t.test('a sine above the new Nyquist frequency is attenuated by more than 40 dB', async (t) => {
  for (const [rate, hz] of [
    [200, 50.5],
    [200, 70],
    [200, 95],
    [250, 55],
    [250, 120],
  ]) {
    const { inner } = resampledSine(rate, hz, 10);
    const peak = Math.max(...inner.map(Math.abs));
    t.ok(
      peak < 0.01,
      `${rate} Hz input, ${hz} Hz sine: peak ${peak} (${(20 * Math.log10(peak)).toFixed(1)} dB)`,
    );
  }
});

t.test('interpolating 40 Hz, no image of a 15 Hz sine shows at 25 Hz', async (t) => {
  const { inner, times } = resampledSine(40, 15, 10);
  const image = fitSine(inner, times, 25);
  t.ok(image.amplitude < 0.01, `image amplitude ${image.amplitude}`);
});

t.test('an arrival keeps its time: a pulse between grid points comes out where it was', async (t) => {
  for (const rate of [40, 50, 200, 250]) {
    const centreS = 3.123_456; // not on any grid
    const pulse = (time: number) => Math.exp(-(((time - centreS) / 0.06) ** 2));
    const x = Array.from({ length: rate * 6 }, (_, i) => 500 + pulse(i / rate));
    const { startIndex, samples } = joined(resample([chunk(rate, 0, x)]).out);
    const times = samples.map((_, i) => (startIndex + i) / 100 - T0_S);
    const worst = Math.max(...samples.map((v, i) => Math.abs(v - 500 - pulse(times[i]))));
    t.ok(worst < 2e-3, `${rate} Hz: the output is the pulse sampled at the output times (off by ${worst})`);
    let weight = 0;
    let moment = 0;
    samples.forEach((v, i) => {
      weight += v - 500;
      moment += (v - 500) * times[i];
    });
    t.ok(Math.abs(moment / weight - centreS) < 1e-4, `${rate} Hz: centroid within 0.01 sample`);
  }
});

t.test('chunking does not change the output, bit for bit', async (t) => {
  const random = lcg(3);
  for (const rate of [40, 200, 250]) {
    const x = Array.from({ length: rate * 8 }, () => random() * 2000 - 1000);
    const whole = joined(resample([chunk(rate, 7, x)]).out);
    for (let trial = 0; trial < 10; trial++) {
      const pieces: ChannelChunk[] = [];
      for (let from = 0; from < x.length; ) {
        const to = Math.min(x.length, from + 1 + Math.floor(random() * rate));
        pieces.push(chunk(rate, 7 + from, x.slice(from, to)));
        from = to;
      }
      const { out, states } = resample(pieces);
      t.strictSame(joined(out), whole, `${rate} Hz, ${pieces.length} pieces`);
      const last = states[states.length - 1];
      t.strictSame(JSON.parse(JSON.stringify(last)), last, 'the state is plain data');
      t.ok(
        last.history.length <=
          (2 * designResampler(rate, 100).halfLength) / designResampler(rate, 100).up + 2 + rate,
        'bounded history',
      );
    }
  }
});

t.test('a gap ends the segment: each side is resampled on its own', async (t) => {
  const a = Array.from({ length: 400 }, (_, i) => Math.sin(i / 9) * 100);
  const b = Array.from({ length: 300 }, (_, i) => Math.cos(i / 5) * 100 + 50);
  const both = resample([chunk(200, 0, a), chunk(200, 450, b)]).out;
  const first = joined(resample([chunk(200, 0, a)]).out);
  const second = joined(resample([chunk(200, 450, b)]).out);
  const split = both.findIndex((c) => c.startIndex === second.startIndex);
  t.ok(split > 0);
  t.strictSame(joined(both.slice(0, split)), first);
  t.strictSame(joined(both.slice(split)), second);
  t.equal(second.startIndex, T0_S * 100 + 225, 'the new segment starts at its own first sample');
});

t.test('a rate change ends the segment and starts one at the new rate', async (t) => {
  const a = Array.from({ length: 200 }, (_, i) => i);
  const b = Array.from({ length: 80 }, (_, i) => 2 * i);
  const out = resample([chunk(200, 0, a), chunk(40, 40, b)]).out;
  const first = joined(resample([chunk(200, 0, a)]).out);
  const second = joined(resample([chunk(40, 40, b)]).out);
  t.equal(
    second.startIndex,
    first.startIndex + first.samples.length,
    'the new rate goes on where the old ended',
  );
  t.strictSame(joined(out.filter((c) => c.startIndex < second.startIndex)), first);
  t.strictSame(joined(out.filter((c) => c.startIndex >= second.startIndex)), second);
});

t.test('rates with no small ratio are refused with a clear error', async (t) => {
  t.strictSame(rationalRatio(40, 100), [5, 2]);
  t.strictSame(rationalRatio(250, 100), [2, 5]);
  t.throws(() => rationalRatio(Math.PI * 10, 100), {
    name: 'WaveformFormatError',
    message: /cannot be resampled/,
  });
});

t.test('marbles: outputs as the filter reach allows, the rest at completion', async (t) => {
  const a = Array.from({ length: 200 }, (_, i) => Math.sin(i / 4));
  const b = Array.from({ length: 100 }, (_, i) => Math.cos(i / 3));
  const all = joined(resample([chunk(200, 0, [...a, ...b])]).out);
  // 200 -> 100 Hz: output m needs inputs up to 2m + 37 (halfLength 37 at 200 Hz).
  const firstCount = Math.floor((199 - 37) / 2) + 1;
  const secondCount = Math.floor((299 - 37) / 2) + 1 - firstCount;
  const part = (from: number, to: number) => chunk(100, from, all.samples.slice(from, to));
  marbles(t).run(({ cold, expectObservable }) => {
    const chunks = cold('-a--b-|', { a: chunk(200, 0, a), b: chunk(200, 200, b) });
    expectObservable(chunks.pipe(resampleChannel(100))).toBe('-x--y-(z|)', {
      x: part(0, firstCount),
      y: part(firstCount, firstCount + secondCount),
      z: part(firstCount + secondCount, all.samples.length),
    });
  });
});
