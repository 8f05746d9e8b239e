import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readPhaseNetNpz } from '../../src/ingest/npz.ts';
import { runCli } from '../helpers/cli.ts';

// The pseudo-labelling study in small: gathers of a shifted site, pseudo-labels filtered by the
// robust moveout and the SVM, a fine-tune on them, and the result scored on a held-out gather.
t.test('simulate gathers, pseudolabel, finetune on the pseudo-labels, evaluate', async (t) => {
  const dir = t.testdir();
  const gathers = join(dir, 'gathers.yaml');
  const base = readFileSync('config/pseudo-gathers.yaml', 'utf8');
  // The site of config/pseudo-gathers.yaml on a coarser grid, with half the receivers.
  writeFileSync(
    gathers,
    base.replace(/maxPoints: 60000/, 'maxPoints: 15000').replace(/receivers: 24/, 'receivers: 12'),
  );
  const pool = join(dir, 'pool');
  const simulated = await runCli([
    'simulate',
    'gathers',
    '--config',
    gathers,
    '--gathers',
    '3',
    '--out',
    pool,
  ]);
  t.equal(simulated.code, 0, simulated.stderr);
  const names = readdirSync(join(pool, 'waveforms'));
  t.equal(names.length, 36, '3 gathers x 12 receivers');
  t.same(readPhaseNetNpz(join(pool, 'waveforms', names[0])).itp, [], 'the records hold no labels');
  const truth = new Map(
    readFileSync(join(pool, 'truth.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => {
        const [fname, itp, its] = line.split(',');
        return [fname, { P: Number(itp), S: Number(its) }] as const;
      }),
  );
  t.equal(truth.size, 36, 'their true arrivals are apart, in truth.csv');

  const heldOut = join(dir, 'held-out');
  const simulatedTest = await runCli([
    'simulate',
    'gathers',
    '--config',
    gathers,
    '--gathers',
    '1',
    '--seed',
    '5',
    '--labels-in-records',
    '--out',
    heldOut,
  ]);
  t.equal(simulatedTest.code, 0, simulatedTest.stderr);

  const config = join(dir, 'pseudolabel.yaml');
  writeFileSync(config, 'svm: { labelledGathers: 1 }\nregression: { minPicks: 4 }\n');
  const labels = join(dir, 'labels');
  const pseudo = await runCli(['pseudolabel', '--data', pool, '--out', labels, '--config', config]);
  t.equal(pseudo.code, 0, pseudo.stderr);
  t.match(pseudo.stdout, /phase {2}stage {2}labels/, 'a table of the stages');
  const report = JSON.parse(readFileSync(join(labels, 'report.json'), 'utf8'));
  t.same(
    report.stages.map((s: { phase: string; stage: string }) => `${s.phase}.${s.stage}`),
    ['P.raw', 'S.raw', 'P.regression', 'S.regression', 'P.svm', 'S.svm'],
  );
  t.same(report.labelledGathers, [0]);
  // Every pseudo-label's `right` is its distance to the truth, and the stages count them so.
  const [header, ...rows] = readFileSync(join(labels, 'pseudo-labels.csv'), 'utf8').trim().split('\n');
  const columns = header.split(',');
  const at = (row: string[], name: string) => row[columns.indexOf(name)];
  const parsed = rows.map((r) => r.split(','));
  t.ok(parsed.length > 10, `${parsed.length} pseudo-labels`);
  for (const row of parsed) {
    const sample = Number(at(row, 'sample'));
    const phase = at(row, 'phase') as 'P' | 'S';
    const right = Math.abs(sample - truth.get(at(row, 'fname'))![phase]) <= 10;
    if (String(right) !== at(row, 'right'))
      t.fail(`${at(row, 'fname')} ${phase}: right is ${at(row, 'right')}`);
  }
  const raw = report.stages.find(
    (s: { phase: string; stage: string }) => s.phase === 'P' && s.stage === 'raw',
  );
  const rawRows = parsed.filter(
    (r) => at(r, 'phase') === 'P' && at(r, 'origin') === 'model' && at(r, 'gather') !== '0',
  );
  t.equal(raw.labels, rawRows.length, 'raw P labels: the model picks of the unlabelled gathers');
  t.equal(raw.right, rawRows.filter((r) => at(r, 'right') === 'true').length);
  const records = readdirSync(join(labels, 'records'));
  t.equal(records.length, report.trainingRecords.written);
  t.ok(records.length > 0, `${records.length} training records`);
  t.ok(
    records.every((f) => !f.startsWith('g0000_')),
    'the labelled gather trains the SVM, not the model',
  );

  const tuned = join(dir, 'self-trained');
  const finetune = await runCli([
    'finetune',
    '--from',
    'models/bundled',
    '--data',
    join(labels, 'records'),
    '--epochs',
    '1',
    '--steps-per-epoch',
    '2',
    '--batch-size',
    '2',
    '--split',
    '0.8,0.2,0',
    '--out',
    tuned,
  ]);
  t.equal(finetune.code, 0, finetune.stderr);
  t.ok(existsSync(join(tuned, 'model', 'card.json')));
  const evaluate = await runCli([
    'evaluate',
    '--model',
    join(tuned, 'model'),
    '--data',
    join(heldOut, 'waveforms'),
    '--format',
    'json',
  ]);
  t.equal(evaluate.code, 0, evaluate.stderr);
  const metrics = JSON.parse(evaluate.stdout);
  t.equal(metrics.P.truePositives + metrics.P.falseNegatives, 12, 'the 12 P arrivals of the held-out gather');
});
