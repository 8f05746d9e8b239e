import t from 'tap';
import { matchPicks, phaseMetrics, pickingMetrics, secondsToUs } from '../../src/train/metrics.ts';

const s = (seconds: number) => secondsToUs(seconds);

t.test('counts, precision, recall, F1 and residuals (hand-computed)', async (t) => {
  // Arrivals 10, 20, 30 s. Picks: 10.05 (TP, +0.05), 19.8 (0.2 off: FP, and 20 is a FN),
  // 30.1 (exactly 0.1 off: the tolerance is inclusive, TP, +0.1), 45 (FP).
  const m = phaseMetrics([s(10.05), s(19.8), s(30.1), s(45)], [s(10), s(20), s(30)]);
  t.equal(m.truePositives, 2);
  t.equal(m.falsePositives, 2);
  t.equal(m.falseNegatives, 1);
  t.equal(m.excludedPicks, 0);
  t.equal(m.precision, 0.5);
  t.equal(m.recall, 2 / 3);
  t.ok(Math.abs(m.f1 - 4 / 7) < 1e-15, `F1 2 * (1/2 * 2/3) / (1/2 + 2/3) = 4/7, got ${m.f1}`);
  t.same(m.residualsUs, [50_000, 100_000]);
  t.equal(m.residualMeanUs, 75_000);
  t.equal(m.residualStdUs, 25_000);
});

t.test('the report example: 142 arrivals, 144 picks, 134 within 0.1 s', async (t) => {
  const arrivals = Array.from({ length: 142 }, (_, i) => s(10 * i));
  // 134 picks 0.05 s late, 10 picks far from any arrival.
  const picks = [
    ...arrivals.slice(0, 134).map((a) => a + 50_000),
    ...Array.from({ length: 10 }, (_, i) => s(5 + 10 * i)),
  ];
  const m = phaseMetrics(picks, arrivals);
  t.equal(m.truePositives, 134);
  t.equal(m.falsePositives, 10);
  t.equal(m.falseNegatives, 8);
  t.equal(m.precision, 134 / 144);
  t.equal(m.recall, 134 / 142);
  t.equal(m.residualStdUs, 0);
});

t.test('exclusion intervals leave out unmatched picks only', async (t) => {
  const picks = [s(10.05), s(19.8), s(30.1), s(45)];
  const arrivals = [s(10), s(20), s(30)];
  const m = phaseMetrics(picks, arrivals, { exclusionsUs: [[s(44), s(46)]] });
  t.equal(m.falsePositives, 1);
  t.equal(m.excludedPicks, 1);
  t.equal(m.precision, 2 / 3);
  t.equal(m.f1, 2 / 3);
  // An interval over a matched pick changes nothing; interval ends are inclusive.
  const same = phaseMetrics(picks, arrivals, { exclusionsUs: [[s(10), s(10.05)]] });
  t.equal(same.truePositives, 2);
  t.equal(same.excludedPicks, 0);
  const edge = phaseMetrics(picks, arrivals, {
    exclusionsUs: [
      [s(19.8), s(19.8)],
      [s(40), s(45)],
    ],
  });
  t.equal(edge.excludedPicks, 2);
  t.equal(edge.falsePositives, 0);
});

t.test('matching is one-to-one and optimal, not greedy', async (t) => {
  // Greedy by distance takes pick 10 ms <-> arrival 0 first and then matches nothing else; the optimum
  // pairs -60 ms with 0 and 10 ms with 100 ms: two matches.
  const m = matchPicks([10_000, -60_000], [0, 100_000]);
  t.same(
    m.matches.sort((a, b) => a.arrival - b.arrival),
    [
      { pick: 1, arrival: 0, residualUs: -60_000 },
      { pick: 0, arrival: 1, residualUs: -90_000 },
    ],
  );
  t.same(m.unmatchedPicks, []);
  t.same(m.unmatchedArrivals, []);
  // Two picks near one arrival: the closer one is the TP, the other a FP (time order would take -90 ms).
  const two = matchPicks([-90_000, 0], [0]);
  t.same(two.matches, [{ pick: 1, arrival: 0, residualUs: 0 }]);
  t.same(two.unmatchedPicks, [0]);
  // One pick between two arrivals matches only one of them.
  const one = matchPicks([50_000], [0, 100_000]);
  t.equal(one.matches.length, 1);
  t.equal(one.unmatchedArrivals.length, 1);
});

t.test('exactly at the tolerance counts; one microsecond beyond does not', async (t) => {
  t.equal(matchPicks([1_234_560_000], [1_234_460_000]).matches.length, 1);
  t.equal(matchPicks([1_234_560_001], [1_234_460_000]).matches.length, 0);
  t.equal(matchPicks([300], [0], 200).matches.length, 0, 'custom tolerance');
});

t.test('phases are matched separately; empty inputs give zeros', async (t) => {
  const result = pickingMetrics(
    [
      { phase: 'P', timeUs: s(10) },
      { phase: 'S', timeUs: s(12.02) },
      { phase: 'P', timeUs: s(12) },
    ],
    [
      { phase: 'P', timeUs: s(10) },
      { phase: 'S', timeUs: s(12) },
    ],
  );
  t.same(Object.keys(result), ['P', 'S']);
  t.equal(result.P.truePositives, 1);
  t.equal(result.P.falsePositives, 1, 'a P pick at an S arrival is a false P');
  t.equal(result.S.truePositives, 1);
  t.same(result.S.residualsUs, [20_000]);

  const empty = phaseMetrics([], []);
  t.same([empty.precision, empty.recall, empty.f1], [0, 0, 0]);
  t.equal(empty.residualMeanUs, null);
  t.equal(empty.residualStdUs, null);
  const onlyArrivals = phaseMetrics([], [0]);
  t.equal(onlyArrivals.falseNegatives, 1);
});

t.test('times must be integer microseconds', async (t) => {
  t.throws(() => matchPicks([0.5], [0]), RangeError);
  t.throws(() => matchPicks([0], [0], -1), RangeError);
  t.equal(secondsToUs(1234.56), 1_234_560_000);
});

t.test('with stations in the truth, a pick matches only an arrival at its own station', async (t) => {
  const arrivals = [
    { phase: 'P', timeUs: 10_000_000, station: 'SY.A' },
    { phase: 'P', timeUs: 10_000_000, station: 'SY.B' },
  ];
  const picks = [
    { phase: 'P', timeUs: 10_020_000, station: 'SY.A' },
    { phase: 'P', timeUs: 10_030_000, station: 'SY.A' },
    { phase: 'P', timeUs: 20_000_000, station: 'SY.C' },
  ];
  const { P } = pickingMetrics(picks, arrivals);
  t.same(
    [P.truePositives, P.falsePositives, P.falseNegatives, P.residualsUs],
    [1, 2, 1, [20_000]],
    "A's second pick cannot take B's arrival; C has none",
  );
  const anonymous = pickingMetrics(
    picks,
    arrivals.map(({ phase, timeUs }) => ({ phase, timeUs })),
  );
  t.same(
    [anonymous.P.truePositives, anonymous.P.falsePositives, anonymous.P.falseNegatives],
    [2, 1, 0],
    'a truth without stations (one station, as the dev record) matches by time alone',
  );
});
