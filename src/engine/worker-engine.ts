import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { EngineUnavailableError, ModelFormatError, PhaseStreamError } from '../errors.ts';
import type { LoadedModel } from '../model/card.ts';
import { workerEntry, workerEnv } from '../util/worker-entry.ts';
import { checkRunInput, type InferenceEngine, type RunOptions } from './engine.ts';
import type { EngineOptions } from './index.ts';

/**
 * Any engine of `createEngine`, held in a worker thread: `run` posts the batch to the thread and
 * resolves when its probabilities come back, so the event loop stays free for ingest, the stream
 * operators, the picker and the sinks while the network runs (onnxruntime-node's `session.run` and
 * tfjs's kernels block the thread they run on). Batches posted while one runs wait in the thread's
 * queue and run in order, so a caller that posts the next batch before the last one is done keeps
 * the engine busy.
 *
 * The messages (src/engine/worker-engine-thread.ts): `{ id, input, batch, length, withLogits, probsInto? }`
 * in, `{ id, probs, logits? }` or `{ id, error }` out. An input that is a view of a SharedArrayBuffer
 * (`sharedMemory`) goes as a view of the same memory, and so do probabilities written into a shared
 * `probsInto`; other arrays go as copies, and the thread's own outputs are moved back. Callers
 * that run batch after batch (pickPhases, pickLiveEdge) keep a few shared buffers and fill them
 * again, so their thread takes in no new array buffer per batch: V8 counts every array buffer that
 * arrives against an allowance of outside memory (a full collection of the whole heap when it is
 * spent), a buffer moved to the thread and back arrives anew each time, and a shared one is not
 * counted. At 5,000 live stations moved batches made ~88 % of the 759 MB counted in 20 s; shared,
 * the pipeline's thread counted 52 MB (bench/README.md, "Batches in shared memory").
 * `connect()` gives another thread (a replay shard) a port of its own to the engine
 * (`engineOverPort` there): its batches join that session's queue. An engine of several sessions
 * (`sessions`, each a thread of its own) deals its ports round robin, one session per shard: a
 * sharded replay on the CPU then runs a batch on every core at once. Measured (bench/README.md,
 * "A session per replay shard"): two sessions of one intra-op thread each ran the same batches 1.8x as
 * fast as one, where one session on two intra-op threads gained 1.4x alone and lost in the replay.
 */

export interface RunRequest {
  id: number;
  input: Float32Array;
  batch: number;
  length: number;
  withLogits: boolean;
  /** A view of a SharedArrayBuffer for the probabilities: they are written there when it is long enough. */
  probsInto?: Float32Array;
}

export type WorkerEngineReply =
  | { ready: { name: string; device?: 'cpu' | 'gpu' } }
  | { id: number; probs: Float32Array; logits?: Float32Array }
  | { id: number; error: SerializedError }
  | { startError: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  hint?: string;
}

/** What the engine's thread is sent besides runs: a port for another thread, or the end. */
export type WorkerEngineControl = { connect: MessagePort } | { dispose: true };

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

type RunResult = Awaited<ReturnType<InferenceEngine['run']>>;

/**
 * Probabilities that came in shared memory were written into the caller's `probsInto` (the only
 * shared memory the thread was given): returned as a view of the caller's own array, so that the
 * caller can tell the buffer and give it back, not a new object over the same memory per batch.
 */
function ownView(result: RunResult, probsInto?: Float32Array): RunResult {
  if (!probsInto || !(result.probs.buffer instanceof SharedArrayBuffer)) return result;
  return { ...result, probs: probsInto.subarray(0, result.probs.length) };
}

/** The side of a port (a Worker, or a MessagePort from `connect`) that the client needs. */
interface Endpoint {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (reply: WorkerEngineReply) => void): unknown;
  /** A port's other end went away (its session's thread ended); a Worker says so by 'exit'. */
  on(event: 'close', listener: () => void): unknown;
}

/** The client of the engine's thread, over a Worker or a port: batches out, probabilities back. */
class EngineClient implements InferenceEngine {
  readonly sharedMemory = true;
  private nextId = 0;
  protected disposed = false;
  /** Why the thread is gone, when it went without a dispose of this client. */
  private lost: EngineUnavailableError | undefined;
  private readonly waiting = new Map<
    number,
    { resolve: (r: RunResult) => void; reject: (e: Error) => void; probsInto?: Float32Array }
  >();

  constructor(
    readonly name: string,
    readonly card: LoadedModel['card'],
    protected readonly endpoint: Endpoint,
    /** The device of the engine in the thread (batch sizes follow it). */
    readonly device?: 'cpu' | 'gpu',
  ) {
    endpoint.on('message', (reply: WorkerEngineReply) => {
      if (!('id' in reply)) return;
      const pending = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if ('error' in reply) pending?.reject(revive(reply.error));
      else pending?.resolve(ownView(reply, pending.probsInto));
    });
    // Without this a shard's batches would wait forever on an engine that is gone.
    endpoint.on('close', () => this.fail('closed its port'));
  }

  /** The thread is gone: every batch waiting fails, and so does every later one. */
  protected fail(why: string): void {
    if (this.disposed) return;
    this.lost = new EngineUnavailableError(`${this.name}: the inference thread ${why}`, {
      hint: 'see the log for the thread error; the engine must be created again',
    });
    for (const pending of this.waiting.values()) pending.reject(this.lost);
    this.waiting.clear();
    this.disposed = true;
  }

  async run(
    input: Float32Array,
    batch: number,
    length: number,
    options: RunOptions = {},
  ): Promise<RunResult> {
    if (this.lost) throw this.lost;
    const { inChannels } = this.card.architecture;
    checkRunInput({
      engine: this.name,
      disposed: this.disposed,
      input,
      batch,
      length,
      channels: inChannels,
      sharedMemory: this.sharedMemory,
    });
    const { probsInto } = options;
    const request: RunRequest = {
      id: this.nextId++,
      input,
      batch,
      length,
      withLogits: options.withLogits === true,
      ...(probsInto?.buffer instanceof SharedArrayBuffer ? { probsInto } : {}),
    };
    return new Promise((resolve, reject) => {
      this.waiting.set(request.id, { resolve, reject, probsInto: request.probsInto });
      this.endpoint.postMessage(request);
    });
  }

  /** A port's client lets go of its port; the engine's thread stays (its owner disposes it). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    (this.endpoint as MessagePort).close();
  }
}

/** The owner's client: it can connect other threads, and its dispose ends the sessions' threads. */
export class WorkerEngine extends EngineClient {
  private connected = 0;

  constructor(
    name: string,
    model: LoadedModel,
    /** One thread per session; the owner's own batches go to the first. */
    private readonly workers: Worker[],
    device?: 'cpu' | 'gpu',
  ) {
    super(name, model.card, workers[0], device);
    for (const worker of workers) {
      worker.on('error', (error) => this.fail(`failed: ${error.message}`));
      worker.on('exit', (code) => this.fail(`exited (code ${code})`));
    }
  }

  /** How many sessions (threads) run batches at once. */
  get sessions(): number {
    return this.workers.length;
  }

  /** Each session's thread: the time its event loop was busy (running batches), in ms, so far. */
  sessionBusyMs(): number[] {
    return this.workers.map((worker) => worker.performance.eventLoopUtilization().active);
  }

  /**
   * A port to the engine for another thread: pass it (transferred) and wrap it with `engineOverPort`.
   * Each port goes to the next session in turn.
   */
  connect(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    const control: WorkerEngineControl = { connect: port1 };
    this.workers[this.connected++ % this.workers.length].postMessage(control, [port1]);
    return port2;
  }

  override async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const control: WorkerEngineControl = { dispose: true };
    await Promise.all(
      this.workers.map((worker) => {
        worker.postMessage(control);
        return new Promise((resolve) => worker.once('exit', resolve));
      }),
    );
  }
}

/** In another thread: the engine behind a port from `WorkerEngine.connect` (name and card sent along). */
export function engineOverPort(
  port: MessagePort,
  name: string,
  card: LoadedModel['card'],
  device?: 'cpu' | 'gpu',
): InferenceEngine {
  return new EngineClient(name, card, port, device);
}

/**
 * Intra-op threads of an engine that runs beside a pipeline, unless set: every core but one, which
 * the pipeline's own thread (decoding, operators, picker, sinks) keeps. Measured with bench/replay.ts
 * (a station-day, 2 cores): onnxruntime on both cores made the replay 2.3x slower than on one (12.3
 * against 5.4 s), because its threads meet at a barrier after every operator and wait there whenever
 * the pipeline (or any other process) holds the other core; and on a shared machine even its
 * inference alone was slower on two (8.4 against 3.6 s).
 */
export function pipelineEngineThreads(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

/** One engine thread, started: resolves when its engine is ready, with its name and device. */
async function startEngineThread(
  model: LoadedModel,
  options: EngineOptions,
): Promise<{ worker: Worker; name: string; device?: 'cpu' | 'gpu' }> {
  const data: WorkerEngineData = {
    entry: workerEntry('worker-engine-thread', import.meta.url),
    model,
    options,
  };
  const worker = new Worker(new URL('../util/ts-worker-boot.mjs', import.meta.url), {
    workerData: data,
    env: workerEnv(),
  });
  const ready = await new Promise<{ name: string; device?: 'cpu' | 'gpu' }>((resolve, reject) => {
    const onMessage = (reply: WorkerEngineReply) => {
      if ('ready' in reply) resolve(reply.ready);
      else if ('startError' in reply) reject(revive(reply.startError));
      else return;
      worker.off('message', onMessage);
    };
    worker.on('message', onMessage);
    worker.once('error', (error) =>
      reject(new EngineUnavailableError(`the inference thread failed to start: ${error.message}`)),
    );
  });
  return { worker, ...ready };
}

/**
 * `createEngine(model, options)` run in a worker thread of its own (see above), or in `sessions`
 * threads, each with its own session. Intra-op threads: `options.threads` each where it is set, else
 * {@link pipelineEngineThreads} shared out among the sessions (at least one each). A GPU engine
 * keeps one session: a second would only queue on the same device. Errors of the engine's creation
 * (no onnxruntime, a bad model) come back as the same typed errors.
 */
export async function createWorkerEngine(
  model: LoadedModel,
  options: EngineOptions,
  { sessions = 1 }: { sessions?: number } = {},
): Promise<WorkerEngine> {
  const threads = options.threads ?? Math.max(1, Math.floor(pipelineEngineThreads() / sessions));
  const first = await startEngineThread(model, { ...options, threads });
  const more = first.device === 'gpu' ? 0 : sessions - 1;
  const others = await Promise.allSettled(
    Array.from({ length: more }, () => startEngineThread(model, { ...options, threads })),
  );
  const started = [first, ...others.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []))];
  const failed = others.find((o) => o.status === 'rejected');
  if (failed) {
    await Promise.all(started.map(({ worker }) => worker.terminate()));
    throw failed.reason;
  }
  return new WorkerEngine(
    first.name,
    model,
    started.map(({ worker }) => worker),
    first.device,
  );
}
