import type { PhasePeak } from './phase-picker.ts';
import type { Pick } from './pick.ts';
import type { StitchedSegment } from './stitch.ts';

/**
 * What a pick's time is worth, from what the picker has seen around it: the uncertainty from the
 * width of the probability peak (its full width at half maximum as a Gaussian's 2.355 σ, as
 * PhaseNet's labels are Gaussians) and, for P, the first-motion polarity of the vertical by a simple
 * rule (the first sample after the pick that leaves the pre-pick noise by 4 σ gives the sign;
 * none within 0.2 s: undecidable). The model gives no polarity of its own.
 *
 * The state is plain data: for each phase the latest stitched probabilities, and the latest samples
 * of the normalized vertical from the windows, both by absolute sample index.
 */

/** A column of samples by absolute index; `values[0]` is sample `start`. */
export interface TraceTail {
  start: number;
  values: ArrayLike<number>;
}

export interface PickQualityState {
  probs: Record<string, TraceTail>;
  vertical: TraceTail;
}

/**
 * Samples kept besides the newest piece: a pick is made up to a stride (plus the peak distance)
 * after its sample became final, and a window's newest samples lie a window length beyond that.
 */
const MARGIN = 1000;

export function createPickQuality(): PickQualityState {
  return { probs: {}, vertical: { start: 0, values: new Float32Array(0) } };
}

/**
 * The tail with `column` (starting at `start`) appended: only samples past its end; a gap restarts it.
 * `column` may be one column of a row-major table: sample i is `column[offset + i * width]`.
 *
 * The tail's values are a view of a Float32Array (what the picker keeps is float32: stitched
 * probabilities, normalized windows) with room after them: new samples go into that room, and when it
 * is full the kept samples move to the front of the same array (twice `keep` long), so a station's
 * tail allocates nothing once it has its length and touches little memory per window (thousands of
 * stations' tails do not stay in cache). The step thus takes the tail over, as the stitcher's does:
 * append to the returned tail, not again to the one given.
 */
export function appendTail(
  tail: TraceTail,
  start: number,
  column: ArrayLike<number>,
  keep: number,
  width = 1,
  offset = 0,
): TraceTail {
  const count = Math.ceil((column.length - offset) / width);
  const held = tail.values.length;
  const restart = start > tail.start + held || held === 0;
  const baseStart = restart ? start : tail.start;
  const baseLength = restart ? 0 : held;
  const from = Math.max(0, baseStart + baseLength - start);
  const added = Math.max(0, count - from);
  const total = baseLength + added;
  const drop = Math.max(0, total - keep);
  const length = total - drop;
  const values = tail.values;
  const keptHeld = Math.max(0, baseLength - drop);
  // Sample j of the new tail goes to backing[base + j]: held sample h (if kept) at base + h - drop,
  // new sample i at base + baseLength - drop + i.
  let backing: Float32Array;
  let base = 0;
  const reusable = !restart && values instanceof Float32Array;
  const capacity = reusable ? values.buffer.byteLength / 4 : 0;
  const at = reusable ? values.byteOffset / 4 : 0;
  if (reusable && at + total <= capacity) {
    backing = new Float32Array(values.buffer);
    base = at + drop;
  } else if (reusable && length <= capacity) {
    // No room after the samples held: the ones kept move to the front.
    backing = new Float32Array(values.buffer);
    backing.copyWithin(0, at + baseLength - keptHeld, at + baseLength);
  } else {
    backing = new Float32Array(Math.max(2 * keep, length));
    for (let m = 0; m < keptHeld; m++) backing[m] = values[baseLength - keptHeld + m];
  }
  const first = Math.max(0, drop - baseLength);
  for (
    let i = first, k = base + baseLength - drop + first, c = offset + (from + first) * width;
    i < added;
    i++
  ) {
    backing[k++] = column[c];
    c += width;
  }
  return { start: baseStart + drop, values: backing.subarray(base, base + length) };
}

/** The stitched probabilities that became final, per picked phase. */
export function observeProbabilities(
  state: PickQualityState,
  segment: StitchedSegment,
  classes: string[],
  phases: string[],
): PickQualityState {
  const probs = { ...state.probs };
  const width = classes.length;
  for (const phase of phases) {
    const samples = segment.probs.length / width;
    probs[phase] = appendTail(
      probs[phase] ?? { start: 0, values: [] },
      segment.start,
      segment.probs,
      samples + MARGIN,
      width,
      classes.indexOf(phase),
    );
  }
  return { ...state, probs };
}

/** A window's vertical component (normalized data, [length, components]). */
export function observeWindow(
  state: PickQualityState,
  window: { startIndex: number; length: number; components: string[]; data: Float32Array },
): PickQualityState {
  const z = window.components.indexOf('Z');
  if (z < 0) return state;
  const width = window.components.length;
  return {
    ...state,
    vertical: appendTail(
      state.vertical,
      window.startIndex,
      window.data,
      2 * window.length + MARGIN,
      width,
      z,
    ),
  };
}

const at = (tail: TraceTail, index: number) => tail.values[index - tail.start];

/** σ of the pick time in seconds, or undefined when the peak's half-height points are not both seen. */
export function peakUncertaintyS(
  tail: TraceTail | undefined,
  sample: number,
  height: number,
  samplingRate: number,
): number | undefined {
  if (!tail || at(tail, sample) === undefined) return undefined;
  const half = height / 2;
  const crossing = (step: 1 | -1) => {
    for (let i = sample; ; i += step) {
      const next = at(tail, i + step);
      if (next === undefined) return undefined;
      if (next < half) {
        const here = at(tail, i);
        return i + (step * (here - half)) / (here - next);
      }
    }
  };
  const left = crossing(-1);
  const right = crossing(1);
  if (left === undefined || right === undefined) return undefined;
  return Math.round(((right - left) / 2.3548 / samplingRate) * 1e4) / 1e4;
}

/** First motion of the vertical at a P pick (see the module comment), or undefined when not seen. */
export function firstMotion(
  tail: TraceTail,
  sample: number,
  samplingRate: number,
): 'positive' | 'negative' | 'undecidable' | undefined {
  const noiseN = Math.round(samplingRate);
  const afterN = Math.round(0.2 * samplingRate);
  const noise: number[] = [];
  for (let i = sample - noiseN; i < sample; i++) {
    const v = at(tail, i);
    if (v === undefined) return undefined;
    noise.push(v);
  }
  if (at(tail, sample + afterN) === undefined) return undefined;
  const mean = noise.reduce((a, b) => a + b, 0) / noise.length;
  const sd = Math.sqrt(noise.reduce((a, b) => a + (b - mean) ** 2, 0) / noise.length);
  for (let i = sample; i <= sample + afterN; i++) {
    const d = at(tail, i) - mean;
    if (Math.abs(d) > 4 * sd && sd > 0) return d > 0 ? 'positive' : 'negative';
  }
  return 'undecidable';
}

/** A pick with what its station's state says of its uncertainty and polarity. */
export function withQuality(
  pick: Pick,
  state: PickQualityState,
  peak: PhasePeak,
  samplingRate: number,
): Pick {
  const uncertaintyS = peakUncertaintyS(state.probs[peak.phase], peak.sample, peak.probability, samplingRate);
  const polarity = peak.phase === 'P' ? firstMotion(state.vertical, peak.sample, samplingRate) : undefined;
  return {
    ...pick,
    ...(uncertaintyS !== undefined && { uncertaintyS }),
    ...(polarity !== undefined && { polarity }),
  };
}
