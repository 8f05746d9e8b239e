import t from 'tap';
import {
  levelLengths,
  multiplyAdds,
  ORIGINAL_ARCHITECTURE,
  phasenetWeightSpec,
  samePadding,
  skipCropOffset,
  trainableParameterCount,
} from '../../src/model/phasenet/architecture.ts';

t.test('the original has 268,443 trainable parameters', async (t) => {
  t.equal(trainableParameterCount(ORIGINAL_ARCHITECTURE), 268_443);
});

t.test('one 3000-sample window costs 38.9 MFLOP', async (t) => {
  t.ok(Math.abs((2 * multiplyAdds(ORIGINAL_ARCHITECTURE, 3000)) / 1e6 - 38.9) < 0.05);
});

t.test('TF SAME padding puts the smaller half before', async (t) => {
  t.same(samePadding(3000, 7, 4), { outLength: 750, before: 1, after: 2 });
  t.same(samePadding(3001, 7, 4), { outLength: 751, before: 3, after: 3 });
  t.same(samePadding(750, 7, 4), { outLength: 188, before: 2, after: 3 });
  t.same(samePadding(3000, 7, 1), { outLength: 3000, before: 3, after: 3 });
  t.same(samePadding(10, 1, 1), { outLength: 10, before: 0, after: 0 });
});

t.test('level lengths and skip crops of the original', async (t) => {
  t.same(levelLengths(ORIGINAL_ARCHITECTURE, 3000), [3000, 750, 188, 47, 12]);
  t.same(levelLengths(ORIGINAL_ARCHITECTURE, 3001), [3001, 751, 188, 47, 12]);
  t.same(
    [3, 2, 1, 0].map((d) => skipCropOffset(ORIGINAL_ARCHITECTURE, 3000, d)),
    [0, 0, 1, 0],
  );
});

t.test('weight names are unique and shaped as the layers say', async (t) => {
  const spec = phasenetWeightSpec(ORIGINAL_ARCHITECTURE);
  t.equal(new Set(spec.map((w) => w.name)).size, spec.length);
  const byName = new Map(spec.map((w) => [w.name, w.shape]));
  t.same(byName.get('input_conv/kernel'), [7, 3, 8]);
  t.same(byName.get('down4_conv1/kernel'), [7, 64, 128]);
  t.same(byName.get('up3_deconv/kernel'), [7, 64, 128]);
  t.same(byName.get('up0_conv1/kernel'), [7, 16, 8]);
  t.same(byName.get('output_conv/kernel'), [1, 8, 3]);
  t.notOk(byName.has('down4_conv3/kernel'), 'the deepest level does not down-sample');
});
