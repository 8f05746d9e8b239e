import t from 'tap';
import { ModelFormatError } from '../../src/errors.ts';
import { ORIGINAL_ARCHITECTURE, type PhaseNetArchitecture } from '../../src/model/phasenet/architecture.ts';
import { checkWeights, foldPhaseNet } from '../../src/model/phasenet/fold.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';

const set = (
  weights: Map<string, { shape: number[]; values: Float32Array }>,
  name: string,
  values: number[],
) => {
  const w = weights.get(name)!;
  if (w.values.length !== values.length) throw new Error(`${name} holds ${w.values.length} values`);
  w.values.set(values);
};

t.test('batch norm folds into the convolution before it', async (t) => {
  // One input channel, two filters, kernel 1: values small enough to fold by hand.
  const arch: PhaseNetArchitecture = {
    ...ORIGINAL_ARCHITECTURE,
    inChannels: 1,
    rootFilters: 2,
    kernelSize: 1,
    depth: 2,
  };
  const weights = randomPhaseNetWeights(arch);
  set(weights, 'input_conv/kernel', [3, -1]);
  set(weights, 'input_conv/bias', [1, 0]);
  set(weights, 'input_bn/gamma', [2, 1]);
  set(weights, 'input_bn/beta', [0.25, 0]);
  set(weights, 'input_bn/moving_mean', [0.5, -1]);
  // variance + epsilon (1e-3) = 4 and 0.25: scales 2/2 = 1 and 1/0.5 = 2.
  set(weights, 'input_bn/moving_variance', [3.999, 0.249]);
  const { input, output } = foldPhaseNet(arch, weights);
  t.same(Array.from(input.kernel), [3, -2]);
  // (bias - mean) * scale + beta: (1 - 0.5) * 1 + 0.25 and (0 + 1) * 2 + 0.
  t.same(Array.from(input.bias), [0.75, 2]);
  t.equal(input.relu, true);
  t.equal(output.relu, false, 'the output convolution has no batch norm and no ReLU');
  t.same(output.bias, weights.get('output_conv/bias')!.values, 'its bias stays');
});

t.test('a transposed convolution k=7 s=4 becomes 3 taps x 4 phases', async (t) => {
  // rootFilters 1: up0_deconv maps 2 channels to 1; batch norm set to the identity.
  const arch: PhaseNetArchitecture = { ...ORIGINAL_ARCHITECTURE, rootFilters: 1, depth: 2 };
  const weights = randomPhaseNetWeights(arch);
  // Kernel [7, out 1, in 2]: tap j of input channel 0 holds j + 1, of channel 1 holds -(j + 1).
  set(
    weights,
    'up0_deconv/kernel',
    Array.from({ length: 14 }, (_, i) => (i % 2 === 0 ? 1 : -1) * (Math.floor(i / 2) + 1)),
  );
  set(weights, 'up0_bn0/gamma', [1]);
  set(weights, 'up0_bn0/beta', [0]);
  set(weights, 'up0_bn0/moving_mean', [0]);
  set(weights, 'up0_bn0/moving_variance', [1 - 1e-3]);
  const { deconv } = foldPhaseNet(arch, weights).up[0];
  t.match(deconv, {
    taps: 3,
    inChannels: 2,
    outChannels: 4,
    phases: 4,
    padBefore: 1,
    padAfter: 1,
    stride: 1,
  });
  // Output sample 4m + r is full sample 4m + r + 1 (the SAME crop [1 : 1+4n]); input m + u - 1 reaches it
  // through tap j = r + 1 - 4(u - 1). As [tap u][phase r], 0 where no tap reaches (j + 1 shown):
  const expected = [
    [6, 7, 0, 0],
    [2, 3, 4, 5],
    [0, 0, 0, 1],
  ];
  const kernel = Array.from(deconv.kernel);
  for (let u = 0; u < 3; u++) {
    // Layout [tap, in, phase]: channel 0 then channel 1.
    t.same(kernel.slice(u * 8, u * 8 + 4), expected[u], `tap ${u}, input channel 0`);
    t.same(
      kernel.slice(u * 8 + 4, u * 8 + 8),
      expected[u].map((v) => -v || 0),
      `tap ${u}, input channel 1`,
    );
  }
  t.same(Array.from(deconv.bias), [0, 0, 0, 0]);
});

t.test('weights must be exactly the architecture', async (t) => {
  const weights = randomPhaseNetWeights(ORIGINAL_ARCHITECTURE);
  t.doesNotThrow(() => checkWeights(ORIGINAL_ARCHITECTURE, weights));

  const missing = new Map(weights);
  missing.delete('up1_bn1/beta');
  t.throws(() => foldPhaseNet(ORIGINAL_ARCHITECTURE, missing), {
    name: 'ModelFormatError',
    message: /up1_bn1\/beta is missing/,
  });

  const reshaped = new Map(weights);
  reshaped.set('down2_conv1/kernel', { shape: [7, 32, 16], values: new Float32Array(7 * 32 * 16) });
  t.throws(() => checkWeights(ORIGINAL_ARCHITECTURE, reshaped), {
    message: /shape \[7,32,16\].*\[7,16,32\]/,
  });

  const short = new Map(weights);
  short.set('output_conv/bias', { shape: [3], values: new Float32Array(2) });
  t.throws(() => checkWeights(ORIGINAL_ARCHITECTURE, short), { message: /holds 2 values/ });

  const extra = new Map(weights);
  extra.set('down5_conv1/kernel', { shape: [1], values: new Float32Array(1) });
  t.throws(
    () => checkWeights(ORIGINAL_ARCHITECTURE, extra),
    ModelFormatError,
    'a weight the architecture lacks',
  );
});
