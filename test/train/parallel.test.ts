import t from 'tap';
import { useTfjsBackend } from '../../src/engine/tfjs/backend.ts';
import { log } from '../../src/log.ts';
import { fixedBatches } from '../../src/train/dataset.ts';
import { DEFAULT_LABEL_OPTIONS } from '../../src/train/labels.ts';
import { ParallelReplicas } from '../../src/train/parallel.ts';
import { Replica } from '../../src/train/replica.ts';
import { trainModel } from '../../src/train/trainer.ts';
import { maxAbsDiff } from '../helpers/golden.ts';
import { syntheticEntries, TINY_ARCHITECTURE, TINY_TRAINING, tinyModel } from '../helpers/training.ts';

log.level = 'silent';

t.test('two worker threads take the step of the averaged gradients of their shares', async (t) => {
  await useTfjsBackend('wasm');
  const options = {
    architecture: TINY_ARCHITECTURE,
    weights: tinyModel(1).weights,
    freeze: ['output'],
    learningRate: 0.01,
  };
  const [batch] = await fixedBatches(syntheticEntries(5), {
    windowLength: 128,
    label: DEFAULT_LABEL_OPTIONS,
    batchSize: 5,
    seed: 2,
  });
  const plain = { ...batch, length: 128 };
  const perWindow = 128 * 3;
  const share = (from: number, count: number) => ({
    x: batch.x.slice(from * perWindow, (from + count) * perWindow),
    y: batch.y.slice(from * perWindow, (from + count) * perWindow),
    count,
    length: 128,
  });
  // The reference in this thread: shares of 3 and 2 windows, gradients weighted by their size.
  const reference = new Replica(options);
  const a = await reference.gradients(share(0, 3));
  const b = await reference.gradients(share(3, 2));
  reference.apply(a.gradients.map((g, k) => g.map((v, j) => (v * 3 + b.gradients[k][j] * 2) / 5)));
  const expected = await reference.weights();
  reference.dispose();

  const parallel = await ParallelReplicas.start(2, 'wasm', options);
  t.teardown(() => parallel.dispose());
  const loss = await parallel.step(plain, 0.01);
  t.ok(Math.abs(loss - (a.loss * 3 + b.loss * 2) / 5) < 1e-6, `loss ${loss}`);
  const weights = await parallel.weights();
  for (const [name, w] of expected) {
    if (name.includes('moving_')) continue;
    t.ok(maxAbsDiff(weights.get(name)!.values, w.values) < 1e-6, name);
  }
  t.same(
    Array.from(weights.get('output_conv/kernel')!.values),
    Array.from(options.weights.get('output_conv/kernel')!.values),
    'frozen',
  );
});

t.test('trainModel on two workers lowers the loss', async (t) => {
  await useTfjsBackend('wasm');
  const { state } = await trainModel(
    tinyModel(1),
    { train: syntheticEntries(12), validation: syntheticEntries(4, 600, 9) },
    { ...TINY_TRAINING, workers: 2 },
  );
  t.ok(state.history[2].trainLoss < state.history[0].trainLoss);
  t.ok(state.history[2].validationLoss! < state.history[0].validationLoss!);
});
