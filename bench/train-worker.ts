/**
 * Trains PhaseNet on one tfjs backend for bench/train.ts, in a process of its own (tfjs has one
 * active backend per process, and the baseline puts tfjs's own gradient kernels back, which must not
 * leak into the other measurements). Answers `train` commands of bench/workers.ts: training steps
 * (forward, cross-entropy, backward, Adam) on a batch of random 3000-sample windows; windows/s.
 *
 * Usage (internal): node --import tsx bench/train-worker.ts '{"engine":"tfjs-wasm"}'
 */
import { createInterface } from 'node:readline';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { useTfjsBackend } from '../src/engine/tfjs/backend.ts';
import type { TfjsBackendName } from '../src/engine/tfjs/tfjs-engine.ts';
import { ORIGINAL_ARCHITECTURE } from '../src/model/phasenet/architecture.ts';
import { FreezableBatchNormalization, phasenetLayersModel } from '../src/model/phasenet/layers-model.ts';
import { initialPhaseNetWeights } from '../src/train/transfer.ts';
import { measureRate } from './measure.ts';
import { runWorker, type WorkerCommand, type WorkerReady, type WorkerReply } from './workers.ts';

const BACKENDS: Record<string, TfjsBackendName> = {
  'tfjs-wasm': 'wasm',
  'tfjs-wasm-tfjs-kernels': 'wasm',
  'tfjs-wasm-workers': 'wasm',
  'tfjs-cpu': 'cpu',
  'tfjs-tensorflow': 'tensorflow',
};

// tfjs's own, taken before PhaseStream's replaces it (when the backend loads).
const tfjsInputGradient = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
const { crossEntropy } = await import('../src/train/trainer.ts');
const { ParallelReplicas } = await import('../src/train/parallel.ts');

/**
 * The baseline: tfjs's own Conv2DBackpropInput kernel on wasm and tfjs-layers' own batch norm in
 * training (moments, then batchNorm, differentiated op by op), as before PhaseStream replaced them
 * (the filter gradient stays: wasm has none of its own).
 */
function restoreTfjsKernels(): void {
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel(tfjsInputGradient);
  tfjsInputGradient.setupFunc?.(tf.backend());
  FreezableBatchNormalization.closedFormGradient = false;
}

const reply = (message: WorkerReady | WorkerReply) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function serve(engine: string, threads: number): Promise<void> {
  const backend = await useTfjsBackend(BACKENDS[engine]);
  if (engine === 'tfjs-wasm-tfjs-kernels') restoreTfjsKernels();
  const arch = ORIGINAL_ARCHITECTURE;
  const weights = initialPhaseNetWeights(arch, 1);
  const model = phasenetLayersModel(arch, weights);
  model.compile({ optimizer: tf.train.adam(1e-4), loss: crossEntropy() });
  // Data-parallel: one replica per thread (src/train/parallel.ts).
  const parallel =
    engine === 'tfjs-wasm-workers'
      ? await ParallelReplicas.start(threads, 'wasm', {
          architecture: arch,
          weights,
          freeze: [],
          learningRate: 1e-4,
        })
      : undefined;
  const batches = new Map<number, { x: tf.Tensor; y: tf.Tensor }>();
  reply({
    ready: true,
    engine,
    detail: `tfjs ${tf.version_core} ${backend.name}${parallel ? `, ${threads} worker threads` : ''}`,
    threads: parallel
      ? threads
      : backend.name === 'wasm' || backend.name === 'cpu'
        ? 1
        : (backend.threads ?? 0),
    peakVia: '-',
  });
  for await (const line of createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as WorkerCommand;
    if (command.op === 'close') break;
    if (command.op !== 'train') {
      reply({ error: `the training worker measures training steps, not ${command.op}` });
      continue;
    }
    const { batch } = command;
    if (!batches.has(batch)) {
      batches.set(batch, {
        x: tf.randomNormal([batch, 3000, arch.inChannels], 0, 1, 'float32', batch),
        y: tf.softmax(tf.randomNormal([batch, 3000, arch.classes], 0, 3, 'float32', batch + 1)),
      });
    }
    const { x, y } = batches.get(batch)!;
    const plain = parallel && {
      x: (await x.data()) as Float32Array,
      y: (await y.data()) as Float32Array,
      count: batch,
      length: 3000,
    };
    try {
      reply({
        rate: await measureRate(async () => {
          if (parallel && plain)
            await parallel.step({ ...plain, x: plain.x.slice(), y: plain.y.slice() }, 1e-4);
          else await model.trainOnBatch(x, y);
          return batch;
        }, command),
      });
    } catch (error) {
      reply({ error: error instanceof Error ? error.message : String(error) });
    }
  }
  model.dispose();
  await parallel?.dispose();
}

const { engine, threads } = JSON.parse(process.argv[2]) as { engine: string; threads: number };
await runWorker(() => serve(engine, threads));
