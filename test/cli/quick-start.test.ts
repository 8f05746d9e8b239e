import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cliEntry, repoRoot } from '../helpers/cli.ts';

// The README's main job: `npm start` on a fresh clone, offline, with what the repository ships. The
// script runs the compiled CLI (bin/phasestream.js); here it runs the sources in its place, so that
// this checks the code under test (test/cli/package.test.ts checks the compiled package).
t.test(
  'npm start picks the bundled example data with the bundled model and ends with the score',
  async (t) => {
    const { scripts } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    const start: string = scripts.start.replaceAll('node bin/phasestream.js', `node ${cliEntry.join(' ')}`);
    t.not(start, scripts.start, 'npm start runs bin/phasestream.js');
    const home = t.testdir();
    const run = spawnSync('sh', ['-c', start], {
      cwd: repoRoot,
      // An empty home: no cached model to fall back on.
      env: {
        ...process.env,
        HOME: home,
        XDG_CACHE_HOME: join(home, '.cache'),
        PHASESTREAM_LOG_LEVEL: 'warn',
      },
      encoding: 'utf8',
    });
    t.equal(run.status, 0, run.stderr);
    const picks = readFileSync(join(repoRoot, 'picks.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    t.same(new Set(picks.map((p) => p.model)), new Set(['phasestream-default']), 'the bundled model picked');
    // The last lines are evaluate's table against examples/synthetic/picks.csv.
    const lines = run.stdout.trim().split('\n');
    t.match(lines.at(-3), /^phase\s+precision\s+recall\s+F1/);
    const f1 = (phase: string) =>
      Number(
        lines
          .find((l) => l.trim().startsWith(`${phase} `))
          ?.trim()
          .split(/\s+/)[3],
      );
    t.ok(f1('P') >= 0.8, `P F1 ${f1('P')} on the example data`);
    t.ok(f1('S') >= 0.5, `S F1 ${f1('S')} on the example data`);
  },
);
