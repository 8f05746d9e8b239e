import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PhaseStreamError } from '../src/errors.ts';

/**
 * The bench's side of its engine workers (bench/engine-worker.ts, bench/pytorch_phasenet.py): each
 * loads one engine, says it is ready, then measures what it is told, one JSON line each way.
 */
export type WorkerCommand =
  /** Run batches of `batch` windows for `seconds` (and `minCalls` calls); reply windows per second. */
  | { op: 'windows'; batch: number; seconds: number; minCalls?: number }
  /** Multiply two `size` x `size` float32 matrices likewise; reply FLOP per second. */
  | { op: 'matmul'; size: number; seconds: number; minCalls?: number }
  /** Training steps (forward, backward, Adam) on batches of `batch` windows; reply windows per second. */
  | { op: 'train'; batch: number; seconds: number; minCalls?: number }
  | { op: 'close' };

export interface WorkerReady {
  ready: true;
  engine: string;
  /** What the engine calls itself, with versions where known. */
  detail: string;
  /** Threads it really computes on. */
  threads: number;
  /** What computes its peak matrix product, e.g. `an ONNX MatMul`, `torch.mm`. */
  peakVia: string;
  /** PyTorch's checks that it built the same network. */
  trainableParameters?: number;
  outputShape?: number[];
  outputSumsToOne?: boolean;
}

export type WorkerReply = { rate: number } | { error: string };

/** A worker that could not start or stopped answering; `message` says why, for the bench's notes. */
export class WorkerFailure extends Error {}

export class EngineWorker {
  /** What the worker said when it was ready: its engine, threads and checks. */
  ready!: WorkerReady;
  private readonly waiting: ((reply: WorkerReply) => void)[] = [];
  private readonly stderrTail: string[] = [];
  private exitReason?: string;

  private constructor(private readonly child: ChildProcess) {}

  /** Starts a worker and waits for its ready line; rejects with WorkerFailure if it exits first. */
  static start(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<EngineWorker> {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    const worker = new EngineWorker(child);
    return new Promise((resolve, reject) => {
      child.on('error', (error) => reject(new WorkerFailure(`cannot start ${command}: ${error.message}`)));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        process.stderr.write(chunk);
        worker.stderrTail.push(...chunk.split('\n').filter((l) => l.trim()));
        worker.stderrTail.splice(0, worker.stderrTail.length - 5);
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        // Libraries may print banners; the protocol's lines are JSON objects.
        if (!line.startsWith('{')) return;
        const message = JSON.parse(line);
        if (worker.ready) {
          worker.waiting.shift()?.(message as WorkerReply);
        } else if (message.ready) {
          worker.ready = message as WorkerReady;
          resolve(worker);
        }
      });
      child.on('exit', (code, signal) => {
        const last = worker.stderrTail.at(-1);
        worker.exitReason = `exited with ${signal ?? `code ${code}`}${last ? `: ${last}` : ''}`;
        if (!worker.ready) reject(new WorkerFailure(worker.exitReason));
        for (const next of worker.waiting.splice(0)) next({ error: worker.exitReason });
      });
    });
  }

  /** Sends one measuring command; resolves with the rate it replies. */
  measure(command: Exclude<WorkerCommand, { op: 'close' }>): Promise<number> {
    if (this.exitReason) return Promise.reject(new WorkerFailure(this.exitReason));
    return new Promise((resolve, reject) => {
      this.waiting.push((reply) => {
        if ('rate' in reply && reply.rate > 0) resolve(reply.rate);
        else
          reject(
            new WorkerFailure('error' in reply ? reply.error : `unexpected reply ${JSON.stringify(reply)}`),
          );
      });
      this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  }

  /** Asks the worker to release its engine and exit; kills it if it has not within five seconds. */
  async close(): Promise<void> {
    if (this.exitReason) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end(`${JSON.stringify({ op: 'close' })}\n`);
    const timer = setTimeout(() => this.child.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Runs a worker's serving loop; an engine that cannot start ends the worker with one line on stderr,
 * which the bench quotes as the reason it skipped the engine.
 */
export async function runWorker(serve: () => Promise<void>): Promise<void> {
  try {
    await serve();
  } catch (error) {
    if (!(error instanceof PhaseStreamError)) throw error;
    process.stderr.write(`${error.message}${error.hint ? ` (${error.hint})` : ''}\n`);
    process.exitCode = error.exitCode;
  }
}
