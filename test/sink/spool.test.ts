import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DurableSpool } from '../../src/sink/spool.ts';

const lines = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `line ${from + i}`);

t.test('lines come out in order, across segments, and delivered segments are deleted', async (t) => {
  const dir = t.testdir();
  const spool = DurableSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 100 });
  for (let i = 0; i < 50; i++) t.ok(spool.append(lines(1, i)));
  t.equal(spool.backlogLines, 50);
  t.ok(readdirSync(dir).filter((f) => f.endsWith('.log')).length >= 3, 'several segments');
  const out: string[] = [];
  for (;;) {
    const { lines: batch, next } = spool.read(7);
    if (batch.length === 0) break;
    out.push(...batch);
    spool.commit(next, batch.length);
  }
  t.same(out, lines(50));
  t.equal(spool.backlogLines, 0);
  t.equal(spool.backlogBytes, 0);
  t.equal(
    readdirSync(dir).filter((f) => f.endsWith('.log')).length,
    1,
    'only the segment being written is left',
  );
  spool.close();
});

t.test('a reopened spool goes on from its cursor; a line cut short by a crash is dropped', async (t) => {
  const dir = t.testdir();
  const first = DurableSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 });
  first.append(lines(20));
  const { lines: read, next } = first.read(5);
  first.commit(next, read.length);
  const uncommitted = first.read(3);
  t.same(uncommitted.lines, lines(3, 5), 'read but not committed');
  first.close();
  const last = readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .at(-1) as string;
  appendFileSync(join(dir, last), 'half a li');

  const second = DurableSpool.open({ dir, maxBytes: 1 << 20, segmentBytes: 64 });
  t.equal(second.backlogLines, 15, 'what was not committed is still there');
  second.append(['after restart']);
  const all: string[] = [];
  for (let r = second.read(100); r.lines.length > 0; r = second.read(100)) {
    all.push(...r.lines);
    second.commit(r.next, r.lines.length);
  }
  t.same(all, [...lines(15, 5), 'after restart'], 'the cut line is gone, the order kept');
  second.close();
});

t.test('the spool refuses lines past its bound, and takes them again once drained', async (t) => {
  const dir = t.testdir();
  const spool = DurableSpool.open({ dir, maxBytes: 100 });
  let accepted = 0;
  for (let i = 0; i < 30; i++) if (spool.append(lines(1, i))) accepted++;
  t.equal(accepted, 13, 'lines 0-9 take 7 bytes, later ones 8: 13 fit in 100 bytes');
  t.ok(spool.backlogBytes <= 100);
  const { lines: batch, next } = spool.read(100);
  t.same(batch, lines(13), 'the first 13, the refused ones not');
  spool.commit(next, batch.length);
  t.ok(spool.append(['more']), 'room again');
  spool.close();
});
