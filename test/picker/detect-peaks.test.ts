import t from 'tap';
import { detectPeaks } from '../../src/picker/detect-peaks.ts';
import { goldenSamples } from '../helpers/golden.ts';
import { skipUnlessShared } from '../helpers/shared.ts';

const peaks = (x: number[], options = {}) => detectPeaks(x, options).indices;

t.test("the report's examples (section 5.2.2, figures 10-12)", async (t) => {
  // The report's figures are not in its text; this trace fits every statement it makes: peaks at 1, 3,
  // 8 and 11, the highest (7) at 8, the others below 6.
  const x = [0, 1, 0, 2, 1, 3, 4, 5, 7, 5, 2, 4, 0];
  t.same(peaks(x), [1, 3, 8, 11], 'all peaks by default');
  t.same(peaks(x, { mph: 6 }), [8], 'mph 6 keeps only the peak at 8');
  // mpd 3: 8 goes first and removes 11 (distance 3 is not more than 3); 3 then removes 1.
  t.same(peaks(x, { mpd: 3 }), [3, 8], 'mpd 3');
  t.same(
    peaks(x, { mpd: 2 }),
    [3, 8, 11],
    'mpd 2: 11 is 3 away from 8 and stays; 1 is 2 away from 3 and goes',
  );
  // Figure 12 is Duarte's threshold example: the peak at 3 (height 2) is only 1 above its neighbour at 4.
  const y = [-2, 1, -2, 2, 1, 1, 3, 0];
  t.same(peaks(y), [1, 3, 6]);
  t.same(peaks(y, { threshold: 2 }), [1, 6], 'threshold 2 drops 3; 6 drops exactly 2 and stays');
  t.same(peaks(y, { threshold: 0.5 }), [1, 3, 6]);
  t.same(peaks(y, { threshold: 1.5 }), [1, 6]);
});

t.test('mpd keeps the highest peaks first (Duarte: x = 0 1 0 2 0 3 0 2 0 1 0, mpd 2)', async (t) => {
  // Visiting 5 (3) removes 3 and 7 (2); then 9 and 1 (1) are each more than 2 from every kept peak.
  const result = detectPeaks([0, 1, 0, 2, 0, 3, 0, 2, 0, 1, 0], { mpd: 2 });
  t.same(result.indices, [1, 5, 9]);
  t.same(result.heights, [1, 3, 1]);
});

t.test('plateaus and edge', async (t) => {
  const flat = [0, 2, 2, 2, 0];
  t.same(peaks(flat), [1], "'rising' keeps the first sample of a flat top");
  t.same(peaks(flat, { edge: 'falling' }), [3]);
  t.same(peaks(flat, { edge: 'both' }), [1, 3]);
  t.same(peaks(flat, { edge: null }), [], 'null: a flat top is no peak');
  // Duarte's edge example.
  t.same(peaks([0, 1, 1, 0, 1, 1, 0], { edge: 'both' }), [1, 2, 4, 5]);
  t.same(peaks([0, 1, 1, 0, 1, 1, 0], { edge: 'rising' }), [1, 4]);
  t.same(peaks([0, 3, 0, 2, 2, 0], { edge: null }), [1], 'null still finds strict peaks');
});

t.test('first and last samples are never peaks; short traces have none', async (t) => {
  t.same(peaks([5, 0, 5]), []);
  t.same(peaks([5, 0, 1, 0, 5], { mph: 0 }), [2]);
  t.same(peaks([1, 2]), []);
  t.same(peaks([]), []);
});

t.test('NaN: the NaN and its neighbours are never peaks', async (t) => {
  t.same(peaks([0, 1, 5, 1, 0]), [2]);
  t.same(peaks([0, Number.NaN, 5, 1, 0]), [], 'a peak right after a NaN is dropped');
  // Slopes into a NaN are +Infinity, so a peak needs a real fall after it; 4 and 7 are far enough.
  t.same(peaks([0, 2, Number.NaN, 1, 3, 1, 0, 5, 0]), [4, 7]);
  const result = detectPeaks([0, 2, Number.NaN, 1, 3, 1, 0, 5, 0], { mpd: 5 });
  t.same(result.indices, [7], 'the NaN does not count as a high peak in mpd');
  t.same(result.heights, [5]);
});

t.test('kpsh keeps equal peaks; without it the later one wins the tie', async (t) => {
  t.same(peaks([0, 5, 0, 5, 0], { mpd: 3 }), [3]);
  t.same(peaks([0, 5, 0, 5, 0], { mpd: 3, kpsh: true }), [1, 3]);
  // kpsh only spares equal heights: the lower 4 still goes.
  t.same(peaks([0, 5, 0, 5, 0, 4, 0], { mpd: 3, kpsh: true }), [1, 3]);
});

t.test('mpd acts only on peaks that passed threshold', async (t) => {
  // The 8 at index 1 falls only 1 to its right neighbour: threshold 2 drops it, so it cannot remove
  // the 5 at index 4 (3 away) as it does without a threshold.
  const x = [0, 8, 7, 0, 5, 0];
  t.same(peaks(x, { mpd: 3 }), [1]);
  t.same(peaks(x, { mpd: 3, threshold: 2 }), [4]);
});

t.test('valley detects minima, with mph as a maximum depth', async (t) => {
  const x = [3, 1, 3, 0, 3];
  const all = detectPeaks(x, { valley: true });
  t.same(all.indices, [1, 3]);
  t.same(all.heights, [1, 0], 'heights are the data values, not negated');
  t.same(peaks(x, { valley: true, mph: 0.5 }), [3], 'only minima at or below 0.5');
});

t.test(
  'golden picks: mph 0.5, mpd 50 on P and S probabilities',
  { skip: skipUnlessShared('golden', 'phasenet-original') },
  async (t) => {
    const samples = goldenSamples().filter((s) => s.pPicks !== undefined);
    t.equal(samples.length, 7);
    for (const s of samples) {
      const column = (c: number) => s.probs.filter((_, k) => k % 3 === c);
      const p = detectPeaks(column(1), { mph: 0.5, mpd: 50, edge: 'rising' });
      const sPeaks = detectPeaks(column(2), { mph: 0.5, mpd: 50, edge: 'rising' });
      t.same(p.indices, s.pPicks, `${s.id} P`);
      t.same(sPeaks.indices, s.sPicks, `${s.id} S`);
      p.heights.forEach((h, k) => {
        t.equal(h, s.probs[p.indices[k] * 3 + 1], `${s.id} P height`);
      });
    }
  },
);
