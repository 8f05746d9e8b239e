import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import t from 'tap';
import { useTfjsBackend } from '../../src/engine/tfjs/backend.ts';
import { log } from '../../src/log.ts';
import { phasenetLayers } from '../../src/model/phasenet/architecture.ts';
import { FreezableBatchNormalization, phasenetLayersModel } from '../../src/model/phasenet/layers-model.ts';
import { crossEntropy, trainModel } from '../../src/train/trainer.ts';
import { maxAbsDiff } from '../helpers/golden.ts';
import { syntheticEntries, TINY_ARCHITECTURE, TINY_TRAINING, tinyModel } from '../helpers/training.ts';

log.level = 'silent';

const OPTIONS = TINY_TRAINING;

const data = { train: syntheticEntries(12), validation: syntheticEntries(4, 600, 9) };

for (const backend of ['wasm', 'cpu'] as const) {
  t.test(`${backend}: the training gradient matches central finite differences`, async (t) => {
    await useTfjsBackend(backend);
    const model = phasenetLayersModel(TINY_ARCHITECTURE, tinyModel(2).weights);
    const x = tf.randomNormal([2, 64, 3], 0, 1, 'float32', 7);
    const labels = tf.softmax(tf.randomNormal([2, 64, 3], 0, 2, 'float32', 8));
    const loss = crossEntropy([0.5, 2, 3]);
    const value = () => loss(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
    const { grads } = tf.variableGrads(value);
    // One entry of every trainable weight kind: conv and deconv kernels, biases, batch-norm scale and offset.
    const checked = model.trainableWeights.map((w) => w.read() as tf.Variable);
    for (const variable of checked) {
      const name = variable.name;
      const analytic = (await grads[name].data()) as Float32Array;
      const original = (await variable.data()) as Float32Array;
      const index = Math.floor(original.length / 2);
      // Small steps: ReLU kinks and the batch statistics make larger ones measure a curve, not a slope.
      const eps = 3e-4;
      const at = async (delta: number) => {
        const moved = Float32Array.from(original);
        moved[index] += delta;
        variable.assign(tf.tensor(moved, variable.shape));
        const v = value();
        const out = (await v.data())[0];
        v.dispose();
        return out;
      };
      const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      variable.assign(tf.tensor(original, variable.shape));
      const error = Math.abs(numeric - analytic[index]);
      t.ok(
        error <= 1e-3 + 0.03 * Math.abs(numeric),
        `${name}[${index}]: analytic ${analytic[index].toExponential(4)}, numeric ${numeric.toExponential(4)}`,
      );
    }
    tf.dispose([x, labels, ...Object.values(grads)]);
    model.dispose();
  });
}

t.test("batch norm's closed-form training gradient equals tfjs-layers' own path", async (t) => {
  await useTfjsBackend('wasm');
  const x = tf.randomNormal([3, 50, 3], 0, 1, 'float32', 11);
  const labels = tf.softmax(tf.randomNormal([3, 50, 3], 0, 2, 'float32', 12));
  const run = async (closedForm: boolean) => {
    FreezableBatchNormalization.closedFormGradient = closedForm;
    const model = phasenetLayersModel(TINY_ARCHITECTURE, tinyModel(3).weights);
    const { value, grads } = tf.variableGrads(
      () => crossEntropy()(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      model.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    const gradients = await Promise.all(
      Object.values(grads).map(async (g) => (await g.data()) as Float32Array),
    );
    const stats = await Promise.all(
      model.getLayer('down0_bn1').weights.map(async (w) => (await w.read().data()) as Float32Array),
    );
    const loss = (await value.data())[0];
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
    return { loss, gradients, stats };
  };
  const tfjs = await run(false);
  const closed = await run(true);
  FreezableBatchNormalization.closedFormGradient = true;
  t.ok(Math.abs(closed.loss - tfjs.loss) < 1e-6, 'same loss');
  closed.gradients.forEach((g, i) => {
    const scale = tfjs.gradients[i].reduce((m, v) => Math.max(m, Math.abs(v)), 1e-3);
    t.ok(
      maxAbsDiff(g, tfjs.gradients[i]) <= 1e-4 * scale,
      `gradient ${i}: ${maxAbsDiff(g, tfjs.gradients[i])}`,
    );
  });
  for (const [i, s] of closed.stats.entries()) {
    t.ok(maxAbsDiff(s, tfjs.stats[i]) < 1e-6, `down0_bn1 weight ${i} after the step`);
  }
  tf.dispose([x, labels]);
});

t.test('training lowers the loss and is reproducible for a seed', async (t) => {
  await useTfjsBackend('wasm');
  const first = await trainModel(tinyModel(1), data, OPTIONS);
  const second = await trainModel(tinyModel(1), data, OPTIONS);
  const history = first.state.history;
  t.equal(history.length, 3);
  t.ok(
    history[2].trainLoss < history[0].trainLoss,
    `train loss ${history[0].trainLoss} -> ${history[2].trainLoss}`,
  );
  t.ok(history[2].validationLoss! < history[0].validationLoss!, 'validation loss falls');
  t.same(
    second.state.history.map((r) => r.trainLoss),
    history.map((r) => r.trainLoss),
  );
  for (const [name, w] of first.model.weights)
    t.equal(maxAbsDiff(second.model.weights.get(name)!.values, w.values), 0, name);
  t.ok(Math.abs(history[1].learningRate - 0.009) < 1e-12, 'the rate decays by 0.9 per epoch');
});

t.test('a run resumed from its checkpoint ends where an uninterrupted run does', async (t) => {
  await useTfjsBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'phasestream-train-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const straight = await trainModel(tinyModel(1), data, OPTIONS);
  await trainModel(tinyModel(1), data, { ...OPTIONS, epochs: 2 }, { outDir: dir });
  const resumed = await trainModel(tinyModel(1), data, OPTIONS, { outDir: dir, resume: true });
  t.equal(resumed.state.epoch, 3);
  t.same(
    resumed.state.history.map((r) => r.trainLoss),
    straight.state.history.map((r) => r.trainLoss),
  );
  for (const [name, w] of straight.model.weights) {
    t.ok(maxAbsDiff(resumed.model.weights.get(name)!.values, w.values) < 1e-6, name);
  }
});

t.test('frozen layers keep their weights, batch-norm statistics included', async (t) => {
  await useTfjsBackend('wasm');
  const initial = tinyModel(1);
  const { model } = await trainModel(initial, data, { ...OPTIONS, epochs: 1, freeze: ['down1', 'input'] });
  for (const layer of phasenetLayers(TINY_ARCHITECTURE)) {
    for (const param of layer.params) {
      const name = `${layer.name}/${param.name}`;
      const moved = maxAbsDiff(model.weights.get(name)!.values, initial.weights.get(name)!.values);
      if (layer.group === 'down1' || layer.group === 'input') t.equal(moved, 0, `${name} stays`);
      else if (!param.name.startsWith('moving')) t.ok(moved > 0, `${name} trains`);
    }
  }
});

t.test('early stopping ends a run whose validation loss stops falling', async (t) => {
  await useTfjsBackend('wasm');
  // A rate this high makes the loss jump about: validation stops improving within a few epochs.
  const { state } = await trainModel(tinyModel(1), data, {
    ...OPTIONS,
    epochs: 30,
    learningRate: 0.5,
    learningRateDecay: 1,
    patience: 2,
  });
  t.equal(state.stopped, 'early');
  t.ok(state.epoch < 30);
  t.equal(state.epoch - state.bestEpoch!, 2);
});
