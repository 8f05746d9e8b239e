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
  // A view of a larger buffer is copied: the rest of the buffer is not the engine's to take.
  const larger = make();
  const view = larger.subarray(0, 3000 * 3);
  await engine.run(view, 1, 3000, { transferInput: true });
  t.equal(larger.length, 2 * 3000 * 3, 'a view is sent as a copy');
});
