import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { exportPhaseNetOnnx, ONNX_OPSET } from '../../src/engine/onnx/export.ts';
import { ModelFormatError } from '../../src/errors.ts';
import { ORIGINAL_ARCHITECTURE, type PhaseNetArchitecture } from '../../src/model/phasenet/architecture.ts';
import { phasenetLayersModel } from '../../src/model/phasenet/layers-model.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';
import { maxAbsDiff } from '../helpers/golden.ts';

await tf.setBackend('cpu');

function randomInput(size: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: size }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 2 ** 32 - 0.5) * 4;
  });
}

/** Probabilities of the unfolded layers model (batch norms as such, real transposed convolutions), tfjs-cpu. */
function layersProbs(
  arch: PhaseNetArchitecture,
  seed: number,
  input: Float32Array,
  length: number,
): Float32Array {
  const model = phasenetLayersModel(arch, randomPhaseNetWeights(arch, seed));
  const out = tf.tidy(() => model.predict(tf.tensor3d(input, [1, length, arch.inChannels])) as tf.Tensor);
  const values = out.dataSync() as Float32Array;
  out.dispose();
  model.dispose();
  return values;
}

// The original (k=7 > s=4: 3 taps, crop 1), an even kernel, a kernel shorter than the stride (one tap,
// SAME pads the end with zeros), and one input channel.
const architectures: [string, PhaseNetArchitecture][] = [
  ['original', ORIGINAL_ARCHITECTURE],
  ['k4 s3', { ...ORIGINAL_ARCHITECTURE, kernelSize: 4, stride: 3, depth: 4, rootFilters: 4 }],
  ['k3 s4', { ...ORIGINAL_ARCHITECTURE, kernelSize: 3, stride: 4, depth: 3, rootFilters: 4 }],
  [
    'k5 s2 Z only',
    { ...ORIGINAL_ARCHITECTURE, inChannels: 1, kernelSize: 5, stride: 2, depth: 4, rootFilters: 2 },
  ],
];

t.test('the exported graph computes what the layers model computes, for any length', async (t) => {
  for (const [label, arch] of architectures) {
    const session = await ort.InferenceSession.create(
      exportPhaseNetOnnx(arch, randomPhaseNetWeights(arch, 3)),
      {
        intraOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      },
    );
    // Odd lengths: SAME pads that depend on n mod stride and skip crops at non-zero offsets.
    for (const length of [3000, 3001, 97, 1]) {
      const input = randomInput(length * arch.inChannels, length);
      const out = await session.run({ x: new ort.Tensor('float32', input, [1, length, arch.inChannels]) });
      t.same(out.probs.dims, [1, length, arch.classes], `${label}, ${length}: probs shape`);
      const d = maxAbsDiff(out.probs.data as Float32Array, layersProbs(arch, 3, input, length));
      t.ok(d <= 2e-6, `${label}, ${length} samples: max |dprob| ${d.toExponential(2)}`);
    }
    await session.release();
  }
});

t.test('the model declares dynamic batch and length, and says what it is', async (t) => {
  const bytes = exportPhaseNetOnnx(ORIGINAL_ARCHITECTURE, randomPhaseNetWeights(ORIGINAL_ARCHITECTURE), {
    name: 'phasenet-original',
    version: '95',
    source: 'https://github.com/AI4EPS/PhaseNet',
  });
  const session = await ort.InferenceSession.create(bytes);
  const shapes = (metadata: readonly ort.InferenceSession.ValueMetadata[]) =>
    Object.fromEntries(metadata.map((m) => [m.name, m.isTensor ? [m.type, ...m.shape] : []]));
  t.same(shapes(session.inputMetadata), { x: ['float32', 'batch', 'length', 3] });
  t.same(shapes(session.outputMetadata), {
    logits: ['float32', 'batch', 'length', 3],
    probs: ['float32', 'batch', 'length', 3],
  });
  for (const [batch, length] of [
    [3, 3000],
    [1, 6000],
  ]) {
    const out = await session.run({
      x: new ort.Tensor('float32', new Float32Array(batch * length * 3), [batch, length, 3]),
    });
    t.same(out.probs.dims, [batch, length, 3], `runs [${batch}, ${length}, 3]`);
  }
  await session.release();

  const model = onnxProto.onnx.ModelProto.decode(bytes);
  t.equal(Number(model.opsetImport[0].version), ONNX_OPSET);
  const metadata = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
  t.match(metadata, {
    name: 'phasenet-original',
    version: '95',
    source: 'https://github.com/AI4EPS/PhaseNet',
  });
  t.same(JSON.parse(metadata.architecture), ORIGINAL_ARCHITECTURE);
  t.match(model.docString, /PhaseNet.*Zhu & Beroza/);
});

t.test('weights that do not fit the architecture are refused', async (t) => {
  const weights = randomPhaseNetWeights(ORIGINAL_ARCHITECTURE);
  weights.delete('down3_bn1/moving_variance');
  t.throws(() => exportPhaseNetOnnx(ORIGINAL_ARCHITECTURE, weights), ModelFormatError);
  t.throws(
    () =>
      exportPhaseNetOnnx(
        { ...ORIGINAL_ARCHITECTURE, rootFilters: 16 },
        randomPhaseNetWeights(ORIGINAL_ARCHITECTURE),
      ),
    { name: 'ModelFormatError', message: /input_conv\/kernel has shape/ },
  );
});

t.test('the skip joins: Sum for the CPU provider, Add for WebGPU, the same numbers', async (t) => {
  const weights = randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 5);
  const length = 3000;
  const x = new ort.Tensor('float32', randomInput(2 * length * 3, 9), [2, length, 3]);
  const probs: Float32Array[] = [];
  for (const skipJoin of ['Sum', 'Add'] as const) {
    const bytes = exportPhaseNetOnnx(ORIGINAL_ARCHITECTURE, weights, { skipJoin });
    const nodes = onnxProto.onnx.ModelProto.decode(bytes).graph!.node!;
    const joins = nodes.filter((n) => n.name!.endsWith('/sum')).map((n) => n.opType);
    t.same(joins, Array(ORIGINAL_ARCHITECTURE.depth - 1).fill(skipJoin), `one ${skipJoin} per up level`);
    if (skipJoin === 'Add')
      t.notOk(
        nodes.some((n) => n.opType === 'Sum'),
        'no Sum anywhere (WebGPU has none)',
      );
    const session = await ort.InferenceSession.create(bytes);
    probs.push((await session.run({ x })).probs.data as Float32Array);
    await session.release();
  }
  t.ok(maxAbsDiff(probs[0], probs[1]) <= 1e-6, 'the same probabilities');
});
