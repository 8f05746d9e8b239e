import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { type LayersModel, loadLayersModel } from '@tensorflow/tfjs-layers';
import t from 'tap';
import { ModelFormatError } from '../../src/errors.ts';
import { importPhaseNetCheckpoint } from '../../src/model/checkpoint/import-phasenet.ts';
import {
  ORIGINAL_ARCHITECTURE,
  type PhaseNetArchitecture,
  phasenetWeightSpec,
} from '../../src/model/phasenet/architecture.ts';
import {
  activationLayerNames,
  buildPhaseNetModel,
  getPhaseNetWeights,
  LOGITS_LAYER,
  outputsModel,
  phasenetLayersModel,
  setGroupsTrainable,
} from '../../src/model/phasenet/layers-model.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';
import { goldenLayersG0, goldenSamples, maxAbsDiff } from '../helpers/golden.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

await tf.setBackend('cpu');
tf.enableProdMode();

function predict(
  model: LayersModel,
  input: Float32Array,
  batch: number,
  length: number,
  channels = 3,
): Float32Array {
  return tf.tidy(
    () =>
      (model.predict(tf.tensor3d(input, [batch, length, channels])) as tf.Tensor).dataSync() as Float32Array,
  );
}

t.test('weights map 1:1 onto the canonical names and shapes', async (t) => {
  const model = buildPhaseNetModel(ORIGINAL_ARCHITECTURE);
  const spec = phasenetWeightSpec(ORIGINAL_ARCHITECTURE);
  const modelWeights = model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] }));
  t.same(
    [...modelWeights].sort((a, b) => a.name.localeCompare(b.name)),
    [...spec].sort((a, b) => a.name.localeCompare(b.name)),
  );
  const trainable = model.trainableWeights.reduce(
    (n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1),
    0,
  );
  t.equal(trainable, 268_443, 'the original has 268,443 trainable parameters');
  model.dispose();
});

t.test('canonical weights go in and come out unchanged', async (t) => {
  const weights = randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 3);
  const model = phasenetLayersModel(ORIGINAL_ARCHITECTURE, weights);
  const back = await getPhaseNetWeights(model, ORIGINAL_ARCHITECTURE);
  t.equal(back.size, weights.size);
  for (const [name, w] of weights) t.same(back.get(name), w, name);
  const wrong = new Map(weights);
  wrong.set('down1_conv1/kernel', { shape: [7, 8, 8], values: new Float32Array(7 * 8 * 8) });
  t.throws(
    () => phasenetLayersModel(ORIGINAL_ARCHITECTURE, wrong),
    ModelFormatError,
    'a wrong shape is refused',
  );
  model.dispose();
});

t.test('any input length: TF SAME lengths at every level', async (t) => {
  const model = buildPhaseNetModel(ORIGINAL_ARCHITECTURE);
  const names = activationLayerNames(ORIGINAL_ARCHITECTURE);
  const probe = outputsModel(model, names);
  for (const [length, levels] of [
    [3000, [3000, 750, 188, 47, 12]],
    [3001, [3001, 751, 188, 47, 12]],
    [5, [5, 2, 1, 1, 1]],
  ] as const) {
    const shapes = tf.tidy(() => {
      const outputs = probe.predict(tf.zeros([2, length, 3])) as tf.Tensor[];
      return Object.fromEntries(names.map((name, i) => [name, outputs[i].shape]));
    });
    for (let d = 0; d < 5; d++)
      t.same(shapes[`down${d}_relu1`], [2, levels[d], 8 * 2 ** d], `${length}: level ${d}`);
    for (let d = 0; d < 4; d++) {
      t.same(shapes[`up${d}_relu0`], [2, 4 * levels[d + 1], 8 * 2 ** d], `${length}: up-sampled ${d}`);
      t.same(shapes[`up${d}_concat`], [2, levels[d], 16 * 2 ** d], `${length}: joined ${d}`);
    }
    t.same(shapes.output_softmax, [2, length, 3]);
  }
  model.dispose();
});

t.test('the saved topology loads back with loadLayersModel (custom layers registered)', async (t) => {
  const arch: PhaseNetArchitecture = { ...ORIGINAL_ARCHITECTURE, depth: 3, rootFilters: 4, kernelSize: 3 };
  const model = phasenetLayersModel(arch, randomPhaseNetWeights(arch, 5));
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const classes = JSON.stringify(saved!.modelTopology);
  for (const name of ['PhaseNetTransposedConv1D', 'PhaseNetSkipConcat', 'PhaseNetSamePadding1D']) {
    t.match(classes, name, `the topology names ${name}`);
  }
  const loaded = await loadLayersModel(tf.io.fromMemory(saved!));
  const input = Float32Array.from({ length: 2 * 61 * 3 }, (_, i) => Math.sin(i * 0.37) * 2);
  t.ok(maxAbsDiff(predict(loaded, input, 2, 61), predict(model, input, 2, 61)) === 0, 'same outputs');
  model.dispose();
  loaded.dispose();
});

t.test('groups freeze, and training moves every other weight (custom layers have gradients)', async (t) => {
  const arch: PhaseNetArchitecture = { ...ORIGINAL_ARCHITECTURE, depth: 3, rootFilters: 2 };
  const model = phasenetLayersModel(arch, randomPhaseNetWeights(arch, 9));
  t.throws(() => setGroupsTrainable(model, arch, ['down9'], false), ModelFormatError, 'unknown group');
  setGroupsTrainable(model, arch, ['input', 'down0'], false);
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  const before = await getPhaseNetWeights(model, arch);
  const length = 64;
  const x = tf.tensor3d(
    Float32Array.from({ length: 4 * length * 3 }, (_, i) => Math.cos(i * 0.11)),
    [4, length, 3],
  );
  const y = tf.oneHot(
    tf.tensor2d(
      Int32Array.from({ length: 4 * length }, (_, i) => i % 3),
      [4, length],
      'int32',
    ),
    3,
  );
  await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0 });
  const after = await getPhaseNetWeights(model, arch);
  for (const [name, w] of before) {
    const moved = maxAbsDiff(w.values, after.get(name)!.values) > 0;
    const frozen = name.startsWith('input_') || name.startsWith('down0_');
    if (frozen) t.notOk(moved, `${name} stays frozen`);
    else if (!name.endsWith('/moving_mean') && !name.endsWith('/moving_variance'))
      t.ok(moved, `${name} trains`);
  }
  tf.dispose([x, y]);
  model.dispose();
});

t.test('logits: the output convolution, before the softmax', async (t) => {
  const arch: PhaseNetArchitecture = { ...ORIGINAL_ARCHITECTURE, depth: 3, rootFilters: 4 };
  const model = phasenetLayersModel(arch, randomPhaseNetWeights(arch, 2));
  const logitsModel = outputsModel(model, [LOGITS_LAYER]);
  const input = Float32Array.from({ length: 50 * 3 }, (_, i) => Math.sin(i));
  const probs = predict(model, input, 1, 50);
  const softmaxOfLogits = tf.tidy(() =>
    tf.softmax(logitsModel.predict(tf.tensor3d(input, [1, 50, 3])) as tf.Tensor).dataSync(),
  ) as Float32Array;
  t.ok(maxAbsDiff(probs, softmaxOfLogits) <= 1e-7);
  model.dispose();
});

// Names of the golden activations of g0 → the layers whose outputs they are.
function goldenLayerName(golden: string): string {
  if (golden === 'Input_relu') return 'input_relu';
  if (golden === 'Output_logits') return LOGITS_LAYER;
  if (golden === 'Output_softmax') return 'output_softmax';
  const down = /^DownConv_(\d+)\/relu(1|3)/.exec(golden);
  if (down) return `down${down[1]}_relu${down[2]}`;
  const up = /^UpConv_(\d+)\/(relu0_upsampled|concat_skip_up|relu1)$/.exec(golden);
  if (up)
    return `up${up[1]}_${{ relu0_upsampled: 'relu0', concat_skip_up: 'concat', relu1: 'relu1' }[up[2]]}`;
  throw new Error(`unknown golden layer ${golden}`);
}

const skip =
  skipUnlessShared('golden', 'phasenet-original') || skipUnlessShared('models', 'phasenet-original');

t.test('every intermediate activation of g0 matches the original', { skip }, async (t) => {
  const { architecture, weights } = await importPhaseNetCheckpoint(
    sharedPath('models', 'phasenet-original', 'model_95.ckpt'),
  );
  const model = phasenetLayersModel(architecture, weights);
  const golden = goldenLayersG0();
  t.equal(
    golden.length,
    activationLayerNames(architecture).length,
    'one golden activation per named activation',
  );
  const probe = outputsModel(
    model,
    golden.map((g) => goldenLayerName(g.name)),
  );
  const g0 = goldenSamples().find((s) => s.id === 'g0')!;
  const outputs = tf.tidy(() =>
    (probe.predict(tf.tensor3d(g0.input, [1, g0.length, 3])) as tf.Tensor[]).map((o) => ({
      shape: o.shape.slice(1),
      values: o.dataSync() as Float32Array,
    })),
  );
  golden.forEach((layer, i) => {
    t.same(outputs[i].shape, layer.shape, `${layer.name}: shape`);
    const scale = layer.values.reduce((max, v) => Math.max(max, Math.abs(v)), 1);
    const diff = maxAbsDiff(outputs[i].values, layer.values);
    t.ok(
      diff <= 1e-5 * scale,
      `${layer.name}: max |d| ${diff.toExponential(2)} (values up to ${scale.toFixed(1)})`,
    );
  });
  model.dispose();
});
