import t from 'tap';
import { createPeakTracker, pushSamples } from '../../src/picker/peak-tracker.ts';
import { appendTail, type TraceTail } from '../../src/picker/pick-quality.ts';
import { lcg } from '../stream/marbles.ts';

/** appendTail as plain arrays, copying everything: what the in-place tails must equal. */
function plainAppend(
  tail: { start: number; values: number[] },
  start: number,
  column: number[],
  keep: number,
) {
  const end = tail.start + tail.values.length;
  const base = start > end || tail.values.length === 0 ? { start, values: [] as number[] } : tail;
  const values = [...base.values, ...column.slice(Math.max(0, end - start))];
  const drop = Math.max(0, values.length - keep);
  return { start: base.start + drop, values: values.slice(drop) };
}

t.test('tails kept in place equal tails copied whole, through compactions, overlaps and gaps', async (t) => {
  const random = lcg(11);
  for (let trial = 0; trial < 50; trial++) {
    const keep = 5 + Math.floor(random() * 40);
    const width = 1 + Math.floor(random() * 3);
    const offset = Math.floor(random() * width);
    let tail: TraceTail = { start: 0, values: [] };
    let plain = { start: 0, values: [] as number[] };
    let at = 100;
    for (let step = 0; step < 60; step++) {
      const n = 1 + Math.floor(random() * 30);
      const start = at - Math.floor(random() * 10) + (random() < 0.05 ? 50 : 0);
      const column = Array.from({ length: n }, () => Math.round(random() * 1000));
      const table = new Float32Array(n * width);
      for (const [i, v] of column.entries()) table[i * width + offset] = v;
      tail = appendTail(tail, start, table, keep, width, offset);
      plain = plainAppend(plain, start, column, keep);
      at = Math.max(at, start + n);
      if (tail.start !== plain.start || Array.from(tail.values).join() !== plain.values.join()) {
        t.fail(
          `trial ${trial}, step ${step}: ${tail.start} [${Array.from(tail.values)}] != ${plain.start} [${plain.values}]`,
        );
        return;
      }
    }
  }
  t.pass('50 runs of 60 appends agree');
});

t.test('a peak tracker reading a column of a table finds the peaks of that column', async (t) => {
  const classes = 3;
  const length = 400;
  const table = new Float32Array(length * classes);
  for (let i = 0; i < length; i++) {
    table[i * classes + 1] = 0.9 * Math.exp(-((i - 120) ** 2) / 50) + 0.6 * Math.exp(-((i - 300) ** 2) / 80);
  }
  const column = Float32Array.from({ length }, (_, i) => table[i * classes + 1]);
  const options = { mph: 0.3, mpd: 50 };
  const fromColumn = pushSamples(createPeakTracker(options), 1000, column);
  const fromTable = pushSamples(createPeakTracker(options), 1000, table, classes, 1);
  t.same(fromTable, fromColumn, 'the same peaks and state');
  t.same(
    fromTable.peaks.map((p) => p.index),
    [1120, 1300],
    'both peaks, each more than mpd before the last sample: final',
  );
  t.equal(fromTable.state.next, 1400, 'the next expected sample follows the column, not the table');
});
