import type { InferenceEngine } from '../engine/engine.ts';
import type { ModelCard } from '../model/card.ts';
import { normalizeWindow } from './normalize.ts';
import {
  createPhasePicker,
  flushPhasePicker,
  type PhasePeak,
  type PhasePickerOptions,
  pushProbabilities,
} from './phase-picker.ts';

/**
 * Where windows of `windowLength` start over a segment of `length` samples: every `stride`, plus one
 * aligned to the end so that the last samples are seen too. A segment shorter than a window is one
 * window of its own length (the network takes any length).
 */
export function windowStarts(length: number, windowLength: number, stride: number): number[] {
  if (length <= windowLength) return [0];
  const starts: number[] = [];
  for (let s = 0; s + windowLength <= length; s += stride) starts.push(s);
  if (starts[starts.length - 1] + windowLength < length) starts.push(length - windowLength);
  return starts;
}

export interface AnnotateOptions {
  strideSamples: number;
  batchSize: number;
  picker: PhasePickerOptions;
}

/**
 * Picking options from a model card, with the usual stride of half a window unless given. Records are
 * short and whole, so each sample can be taken from the windows that see it nearest their centre: the
 * window edges are blinded by half of what the stride leaves, (window - stride) / 2 at each end, which
 * still covers every sample away from the record's own ends. (Without it, an onset on the first sample
 * of a window, as PhaseNet's npz records have at the default stride, is averaged with a window that
 * cannot see it and loses half its probability.)
 */
export function defaultAnnotateOptions(card: ModelCard, strideSamples?: number): AnnotateOptions {
  const stride = strideSamples ?? Math.floor(card.windowLength / 2);
  return {
    strideSamples: stride,
    batchSize: 32,
    picker: {
      classes: card.classes,
      minPeakHeight: card.picking.minPeakHeight,
      minPeakDistanceSamples: card.picking.minPeakDistanceSamples,
      edgeBlindSamples: Math.max(0, Math.floor((card.windowLength - stride) / 2)),
    },
  };
}

export interface Annotation {
  /** Stitched probabilities, row-major [length, classes]. */
  probs: Float32Array;
  peaks: PhasePeak[];
}

/**
 * Probabilities and picks for one contiguous record (row-major [length, channels] at the model's rate,
 * channels in the card's component order), through the same windows, stitching and peak tracking as
 * live picking.
 */
export async function annotateRecord(
  engine: InferenceEngine,
  data: Float32Array | Float64Array,
  options: AnnotateOptions,
): Promise<Annotation> {
  const { windowLength, classes, componentOrder } = engine.card;
  const channels = componentOrder.length;
  const length = data.length / channels;
  const window = Math.min(windowLength, length);
  const starts = windowStarts(length, windowLength, options.strideSamples);
  const probs = new Float32Array(length * classes.length);
  const peaks: PhasePeak[] = [];
  let picker = createPhasePicker(options.picker);
  const keep = (result: ReturnType<typeof pushProbabilities>) => {
    picker = result.state;
    peaks.push(...result.peaks);
    if (result.finished) probs.set(result.finished.probs, result.finished.start * classes.length);
  };
  for (let b = 0; b < starts.length; b += options.batchSize) {
    const batch = starts.slice(b, b + options.batchSize);
    const input = new Float32Array(batch.length * window * channels);
    batch.forEach((start, i) => {
      const raw = data.subarray(start * channels, (start + window) * channels);
      normalizeWindow(raw, channels, input.subarray(i * window * channels, (i + 1) * window * channels));
    });
    const output = await engine.run(input, batch.length, window);
    const size = window * classes.length;
    for (const [i, start] of batch.entries()) {
      keep(pushProbabilities(picker, { start, probs: output.probs.subarray(i * size, (i + 1) * size) }));
    }
  }
  keep(flushPhasePicker(picker));
  return { probs, peaks };
}
