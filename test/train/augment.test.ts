import t from 'tap';
import {
  addNoiseAtSnr,
  augmentedWindow,
  channelRms,
  cutWindow,
  DEFAULT_AUGMENT_OPTIONS,
  dropChannel,
  insertGap,
  noiseRmsForSnr,
  reversePolarity,
  scaleChannels,
  windowStart,
} from '../../src/train/augment.ts';
import { seededUniform } from '../../src/util/random.ts';

t.test('noise RMS from the report: 10 dB below a signal of RMS 2 is 2 / sqrt(10)', async (t) => {
  t.ok(Math.abs(noiseRmsForSnr(2, 10) - 2 / Math.sqrt(10)) < 1e-12);
  t.ok(Math.abs(noiseRmsForSnr(1, 0) - 1) < 1e-12);
  t.ok(Math.abs(noiseRmsForSnr(1, -20) - 10) < 1e-9);
});

t.test('added noise has the requested SNR within 0.1 dB over a long signal', async (t) => {
  const length = 200_000;
  for (const snrDb of [-5, 0, 3, 10, 20]) {
    const signal = new Float32Array(length * 2);
    for (let i = 0; i < length; i++) {
      signal[i * 2] = 3 * Math.sin(i * 0.05);
      signal[i * 2 + 1] = 0.2 * Math.cos(i * 0.011) + 0.1;
    }
    const noisy = Float32Array.from(signal);
    addNoiseAtSnr(noisy, 2, snrDb, seededUniform(snrDb + 100));
    for (let c = 0; c < 2; c++) {
      const noise = new Float32Array(length);
      for (let i = 0; i < length; i++) noise[i] = noisy[i * 2 + c] - signal[i * 2 + c];
      const measured = 10 * Math.log10(channelRms(signal, 2, c) ** 2 / channelRms(noise, 1, 0) ** 2);
      t.ok(
        Math.abs(measured - snrDb) < 0.1,
        `channel ${c} at ${snrDb} dB: measured ${measured.toFixed(3)} dB`,
      );
    }
  }
});

t.test('polarity, scaling, a dropped channel and a gap', async (t) => {
  const data = Float32Array.from([1, 2, 3, 4, 5, 6]);
  reversePolarity(data);
  t.same(Array.from(data), [-1, -2, -3, -4, -5, -6]);
  scaleChannels(data, [2, -1]);
  t.same(Array.from(data), [-2, 2, -6, 4, -10, 6]);
  dropChannel(data, 2, 1);
  t.same(Array.from(data), [-2, 0, -6, 0, -10, 0]);
  const gap = Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1]);
  insertGap(gap, 2, 1, 2);
  t.same(Array.from(gap), [1, 1, 0, 0, 0, 0, 1, 1]);
});

t.test('windows with the arrivals hold them all; noise windows hold none', async (t) => {
  const arrivals = { P: [3000], S: [3500] };
  const uniform = seededUniform(5);
  for (let i = 0; i < 200; i++) {
    const s = windowStart(9001, 3000, arrivals, true, uniform);
    t.ok(s >= 501 && s <= 3000, `start ${s} holds 3000 and 3500`);
    const n = windowStart(9001, 3000, arrivals, false, uniform);
    t.ok((n >= 0 && n <= 0) || (n >= 3501 && n <= 6001), `noise start ${n}`);
  }
  // No room for noise only: a window with the arrivals instead.
  const s = windowStart(3200, 3000, { P: [100], S: [3100] }, false, seededUniform(1));
  t.ok(s >= 0 && s <= 100);
  // No arrivals at all: anywhere.
  const any = windowStart(5000, 3000, { P: [], S: [] }, true, seededUniform(2));
  t.ok(any >= 0 && any <= 2000);
});

t.test('cutting shifts the arrivals, drops those outside and pads past the end', async (t) => {
  const data = Float32Array.from({ length: 20 }, (_, i) => i);
  const cut = cutWindow(data, 2, { P: [3], S: [9] }, 2, 6);
  t.same(Array.from(cut.data), [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  t.same(cut.arrivals, { P: [1], S: [] });
  const end = cutWindow(data, 2, { P: [], S: [] }, 8, 4);
  t.same(Array.from(end.data), [16, 17, 18, 19, 0, 0, 0, 0]);
});

t.test('augmentation is reproducible for a seed and each part can be switched', async (t) => {
  const record = {
    data: Float32Array.from({ length: 9001 * 3 }, (_, i) => Math.sin(i)),
    channels: 3,
    arrivals: { P: [3000], S: [3500] },
  };
  const options = {
    ...DEFAULT_AUGMENT_OPTIONS,
    noise: { probability: 1, snrDb: [5, 5] as [number, number] },
    gap: { probability: 1, maxSamples: 100 },
  };
  const a = augmentedWindow(record, 3000, options, seededUniform(9));
  const b = augmentedWindow(record, 3000, options, seededUniform(9));
  t.same(Array.from(a.data), Array.from(b.data));
  t.same(a.arrivals, b.arrivals);
  const plain = augmentedWindow(
    record,
    3000,
    { ...DEFAULT_AUGMENT_OPTIONS, alpha: 1, polarityReversal: 0 },
    seededUniform(9),
  );
  const start = 3000 - plain.arrivals.P[0];
  t.same(Array.from(plain.data.subarray(0, 6)), Array.from(record.data.subarray(start * 3, start * 3 + 6)));
});
