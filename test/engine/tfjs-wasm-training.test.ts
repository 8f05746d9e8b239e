import * as tf from '@tensorflow/tfjs-core';
import t from 'tap';
import { useTfjsBackend } from '../../src/engine/tfjs/backend.ts';
import { log } from '../../src/log.ts';
import { ORIGINAL_ARCHITECTURE, type PhaseNetArchitecture } from '../../src/model/phasenet/architecture.ts';
import { getPhaseNetWeights, phasenetLayersModel } from '../../src/model/phasenet/layers-model.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';
import { maxAbsDiff } from '../helpers/golden.ts';

log.level = 'silent';

function values(size: number, seed: number): Float32Array {
  return Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.7 + seed) * Math.cos(i * 0.13));
}

/** d(sum(conv(x, w) * weights))/dw, or /dx with `wrt: 'input'`, on the given backend. */
async function convGradient(
  backend: 'cpu' | 'wasm',
  xShape: [number, number, number, number],
  wShape: [number, number, number, number],
  strides: [number, number],
  pad: 'same' | 'valid' | tf.backend_util.ExplicitPadding,
  wrt: 'filter' | 'input' = 'filter',
): Promise<Float32Array> {
  await useTfjsBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(
      values(
        xShape.reduce((a, b) => a * b),
        1,
      ),
      xShape,
    );
    const w = tf.tensor4d(
      values(
        wShape.reduce((a, b) => a * b),
        2,
      ),
      wShape,
    );
    const loss = (input: tf.Tensor, filter: tf.Tensor) => {
      const y = tf.conv2d(input as tf.Tensor4D, filter as tf.Tensor4D, strides, pad);
      return tf.sum(tf.mul(y, tf.tensor(values(y.size, 3), y.shape)));
    };
    if (wrt === 'input')
      return tf
        .grad((input: tf.Tensor) => loss(input, w))(x)
        .dataSync() as Float32Array;
    return tf
      .grad((filter: tf.Tensor) => loss(x, filter))(w)
      .dataSync() as Float32Array;
  });
}

t.test('the wasm filter and input gradients equal the cpu backend ones', async (t) => {
  const cases: [
    string,
    [number, number, number, number],
    [number, number, number, number],
    [number, number],
    'same' | 'valid' | tf.backend_util.ExplicitPadding,
  ][] = [
    ['1-D same, stride 1', [2, 1, 50, 3], [1, 7, 3, 8], [1, 1], 'same'],
    ['1-D same, stride 4', [2, 1, 3000, 8], [1, 7, 8, 8], [1, 4], 'same'],
    ['1-D same, stride 4, length 3001', [1, 1, 3001, 2], [1, 7, 2, 4], [1, 4], 'same'],
    ['(k, 1) layout, stride 4', [2, 47, 1, 4], [7, 1, 4, 3], [4, 1], 'same'],
    ['2-D valid, strides 2 and 3', [2, 9, 11, 3], [3, 2, 3, 5], [2, 3], 'valid'],
    [
      'explicit padding',
      [1, 1, 30, 2],
      [1, 5, 2, 3],
      [1, 2],
      [
        [0, 0],
        [0, 0],
        [1, 4],
        [0, 0],
      ],
    ],
    ['kernel shorter than stride', [2, 1, 3000, 2], [1, 3, 2, 2], [1, 4], 'same'],
  ];
  for (const [label, xShape, wShape, strides, pad] of cases) {
    for (const wrt of ['filter', 'input'] as const) {
      const cpu = await convGradient('cpu', xShape, wShape, strides, pad, wrt);
      const wasm = await convGradient('wasm', xShape, wShape, strides, pad, wrt);
      const scale = cpu.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
      t.ok(
        maxAbsDiff(wasm, cpu) <= 1e-5 * scale,
        `${label}, ${wrt} gradient: max |d| ${maxAbsDiff(wasm, cpu)} (values up to ${scale.toFixed(1)})`,
      );
    }
  }
});

t.test('PhaseNet trains on wasm as on cpu', async (t) => {
  const arch: PhaseNetArchitecture = { ...ORIGINAL_ARCHITECTURE, depth: 3, rootFilters: 4 };
  const initial = randomPhaseNetWeights(arch, 12);
  const trained: Record<string, Map<string, { values: Float32Array }>> = {};
  for (const backend of ['cpu', 'wasm'] as const) {
    await useTfjsBackend(backend);
    const model = phasenetLayersModel(arch, initial);
    model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
    const x = tf.tensor3d(values(4 * 96 * 3, 5), [4, 96, 3]);
    const y = tf.oneHot(
      tf.tensor2d(
        Int32Array.from({ length: 4 * 96 }, (_, i) => (i >> 4) % 3),
        [4, 96],
        'int32',
      ),
      3,
    );
    await model.fit(x, y, { epochs: 2, batchSize: 4, verbose: 0, shuffle: false });
    trained[backend] = await getPhaseNetWeights(model, arch);
    tf.dispose([x, y]);
    model.dispose();
  }
  let moved = 0;
  for (const [name, w] of trained.cpu) {
    if (maxAbsDiff(w.values, initial.get(name)!.values) > 1e-4) moved++;
    t.ok(maxAbsDiff(trained.wasm.get(name)!.values, w.values) <= 1e-4, `${name} trains the same on wasm`);
  }
  t.ok(moved > trained.cpu.size / 2, `training moved the weights (${moved} of ${trained.cpu.size})`);
});
