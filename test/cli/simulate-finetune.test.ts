import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { skipUnlessShared } from '../helpers/shared.ts';

// The report's workflow end to end: simulate a database, then fine-tune the original on it.
t.test(
  'phasestream simulate dataset, then phasestream finetune on it',
  { skip: skipUnlessShared('models', 'phasenet-original') },
  async (t) => {
    const dir = t.testdir();
    const config = join(dir, 'dataset.yaml');
    writeFileSync(
      config,
      [
        'models: 3',
        'receivers: 3',
        'grid: { widthM: 6000, depthM: 2500, maxPoints: 6000 }',
        'source: { depthM: [800, 1500] }',
        'record: { durationS: 40 }',
        'extraction: { extractsPerRecord: 3, alpha: 0.7 }',
        '',
      ].join('\n'),
    );
    const data = join(dir, 'data');
    const simulate = await runCli(['simulate', 'dataset', '--config', config, '--out', data]);
    t.equal(simulate.code, 0, simulate.stderr);
    const records = readdirSync(join(data, 'waveforms')).filter((f) => f.endsWith('.npz'));
    t.ok(records.length >= 6, `${records.length} simulated windows`);

    const out = join(dir, 'finetuned');
    const finetune = await runCli([
      'finetune',
      '--from',
      await originalModelDir(),
      '--data',
      join(data, 'waveforms'),
      '--epochs',
      '1',
      '--steps-per-epoch',
      '2',
      '--batch-size',
      '2',
      '--out',
      out,
    ]);
    t.equal(finetune.code, 0, finetune.stderr);
    t.ok(existsSync(join(out, 'model', 'card.json')), 'the fine-tuned model is written');
    const card = JSON.parse(readFileSync(join(out, 'model', 'card.json'), 'utf8'));
    t.match(JSON.stringify(card), /waveforms/, 'its card names the simulated data it was trained on');
    const losses = readFileSync(join(out, 'loss.csv'), 'utf8').trim().split('\n');
    t.equal(losses.length, 2, 'one epoch of losses after the header');
  },
);
