import t, { type Test } from 'tap';
import type { InferenceEngine } from '../../src/engine/engine.ts';
import { createOnnxEngine } from '../../src/engine/onnx/onnx-engine.ts';
import { createTfjsEngine } from '../../src/engine/tfjs/tfjs-engine.ts';
import { log } from '../../src/log.ts';
import { goldenSamples, maxAbsDiff } from '../helpers/golden.ts';
import { originalModel } from '../helpers/original-model.ts';
import { skipUnlessShared } from '../helpers/shared.ts';
import { skipUnlessWebGpu } from '../helpers/webgpu.ts';

log.level = 'silent';

const skip =
  skipUnlessShared('golden', 'phasenet-original') ||
  skipUnlessShared('models', 'phasenet-original') ||
  (await skipUnlessWebGpu());

/**
 * Every golden window through a WebGPU engine: the seven of 3000 samples as one batch (a GPU batch
 * must give what each window gives alone), the odd-length extra alone. On lavapipe the first run
 * compiles the shaders (tens of seconds on two cores), so the runs are few.
 */
async function checkGolden(t: Test, engine: InferenceEngine): Promise<void> {
  const samples = goldenSamples();
  const full = samples.filter((s) => s.length === 3000);
  const odd = samples.filter((s) => s.length !== 3000);
  t.equal(full.length, 7, 'seven windows of 3000 samples');
  t.equal(odd.length, 1, 'and the odd-length extra');
  const input = new Float32Array(full.length * full[0].input.length);
  for (const [i, s] of full.entries()) input.set(s.input, i * s.input.length);
  const batch = await engine.run(input, full.length, 3000, { withLogits: true });
  const size = full[0].probs.length;
  for (const [i, sample] of full.entries()) {
    const dprob = maxAbsDiff(batch.probs.subarray(i * size, (i + 1) * size), sample.probs);
    t.ok(dprob <= 1e-5, `${sample.id} in a batch of 7: max |dprob| ${dprob.toExponential(2)}`);
    const dlogit = maxAbsDiff(batch.logits!.subarray(i * size, (i + 1) * size), sample.logits!);
    t.ok(dlogit <= 1e-4, `${sample.id}: max |dlogit| ${dlogit.toExponential(2)}`);
  }
  for (const sample of odd) {
    const { probs } = await engine.run(sample.input, 1, sample.length);
    const dprob = maxAbsDiff(probs, sample.probs);
    t.ok(dprob <= 1e-5, `${sample.id} (${sample.length} samples): max |dprob| ${dprob.toExponential(2)}`);
  }
}

t.test("onnxruntime's WebGPU provider reproduces the original PhaseNet", { skip }, async (t) => {
  const engine = await createOnnxEngine(await originalModel(), { device: 'webgpu' });
  t.equal(engine.name, 'onnxruntime-webgpu');
  t.equal(engine.device, 'gpu');
  await checkGolden(t, engine);
  await engine.dispose();
});

t.test('tfjs-backend-webgpu on Dawn reproduces the original PhaseNet', { skip }, async (t) => {
  const engine = await createTfjsEngine(await originalModel(), { backend: 'webgpu' });
  t.equal(engine.name, 'tfjs-webgpu');
  t.equal(engine.device, 'gpu');
  await checkGolden(t, engine);
  await engine.dispose();
});
