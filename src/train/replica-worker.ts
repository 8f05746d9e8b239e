import { parentPort, workerData } from 'node:worker_threads';
import { useTfjsBackend } from '../engine/tfjs/backend.ts';
import type { TfjsBackendName } from '../engine/tfjs/tfjs-engine.ts';
import { log } from '../log.ts';
import type { PhaseNetWeights } from '../model/phasenet/architecture.ts';
import { type OptimizerState, type PlainBatch, Replica, type ReplicaOptions } from './replica.ts';

/**
 * A worker thread of data-parallel training (src/train/parallel.ts): one replica on its own tfjs
 * backend instance, answering the main thread's requests one at a time.
 */
export type ReplicaRequest =
  | { op: 'gradients'; batch: PlainBatch }
  | { op: 'apply'; gradients: Float32Array[]; learningRate: number }
  | { op: 'weights' }
  | { op: 'setWeights'; weights: PhaseNetWeights }
  | { op: 'optimizerState' }
  | { op: 'loadOptimizerState'; state: OptimizerState };

const { backend, options } = workerData as { backend: TfjsBackendName; options: ReplicaOptions };
log.level = 'warn';
await useTfjsBackend(backend);
const replica = new Replica(options);
const port = parentPort!;
port.on('message', async (request: ReplicaRequest) => {
  try {
    switch (request.op) {
      case 'gradients': {
        const result = await replica.gradients(request.batch);
        port.postMessage(
          { ok: result },
          result.gradients.map((g) => g.buffer as ArrayBuffer),
        );
        break;
      }
      case 'apply':
        replica.setLearningRate(request.learningRate);
        replica.apply(request.gradients);
        port.postMessage({ ok: true });
        break;
      case 'weights':
        port.postMessage({ ok: await replica.weights() });
        break;
      case 'setWeights':
        replica.setWeights(request.weights);
        port.postMessage({ ok: true });
        break;
      case 'optimizerState':
        port.postMessage({ ok: await replica.optimizerState() });
        break;
      case 'loadOptimizerState':
        await replica.loadOptimizerState(request.state);
        port.postMessage({ ok: true });
        break;
    }
  } catch (error) {
    port.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});
port.postMessage({ ready: true });
