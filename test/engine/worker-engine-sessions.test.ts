import t from 'tap';
import { createWorkerEngine, engineOverPort } from '../../src/engine/worker-engine.ts';
import { log } from '../../src/log.ts';
import type { LoadedModel, ModelCard } from '../../src/model/card.ts';
import { ORIGINAL_ARCHITECTURE } from '../../src/model/phasenet/architecture.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';

log.level = 'silent';

const model: LoadedModel = {
  card: { name: 'random', architecture: ORIGINAL_ARCHITECTURE } as ModelCard,
  weights: randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 5),
};
const batch = () => Float32Array.from({ length: 4 * 3000 * 3 }, (_, i) => Math.sin(i / 13));

/** Runs four batches through `first` and then one through `second`; the order their replies came in. */
async function replyOrder(
  first: ReturnType<typeof engineOverPort>,
  second: ReturnType<typeof engineOverPort>,
) {
  const order: string[] = [];
  const runs = [0, 1, 2, 3].map((i) => first.run(batch(), 4, 3000).then(() => order.push(`first ${i}`)));
  runs.push(second.run(batch(), 4, 3000).then(() => order.push('second')));
  await Promise.all(runs);
  return order;
}

t.test('ports connected to an engine of two sessions go to different sessions', async (t) => {
  const engine = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 }, 2);
  t.teardown(() => engine.dispose());
  t.equal(engine.sessions, 2);
  const [a, b] = [engine.connect(), engine.connect()].map((port) =>
    engineOverPort(port, engine.name, engine.card, engine.device),
  );
  const order = await replyOrder(a, b);
  t.ok(
    order.indexOf('second') < 3,
    `a batch on the other session does not wait behind the first one's queue (${order.join(', ')})`,
  );
  const same = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
  t.teardown(() => same.dispose());
  const [c, d] = [same.connect(), same.connect()].map((port) =>
    engineOverPort(port, same.name, same.card, same.device),
  );
  t.equal((await replyOrder(c, d)).at(-1), 'second', 'with one session it waits its turn in the one queue');
  const plain = await a.run(batch(), 4, 3000);
  const other = await b.run(batch(), 4, 3000);
  t.same(Array.from(other.probs), Array.from(plain.probs), 'both sessions give the same probabilities');
  for (const client of [a, b, c, d]) await client.dispose();
});
