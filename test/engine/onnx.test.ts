import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { exportPhaseNetOnnx, onnxIntermediateNames } from '../../src/engine/onnx/export.ts';
import { createOnnxEngine } from '../../src/engine/onnx/onnx-engine.ts';
import { ModelFormatError, PhaseStreamError } from '../../src/errors.ts';
import { log } from '../../src/log.ts';
import type { LoadedModel, ModelCard } from '../../src/model/card.ts';
import { importPhaseNetCheckpoint } from '../../src/model/checkpoint/import-phasenet.ts';
import { ORIGINAL_ARCHITECTURE } from '../../src/model/phasenet/architecture.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';
import { goldenLayersG0, goldenSamples, maxAbsDiff } from '../helpers/golden.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

log.level = 'silent';

const skipGolden =
  skipUnlessShared('golden', 'phasenet-original') || skipUnlessShared('models', 'phasenet-original');

async function originalModel(): Promise<LoadedModel> {
  const { architecture, weights } = await importPhaseNetCheckpoint(
    sharedPath('models', 'phasenet-original', 'model_95.ckpt'),
  );
  // The engine reads the architecture (and the name) from the card.
  return { card: { name: 'phasenet-original', architecture } as ModelCard, weights };
}

function randomModel(seed = 1): LoadedModel {
  return {
    card: { name: 'random', architecture: ORIGINAL_ARCHITECTURE } as ModelCard,
    weights: randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, seed),
  };
}

function randomInput(size: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: size }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state / 2 ** 32 - 0.5) * 4;
  });
}

t.test('the onnxruntime engine reproduces the original PhaseNet', { skip: skipGolden }, async (t) => {
  const engine = await createOnnxEngine(await originalModel(), { threads: 2 });
  t.equal(engine.name, 'onnxruntime-cpu');
  const samples = goldenSamples();
  t.ok(
    samples.some((s) => s.length === 3001),
    'the odd-length extra is among them',
  );
  for (const sample of samples) {
    const { probs, logits } = await engine.run(sample.input, 1, sample.length, { withLogits: true });
    const dprob = maxAbsDiff(probs, sample.probs);
    t.ok(dprob <= 1e-5, `${sample.id} (${sample.length} samples): max |dprob| ${dprob.toExponential(2)}`);
    if (sample.logits) {
      const dlogit = maxAbsDiff(logits!, sample.logits);
      t.ok(dlogit <= 1e-4, `${sample.id}: max |dlogit| ${dlogit.toExponential(2)}`);
    }
  }
  await engine.dispose();
});

t.test('every intermediate activation of g0 matches the original', { skip: skipGolden }, async (t) => {
  const { card, weights } = await originalModel();
  const bytes = exportPhaseNetOnnx(card.architecture, weights, { intermediateOutputs: true });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  const g0 = goldenSamples()[0];
  const out = await session.run({ x: new ort.Tensor('float32', g0.input, [1, 3000, 3]) });
  const golden = goldenLayersG0();
  const names = [...onnxIntermediateNames(card.architecture), 'logits', 'probs'];
  t.equal(names.length, golden.length, 'one output per golden layer');
  for (const [i, layer] of golden.entries()) {
    const tensor = out[names[i]];
    const [length, channels] = layer.shape;
    let values = tensor.data as Float32Array;
    if (tensor.dims.length === 4) {
      // [1, channels, 1, length] -> [length, channels]
      t.same(tensor.dims, [1, channels, 1, length], `${layer.name} as ${names[i]}: shape`);
      values = Float32Array.from(
        { length: length * channels },
        (_, j) => values[(j % channels) * length + Math.floor(j / channels)],
      );
    }
    const scale = Math.max(1, ...layer.values.map(Math.abs));
    const d = maxAbsDiff(values, layer.values);
    t.ok(
      d <= 1e-5 * scale,
      `${layer.name}: max |d| ${d.toExponential(2)} (values up to ${scale.toFixed(1)})`,
    );
  }
  await session.release();
});

t.test('a batch gives what its windows give one by one', async (t) => {
  const engine = await createOnnxEngine(randomModel(7), { threads: 2 });
  const windowSize = 3001 * 3;
  const batch = randomInput(5 * windowSize, 5);
  const together = await engine.run(batch, 5, 3001, { withLogits: true });
  for (let w = 0; w < 5; w++) {
    const alone = await engine.run(batch.subarray(w * windowSize, (w + 1) * windowSize), 1, 3001, {
      withLogits: true,
    });
    const part = (a: Float32Array) => a.subarray(w * windowSize, (w + 1) * windowSize);
    t.ok(maxAbsDiff(part(together.probs), alone.probs) <= 1e-6, `window ${w}: probabilities`);
    t.ok(maxAbsDiff(part(together.logits!), alone.logits!) <= 1e-5, `window ${w}: logits`);
  }
  const plain = await engine.run(batch, 5, 3001);
  t.equal(plain.logits, undefined, 'no logits unless asked');
  t.same(plain.probs, together.probs, 'the same probabilities without logits');
  await engine.dispose();
  await t.rejects(engine.run(batch, 5, 3001), PhaseStreamError, 'no runs after dispose');
});

t.test('a given .onnx file runs like the export', async (t) => {
  const model = randomModel(2);
  const dir = await mkdtemp(join(tmpdir(), 'phasestream-onnx-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'model.onnx');
  await writeFile(file, exportPhaseNetOnnx(model.card.architecture, model.weights));
  const input = randomInput(2 * 3000 * 3, 9);
  const fromFile = await createOnnxEngine(model, { threads: 1, onnxModel: file });
  const exported = await createOnnxEngine(model, { threads: 1 });
  t.same((await fromFile.run(input, 2, 3000)).probs, (await exported.run(input, 2, 3000)).probs);
  await Promise.all([fromFile.dispose(), exported.dispose()]);
});

t.test('bad models and bad input are typed errors', async (t) => {
  const model = randomModel();
  await t.rejects(createOnnxEngine(model, { onnxModel: new TextEncoder().encode('not a protobuf at all') }), {
    name: 'ModelFormatError',
    message: /onnxruntime cannot load the given ONNX model/,
  });
  await t.rejects(createOnnxEngine(model, { onnxModel: '/nonexistent/model.onnx' }), {
    name: 'ModelFormatError',
    message: /cannot read the ONNX model \/nonexistent\/model.onnx/,
  });

  // A valid ONNX model that is not PhaseNet: y = Identity(input).
  const { onnx } = onnxProto;
  const tensor = (name: string) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 4 }] } } },
  });
  const identity = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'identity',
      node: [{ opType: 'Identity', input: ['input'], output: ['y'] }],
      input: [tensor('input')],
      output: [tensor('y')],
    },
  }).finish();
  await t.rejects(createOnnxEngine(model, { onnxModel: identity }), {
    name: 'ModelFormatError',
    message: /not a PhaseNet ONNX model for this card: it has no input x .*; it has no output probs/,
  });

  const broken = randomModel();
  broken.weights.delete('up2_bn0/gamma');
  await t.rejects(createOnnxEngine(broken), ModelFormatError, 'weights that lack a tensor');

  await t.rejects(createOnnxEngine(model, { threads: 0 }), {
    message: /threads 0 must be a positive integer/,
  });

  const engine = await createOnnxEngine(model, { threads: 1 });
  await t.rejects(engine.run(new Float32Array(100), 1, 3000), {
    name: 'PhaseStreamError',
    message: /holds 100 values/,
  });
  await t.rejects(engine.run(new Float32Array(0), 0, 3000), PhaseStreamError);
  await engine.dispose();
});
