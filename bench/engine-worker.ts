/**
 * Runs one engine for bench/inference.ts in a process of its own: tfjs has one active backend per
 * process, and onnxruntime's and PyTorch's threads would compete with each other's in one process.
 * It answers the commands of bench/workers.ts, one JSON line each way, so that the bench can let the
 * engines take turns.
 *
 * Usage (internal): node --import tsx bench/engine-worker.ts '{"engine":"onnxruntime","threads":2}'
 */
import { createInterface } from 'node:readline';
import type { InferenceEngine } from '../src/engine/engine.ts';
import type { TfjsBackendName } from '../src/engine/tfjs/tfjs-engine.ts';
import type { LoadedModel } from '../src/model/card.ts';
import { randomOriginalModel } from '../src/model/phasenet/random-weights.ts';
import { normals, seededUniform } from '../src/util/random.ts';
import { measureRate } from './measure.ts';
import { type MatMulStep, onnxMatMul, tfjsMatMul } from './peak.ts';
import { runWorker, type WorkerCommand, type WorkerReady, type WorkerReply } from './workers.ts';

/** The bench's engine names that run in Node, and the tfjs backend each stands for. */
type NodeBackend = TfjsBackendName | 'onnxruntime' | 'onnxruntime-webgpu';
const NODE_ENGINES: Record<string, NodeBackend> = {
  onnxruntime: 'onnxruntime',
  'onnxruntime-webgpu': 'onnxruntime-webgpu',
  'tfjs-webgpu': 'webgpu',
  'tfjs-wasm': 'wasm',
  'tfjs-cpu': 'cpu',
  'tfjs-tensorflow': 'tensorflow',
};

/** Loads only the engine measured, so that a tfjs worker never starts onnxruntime's threads. */
async function createBenchEngine(
  backend: NodeBackend,
  model: LoadedModel,
  threads: number,
): Promise<InferenceEngine> {
  if (backend === 'onnxruntime' || backend === 'onnxruntime-webgpu') {
    const { createOnnxEngine } = await import('../src/engine/onnx/onnx-engine.ts');
    return createOnnxEngine(model, { threads, device: backend === 'onnxruntime' ? 'cpu' : 'webgpu' });
  }
  const { createTfjsEngine } = await import('../src/engine/tfjs/tfjs-engine.ts');
  return createTfjsEngine(model, { backend, threads });
}

/** Threads the engine really computes on: tfjs-wasm runs on one under Node, tfjs-cpu always. */
async function threadsOf(backend: NodeBackend, requested: number): Promise<number> {
  if (backend === 'cpu') return 1;
  if (backend === 'wasm') return (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount();
  return requested;
}

const reply = (message: WorkerReady | WorkerReply) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function serve(engineName: string, threads: number): Promise<void> {
  const backend = NODE_ENGINES[engineName];
  const model = randomOriginalModel();
  const engine = await createBenchEngine(backend, model, threads);
  const length = model.card.windowLength;
  const channels = model.card.architecture.inChannels;
  // One input per batch size; normalized windows are close to standard normal.
  const inputs = new Map<number, Float32Array>();
  let matMul: { size: number; step: MatMulStep } | undefined;
  reply({
    ready: true,
    engine: engineName,
    detail: engine.name,
    threads: await threadsOf(backend, threads),
    peakVia: backend.startsWith('onnxruntime')
      ? `an ONNX MatMul on ${engine.name}`
      : `tf.matMul on ${engine.name}`,
  });
  try {
    for await (const line of createInterface({ input: process.stdin })) {
      const command = JSON.parse(line) as WorkerCommand;
      if (command.op === 'close') break;
      if (command.op === 'train') {
        reply({ error: 'training is measured by bench/train-worker.ts' });
        continue;
      }
      try {
        let step: () => Promise<number>;
        if (command.op === 'windows') {
          const { batch } = command;
          if (!inputs.has(batch)) inputs.set(batch, normals(batch * length * channels, seededUniform(batch)));
          const input = inputs.get(batch)!;
          step = async () => {
            await engine.run(input, batch, length);
            return batch;
          };
        } else {
          if (matMul?.size !== command.size) {
            await matMul?.step.dispose();
            const created = backend.startsWith('onnxruntime')
              ? onnxMatMul(command.size, threads, backend === 'onnxruntime' ? 'cpu' : 'webgpu')
              : tfjsMatMul(command.size);
            matMul = { size: command.size, step: await created };
          }
          step = matMul.step.step;
        }
        reply({ rate: await measureRate(step, command) });
      } catch (error) {
        reply({ error: error instanceof Error ? error.message : String(error) });
      }
    }
  } finally {
    await matMul?.step.dispose();
    await engine.dispose();
  }
}

const { engine, threads } = JSON.parse(process.argv[2]) as { engine: string; threads: number };
await runWorker(() => serve(engine, threads));
