import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { importPhaseNetCheckpoint, tfVariableName } from '../../src/model/checkpoint/import-phasenet.ts';
import { listTensorBundle, readTensorBundle } from '../../src/model/checkpoint/tensor-bundle.ts';
import {
  BATCH_NORM_EPSILON,
  ORIGINAL_ARCHITECTURE,
  type PhaseNetArchitecture,
  phasenetWeightSpec,
  trainableParameterCount,
} from '../../src/model/phasenet/architecture.ts';
import { goldenLayersG0, goldenSamples } from '../helpers/golden.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';
import { type TestTensor, writeTensorBundle } from '../helpers/tensor-bundle-writer.ts';

const originalPrefix = sharedPath('models', 'phasenet-original', 'model_95.ckpt');
const skipOriginal = skipUnlessShared('models', 'phasenet-original');
const DATA = '.data-00000-of-00001';

/** A writable copy of the original checkpoint in the test's own directory. */
async function copyOriginal(dir: string): Promise<string> {
  const prefix = join(dir, 'model_95.ckpt');
  for (const suffix of ['.index', DATA])
    await writeFile(prefix + suffix, await readFile(originalPrefix + suffix));
  return prefix;
}

async function flipByte(path: string, offset: number) {
  const bytes = await readFile(path);
  bytes[offset] ^= 0xff;
  await writeFile(path, bytes);
}

async function truncate(path: string, length: number) {
  await writeFile(path, (await readFile(path)).subarray(0, length));
}

const modelFormatError = (message: RegExp) => ({ name: 'ModelFormatError', message });

t.test('the original checkpoint', { skip: skipOriginal }, async (t) => {
  const { architecture, weights } = await importPhaseNetCheckpoint(originalPrefix);

  t.test('infers the original architecture and has every canonical weight with its shape', async (t) => {
    t.same(architecture, ORIGINAL_ARCHITECTURE);
    const spec = phasenetWeightSpec(architecture);
    t.same([...weights.keys()].sort(), spec.map((w) => w.name).sort());
    for (const w of spec) {
      const tensor = weights.get(w.name)!;
      t.same(tensor.shape, w.shape, w.name);
      t.equal(
        tensor.values.length,
        w.shape.reduce((a, b) => a * b, 1),
        `${w.name} element count`,
      );
      t.ok(tensor.values instanceof Float32Array, `${w.name} is float32`);
    }
    const trainable = [...weights]
      .filter(([name]) => !/moving_(mean|variance)$/.test(name))
      .reduce((sum, [, w]) => sum + w.values.length, 0);
    t.equal(trainable, 268_443);
    t.equal(trainableParameterCount(architecture), 268_443);
  });

  t.test('batch-norm variances are positive and finite', async (t) => {
    for (const [name, w] of weights) {
      if (name.endsWith('/moving_variance'))
        t.ok(
          w.values.every((v) => v > 0 && Number.isFinite(v)),
          name,
        );
    }
  });

  t.test('values match an independent read of the data file', async (t) => {
    // Derived with numpy: np.frombuffer(data, '<f4', count=4, offset=entry.offset) on the .data file.
    const close = (name: string, expected: number[]) =>
      t.ok(
        expected.every(
          (v, i) => Math.abs(weights.get(name)!.values[i] - v) < 1e-6 * Math.max(1, Math.abs(v)),
        ),
        `${name} starts with ${expected}`,
      );
    close('up1_deconv/kernel', [-0.26833075, -0.4648571, -2.1748528, 1.0613066]);
    close('output_conv/kernel', [1.0810579, -1.6145151, -0.8587432, 0.7956595]);
    close('input_bn/moving_variance', [173.46693, 38.18759, 15.509855, 121.2338]);
  });

  t.test('the input layer reproduces the golden Input_relu activation of g0', async (t) => {
    // conv k=7 SAME + bias, batch norm (moving statistics), ReLU: checks kernel layout, bias and BN.
    const input = goldenSamples()[0].input;
    const golden = goldenLayersG0().find((l) => l.name === 'Input_relu')!;
    const kernel = weights.get('input_conv/kernel')!.values;
    const bias = weights.get('input_conv/bias')!.values;
    const bn = (p: string) => weights.get(`input_bn/${p}`)!.values;
    const [gamma, beta, mean, variance] = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map(bn);
    const [length, filters, channels, k] = [3000, 8, 3, 7];
    let maxDiff = 0;
    for (let i = 0; i < length; i++) {
      for (let o = 0; o < filters; o++) {
        let sum = bias[o];
        for (let j = 0; j < k; j++) {
          const at = i + j - 3;
          if (at < 0 || at >= length) continue;
          for (let c = 0; c < channels; c++)
            sum += input[at * channels + c] * kernel[(j * channels + c) * filters + o];
        }
        const normalized =
          ((sum - mean[o]) / Math.sqrt(variance[o] + BATCH_NORM_EPSILON)) * gamma[o] + beta[o];
        maxDiff = Math.max(maxDiff, Math.abs(Math.max(normalized, 0) - golden.values[i * filters + o]));
      }
    }
    t.ok(maxDiff < 1e-4, `max |diff| ${maxDiff}`);
  });
});

t.test('reads the bookkeeping tensors too', { skip: skipOriginal }, async (t) => {
  const tensors = await readTensorBundle(originalPrefix, (e) => !e.name.includes('Adam'));
  t.equal(tensors.get('global_step')?.dtype, 'int32');
  t.same(tensors.get('global_step')?.shape, []);
  t.equal(tensors.get('beta1_power')?.values.length, 1);
  t.equal(tensors.size, 93 + 3);
  const byIndexPath = await readTensorBundle(`${originalPrefix}.index`, (e) => e.name === 'global_step');
  t.same([...byIndexPath.keys()], ['global_step'], 'the path of the .index file names the checkpoint too');
});

t.test(
  'a damaged original checkpoint is refused, naming what is wrong',
  { skip: skipOriginal },
  async (t) => {
    t.test('a flipped byte in a data block of the index', async (t) => {
      const prefix = await copyOriginal(t.testdir());
      await flipByte(`${prefix}.index`, 20);
      await t.rejects(
        importPhaseNetCheckpoint(prefix),
        modelFormatError(/data block at offset 0 .*checksum mismatch/),
      );
    });

    t.test('a flipped byte in the data file', async (t) => {
      const prefix = await copyOriginal(t.testdir());
      const entry = (await listTensorBundle(prefix)).entries.find(
        (e) => e.name === 'UpConv_1/up_conv0_2/kernel',
      )!;
      await flipByte(prefix + DATA, entry.offset + 100);
      await t.rejects(
        importPhaseNetCheckpoint(prefix),
        modelFormatError(/tensor 'UpConv_1\/up_conv0_2\/kernel'.*checksum mismatch/),
      );
    });

    t.test('a truncated index', async (t) => {
      const prefix = await copyOriginal(t.testdir());
      await truncate(`${prefix}.index`, 7000);
      await t.rejects(importPhaseNetCheckpoint(prefix), modelFormatError(/\.index: bad table magic/));
      await truncate(`${prefix}.index`, 20);
      await t.rejects(
        importPhaseNetCheckpoint(prefix),
        modelFormatError(/shorter than the 48-byte table footer/),
      );
    });

    t.test('a truncated data file', async (t) => {
      const prefix = await copyOriginal(t.testdir());
      const entry = (await listTensorBundle(prefix)).entries.find(
        (e) => e.name === 'UpConv_3/up_conv1_4/kernel',
      )!;
      await truncate(prefix + DATA, entry.offset + 100);
      await t.rejects(
        importPhaseNetCheckpoint(prefix),
        modelFormatError(/tensor 'UpConv_3\/up_conv1_4\/kernel'.* past the end of the data file/),
      );
    });

    t.test('bad magic', async (t) => {
      const prefix = await copyOriginal(t.testdir());
      const { size } = await readFile(`${prefix}.index`).then((b) => ({ size: b.length }));
      await flipByte(`${prefix}.index`, size - 1);
      await t.rejects(importPhaseNetCheckpoint(prefix), modelFormatError(/bad table magic/));
    });

    t.test('a missing file is named, with what to do', async (t) => {
      const prefix = await copyOriginal(t.testdir());
      await rm(prefix + DATA);
      await t.rejects(importPhaseNetCheckpoint(prefix), {
        ...modelFormatError(/checkpoint file not found: .*model_95\.ckpt\.data-00000-of-00001$/),
        hint: /must both be there/,
      });
      await rm(`${prefix}.index`);
      await t.rejects(
        importPhaseNetCheckpoint(prefix),
        modelFormatError(/not found: .*model_95\.ckpt\.index$/),
      );
    });
  },
);

const SMALL: PhaseNetArchitecture = {
  ...ORIGINAL_ARCHITECTURE,
  inChannels: 1,
  depth: 3,
  rootFilters: 4,
  kernelSize: 5,
};

/** A checkpoint as the original code would write it for `arch`, with Adam slots and global_step. */
function smallCheckpoint(arch: PhaseNetArchitecture): TestTensor[] {
  const tensors: TestTensor[] = [];
  let seed = 1;
  for (const w of phasenetWeightSpec(arch)) {
    const shape = w.shape.length === 3 ? [w.shape[0], 1, w.shape[1], w.shape[2]] : w.shape;
    const values = Float32Array.from({ length: w.shape.reduce((a, b) => a * b, 1) }, () => (seed++ % 97) / 7);
    tensors.push({ name: tfVariableName(w.name), shape, values });
    if (!w.name.includes('moving')) {
      tensors.push({ name: `${tfVariableName(w.name)}/Adam`, shape, values: values.map((v) => v / 2) });
      tensors.push({ name: `${tfVariableName(w.name)}/Adam_1`, shape, values: values.map((v) => v / 3) });
    }
  }
  tensors.push({ name: 'global_step', shape: [], values: Int32Array.of(1234) });
  tensors.push({ name: 'beta1_power', shape: [], values: Float32Array.of(0.5) });
  return tensors;
}

t.test('a TensorBundle over several blocks round-trips', async (t) => {
  const prefix = join(t.testdir(), 'bundle');
  const tensors: TestTensor[] = [
    { name: 'scope/a/kernel', shape: [2, 3], values: Float32Array.of(1, 2, 3, 4, 5, -6.5) },
    { name: 'scope/a/bias', shape: [3], values: Float32Array.of(0.25, 0, -1) },
    { name: 'scope/b', shape: [], values: Float32Array.of(Math.PI) },
    { name: 'step', shape: [], values: Int32Array.of(-7) },
    ...Array.from({ length: 20 }, (_, i) => ({
      name: `many/tensor_${i}`,
      shape: [2],
      values: Float32Array.of(i, -i),
    })),
  ];
  await writeTensorBundle(prefix, tensors, { blockBytes: 64, restartInterval: 3 });
  const read = await readTensorBundle(prefix);
  t.equal(read.size, tensors.length);
  for (const tensor of tensors) {
    const got = read.get(tensor.name);
    t.same(got?.shape, tensor.shape, tensor.name);
    t.same(Array.from((got?.values ?? []) as ArrayLike<number>), Array.from(tensor.values), tensor.name);
  }
  t.equal(read.get('step')?.dtype, 'int32');
  t.equal(read.get('scope/b')?.dtype, 'float32');
});

t.test('a PhaseNet checkpoint of another size imports with its architecture inferred', async (t) => {
  const prefix = join(t.testdir(), 'small');
  const tensors = smallCheckpoint(SMALL);
  await writeTensorBundle(prefix, tensors, { blockBytes: 512 });
  const { architecture, weights } = await importPhaseNetCheckpoint(prefix);
  t.same(architecture, SMALL);
  t.equal(weights.size, phasenetWeightSpec(SMALL).length);
  const deconv = tensors.find((x) => x.name === 'UpConv_0/up_conv0_1/kernel')!;
  t.same(weights.get('up0_deconv/kernel')?.shape, [5, 4, 8]);
  t.same(Array.from(weights.get('up0_deconv/kernel')!.values), Array.from(deconv.values));
  t.same((await importPhaseNetCheckpoint(prefix, { stride: 2 })).architecture.stride, 2);
});

t.test('a checkpoint of another architecture is refused with every tensor that does not fit', async (t) => {
  const prefix = join(t.testdir(), 'other');
  const tensors = smallCheckpoint(SMALL)
    .filter((x) => x.name !== 'DownConv_1/down_bn1_2/gamma')
    .map((x) =>
      x.name === 'DownConv_0/down_conv3_1/kernel'
        ? { ...x, shape: [5, 1, 4, 6], values: new Float32Array(5 * 4 * 6) }
        : x,
    );
  tensors.push({ name: 'Attention/query/kernel', shape: [4, 4], values: new Float32Array(16) });
  await writeTensorBundle(prefix, tensors);
  const error = await importPhaseNetCheckpoint(prefix).then(
    () => undefined,
    (e: Error) => e,
  );
  t.equal(error?.name, 'ModelFormatError');
  t.match(error?.message, /3 tensor\(s\) do not fit/);
  t.match(
    error?.message,
    /missing: DownConv_1\/down_bn1_2\/gamma \(down1_bn1\/gamma\), expected shape \[8\]/,
  );
  t.match(
    error?.message,
    /wrong shape: DownConv_0\/down_conv3_1\/kernel \(down0_conv3\/kernel\): expected float32 \[5, 1, 4, 4\], found float32 \[5, 1, 4, 6\]/,
  );
  t.match(error?.message, /unexpected: Attention\/query\/kernel \[4, 4\]/);
  t.notMatch(error?.message, /Adam|global_step|beta1_power/);
});

t.test('a file that is not a PhaseNet checkpoint is refused', async (t) => {
  const prefix = join(t.testdir(), 'not-phasenet');
  await writeTensorBundle(prefix, [{ name: 'dense/kernel', shape: [2, 2], values: new Float32Array(4) }]);
  await t.rejects(importPhaseNetCheckpoint(prefix), modelFormatError(/not a PhaseNet checkpoint/));
});
