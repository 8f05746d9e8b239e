import { PhaseStreamError } from '../errors.ts';
import type { ModelCard } from '../model/card.ts';

/** What `InferenceEngine.run` may be told (see there). */
export interface RunOptions {
  withLogits?: boolean;
  transferInput?: boolean;
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
   * @param input normalized windows, row-major [batch, length, inChannels] in the card's component order
   * @param options.transferInput the caller gives the input up, with the whole buffer it is a view of:
   *          an engine in another thread takes the buffer instead of a copy (the array is then empty);
   *          others ignore it
   * @param options.probsInto a buffer the caller gives up for the probabilities: an engine in another
   *          thread writes them into its start and returns them as a view of it when it is long
   *          enough; others ignore it
   * @returns probabilities [batch, length, classes] in the card's class order, the logits
   *          (pre-softmax) when `withLogits` is set, and the input when `transferInput` took it
   *          (`input`, the same view of the same buffer, the caller's again: to fill with the next
   *          batch instead of allocating one)
   */
  run(
    input: Float32Array,
    batch: number,
    length: number,
    options?: RunOptions,
  ): Promise<{ probs: Float32Array; logits?: Float32Array; input?: Float32Array }>;
  dispose(): Promise<void>;
}

/**
 * The checks every engine makes before a run: not disposed, positive integer batch and length, and
 * an input of exactly [batch, length, channels] values.
 */
export function checkRunInput(
  engine: string,
  disposed: boolean,
  input: Float32Array,
  batch: number,
  length: number,
  channels: number,
): void {
  if (disposed) throw new PhaseStreamError(`${engine}: run after dispose`);
  if (!Number.isInteger(batch) || !Number.isInteger(length) || batch < 1 || length < 1) {
    throw new PhaseStreamError(`${engine}: batch ${batch} and length ${length} must be positive integers`);
  }
  if (input.length !== batch * length * channels) {
    throw new PhaseStreamError(
      `${engine}: input holds ${input.length} values, [${batch}, ${length}, ${channels}] needs ${batch * length * channels}`,
    );
  }
}
