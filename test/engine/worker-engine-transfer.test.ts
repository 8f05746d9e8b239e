import t from 'tap';
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

t.test('a batch given up moves to the engine thread and gives the same probabilities', async (t) => {
  const engine = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
  t.teardown(() => engine.dispose());
  const make = () => Float32Array.from({ length: 2 * 3000 * 3 }, (_, i) => Math.sin(i / 17));
  const kept = make();
  const given = make();
  const copied = await engine.run(kept, 2, 3000);
  const moved = await engine.run(given, 2, 3000, { transferInput: true });
  t.same(Array.from(moved.probs), Array.from(copied.probs), 'probabilities bit for bit');
  t.equal(kept.length, 2 * 3000 * 3, 'without transferInput the caller keeps its input');
  t.equal(given.length, 0, 'with it the buffer went to the engine thread');
  t.equal(copied.input, undefined, 'a copied input is not sent back');
  t.same(Array.from(moved.input ?? []), Array.from(kept), 'the moved input comes back as it went');
  const again = moved.input!.fill(0.5);
  const reused = await engine.run(again, 2, 3000, { transferInput: true });
  t.equal(reused.input?.length, 2 * 3000 * 3, 'and can be sent again');
  // A view given up takes its whole buffer along and comes back as the same view of it.
  const larger = make();
  const view = larger.subarray(3000 * 3);
  const fromView = await engine.run(view, 1, 3000, { transferInput: true });
  t.equal(larger.length, 0, 'the whole buffer went to the engine thread');
  t.equal(fromView.input?.byteOffset, 3000 * 3 * 4, 'the same view comes back');
  t.equal(fromView.input?.buffer.byteLength, 2 * 3000 * 3 * 4, 'of the whole buffer');
  t.same(Array.from(fromView.input ?? []), Array.from(make().subarray(3000 * 3)), 'unchanged');
  t.same(
    Array.from(fromView.probs),
    Array.from(copied.probs.subarray(3000 * 3)),
    'the network saw the view, not the start of its buffer',
  );
});

t.test('probabilities come back in a buffer given for them when it holds them', async (t) => {
  const engine = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
  t.teardown(() => engine.dispose());
  const input = () => Float32Array.from({ length: 2 * 3000 * 3 }, (_, i) => Math.cos(i / 29));
  const plain = await engine.run(input(), 2, 3000);
  const room = new Float32Array(3 * 3000 * 3).fill(-1);
  const givenBytes = room.byteLength;
  const into = await engine.run(input(), 2, 3000, { probsInto: room });
  t.equal(room.length, 0, 'the buffer went to the engine thread');
  t.equal(into.probs.buffer.byteLength, givenBytes, 'and came back holding the probabilities');
  t.equal(into.probs.byteOffset, 0, 'from its start');
  t.same(Array.from(into.probs), Array.from(plain.probs), 'bit for bit those of a run without it');
  const small = new Float32Array(10);
  const notInto = await engine.run(input(), 2, 3000, { probsInto: small });
  t.equal(notInto.probs.length, 2 * 3000 * 3, 'a buffer too small is not used');
  t.same(Array.from(notInto.probs), Array.from(plain.probs));
});
