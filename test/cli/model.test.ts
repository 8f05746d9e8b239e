import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createOnnxEngine } from '../../src/engine/onnx/onnx-engine.ts';
import { listTensorBundle } from '../../src/model/checkpoint/tensor-bundle.ts';
import { originalCard } from '../../src/model/original.ts';
import { ORIGINAL_ARCHITECTURE } from '../../src/model/phasenet/architecture.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';
import { loadModelDir, saveModelDir } from '../../src/model/store.ts';
import { runCli } from '../helpers/cli.ts';
import { goldenSamples, maxAbsDiff } from '../helpers/golden.ts';
import { originalCheckpoint } from '../helpers/original-model.ts';
import { skipUnlessShared } from '../helpers/shared.ts';

const skip =
  skipUnlessShared('models', 'phasenet-original') || skipUnlessShared('golden', 'phasenet-original');

t.test('model import, then export-onnx: the exported graph reproduces the original', { skip }, async (t) => {
  const dir = t.testdir();
  const modelDir = join(dir, 'original');
  const imported = await runCli(['model', 'import', originalCheckpoint, '--out', modelDir]);
  t.equal(imported.code, 0, imported.stderr);
  const model = await loadModelDir(modelDir);
  t.equal(model.card.licence.name, 'MIT');
  t.match(
    model.card.licence.text,
    /Weiqiang Zhu/,
    'the licence beside the checkpoint travels with the model',
  );
  t.same(model.card.componentOrder, ['E', 'N', 'Z']);

  const onnxFile = join(dir, 'phasenet.onnx');
  const exported = await runCli(['model', 'export-onnx', modelDir, '--out', onnxFile]);
  t.equal(exported.code, 0, exported.stderr);
  const engine = await createOnnxEngine(model, { threads: 1, onnxModel: onnxFile });
  t.teardown(() => engine.dispose());
  for (const g of goldenSamples()) {
    const { probs } = await engine.run(g.input, 1, g.length);
    t.ok(
      maxAbsDiff(probs, g.probs) <= 1e-5,
      `${g.id}: max |dprob| ${maxAbsDiff(probs, g.probs).toExponential(2)}`,
    );
  }
});

t.test(
  'a corrupted checkpoint is refused with the tensor named, without a stack trace',
  { skip },
  async (t) => {
    const dir = t.testdir();
    const prefix = join(dir, 'model_95.ckpt');
    copyFileSync(`${originalCheckpoint}.index`, `${prefix}.index`);
    const data = readFileSync(`${originalCheckpoint}.data-00000-of-00001`);
    const { entries } = await listTensorBundle(originalCheckpoint);
    const kernel = entries.find((e) => e.name === 'DownConv_4/down_conv1_5/kernel')!;
    data[kernel.offset + 100] ^= 0xff;
    writeFileSync(`${prefix}.data-00000-of-00001`, data);
    const result = await runCli(['model', 'import', prefix, '--out', join(dir, 'out')]);
    t.equal(result.code, 1);
    t.match(result.stderr, /checksum|crc/i);
    t.match(result.stderr, /DownConv_4\/down_conv1_5\/kernel/);
    t.notOk(result.stderr.includes('    at '), 'no stack trace');
  },
);

t.test('model blend writes the mix of two model directories; differing models are refused', async (t) => {
  const dir = t.testdir();
  const tiny = { ...ORIGINAL_ARCHITECTURE, depth: 2, rootFilters: 2, kernelSize: 3, stride: 2 };
  const save = async (name: string, arch: typeof tiny, seed: number) => {
    const card = { ...originalCard(arch, `test ${name}`), name };
    await saveModelDir(join(dir, name), { card, weights: randomPhaseNetWeights(arch, seed) });
    return join(dir, name);
  };
  const base = await save('base', tiny, 1);
  const tuned = await save('tuned', tiny, 2);
  const out = join(dir, 'blend');
  const blended = await runCli([
    'model',
    'blend',
    base,
    tuned,
    '--alpha',
    '0.25',
    '--out',
    out,
    '--name',
    'mix',
  ]);
  t.equal(blended.code, 0, blended.stderr);
  t.equal(blended.stdout.trim(), out);
  const [a, b, mix] = await Promise.all([loadModelDir(base), loadModelDir(tuned), loadModelDir(out)]);
  t.equal(mix.card.name, 'mix');
  t.match(mix.card.metrics.blend, { alpha: 0.25, base: { name: 'base' }, tuned: { name: 'tuned' } });
  for (const [name, w] of mix.weights) {
    const x = a.weights.get(name)!.values;
    const y = b.weights.get(name)!.values;
    t.same(
      w.values,
      Float32Array.from(x, (v, i) => 0.75 * v + 0.25 * y[i]!),
      name,
    );
  }

  const wider = await save('wider', { ...tiny, rootFilters: 4 }, 3);
  const refused = await runCli(['model', 'blend', base, wider, '--alpha', '0.5', '--out', join(dir, 'no')]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /cannot be blended: card architecture/);
  t.notOk(refused.stderr.includes('    at '), 'no stack trace');
  t.notOk(existsSync(join(dir, 'no')), 'nothing written');

  const badAlpha = await runCli(['model', 'blend', base, tuned, '--alpha', '1.5', '--out', join(dir, 'no')]);
  t.equal(badAlpha.code, 2);
  t.match(badAlpha.stderr, /--alpha must be a number from 0 to 1, got '1\.5'/);
});
