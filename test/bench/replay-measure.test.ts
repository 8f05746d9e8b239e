import t from 'tap';
import {
  expectedWindows,
  figure,
  parseTimeVerbose,
  percentile,
  realtimeVerdict,
  slope,
  stationDaysPerMinute,
  textTable,
} from '../../bench/pipeline-measure.ts';

t.test('percentile interpolates between closest ranks as numpy does', async (t) => {
  t.equal(percentile([4, 1, 3, 2], 50), 2.5);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  // numpy.percentile(range(1, 101), 99) = 99.01
  t.ok(Math.abs(percentile(hundred, 99) - 99.01) < 1e-12);
  t.equal(percentile(hundred, 0), 1);
  t.equal(percentile(hundred, 100), 100);
  t.equal(percentile([7], 99), 7);
  t.throws(() => percentile([], 50), RangeError);
  t.throws(() => percentile([1], 101), RangeError);
});

t.test('slope is the least-squares slope', async (t) => {
  t.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  // Noisy: y = x with residuals that cancel.
  t.ok(Math.abs(slope([0, 1, 2, 3], [0.1, 0.9, 2.1, 2.9]) - 0.96) < 1e-12);
  t.equal(slope([5, 5, 5], [1, 2, 3]), 0);
  t.equal(slope([1], [1]), 0);
  t.throws(() => slope([1, 2], [1]), RangeError);
});

t.test('station-days per minute', async (t) => {
  // 16 stations x 2.6 h in one minute: 16 * 9360 / 86400 station-days.
  t.ok(Math.abs(stationDaysPerMinute(16, 9360, 60) - 1.7333333333) < 1e-9);
  t.equal(stationDaysPerMinute(1, 86_400, 30), 2);
});

t.test('parseTimeVerbose reads GNU time -v', async (t) => {
  const report = [
    '\tCommand being timed: "node bin/phasestream.js replay"',
    '\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:05.59',
    '\tMaximum resident set size (kbytes): 272580',
  ].join('\n');
  t.same(parseTimeVerbose(report), { maxRssKb: 272580, elapsedS: 5.59 });
  t.same(parseTimeVerbose('\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03'), { elapsedS: 3723 });
  t.same(parseTimeVerbose('no report'), {});
});

t.test('expectedWindows counts windows that end before the data do', async (t) => {
  const s = 1_000_000;
  // Windows of 30 s every 10 s over 60 s of data end at 30, 40, 50 (the one ending at 60 waits).
  t.equal(expectedWindows([0], 60 * s, 30 * s, 10 * s), 3);
  t.equal(expectedWindows([0], 60 * s + 1, 30 * s, 10 * s), 4);
  t.equal(expectedWindows([5 * s], 60 * s, 30 * s, 10 * s), 3);
  t.equal(expectedWindows([31 * s], 60 * s, 30 * s, 10 * s), 0);
  t.equal(expectedWindows([0, 5 * s, 31 * s], 60 * s, 30 * s, 10 * s), 6);
});

t.test('realtimeVerdict', async (t) => {
  const steady: [number, number][] = Array.from({ length: 50 }, (_, i) => [i, 0.5 + 0.01 * (i % 3)]);
  const good = {
    strideS: 10,
    producedFraction: 1,
    latencies: steady,
    backlogAtFeedEnd: 0,
    feedLatenessP99Ms: 5,
  };
  const kept = realtimeVerdict(good);
  t.ok(kept.sustained);
  t.same(kept.reasons, []);

  const slow = realtimeVerdict({ ...good, latencies: steady.map(([at]) => [at, 12] as [number, number]) });
  t.notOk(slow.sustained);
  t.match(slow.reasons.join(), /p99 window latency 12\.0 s > stride/);

  // Latency that grows 10 % of elapsed time stays under the stride here but would not in a longer run.
  const growing = realtimeVerdict({
    ...good,
    latencies: steady.map(([at]) => [at, 0.1 * at] as [number, number]),
  });
  t.notOk(growing.sustained);
  t.ok(Math.abs(growing.latencyTrend - 0.1) < 1e-12);
  t.match(growing.reasons.join(), /latency grows 10 %/);

  t.match(realtimeVerdict({ ...good, producedFraction: 0.5 }).reasons.join(), /only 50 % of the windows/);
  t.match(realtimeVerdict({ ...good, feedLatenessP99Ms: 2500 }).reasons.join(), /feed ran 2\.5 s late/);
  t.match(realtimeVerdict({ ...good, latencies: [] }).reasons.join(), /no window came through/);
});

t.test('textTable aligns the first column left and the others right', async (t) => {
  t.equal(
    textTable(
      ['mode', 'rate'],
      [
        ['cli', '1.5'],
        ['decode', '21.0'],
      ],
    ),
    ['mode    rate', '------  ----', 'cli      1.5', 'decode  21.0'].join('\n'),
  );
  t.equal(figure(1234.4), '1,234');
  t.equal(figure(12.34), '12.3');
  t.equal(figure(1.234), '1.23');
  t.equal(figure(Number.NaN), '-');
});
