import { Worker } from 'node:worker_threads';
import { EngineUnavailableError, ModelFormatError, PhaseStreamError } from '../errors.ts';
import type { LoadedModel } from '../model/card.ts';
import { checkRunInput, type InferenceEngine } from './engine.ts';
import type { EngineOptions } from './index.ts';

/**
 * Any engine of `createEngine`, held in a worker thread: `run` posts the batch to the thread and
 * resolves when its probabilities come back, so the event loop stays free for ingest, the stream
 * operators, the picker and the sinks while the network runs (onnxruntime-node's `session.run` and
 * tfjs's kernels block the thread they run on). Batches posted while one runs wait in the thread's
 * queue and run in order, so a caller that posts the next batch before the last one is done keeps
 * the engine busy.
 *
 * The messages (src/engine/worker-engine-thread.ts): `{ id, input, batch, length, withLogits }` in,
 * `{ id, probs, logits? }` or `{ id, error }` out, typed arrays moved, not copied, on the way back.
 */

interface RunRequest {
  id: number;
  input: Float32Array;
  batch: number;
  length: number;
  withLogits: boolean;
}

export type WorkerEngineReply =
  | { ready: { name: string } }
  | { id: number; probs: Float32Array; logits?: Float32Array }
  | { id: number; error: SerializedError }
  | { startError: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  hint?: string;
}

export interface WorkerEngineData {
  entry: string;
  model: LoadedModel;
  options: EngineOptions;
}

const errorKinds: Record<string, new (message: string, options?: { hint?: string }) => PhaseStreamError> = {
  EngineUnavailableError,
  ModelFormatError,
};

/** The error the thread sent, as the same typed error where it is one of the engines'. */
function revive(error: SerializedError): Error {
  const Kind = errorKinds[error.name] ?? PhaseStreamError;
  return new Kind(error.message, error.hint === undefined ? {} : { hint: error.hint });
}

class WorkerEngine implements InferenceEngine {
  readonly card: LoadedModel['card'];
  private nextId = 0;
  private disposed = false;
  private readonly waiting = new Map<
    number,
    { resolve: (r: { probs: Float32Array; logits?: Float32Array }) => void; reject: (e: Error) => void }
  >();

  constructor(
    readonly name: string,
    model: LoadedModel,
    private readonly worker: Worker,
  ) {
    this.card = model.card;
    worker.on('message', (reply: WorkerEngineReply) => {
      if (!('id' in reply)) return;
      const pending = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if ('error' in reply) pending?.reject(revive(reply.error));
      else pending?.resolve(reply.logits === undefined ? { probs: reply.probs } : reply);
    });
    const fail = (why: string) => {
      for (const pending of this.waiting.values()) {
        pending.reject(
          new EngineUnavailableError(`${this.name}: the inference thread ${why}`, {
            hint: 'see the log for the thread error; the engine must be created again',
          }),
        );
      }
      this.waiting.clear();
      this.disposed = true;
    };
    worker.on('error', (error) => fail(`failed: ${error.message}`));
    worker.on('exit', (code) => fail(`exited (code ${code})`));
  }

  async run(
    input: Float32Array,
    batch: number,
    length: number,
    options: { withLogits?: boolean } = {},
  ): Promise<{ probs: Float32Array; logits?: Float32Array }> {
    checkRunInput(this.name, this.disposed, input, batch, length, this.card.architecture.inChannels);
    const id = this.nextId++;
    const request: RunRequest = { id, input, batch, length, withLogits: options.withLogits === true };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage(request);
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.worker.postMessage({ dispose: true });
    await new Promise((resolve) => this.worker.once('exit', resolve));
  }
}

/**
 * `createEngine(model, options)` run in a worker thread of its own (see above). Errors of the engine's
 * creation (no onnxruntime, a bad model) come back as the same typed errors.
 */
export async function createWorkerEngine(
  model: LoadedModel,
  options: EngineOptions,
): Promise<InferenceEngine> {
  const data: WorkerEngineData = {
    entry: new URL('./worker-engine-thread.ts', import.meta.url).href,
    model,
    options,
  };
  const worker = new Worker(new URL('../util/ts-worker-boot.mjs', import.meta.url), { workerData: data });
  const name = await new Promise<string>((resolve, reject) => {
    const onMessage = (reply: WorkerEngineReply) => {
      if ('ready' in reply) resolve(reply.ready.name);
      else if ('startError' in reply) reject(revive(reply.startError));
      else return;
      worker.off('message', onMessage);
    };
    worker.on('message', onMessage);
    worker.once('error', (error) =>
      reject(new EngineUnavailableError(`the inference thread failed to start: ${error.message}`)),
    );
  });
  return new WorkerEngine(name, model, worker);
}
