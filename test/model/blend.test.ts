import t from 'tap';
import { ModelMismatchError } from '../../src/errors.ts';
import { blendModels, blendWeights } from '../../src/model/blend.ts';
import type { LoadedModel } from '../../src/model/card.ts';
import { originalCard } from '../../src/model/original.ts';
import type { PhaseNetArchitecture, PhaseNetWeights } from '../../src/model/phasenet/architecture.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';

const tiny: PhaseNetArchitecture = {
  type: 'phasenet',
  inChannels: 3,
  depth: 2,
  rootFilters: 2,
  kernelSize: 3,
  stride: 2,
  classes: 3,
};
const modelOf = (arch: PhaseNetArchitecture, seed: number, name: string): LoadedModel => ({
  card: { ...originalCard(arch, `test ${name}`), name },
  weights: randomPhaseNetWeights(arch, seed),
});

t.test('blendWeights at alpha 0.25 gives the hand-computed mix', async (t) => {
  const base: PhaseNetWeights = new Map([
    ['a/kernel', { shape: [2, 2], values: Float32Array.of(1, 2, -4, 8) }],
    ['a/bias', { shape: [1], values: Float32Array.of(0.5) }],
  ]);
  const tuned: PhaseNetWeights = new Map([
    ['a/kernel', { shape: [2, 2], values: Float32Array.of(5, -2, 0, 8) }],
    ['a/bias', { shape: [1], values: Float32Array.of(2.5) }],
  ]);
  const mixed = blendWeights(base, tuned, 0.25);
  // 0.75 * 1 + 0.25 * 5 = 2; 0.75 * 2 + 0.25 * -2 = 1; 0.75 * -4 + 0 = -3; 8; 0.75 * 0.5 + 0.25 * 2.5 = 1
  t.same([...mixed.get('a/kernel')!.values], [2, 1, -3, 8]);
  t.same(mixed.get('a/kernel')!.shape, [2, 2]);
  t.same([...mixed.get('a/bias')!.values], [1]);
  t.same([...base.get('a/kernel')!.values], [1, 2, -4, 8], 'the parents are left as they were');
  t.same([...blendWeights(base, tuned, 0).get('a/kernel')!.values], [1, 2, -4, 8], 'alpha 0: the base');
  t.same([...blendWeights(base, tuned, 1).get('a/kernel')!.values], [5, -2, 0, 8], 'alpha 1: the tuned');
});

t.test(
  'blendModels mixes every weight, batch-norm statistics included, and records the parents',
  async (t) => {
    const base = modelOf(tiny, 1, 'base');
    const tuned = modelOf(tiny, 2, 'tuned');
    const { card, weights } = blendModels(
      { dir: '/m/base', model: base },
      { dir: '/m/tuned', model: tuned },
      { alpha: 0.25, commandLine: 'phasestream model blend /m/base /m/tuned --alpha 0.25' },
    );
    t.same([...weights.keys()], [...base.weights.keys()]);
    t.ok([...weights.keys()].some((n) => n.endsWith('moving_variance')));
    for (const [name, w] of weights) {
      const a = base.weights.get(name)!.values;
      const b = tuned.weights.get(name)!.values;
      const expected = Float32Array.from(a, (x, i) => 0.75 * x + 0.25 * b[i]!);
      t.same(w.values, expected, name);
    }
    t.equal(card.name, 'tuned-blend');
    t.same(card.architecture, tiny);
    t.match(card.metrics.blend, {
      alpha: 0.25,
      base: { dir: '/m/base', name: 'base' },
      tuned: { dir: '/m/tuned', name: 'tuned' },
    });
    t.match(card.source.origin, /model blend \/m\/base \/m\/tuned --alpha 0\.25/);
    t.same(card.picking, base.card.picking);
  },
);

t.test('models that differ are refused, saying what differs', async (t) => {
  const base = modelOf(tiny, 1, 'base');
  const wider = modelOf({ ...tiny, rootFilters: 4 }, 2, 'wider');
  const blend = (other: LoadedModel) =>
    blendModels(
      { dir: 'base', model: base },
      { dir: 'other', model: other },
      { alpha: 0.5, commandLine: 'x' },
    );
  t.throws(() => blend(wider), ModelMismatchError);
  t.throws(
    () => blend(wider),
    /cannot be blended: card architecture: .*"rootFilters":2.* vs .*"rootFilters":4/,
  );
  t.throws(() => blend(wider), /weight [^:]+: shape \[/);

  const zOnly = modelOf({ ...tiny, inChannels: 1 }, 2, 'z');
  t.throws(() => blend(zOnly), /componentOrder: \["E","N","Z"\] vs \["Z"\]/);

  const missing = modelOf(tiny, 2, 'missing');
  const dropped = [...missing.weights.keys()][3]!;
  missing.weights.delete(dropped);
  t.throws(
    () => blend(missing),
    new RegExp(`weight ${dropped.replace(/[/]/g, '\\/')}: only in the base model`),
  );

  const resampled = modelOf(tiny, 2, 'resampled');
  resampled.card = { ...resampled.card, samplingRate: 50 };
  t.throws(() => blend(resampled), /card samplingRate: 100 vs 50/);

  t.throws(
    () => blendModels({ dir: 'a', model: base }, { dir: 'b', model: base }, { alpha: 1.5, commandLine: 'x' }),
    RangeError,
  );
});
