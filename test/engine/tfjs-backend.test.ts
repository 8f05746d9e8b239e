import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import t from 'tap';
import { useTfjsBackend } from '../../src/engine/tfjs/backend.ts';
import { createTfjsEngine } from '../../src/engine/tfjs/tfjs-engine.ts';
import { EngineUnavailableError } from '../../src/errors.ts';
import { log } from '../../src/log.ts';
import type { ModelCard } from '../../src/model/card.ts';
import { ORIGINAL_ARCHITECTURE } from '../../src/model/phasenet/architecture.ts';
import { randomPhaseNetWeights } from '../../src/model/phasenet/random-weights.ts';

log.level = 'silent';

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

const nodeInstalled = installed('@tensorflow/tfjs-node');
const nodeGpuInstalled = installed('@tensorflow/tfjs-node-gpu');

const missing = [
  ['tensorflow', '@tensorflow/tfjs-node', nodeInstalled],
  ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu', nodeGpuInstalled],
] as const;

for (const [backend, pkg, present] of missing) {
  t.test(
    `${backend} without ${pkg} is an EngineUnavailableError naming it`,
    { skip: present && `${pkg} is installed here` },
    async (t) => {
      const error = await useTfjsBackend(backend).catch((e: unknown) => e);
      t.type(error, EngineUnavailableError);
      t.match((error as EngineUnavailableError).message, `needs ${pkg}, which is not installed`);
      t.match((error as EngineUnavailableError).hint, `npm install ${pkg}`, 'the hint says what to install');
      const model = {
        card: { name: 'random', architecture: ORIGINAL_ARCHITECTURE } as ModelCard,
        weights: randomPhaseNetWeights(ORIGINAL_ARCHITECTURE),
      };
      await t.rejects(createTfjsEngine(model, { backend }), EngineUnavailableError, 'through the engine too');
    },
  );
}

t.test('auto takes the fastest backend that starts', async (t) => {
  const active = await useTfjsBackend('auto');
  const expected = nodeGpuInstalled ? 'tensorflow-gpu' : nodeInstalled ? 'tensorflow' : 'wasm';
  t.equal(active.name, expected);
  t.equal(tf.getBackend(), active.tfjsName, 'and makes it the active tfjs backend');
});

t.test('wasm runs with SIMD, on one thread under Node', async (t) => {
  const active = await useTfjsBackend('wasm');
  t.equal(active.name, 'wasm');
  t.equal(tf.getBackend(), 'wasm');
  t.equal(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), true, 'SIMD');
  t.equal(active.threads, 1, 'tfjs turns wasm threads off under Node');
});

t.test('cpu and wasm can be switched between', async (t) => {
  for (const name of ['cpu', 'wasm', 'cpu'] as const) {
    const active = await useTfjsBackend(name);
    t.equal(tf.getBackend(), active.tfjsName, name);
  }
});
