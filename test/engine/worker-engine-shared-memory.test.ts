import t from 'tap';
import { createOnnxEngine } from '../../src/engine/onnx/onnx-engine.ts';
import { createWorkerEngine, pipelineEngineThreads } from '../../src/engine/worker-engine.ts';
import { log } from '../../src/log.ts';
import type { LoadedModel, ModelCard } from '../../src/model/card.ts';
import { ORIGINAL_ARCHITECTURE } from '../../src/model/phasenet/architecture.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';

log.level = 'silent';

const model: LoadedModel = {
  card: { name: 'random', architecture: ORIGINAL_ARCHITECTURE } as ModelCard,
  weights: randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 5),
};

t.test('an engine beside a pipeline leaves one core to it', async (t) => {
  t.equal(pipelineEngineThreads(2), 1);
  t.equal(pipelineEngineThreads(16), 15);
  t.equal(pipelineEngineThreads(1), 1, 'never fewer than one');
});

/** `values` in a view of a SharedArrayBuffer, `offset` values into it. */
function shared(values: Float32Array, offset = 0): Float32Array {
  const view = new Float32Array(new SharedArrayBuffer((offset + values.length) * 4), offset * 4);
  view.set(values);
  return view;
}

const batchOf = (f: (i: number) => number) => Float32Array.from({ length: 2 * 3000 * 3 }, (_, i) => f(i));

t.test('a batch in shared memory is read where it is, as it is at each run', async (t) => {
  const engine = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
  t.teardown(() => engine.dispose());
  t.ok(engine.sharedMemory, 'the engine thread says it takes shared memory');
  const first = batchOf((i) => Math.sin(i / 17));
  const second = batchOf((i) => Math.cos(i / 29));
  const [plainFirst, plainSecond] = [await engine.run(first, 2, 3000), await engine.run(second, 2, 3000)];
  t.notSame(Array.from(plainFirst.probs), Array.from(plainSecond.probs), 'two batches, two answers');
  const input = shared(first, 9000);
  const fromShared = await engine.run(input, 2, 3000);
  t.same(Array.from(fromShared.probs), Array.from(plainFirst.probs), 'bit for bit those of a copy');
  t.same(Array.from(input), Array.from(first), 'the input is left as it was');
  input.set(second);
  const refilled = await engine.run(input, 2, 3000);
  t.same(Array.from(refilled.probs), Array.from(plainSecond.probs), 'filled again, the new values are read');
});

t.test('probabilities are written into a shared buffer given for them when it holds them', async (t) => {
  const engine = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
  t.teardown(() => engine.dispose());
  const input = batchOf((i) => Math.cos(i / 29));
  const plain = await engine.run(input, 2, 3000);
  const n = plain.probs.length;
  const room = shared(new Float32Array(n + 3000 * 3).fill(-1));
  const into = await engine.run(input, 2, 3000, { probsInto: room });
  t.same(
    Array.from(room.subarray(0, n)),
    Array.from(plain.probs),
    'written into the start of the memory given',
  );
  t.ok(
    room.subarray(n).every((v) => v === -1),
    'and nowhere after',
  );
  t.equal(into.probs.length, n, 'returned as a view of their length');
  t.equal(into.probs.buffer, room.buffer, "of the caller's own buffer");
  const small = shared(new Float32Array(10).fill(-1));
  const notInto = await engine.run(input, 2, 3000, { probsInto: small });
  t.ok(
    small.every((v) => v === -1),
    'a buffer too small is not used',
  );
  t.same(Array.from(notInto.probs), Array.from(plain.probs));
  const unshared = new Float32Array(n).fill(-1);
  const notShared = await engine.run(input, 2, 3000, { probsInto: unshared });
  t.ok(
    unshared.every((v) => v === -1),
    'nor a plain one (the thread would fill a copy)',
  );
  t.same(Array.from(notShared.probs), Array.from(plain.probs));
});

t.test('an engine in this thread refuses shared memory with a clear error', async (t) => {
  const engine = await createOnnxEngine(model, { threads: 1 });
  t.teardown(() => engine.dispose());
  t.notOk(engine.sharedMemory);
  await t.rejects(engine.run(shared(batchOf(Math.sin)), 2, 3000), {
    name: 'PhaseStreamError',
    message: /SharedArrayBuffer/,
    hint: /plain Float32Array/,
  });
});
