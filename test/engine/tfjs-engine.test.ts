import * as tf from '@tensorflow/tfjs-core';
import t from 'tap';
import { createTfjsEngine, type TfjsBackendName } from '../../src/engine/tfjs/tfjs-engine.ts';
import { ModelFormatError, PhaseStreamError } from '../../src/errors.ts';
import { log } from '../../src/log.ts';
import type { LoadedModel, ModelCard } from '../../src/model/card.ts';
import { ORIGINAL_ARCHITECTURE, type PhaseNetArchitecture } from '../../src/model/phasenet/architecture.ts';
import { phasenetLayersModel } from '../../src/model/phasenet/layers-model.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';
import { maxAbsDiff } from '../helpers/golden.ts';

log.level = 'silent';

function model(architecture: PhaseNetArchitecture, seed = 1): LoadedModel {
  // The engine reads only the architecture and the name from the card.
  const card = { name: 'random', architecture } as ModelCard;
  return { card, weights: randomPhaseNetWeights(architecture, seed) };
}

function randomInput(size: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: size }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 2 ** 32 - 0.5) * 4;
  });
}

/** The layers model's probabilities for the same input, on the current backend. */
function layersReference(
  loaded: LoadedModel,
  input: Float32Array,
  batch: number,
  length: number,
): Float32Array {
  const arch = loaded.card.architecture;
  const layersModel = phasenetLayersModel(arch, loaded.weights);
  const probs = tf.tidy(
    () => layersModel.predict(tf.tensor3d(input, [batch, length, arch.inChannels])) as tf.Tensor,
  );
  const values = probs.dataSync() as Float32Array;
  probs.dispose();
  layersModel.dispose();
  return values;
}

// Architectures whose transposed convolutions fold differently: the original (k=7 > s=4, crop 1,
// 3 taps), an even kernel, a kernel shorter than the stride (no crop, SAME pads the end with zeros),
// and one channel in.
const architectures: [string, PhaseNetArchitecture][] = [
  ['original', ORIGINAL_ARCHITECTURE],
  ['k4 s3', { ...ORIGINAL_ARCHITECTURE, kernelSize: 4, stride: 3, depth: 4, rootFilters: 4 }],
  ['k3 s4', { ...ORIGINAL_ARCHITECTURE, kernelSize: 3, stride: 4, depth: 3, rootFilters: 4 }],
  [
    'k5 s2 Z only',
    { ...ORIGINAL_ARCHITECTURE, inChannels: 1, kernelSize: 5, stride: 2, depth: 4, rootFilters: 2 },
  ],
];

for (const backend of ['wasm', 'cpu'] as TfjsBackendName[]) {
  t.test(`the fast path agrees with the layers model on ${backend}`, async (t) => {
    for (const [label, arch] of architectures) {
      const loaded = model(arch);
      const engine = await createTfjsEngine(loaded, { backend });
      t.equal(engine.name, `tfjs-${backend}`);
      // Odd lengths exercise asymmetric SAME padding and skip crops at non-zero offsets.
      for (const length of [3000, 3001, 97, 1]) {
        const input = randomInput(2 * length * arch.inChannels, length);
        const { probs } = await engine.run(input, 2, length);
        const reference = layersReference(loaded, input, 2, length);
        t.ok(
          maxAbsDiff(probs, reference) <= 2e-6,
          `${label}, ${length} samples: max |dprob| ${maxAbsDiff(probs, reference)}`,
        );
      }
      await engine.dispose();
    }
  });
}

t.test('a batch gives what its windows give one by one', async (t) => {
  const loaded = model(ORIGINAL_ARCHITECTURE, 7);
  const engine = await createTfjsEngine(loaded, { backend: 'wasm' });
  const windowSize = 3000 * 3;
  const batch = randomInput(5 * windowSize, 5);
  const together = await engine.run(batch, 5, 3000, { withLogits: true });
  for (let w = 0; w < 5; w++) {
    const alone = await engine.run(batch.subarray(w * windowSize, (w + 1) * windowSize), 1, 3000, {
      withLogits: true,
    });
    const part = (a: Float32Array) => a.subarray(w * windowSize, (w + 1) * windowSize);
    t.ok(maxAbsDiff(part(together.probs), alone.probs) <= 1e-6, `window ${w}: probabilities`);
    t.ok(maxAbsDiff(part(together.logits!), alone.logits!) <= 1e-5, `window ${w}: logits`);
  }
  await engine.dispose();
});

t.test('logits on request, and their softmax is the probabilities', async (t) => {
  const engine = await createTfjsEngine(model(ORIGINAL_ARCHITECTURE), { backend: 'wasm' });
  const input = randomInput(3000 * 3, 11);
  const plain = await engine.run(input, 1, 3000);
  t.equal(plain.logits, undefined, 'no logits unless asked');
  const { probs, logits } = await engine.run(input, 1, 3000, { withLogits: true });
  t.equal(logits!.length, 3000 * 3);
  let worst = 0;
  for (let i = 0; i < 3000; i++) {
    const row = logits!.subarray(i * 3, i * 3 + 3);
    const max = Math.max(...row);
    const exps = Array.from(row, (l) => Math.exp(l - max));
    const sum = exps.reduce((a, b) => a + b, 0);
    for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(exps[c] / sum - probs[i * 3 + c]));
  }
  t.ok(worst <= 1e-6, `softmax(logits) = probs (max difference ${worst})`);
  await engine.dispose();
});

t.test('memory stays flat across runs and dispose frees the weights', async (t) => {
  const before = tf.memory().numTensors;
  const engine = await createTfjsEngine(model(ORIGINAL_ARCHITECTURE), { backend: 'wasm' });
  const held = tf.memory().numTensors;
  t.ok(held > before, 'the engine holds its weights as tensors');
  const input = randomInput(4 * 3000 * 3, 3);
  await engine.run(input, 4, 3000, { withLogits: true });
  const bytes = tf.memory().numBytes;
  for (let i = 0; i < 3; i++) await engine.run(input, 4, 3000, { withLogits: i % 2 === 0 });
  t.equal(tf.memory().numTensors, held, 'no tensors left behind by run');
  t.equal(tf.memory().numBytes, bytes, 'no bytes left behind by run');
  await engine.dispose();
  t.equal(tf.memory().numTensors, before, 'dispose frees every tensor');
  await t.rejects(engine.run(input, 4, 3000), PhaseStreamError, 'no runs after dispose');
});

t.test('bad input is a typed error', async (t) => {
  const engine = await createTfjsEngine(model(ORIGINAL_ARCHITECTURE), { backend: 'wasm' });
  await t.rejects(engine.run(new Float32Array(100), 1, 3000), {
    name: 'PhaseStreamError',
    message: /holds 100 values/,
  });
  await t.rejects(engine.run(new Float32Array(0), 0, 3000), PhaseStreamError);
  await engine.dispose();
  const broken = model(ORIGINAL_ARCHITECTURE);
  broken.weights.delete('up2_bn0/gamma');
  await t.rejects(
    createTfjsEngine(broken, { backend: 'wasm' }),
    ModelFormatError,
    'weights that lack a tensor',
  );
});
