import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { formatPick, PICK_COLUMNS, PickFile } from '../../src/sink/pick-file.ts';
import { testPicks } from '../helpers/picks.ts';

const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

for (const format of ['jsonl', 'csv'] as const) {
  t.test(`${format}: a restart continues the file and skips the ids it already holds`, async (t) => {
    const path = join(t.testdir(), `picks.${format}`);
    const picks = testPicks(5);
    const first = new PickFile(path, format, { append: true });
    for (const pick of picks.slice(0, 3)) await first.write(pick);
    await first.close();

    // The restarted run derives picks 1 and 2 again, then new ones.
    const second = new PickFile(path, format, { append: true });
    for (const pick of picks.slice(1)) await second.write(pick);
    await second.close();
    t.equal(second.written, 2, 'two new picks written');
    t.equal(second.skipped, 2, 'two already there');
    const header = format === 'csv' ? [PICK_COLUMNS.join(',')] : [];
    t.same(
      lines(path),
      [...header, ...picks.map((p) => formatPick(p, format).trimEnd())],
      'each pick once, in order',
    );
  });
}

t.test('a line a crash cut short is dropped, and the pick written again', async (t) => {
  const path = join(t.testdir(), 'picks.jsonl');
  const [a, b] = testPicks(2);
  writeFileSync(path, formatPick(a, 'jsonl'));
  appendFileSync(path, formatPick(b, 'jsonl').slice(0, 25));
  const file = new PickFile(path, 'jsonl', { append: true });
  await file.write(a);
  await file.write(b);
  await file.close();
  t.same(
    lines(path),
    [a, b].map((p) => formatPick(p, 'jsonl').trimEnd()),
  );
});

t.test('without append (replay) the file starts empty', async (t) => {
  const path = join(t.testdir(), 'picks.jsonl');
  writeFileSync(path, 'old\n');
  const file = new PickFile(path, 'jsonl');
  const [a] = testPicks(1);
  await file.write(a);
  await file.close();
  t.same(lines(path), [formatPick(a, 'jsonl').trimEnd()]);
});
