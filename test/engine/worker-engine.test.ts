import { once } from 'node:events';
import t from 'tap';
import { createOnnxEngine } from '../../src/engine/onnx/onnx-engine.ts';
import { createWorkerEngine, engineOverPort } from '../../src/engine/worker-engine.ts';
import { ModelFormatError } from '../../src/errors.ts';
import { log } from '../../src/log.ts';
import type { LoadedModel, ModelCard } from '../../src/model/card.ts';
import { ORIGINAL_ARCHITECTURE } from '../../src/model/phasenet/architecture.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';

log.level = 'silent';

const model: LoadedModel = {
  card: { name: 'random', architecture: ORIGINAL_ARCHITECTURE } as ModelCard,
  weights: randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, 3),
};

function input(size: number): Float32Array {
  let state = 7;
  return Float32Array.from({ length: size }, () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

/** How many times the event loop turned (setImmediate callbacks ran) while `promise` was pending. */
async function loopTurnsDuring<T>(promise: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  const result = await promise();
  done = true;
  return { result, turns };
}

t.test('the engine in a worker thread gives what the same engine gives in this thread', async (t) => {
  const options = { engine: 'onnxruntime' as const, backend: 'auto' as const, threads: 1 };
  const direct = await createOnnxEngine(model, { threads: 1 });
  const threaded = await createWorkerEngine(model, options);
  t.teardown(async () => {
    await direct.dispose();
    await threaded.dispose();
  });
  t.equal(threaded.name, direct.name, 'named as the engine it holds');
  const x = input(4 * 3000 * 3);
  const want = await direct.run(x, 4, 3000, { withLogits: true });
  const got = await threaded.run(x, 4, 3000, { withLogits: true });
  t.same(Array.from(got.probs), Array.from(want.probs), 'probabilities bit for bit');
  t.same(Array.from(got.logits!), Array.from(want.logits!), 'logits bit for bit');
  t.equal(x.length, 4 * 3000 * 3, 'the caller keeps its input');

  // Several batches posted at once come back each with its own probabilities.
  const parts = await Promise.all(
    [0, 1, 2].map((i) => threaded.run(x.subarray(i * 9000, (i + 1) * 9000), 1, 3000)),
  );
  for (const [i, part] of parts.entries()) {
    t.same(Array.from(part.probs), Array.from(want.probs.subarray(i * 9000, (i + 1) * 9000)), `batch ${i}`);
  }

  // The event loop keeps turning while the thread infers; the same engine in this thread blocks it.
  const big = input(16 * 3000 * 3);
  const blocked = await loopTurnsDuring(() => direct.run(big, 16, 3000));
  const free = await loopTurnsDuring(() => threaded.run(big, 16, 3000));
  t.ok(blocked.turns <= 3, `in this thread the loop waits for the batch (${blocked.turns} turns)`);
  t.ok(free.turns > 20, `with the worker the loop turns during the batch (${free.turns} turns)`);

  await t.rejects(threaded.run(x, 5, 3000), /needs 45000/, 'a wrong input size is refused');
});

t.test('an engine that cannot start says why, with its typed error', async (t) => {
  const bad: LoadedModel = { card: model.card, weights: new Map() };
  const error = await createWorkerEngine(bad, { engine: 'onnxruntime', backend: 'auto', threads: 1 }).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(error instanceof ModelFormatError, 'a ModelFormatError, as the engine in this thread gives');
  t.match((error as Error).message, /input_conv\/kernel is missing/);
  const disposed = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
  await disposed.dispose();
  await t.rejects(disposed.run(input(9000), 1, 3000), /run after dispose/);
});

t.test('an engine of two sessions deals its ports to each in turn, each as exact as one', async (t) => {
  const options = { engine: 'onnxruntime' as const, backend: 'auto' as const, threads: 1 };
  const direct = await createOnnxEngine(model, { threads: 1 });
  const pooled = await createWorkerEngine(model, options, { sessions: 2 });
  const ports = [pooled.connect(), pooled.connect()];
  const clients = ports.map((port) => engineOverPort(port, pooled.name, pooled.card, pooled.device));
  t.teardown(async () => {
    for (const client of clients) await client.dispose();
    await direct.dispose();
    await pooled.dispose();
  });
  t.equal(pooled.sessions, 2, 'two sessions');
  const x = input(8 * 3000 * 3);
  const want = await direct.run(x, 8, 3000);
  for (const [i, client] of clients.entries()) {
    const before = pooled.sessionBusyMs();
    for (let k = 0; k < 4; k++) {
      const got = await client.run(x, 8, 3000);
      t.same(Array.from(got.probs), Array.from(want.probs), `port ${i}, batch ${k}: bit for bit`);
    }
    const busy = pooled.sessionBusyMs().map((ms, s) => ms - before[s]);
    const other = 1 - i;
    t.ok(
      busy[i] > 4 * busy[other],
      `port ${i}'s batches ran in session ${i} (busy ${busy.map((ms) => ms.toFixed(1)).join(' and ')} ms)`,
    );
  }
});

t.test("a port's client fails, not waits, once its engine is gone", async (t) => {
  const engine = await createWorkerEngine(model, { engine: 'onnxruntime', backend: 'auto', threads: 1 });
  const port = engine.connect();
  const closed = once(port, 'close');
  const client = engineOverPort(port, engine.name, engine.card, engine.device);
  const x = input(9000);
  t.equal((await client.run(x, 1, 3000)).probs.length, 9000, 'runs while the engine is there');
  await engine.dispose();
  await closed;
  await t.rejects(
    client.run(x, 1, 3000),
    { name: 'EngineUnavailableError', message: /the inference thread closed its port/ },
    'a batch after the engine ended is refused, saying why',
  );
});
