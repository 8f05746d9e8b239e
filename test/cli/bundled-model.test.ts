import { join } from 'node:path';
import t from 'tap';
import { readPickFile } from '../../src/cli/commands/evaluate.ts';
import { bundledModelDir, resolveModelDir } from '../../src/model/resolve.ts';
import { loadModelDir } from '../../src/model/store.ts';
import { readArrivalsCsv, readTransientExclusions } from '../../src/train/continuous-truth.ts';
import { pickingMetrics } from '../../src/train/metrics.ts';
import { runCli } from '../helpers/cli.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const dev = (...p: string[]) => sharedPath('data', 'continuous-dev', ...p);
const devFiles = ['HHE', 'HHN', 'HHZ'].map((c) => dev(`XX.DEV1.00.${c}.mseed`));
const skip = skipUnlessShared('data', 'continuous-dev') || skipUnlessShared('models', 'phasenet-original');

t.test('the bundled model is the default and says how it was made', async (t) => {
  t.equal(await resolveModelDir(), bundledModelDir);
  const { card } = await loadModelDir(bundledModelDir);
  t.equal(card.name, 'phasestream-default');
  t.match(String((card.metrics.training as { commandLine: string }).commandLine), /^phasestream finetune /);
  t.match(card.trainingData, /left out/);
  t.ok(card.metrics.continuousDev, 'replay scores in the card');
});

t.test('through replay, the bundled model is within 0.05 F1 of the original weights', { skip }, async (t) => {
  const score = async (model?: string) => {
    const out = join(t.testdir(), `${model ? 'original' : 'bundled'}.jsonl`);
    const result = await runCli([
      'replay',
      ...devFiles,
      ...(model ? ['--model', model] : []),
      '--output',
      out,
    ]);
    t.equal(result.code, 0, result.stderr);
    return pickingMetrics(readPickFile(out), readArrivalsCsv(dev('picks.csv')), {
      exclusionsUs: readTransientExclusions(dev('manifest.json')),
    });
  };
  const bundled = await score();
  const original = await score(await originalModelDir());
  for (const phase of ['P', 'S']) {
    t.ok(
      bundled[phase].f1 >= original[phase].f1 - 0.05,
      `${phase}: bundled F1 ${bundled[phase].f1.toFixed(3)}, original ${original[phase].f1.toFixed(3)}`,
    );
  }
});
