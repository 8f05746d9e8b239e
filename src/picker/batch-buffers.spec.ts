import t from 'tap';
import type { InferenceEngine, RunOptions } from '../engine/engine.ts';
import { createOnnxEngine } from '../engine/onnx/onnx-engine.ts';
import { createWorkerEngine } from '../engine/worker-engine.ts';
import { log } from '../log.ts';
import type { LoadedModel, ModelCard } from '../model/card.ts';
import { ORIGINAL_ARCHITECTURE } from '../model/phasenet/architecture.ts';
import { randomPhaseNetWeights } from '../model/phasenet/random-weights.ts';
import { engineBatches } from './batch-buffers.ts';

log.level = 'silent';

const model: LoadedModel = {
  card: { name: 'random', architecture: ORIGINAL_ARCHITECTURE, classes: ['noise', 'P', 'S'] } as ModelCard,
  weights: randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 5),
};

/** A window's data [3000, 3], its values from `seed`. */
const window = (seed: number) => Float32Array.from({ length: 3000 * 3 }, (_, i) => Math.sin((i + seed) / 13));

/** The engine as it is, with the input and `probsInto` of every run noted. */
function noting(engine: InferenceEngine) {
  const runs: { input: Float32Array; probsInto?: Float32Array }[] = [];
  const noted: InferenceEngine = {
    name: engine.name,
    card: engine.card,
    sharedMemory: engine.sharedMemory,
    run: (input: Float32Array, batch: number, length: number, options?: RunOptions) => {
      runs.push({ input, probsInto: options?.probsInto });
      return engine.run(input, batch, length, options);
    },
    dispose: () => engine.dispose(),
  };
  return { noted, runs };
}

t.test(
  'with an engine thread, batches in flight take buffers of their own, given again once free',
  async (t) => {
    const engine = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
    t.teardown(() => engine.dispose());
    const { noted, runs } = noting(engine);
    const batches = engineBatches(noted);
    const data = [window(1), window(2)];
    const [first, second] = await Promise.all([batches.run(data, 3000), batches.run(data.slice(1), 3000)]);
    const [a, b] = runs;
    t.ok(
      [a.input, b.input, a.probsInto, b.probsInto].every(
        (array) => array?.buffer instanceof SharedArrayBuffer,
      ),
      'inputs and probabilities in shared memory',
    );
    t.not(a.input.buffer, b.input.buffer, 'two batches in flight, two inputs');
    t.not(a.probsInto?.buffer, b.probsInto?.buffer, 'and two buffers for their probabilities');
    t.equal(first.probs.buffer, a.probsInto?.buffer, "the first batch's probabilities in its buffer");
    t.equal(second.probs.buffer, b.probsInto?.buffer, "the second's in its");
    const plain = await engine.run(Float32Array.from([...data[0], ...data[1]]), 2, 3000);
    t.same(Array.from(first.probs), Array.from(plain.probs), 'the windows went in, in order, as they were');

    batches.release(first.probs);
    const third = await batches.run([window(3)], 3000);
    t.equal(
      runs[2].input.buffer,
      b.input.buffer,
      'an input is given again once its run is done: the smallest that holds it',
    );
    t.equal(runs[2].probsInto?.buffer, a.probsInto?.buffer, 'probabilities released are given again');
    batches.release(third.probs);
    batches.release(second.probs);
    await batches.run(data, 3000);
    t.equal(runs[3].probsInto?.buffer, a.probsInto?.buffer, 'a batch takes the buffer that holds it');
  },
);

t.test('a run that fails gives its buffers back', async (t) => {
  const engine = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
  t.teardown(() => engine.dispose());
  const { noted, runs } = noting(engine);
  const batches = engineBatches(noted);
  // 3,000 samples of data said to be 4,000 long: the engine refuses the batch.
  await t.rejects(batches.run([window(1)], 4000), /input holds 9000 values/);
  await batches.run([window(1)], 3000);
  t.equal(runs[1].input.buffer, runs[0].input.buffer, 'the input again');
  t.equal(runs[1].probsInto?.buffer, runs[0].probsInto?.buffer, 'the buffer for the probabilities again');
});

t.test(
  'with an engine in this thread, plain inputs given again and no buffer for probabilities',
  async (t) => {
    const engine = await createOnnxEngine(model, { threads: 1 });
    t.teardown(() => engine.dispose());
    const { noted, runs } = noting(engine);
    const batches = engineBatches(noted);
    const first = await batches.run([window(1)], 3000);
    batches.release(first.probs);
    await batches.run([window(2)], 3000);
    t.ok(
      runs.every((run) => run.input.buffer instanceof ArrayBuffer && run.probsInto === undefined),
      'plain arrays, the probabilities left to the engine',
    );
    t.equal(runs[1].input.buffer, runs[0].input.buffer, 'the input again');
  },
);
