import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readPickFile } from '../../src/cli/commands/evaluate.ts';
import { readArrivalsCsv } from '../../src/train/continuous-truth.ts';
import { pickingMetrics } from '../../src/train/metrics.ts';
import { repoRoot } from '../helpers/cli.ts';

// The README's main job: `npm start` on a fresh clone, offline, with what the repository ships.
t.test('npm start picks the bundled example data with the bundled model', async (t) => {
  const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const home = t.testdir();
  const run = spawnSync('sh', ['-c', scripts.start], {
    cwd: repoRoot,
    // An empty home: no cached model to fall back on.
    env: { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, '.cache'), PHASESTREAM_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  t.equal(run.status, 0, run.stderr);
  const out = join(home, 'picks.jsonl');
  writeFileSync(out, run.stdout);
  const picks = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  t.same(new Set(picks.map((p) => p.model)), new Set(['phasestream-default']), 'the bundled model picked');
  const metrics = pickingMetrics(
    readPickFile(out),
    readArrivalsCsv(join(repoRoot, 'examples/synthetic/picks.csv')),
  );
  t.ok(metrics.P.f1 >= 0.8, `P F1 ${metrics.P.f1.toFixed(3)} on the example data`);
  t.ok(metrics.S.f1 >= 0.5, `S F1 ${metrics.S.f1.toFixed(3)} on the example data`);
});
