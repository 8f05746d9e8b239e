import t from 'tap';
import { UsageError } from '../../src/errors.ts';
import { phasenetLayers } from '../../src/model/phasenet/architecture.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';
import {
  groupAliases,
  initialPhaseNetWeights,
  resolveLayerNames,
  transferWeights,
} from '../../src/train/transfer.ts';
import { TINY_ARCHITECTURE, tinyModel } from '../helpers/training.ts';

const base = { ...tinyModel(), weights: randomPhaseNetWeights(TINY_ARCHITECTURE, 4) };

t.test('fresh weights: batch norm at identity, kernels Glorot-uniform, seeded', async (t) => {
  const w = initialPhaseNetWeights(TINY_ARCHITECTURE, 1);
  t.same(Array.from(w.get('input_bn/gamma')!.values), [1, 1]);
  t.same(Array.from(w.get('input_bn/moving_mean')!.values), [0, 0]);
  const kernel = w.get('down0_conv1/kernel')!; // [7, 2, 2]: limit sqrt(6 / (14 + 14))
  const limit = Math.sqrt(6 / 28);
  t.ok(kernel.values.every((v) => Math.abs(v) <= limit));
  t.ok(kernel.values.some((v) => Math.abs(v) > limit / 2));
  t.same(
    Array.from(initialPhaseNetWeights(TINY_ARCHITECTURE, 1).get('up0_deconv/kernel')!.values),
    Array.from(w.get('up0_deconv/kernel')!.values),
  );
});

t.test('aliases and names resolve to layers; unknown names say what exists', async (t) => {
  t.same(groupAliases(TINY_ARCHITECTURE).deepest2, ['down0', 'down1', 'up0']);
  t.same(resolveLayerNames(TINY_ARCHITECTURE, ['down1', 'output_conv']), [
    'down1_conv1',
    'down1_bn1',
    'output_conv',
  ]);
  t.same(resolveLayerNames(TINY_ARCHITECTURE, ['io']), ['input_conv', 'input_bn', 'output_conv']);
  t.throws(() => resolveLayerNames(TINY_ARCHITECTURE, ['down7']), UsageError);
});

t.test('3 -> 1 channel: the input kernel keeps the Z slice of the base', async (t) => {
  const architecture = { ...TINY_ARCHITECTURE, inChannels: 1 };
  const weights = transferWeights(base, { architecture, componentOrder: ['Z'], seed: 1 });
  const from = base.weights.get('input_conv/kernel')!; // [7, 3, 2]
  const to = weights.get('input_conv/kernel')!; // [7, 1, 2]
  t.same(to.shape, [7, 1, 2]);
  for (let k = 0; k < 7; k++) {
    for (let o = 0; o < 2; o++) t.equal(to.values[k * 2 + o], from.values[(k * 3 + 2) * 2 + o]);
  }
  t.same(
    Array.from(weights.get('down1_conv1/kernel')!.values),
    Array.from(base.weights.get('down1_conv1/kernel')!.values),
  );
  const en = transferWeights(base, {
    architecture: { ...TINY_ARCHITECTURE, inChannels: 2 },
    componentOrder: ['N', 'E'],
    seed: 1,
  });
  t.equal(en.get('input_conv/kernel')!.values[0], from.values[1 * 2 + 0], 'N first: the base channel 1');
  t.equal(en.get('input_conv/kernel')!.values[2], from.values[0 * 2 + 0], 'then E: channel 0');
  t.throws(() => transferWeights(base, { architecture, componentOrder: ['X'], seed: 1 }), UsageError);
});

t.test('loading some groups: the others start fresh', async (t) => {
  const weights = transferWeights(base, {
    architecture: TINY_ARCHITECTURE,
    componentOrder: ['E', 'N', 'Z'],
    load: ['down0', 'down1', 'up0'],
    seed: 9,
  });
  const fresh = initialPhaseNetWeights(TINY_ARCHITECTURE, 9);
  for (const layer of phasenetLayers(TINY_ARCHITECTURE)) {
    for (const param of layer.params) {
      const name = `${layer.name}/${param.name}`;
      const expected = ['input', 'output'].includes(layer.group) ? fresh : base.weights;
      t.same(Array.from(weights.get(name)!.values), Array.from(expected.get(name)!.values), name);
    }
  }
});
