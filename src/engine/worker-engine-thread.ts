import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { PhaseStreamError } from '../errors.ts';
import type { InferenceEngine } from './engine.ts';
import { createEngine } from './index.ts';
import type {
  RunRequest,
  SerializedError,
  WorkerEngineControl,
  WorkerEngineData,
  WorkerEngineReply,
} from './worker-engine.ts';

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

const reply = (message: WorkerEngineReply) => port.postMessage(message);

let engine: InferenceEngine;
try {
  engine = await createEngine(model, options);
} catch (error) {
  reply({ startError: serialize(error) });
  process.exit(0);
}
// Requests run in order, from every port: each waits for the one before, so the session never runs
// two at once.
let queue: Promise<void> = Promise.resolve();

/**
 * The thread's own copy of an input in shared memory: onnxruntime-node rejects views of a
 * SharedArrayBuffer ("Invalid argument"). One buffer, grown to the largest batch and kept: a batch
 * of 32 windows (1.1 MB) is copied in ~0.1 ms and runs ~15 ms on one CPU thread; a GPU batch of
 * 1,024 (37 MB) takes a few ms to copy.
 */
let own = new Float32Array(0);
function readable(input: Float32Array): Float32Array {
  if (!(input.buffer instanceof SharedArrayBuffer)) return input;
  if (own.length < input.length) own = new Float32Array(input.length);
  const copy = own.subarray(0, input.length);
  copy.set(input);
  return copy;
}

function serve(from: MessagePort, request: RunRequest): void {
  queue = queue.then(async () => {
    try {
      const { probsInto } = request;
      const result = await engine.run(readable(request.input), request.batch, request.length, {
        withLogits: request.withLogits,
      });
      const { logits } = result;
      let { probs } = result;
      if (probsInto && probsInto.length >= probs.length) {
        probsInto.set(probs);
        probs = probsInto.subarray(0, probs.length);
      }
      const outputs: WorkerEngineReply = { id: request.id, probs, ...(logits ? { logits } : {}) };
      // Shared memory goes as itself; the engine's own buffers move.
      const moved = [probs.buffer, ...(logits ? [logits.buffer] : [])].filter(
        (buffer): buffer is ArrayBuffer => buffer instanceof ArrayBuffer,
      );
      try {
        from.postMessage(outputs, [...new Set(moved)]);
      } catch {
        // A buffer the engine does not let go of (not transferable): the outputs sent as a copy.
        from.postMessage(outputs);
      }
    } catch (error) {
      from.postMessage({ id: request.id, error: serialize(error) } satisfies WorkerEngineReply);
    }
  });
}

const connected = new Set<MessagePort>();
port.on('message', (message: RunRequest | WorkerEngineControl) => {
  if ('connect' in message) {
    const other = message.connect;
    connected.add(other);
    other.on('message', (request: RunRequest) => serve(other, request));
    other.on('close', () => connected.delete(other));
    return;
  }
  if ('dispose' in message) {
    queue = queue.then(async () => {
      await engine.dispose();
      for (const other of connected) other.close();
      port.close();
    });
    return;
  }
  serve(port, message);
});
reply({ ready: { name: engine.name, device: engine.device } });
