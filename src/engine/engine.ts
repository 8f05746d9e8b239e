import { PhaseStreamError } from '../errors.ts';
import type { ModelCard } from '../model/card.ts';

/** What `InferenceEngine.run` may be told (see there). */
export interface RunOptions {
  withLogits?: boolean;
  probsInto?: Float32Array;
}

/**
 * The seam between the picker and whatever runs the network. An engine takes a batch of
 * normalized windows and gives class probabilities; PhaseStream has two (tfjs, onnxruntime) and
 * both pass the same parity checks against the original PhaseNet.
 */
export interface InferenceEngine {
  /** e.g. `tfjs-wasm`, `tfjs-cpu`, `tfjs-tensorflow`, `onnxruntime-cpu`. */
  readonly name: string;
  readonly card: ModelCard;
  /** Where it computes; absent means the CPU. A GPU wants batches of hundreds to thousands of windows. */
  readonly device?: 'cpu' | 'gpu';
  /**
   * The engine runs in another thread and takes inputs that are views of a SharedArrayBuffer
   * without a copy between the threads, and writes probabilities into one (`probsInto`): a caller
   * that runs many batches keeps a few such buffers and fills them again (see
   * src/picker/batch-buffers.ts). Engines in the caller's thread take plain arrays only
   * (onnxruntime-node rejects shared ones).
   */
  readonly sharedMemory?: boolean;
  /**
   * @param input normalized windows, row-major [batch, length, inChannels] in the card's component
   *          order; the caller may fill it again once the run resolves
   * @param options.probsInto with `sharedMemory`: a view of a SharedArrayBuffer, the probabilities
   *          are written into its start and returned as a view of it when it is long enough; others
   *          ignore it
   * @returns probabilities [batch, length, classes] in the card's class order, and the logits
   *          (pre-softmax) when `withLogits` is set
   */
  run(
    input: Float32Array,
    batch: number,
    length: number,
    options?: RunOptions,
  ): Promise<{ probs: Float32Array; logits?: Float32Array }>;
  dispose(): Promise<void>;
}

/**
 * The checks every engine makes before a run: not disposed, positive integer batch and length, an
 * input of exactly [batch, length, channels] values, and in shared memory only where the engine
 * takes it (`sharedMemory`).
 */
export function checkRunInput(run: {
  engine: string;
  disposed: boolean;
  input: Float32Array;
  batch: number;
  length: number;
  channels: number;
  sharedMemory?: boolean;
}): void {
  const { engine, disposed, input, batch, length, channels, sharedMemory = false } = run;
  if (disposed) throw new PhaseStreamError(`${engine}: run after dispose`);
  if (!sharedMemory && input.buffer instanceof SharedArrayBuffer) {
    throw new PhaseStreamError(
      `${engine}: the input is a view of a SharedArrayBuffer, which this engine cannot read`,
      {
        hint: 'pass a plain Float32Array; only an engine in a worker thread (sharedMemory) takes shared ones',
      },
    );
  }
  if (!Number.isInteger(batch) || !Number.isInteger(length) || batch < 1 || length < 1) {
    throw new PhaseStreamError(`${engine}: batch ${batch} and length ${length} must be positive integers`);
  }
  if (input.length !== batch * length * channels) {
    throw new PhaseStreamError(
      `${engine}: input holds ${input.length} values, [${batch}, ${length}, ${channels}] needs ${batch * length * channels}`,
    );
  }
}
