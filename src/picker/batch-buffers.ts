import type { InferenceEngine } from '../engine/engine.ts';

/**
 * Spare batch buffers kept of each kind: as many as batches are in flight at a peak (a backed-up
 * engine at 5,000 live stations held ~10; fewer kept meant a new megabyte per batch after each
 * peak), 18 MB of each kind at most at 32 windows a batch.
 */
const SPARE_BUFFERS = 16;

/**
 * Buffers to be filled again: a batch takes the smallest one that holds it, as a view of its start
 * (batches that waited for windows come in every size, so exact sizes would rarely match), or a new
 * one, on a SharedArrayBuffer when `shared`.
 */
function spareBuffers(shared: boolean) {
  const spare: Float32Array[] = [];
  return {
    take(size: number): Float32Array {
      let best = -1;
      for (let i = 0; i < spare.length; i++) {
        if (spare[i].length >= size && (best < 0 || spare[i].length < spare[best].length)) best = i;
      }
      if (best >= 0) return spare.splice(best, 1)[0].subarray(0, size);
      return shared ? new Float32Array(new SharedArrayBuffer(size * 4)) : new Float32Array(size);
    },
    /** The array (or the buffer it is a view of) is free again. */
    give(array: Float32Array): void {
      if (array.buffer instanceof SharedArrayBuffer !== shared) return;
      if (spare.push(new Float32Array(array.buffer)) > SPARE_BUFFERS) spare.shift();
    },
  };
}

/**
 * Batches of windows through an engine, in buffers that are filled again: with an engine in a worker
 * thread (`sharedMemory`) both the inputs and the probabilities lie in shared memory, so that batch
 * after batch no new array buffer comes into the caller's thread (worker-engine.ts says why that
 * matters). An engine in this thread gets plain inputs and gives probabilities of its own.
 */
export function engineBatches(engine: InferenceEngine) {
  const shared = engine.sharedMemory === true;
  const inputs = spareBuffers(shared);
  const outputs = spareBuffers(shared);
  const classes = engine.card.classes.length;
  return {
    /**
     * The network on windows of one length, each window's data [length, channels]: probabilities
     * [windows, length, classes], and the time the engine took (ms, queue included). The windows'
     * data are copied into the batch before `run` returns: the caller may reuse them at once.
     */
    async run(
      windows: Float32Array[],
      length: number,
    ): Promise<{ probs: Float32Array; inferenceMs: number }> {
      const values = windows[0].length;
      // Every value is written: each window's data is [length, channels].
      const input = inputs.take(windows.length * values);
      for (const [i, data] of windows.entries()) input.set(data, i * values);
      const probsInto = shared ? outputs.take(windows.length * length * classes) : undefined;
      const started = performance.now();
      try {
        const { probs } = await engine.run(input, windows.length, length, probsInto ? { probsInto } : {});
        return { probs, inferenceMs: performance.now() - started };
      } catch (error) {
        if (probsInto) outputs.give(probsInto);
        throw error;
      } finally {
        inputs.give(input);
      }
    },
    /** Probabilities of `run` that are no longer read: their buffer takes a later batch's. */
    release(probs: Float32Array): void {
      if (shared) outputs.give(probs);
    },
  };
}
