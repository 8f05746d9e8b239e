import t from 'tap';
import { bumpValue, phaseLabels } from '../../src/train/labels.ts';

t.test('a Gaussian bump of width 50 has sigma 50/6 and ends at 25 samples', async (t) => {
  const options = { shape: 'gaussian' as const, widthSamples: 50 };
  t.equal(bumpValue(0, options), 1);
  // exp(-(10^2) / (2 * (50/6)^2)) = exp(-0.72)
  t.ok(Math.abs(bumpValue(10, options) - Math.exp(-0.72)) < 1e-12);
  t.ok(Math.abs(bumpValue(-25, options) - Math.exp(-4.5)) < 1e-12);
  t.equal(bumpValue(25.5, options), 0);
});

t.test('a triangle reaches 0 at half the width', async (t) => {
  const options = { shape: 'triangle' as const, widthSamples: 10 };
  t.same(
    [0, 1, 2.5, 5, 6].map((d) => bumpValue(d, options)),
    [1, 0.8, 0.5, 0, 0],
  );
});

t.test('labels: noise = 1 - P - S, bumps centred on the arrivals', async (t) => {
  const labels = phaseLabels(40, { P: [10], S: [30] }, { shape: 'triangle', widthSamples: 4 });
  const row = (i: number) => Array.from(labels.subarray(i * 3, i * 3 + 3));
  t.same(row(10), [0, 1, 0]);
  t.same(row(11), [0.5, 0.5, 0]);
  t.same(row(12), [1, 0, 0]);
  t.same(row(29), [0.5, 0, 0.5]);
  t.same(row(30), [0, 0, 1]);
  t.same(row(0), [1, 0, 0]);
  for (let i = 0; i < 40; i++) t.ok(Math.abs(row(i).reduce((a, b) => a + b) - 1) < 1e-6);
});

t.test('a window without arrivals is all noise; bumps are clipped at the edges', async (t) => {
  const none = phaseLabels(5, { P: [], S: [] });
  t.same(Array.from(none), [1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]);
  const edge = phaseLabels(3, { P: [0], S: [] }, { shape: 'triangle', widthSamples: 4 });
  t.same(Array.from(edge), [0, 1, 0, 0.5, 0.5, 0, 1, 0, 0]);
});

t.test('overlapping P and S are scaled to sum to 1', async (t) => {
  const labels = phaseLabels(10, { P: [4], S: [5] }, { shape: 'triangle', widthSamples: 4 });
  // at 4: P 1, S 0.5 -> 2/3, 1/3; noise 0
  t.ok(Math.abs(labels[4 * 3 + 1] - 2 / 3) < 1e-6);
  t.ok(Math.abs(labels[4 * 3 + 2] - 1 / 3) < 1e-6);
  t.equal(labels[4 * 3], 0);
});
