import t from 'tap';
import { PartitionPoints } from '../../src/scale/partition-points.ts';

t.test('a new owner starts at the earliest record any station still needs', async (t) => {
  const points = new PartitionPoints(undefined);
  t.equal(points.startSeq, 1, 'nothing read yet: from the start');
  points.received('XX_A', 1, 10);
  points.received('XX_B', 2, 10);
  points.received('XX_A', 3, 20);
  points.received('XX_B', 4, 20);
  t.equal(points.startSeq, 1, 'no station has a resume point: every record is needed');
  points.markProcessed('XX_A', { resumeTimeUs: 15, doneUntilUs: 18 });
  t.equal(points.startSeq, 2, "A needs its records from 15 on (seq 3); B's first is 2");
  points.markProcessed('XX_B', { resumeTimeUs: 25, doneUntilUs: 30 });
  t.equal(points.startSeq, 3, 'B needs nothing read so far; A still needs seq 3');
  points.markProcessed('XX_A', { resumeTimeUs: 12, doneUntilUs: 14 });
  t.same(points.entry().stations.XX_A, { resumeTimeUs: 15, doneUntilUs: 18 }, 'points only move forward');
  points.markProcessed('XX_A', { resumeTimeUs: 30, doneUntilUs: 31 });
  t.equal(points.startSeq, 5, 'nobody needs what was read: the next record');
  t.ok(points.takeChanged());
  t.notOk(points.takeChanged(), 'changed once per move');
});

t.test('the entry round-trips through its JSON; a foreign value starts afresh', async (t) => {
  const points = new PartitionPoints({
    startSeq: 7,
    stations: { XX_A: { resumeTimeUs: 5, doneUntilUs: 9 } },
  });
  t.equal(points.startSeq, 7);
  t.equal(points.resumeTimeUs('XX_A'), 5);
  t.equal(points.doneUntilUs('XX_A'), 9);
  t.same(PartitionPoints.parse(JSON.stringify(points.entry())), points.entry());
  t.equal(PartitionPoints.parse('{"startSeq":0}'), undefined);
  t.equal(PartitionPoints.parse('not json'), undefined);
  points.passed(12);
  t.equal(points.startSeq, 13, 'an end mark read: after it');
  t.same(PartitionPoints.afterEnd(12), { startSeq: 13, stations: {} });
});
