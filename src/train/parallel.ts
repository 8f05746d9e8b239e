import { Worker } from 'node:worker_threads';
import type { TfjsBackendName } from '../engine/tfjs/tfjs-engine.ts';
import type { PhaseNetWeights } from '../model/phasenet/architecture.ts';
import { workerEntry, workerEnv } from '../util/worker-entry.ts';
import type { OptimizerState, PlainBatch, ReplicaOptions } from './replica.ts';
import type { ReplicaRequest } from './replica-worker.ts';

/**
 * Data-parallel training on several cores: tfjs's wasm backend computes on one thread under Node,
 * so N worker threads each hold a replica of the model, compute the gradients of their share of
 * each batch, and all apply the average of those gradients (weighted by their share), so that the
 * replicas take the same Adam step and stay equal. Batch norm sees each share's own statistics
 * (as in PyTorch's DistributedDataParallel without SyncBatchNorm); the moving statistics, which each
 * replica updates from its share, are averaged across replicas when the weights are read.
 */
class ReplicaThread {
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void } | null = null;
  private constructor(private readonly worker: Worker) {
    worker.on('message', (message: { ok?: unknown; error?: string; ready?: boolean }) => {
      const pending = this.pending;
      this.pending = null;
      if (message.error !== undefined) pending?.reject(new Error(`training worker: ${message.error}`));
      else pending?.resolve(message.ok ?? message.ready);
    });
    worker.on('error', (error) => {
      this.pending?.reject(error);
      this.pending = null;
    });
  }

  static async start(backend: TfjsBackendName, options: ReplicaOptions): Promise<ReplicaThread> {
    const entry = workerEntry('replica-worker', import.meta.url);
    const worker = new Worker(new URL('../util/ts-worker-boot.mjs', import.meta.url), {
      workerData: { entry, backend, options },
      env: workerEnv(),
    });
    const thread = new ReplicaThread(worker);
    await new Promise((resolve, reject) => {
      thread.pending = { resolve, reject };
    });
    return thread;
  }

  request<T>(request: ReplicaRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending = { resolve: resolve as (v: unknown) => void, reject };
      this.worker.postMessage(request, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export class ParallelReplicas {
  private constructor(private readonly threads: ReplicaThread[]) {}

  static async start(
    count: number,
    backend: TfjsBackendName,
    options: ReplicaOptions,
  ): Promise<ParallelReplicas> {
    const threads = await Promise.all(
      Array.from({ length: count }, () => ReplicaThread.start(backend, options)),
    );
    return new ParallelReplicas(threads);
  }

  /** One step on the batch, split into contiguous shares; the batch's mean loss before the step. */
  async step(batch: PlainBatch, learningRate: number): Promise<number> {
    const perWindowX = batch.x.length / batch.count;
    const perWindowY = batch.y.length / batch.count;
    const share = Math.ceil(batch.count / this.threads.length);
    const parts: { thread: ReplicaThread; batch: PlainBatch }[] = [];
    for (let i = 0; i * share < batch.count; i++) {
      const from = i * share;
      const count = Math.min(share, batch.count - from);
      parts.push({
        thread: this.threads[i],
        batch: {
          x: batch.x.slice(from * perWindowX, (from + count) * perWindowX),
          y: batch.y.slice(from * perWindowY, (from + count) * perWindowY),
          count,
          length: batch.length,
        },
      });
    }
    const results = await Promise.all(
      parts.map(({ thread, batch: b }) =>
        thread.request<{ loss: number; gradients: Float32Array[] }>({ op: 'gradients', batch: b }, [
          b.x.buffer as ArrayBuffer,
          b.y.buffer as ArrayBuffer,
        ]),
      ),
    );
    const mean = results[0].gradients.map((g) => new Float32Array(g.length));
    let loss = 0;
    results.forEach((result, i) => {
      const weight = parts[i].batch.count / batch.count;
      loss += result.loss * weight;
      result.gradients.forEach((g, k) => {
        const m = mean[k];
        for (let j = 0; j < g.length; j++) m[j] += g[j] * weight;
      });
    });
    await Promise.all(
      this.threads.map((thread) => thread.request({ op: 'apply', gradients: mean, learningRate })),
    );
    return loss;
  }

  /** The weights (equal in every replica) with the moving batch-norm statistics averaged, and set in every replica. */
  async weights(): Promise<PhaseNetWeights> {
    const all = await Promise.all(this.threads.map((t) => t.request<PhaseNetWeights>({ op: 'weights' })));
    const weights = all[0];
    for (const [name, w] of weights) {
      if (!name.endsWith('/moving_mean') && !name.endsWith('/moving_variance')) continue;
      for (let j = 0; j < w.values.length; j++) {
        w.values[j] = all.reduce((sum, other) => sum + other.get(name)!.values[j], 0) / all.length;
      }
    }
    await Promise.all(this.threads.map((t) => t.request({ op: 'setWeights', weights })));
    return weights;
  }

  optimizerState(): Promise<OptimizerState> {
    return this.threads[0].request<OptimizerState>({ op: 'optimizerState' });
  }

  async loadOptimizerState(state: OptimizerState): Promise<void> {
    await Promise.all(this.threads.map((t) => t.request({ op: 'loadOptimizerState', state })));
  }

  async dispose(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
