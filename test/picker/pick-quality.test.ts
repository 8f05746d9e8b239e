import t from 'tap';
import { appendTail, firstMotion, peakUncertaintyS } from '../../src/picker/pick-quality.ts';
import { lcg } from '../stream/marbles.ts';

const gaussian = (n: number, center: number, sigma: number, height: number) =>
  Array.from({ length: n }, (_, i) => height * Math.exp(-((i - center) ** 2) / (2 * sigma ** 2)));

t.test('uncertainty: a Gaussian peak of σ 10 samples at 100 Hz is 0.1 s', async (t) => {
  const tail = { start: 5000, values: gaussian(200, 100, 10, 0.9) };
  t.equal(peakUncertaintyS(tail, 5100, 0.9, 100), 0.1);
  const wide = { start: 0, values: gaussian(400, 200, 25, 0.6) };
  t.equal(peakUncertaintyS(wide, 200, 0.6, 100), 0.25, 'σ 25 samples: 0.25 s');
  t.equal(peakUncertaintyS(wide, 200, 0.6, 50), 0.5, 'at 50 Hz the same samples are twice as long');
  const cut = { start: 5090, values: gaussian(200, 100, 10, 0.9).slice(90) };
  t.equal(peakUncertaintyS(cut, 5100, 0.9, 100), undefined, 'the left half-height point not seen');
  t.equal(peakUncertaintyS(undefined, 5100, 0.9, 100), undefined);
});

t.test('appendTail: only new samples, a gap restarts, the oldest go', async (t) => {
  let tail = appendTail({ start: 0, values: [] }, 10, [1, 2, 3, 4], 100);
  t.same(tail, { start: 10, values: [1, 2, 3, 4] });
  tail = appendTail(tail, 12, [30, 40, 5, 6], 100);
  t.same(tail, { start: 10, values: [1, 2, 3, 4, 5, 6] }, 'overlap: the samples already held stay');
  t.same(appendTail(tail, 16, [7, 8], 5), { start: 13, values: [4, 5, 6, 7, 8] }, 'kept to 5');
  t.same(appendTail(tail, 30, [9], 100), { start: 30, values: [9] }, 'after a gap');
});

/** 2 s of noise at 100 Hz, then from sample 100 an onset of `sign`. */
function trace(sign: number, amplitude = 20) {
  const random = lcg(7);
  return {
    start: 0,
    values: Array.from({ length: 200 }, (_, i) => {
      const noise = random() - 0.5;
      return i < 100 ? noise : noise + sign * amplitude * Math.sin(((i - 100) / 10) * Math.PI);
    }),
  };
}

t.test('first motion: up, down, lost in the noise, not yet seen', async (t) => {
  t.equal(firstMotion(trace(1), 100, 100), 'positive');
  t.equal(firstMotion(trace(-1), 100, 100), 'negative');
  t.equal(firstMotion(trace(1, 0.2), 100, 100), 'undecidable', 'an onset smaller than the noise');
  t.equal(
    firstMotion({ start: 0, values: trace(1).values.slice(0, 110) }, 100, 100),
    undefined,
    '0.2 s after not seen',
  );
  t.equal(
    firstMotion({ start: 50, values: trace(1).values.slice(50) }, 100, 100),
    undefined,
    '1 s before not seen',
  );
});
