import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadModelDir } from '../../src/model/store.ts';
import { runCli } from '../helpers/cli.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const skip = skipUnlessShared('data', 'phasenet-ncedc-dev');

/** Eight dev records in a directory of their own (four stations, two each where possible). */
function smallDataset(dir: string): string {
  const data = join(dir, 'data');
  mkdirSync(data);
  const files = readdirSync(sharedPath('data', 'phasenet-ncedc-dev'))
    .filter((f) => f.endsWith('.npz'))
    .slice(0, 8);
  for (const f of files) cpSync(sharedPath('data', 'phasenet-ncedc-dev', f), join(data, f));
  return data;
}

t.test('train and finetune explain themselves', async (t) => {
  const train = await runCli(['train', '--help']);
  t.equal(train.code, 0);
  t.match(train.stdout, /--config <file>/);
  t.match(train.stdout, /--split-by/);
  const finetune = await runCli(['finetune', '--help']);
  t.match(finetune.stdout, /--from <model>/);
  t.match(finetune.stdout, /--freeze <list>/);
  const bad = await runCli(['train', '--out', '/tmp/x', '--data', '/nonexistent/dir']);
  t.not(bad.code, 0);
  t.match(bad.stderr, /does not exist/);
});

t.test(
  'train from scratch with a config file: outputs, card, and the same model for the same seed',
  { skip },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'phasestream-cli-train-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const data = smallDataset(dir);
    writeFileSync(
      join(dir, 'train.yaml'),
      'model:\n  depth: 2\n  rootFilters: 2\n  name: tiny\ntraining:\n  epochs: 2\n  batchSize: 2\n  stepsPerEpoch: 1\n  backend: wasm\nlabels:\n  shape: triangle\n',
    );
    const run = (out: string) =>
      runCli([
        'train',
        '--config',
        join(dir, 'train.yaml'),
        '--data',
        data,
        '--split',
        '0.5,0.25,0.25',
        '--seed',
        '4',
        '--out',
        join(dir, out),
      ]);
    const first = await run('a');
    t.equal(first.code, 0, first.stderr);
    t.match(first.stdout, /phase\s+precision\s+recall\s+F1/);
    for (const file of [
      'model/card.json',
      'model/weights.bin',
      'loss.csv',
      'loss.svg',
      'split.json',
      'metrics.json',
      'checkpoint/state.json',
    ]) {
      t.ok(readFileSync(join(dir, 'a', file)).length > 0, file);
    }
    t.equal(
      readFileSync(join(dir, 'a', 'loss.csv'), 'utf8')
        .trim()
        .split('\n').length,
      3,
      'header and two epochs',
    );
    t.match(readFileSync(join(dir, 'a', 'loss.svg'), 'utf8'), /<polyline/);
    const { card } = await loadModelDir(join(dir, 'a', 'model'));
    t.equal(card.name, 'tiny');
    t.equal(card.architecture.depth, 2);
    t.match(
      String((card.metrics.training as { commandLine: string }).commandLine),
      /phasestream train --config/,
    );
    t.match(card.trainingData, /split by station, seed 4/);
    const second = await run('b');
    t.equal(second.code, 0, second.stderr);
    t.same(
      readFileSync(join(dir, 'b', 'model', 'weights.bin')),
      readFileSync(join(dir, 'a', 'model', 'weights.bin')),
    );
  },
);

t.test(
  'finetune from the original: Z only, deepest levels frozen; evaluate the result on records',
  { skip },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'phasestream-cli-finetune-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const data = smallDataset(dir);
    const original = await originalModelDir();
    const result = await runCli([
      'finetune',
      '--from',
      original,
      '--data',
      data,
      '--components',
      'Z',
      '--freeze',
      'deepest2',
      '--epochs',
      '1',
      '--steps-per-epoch',
      '1',
      '--batch-size',
      '2',
      '--split',
      '0.75,0.25,0',
      '--backend',
      'wasm',
      '--out',
      join(dir, 'out'),
    ]);
    t.equal(result.code, 0, result.stderr);
    const tuned = await loadModelDir(join(dir, 'out', 'model'));
    const base = await loadModelDir(original);
    t.same(tuned.card.componentOrder, ['Z']);
    t.same(tuned.weights.get('input_conv/kernel')!.shape, [7, 1, 8]);
    t.same(
      Array.from(tuned.weights.get('down4_conv1/kernel')!.values),
      Array.from(base.weights.get('down4_conv1/kernel')!.values),
      'frozen',
    );
    t.same(
      Array.from(tuned.weights.get('down3_bn1/moving_mean')!.values),
      Array.from(base.weights.get('down3_bn1/moving_mean')!.values),
      'frozen statistics',
    );
    t.notSame(
      Array.from(tuned.weights.get('up0_conv1/kernel')!.values),
      Array.from(base.weights.get('up0_conv1/kernel')!.values),
      'trained',
    );

    const evaluated = await runCli(['evaluate', '--model', original, '--data', data, '--format', 'json']);
    t.equal(evaluated.code, 0, evaluated.stderr);
    const metrics = JSON.parse(evaluated.stdout);
    t.ok(
      metrics.P.f1 > 0.7 && metrics.S.f1 > 0.5,
      `original on 8 dev records: P ${metrics.P.f1}, S ${metrics.S.f1}`,
    );
    t.equal(metrics.P.truePositives + metrics.P.falseNegatives, 8);
  },
);

t.test('evaluate reads its options from --config; options given win', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'phasestream-cli-evaluate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'picks.jsonl'),
    `${JSON.stringify({ phase: 'P', time: '2020-01-01T00:00:10.05Z' })}\n${JSON.stringify({ phase: 'S', time: '2020-01-01T00:00:20.3Z' })}\n`,
  );
  writeFileSync(join(dir, 'truth.csv'), 'phase,time\nP,2020-01-01T00:00:10Z\nS,2020-01-01T00:00:20Z\n');
  writeFileSync(
    join(dir, 'evaluate.json'),
    JSON.stringify({
      picks: join(dir, 'picks.jsonl'),
      truth: join(dir, 'truth.csv'),
      format: 'json',
      tolerance: 0.1,
    }),
  );
  const fromFile = await runCli(['evaluate', '--config', join(dir, 'evaluate.json')]);
  t.equal(fromFile.code, 0, fromFile.stderr);
  const metrics = JSON.parse(fromFile.stdout);
  t.equal(metrics.P.truePositives, 1);
  t.equal(metrics.S.truePositives, 0, 'S is 0.3 s off');
  const overridden = await runCli(['evaluate', '--config', join(dir, 'evaluate.json'), '--tolerance', '0.5']);
  t.equal(JSON.parse(overridden.stdout).S.truePositives, 1, '--tolerance 0.5 overrides the file');
  writeFileSync(join(dir, 'bad.yaml'), 'tolerence: 0.2\n');
  const bad = await runCli(['evaluate', '--config', join(dir, 'bad.yaml')]);
  t.not(bad.code, 0);
  t.match(bad.stderr, /tolerence/);
});
