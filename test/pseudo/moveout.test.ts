import t from 'tap';
import { anomalies, fitMoveout, median, predictMoveout, robustScale } from '../../src/pseudo/moveout.ts';

t.test('median and robust scale, by hand', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  // |v - 2|: 1, 0, 1, 8 -> median 1 -> 1.4826
  t.equal(robustScale([1, 2, 3, 10]), 1.4826);
});

t.test('a line with one wrong pick: the fit ignores it, it is flagged, the others kept', async (t) => {
  // t = 1 + 0.001 x, and a pick 6 s late at 4 km. Pairwise slopes: six of 0.001 among the first four,
  // 0.00225, 0.00267, 0.0035, 0.006 with the fifth: median 0.001. Intercepts t - 0.001 x: 1, 1, 1, 1,
  // 6: median 1. Residuals 0, 0, 0, 0, 6 s; scale 0, floored at 0.05 s.
  const offsets = [0, 1000, 2000, 3000, 4000];
  const times = [1, 2, 3, 4, 11];
  const fit = fitMoveout(offsets, times, 'linear')!;
  t.ok(Math.abs(fit.slope - 0.001) < 1e-12, `slope ${fit.slope}`);
  t.ok(Math.abs(fit.intercept - 1) < 1e-12, `intercept ${fit.intercept}`);
  t.same(
    fit.residualsS.map((r) => Math.round(r * 1e9) / 1e9),
    [0, 0, 0, 0, 6],
  );
  t.equal(fit.scaleS, 0);
  t.same(anomalies(fit, 3, 0.05), [false, false, false, false, true]);
  // Offsets on either side of the source fold onto |x|.
  t.ok(Math.abs(predictMoveout(fit, -2500) - 3.5) < 1e-12);
});

t.test('a hyperbola is recognized as one, and a late pick on it flagged', async (t) => {
  // t^2 = 1 + x^2 / 2000^2 (a source 2 km deep under a 2000 m/s medium), exact but for one pick.
  const offsets = [-3000, -2000, -1000, 0, 500, 1500, 2500, 3500];
  const times = offsets.map((x) => Math.sqrt(1 + (x / 2000) ** 2));
  times[2] += 0.5;
  const fit = fitMoveout(offsets, times)!;
  t.equal(fit.kind, 'hyperbolic');
  t.ok(Math.abs(fit.slope - 1 / 2000 ** 2) < 1e-12, `slope ${fit.slope}`);
  t.ok(Math.abs(fit.intercept - 1) < 1e-9);
  t.same(anomalies(fit, 3, 0.02), [false, false, true, false, false, false, false, false]);
  // A line through the same points leaves larger residuals.
  t.ok(fitMoveout(offsets, times, 'linear')!.scaleS > fit.scaleS);
});

t.test('too few picks: no fit', async (t) => {
  t.equal(fitMoveout([100, 200], [1, 2]), null);
  t.equal(fitMoveout([100, -100, 100], [1, 2, 3]), null, 'one offset only');
});
