import { parentPort, workerData } from 'node:worker_threads';
import { PhaseStreamError } from '../errors.ts';
import type { InferenceEngine } from './engine.ts';
import { createEngine } from './index.ts';
import type { SerializedError, WorkerEngineData, WorkerEngineReply } from './worker-engine.ts';

/** The thread side of worker-engine.ts: one engine, batches run one after the other in arrival order. */

const port = parentPort!;
const { model, options } = workerData as WorkerEngineData;

function serialize(error: unknown): SerializedError {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    name: e.name,
    message: e.message,
    ...(e instanceof PhaseStreamError && e.hint !== undefined ? { hint: e.hint } : {}),
  };
}

const reply = (message: WorkerEngineReply, transfer: ArrayBuffer[] = []) =>
  port.postMessage(message, transfer);

let engine: InferenceEngine;
try {
  engine = await createEngine(model, options);
} catch (error) {
  reply({ startError: serialize(error) });
  process.exit(0);
}
// Requests run in order: each waits for the one before, so the session never runs two at once.
let queue: Promise<void> = Promise.resolve();
port.on(
  'message',
  (
    request:
      | { id: number; input: Float32Array; batch: number; length: number; withLogits: boolean }
      | {
          dispose: true;
        },
  ) => {
    if ('dispose' in request) {
      queue = queue.then(async () => {
        await engine.dispose();
        port.close();
      });
      return;
    }
    queue = queue.then(async () => {
      try {
        const { probs, logits } = await engine.run(request.input, request.batch, request.length, {
          withLogits: request.withLogits,
        });
        const message = { id: request.id, probs, ...(logits ? { logits } : {}) };
        const buffers = [probs.buffer, ...(logits ? [logits.buffer] : [])] as ArrayBuffer[];
        try {
          reply(message, [...new Set(buffers)]);
        } catch {
          // A buffer the engine does not let go of (not transferable): sent as a copy.
          reply(message);
        }
      } catch (error) {
        reply({ id: request.id, error: serialize(error) });
      }
    });
  },
);
reply({ ready: { name: engine.name } });
