import { ConfigError } from '../errors.ts';

/**
 * Stitching of overlapping probability windows into one continuous trace per station.
 *
 * The picker runs the network on windows (3000 samples) that overlap (stride <= length, e.g. 1500), so
 * most samples get several probabilities; they are combined per sample and class by the mean
 * (default) or the max. Samples near a window's edges are the least reliable (the network sees no
 * context beyond them), so `edgeBlindSamples` at each end of every window can be set aside: such a
 * sample takes its value from the windows that see it away from their edges, and falls back to the
 * edge values only where no window does (the first and last samples of a stream, or after a gap), so
 * that the trace has no holes.
 *
 * Streaming: windows come in order of start sample. Once a window starting at s has arrived, no later
 * window can touch a sample before s, so those samples are finished and handed out; the rest stays in
 * the state. The state is plain numbers and typed arrays (structured-clone safe: `postMessage`,
 * `v8.serialize`; no Infinity), so a station's stitcher can be saved and resumed in another process.
 * `pushWindow` takes the state over: it updates the given state in place (its arrays keep room for
 * the pending samples, so that a window costs no allocation) and returns it.
 */

export type StitchReduce = 'mean' | 'max';

export interface StitchOptions {
  /** Classes per sample (3 for noise, P, S). */
  classes: number;
  /** How overlapping windows combine. Default 'mean'. */
  reduce?: StitchReduce;
  /**
   * Samples at each end of every window that count only where no other window covers them away from its
   * edges. Default 0. A window shorter than twice this is all edge: it only fills samples nothing else covers.
   */
  edgeBlindSamples?: number;
}

export interface StitchState {
  classes: number;
  reduce: StitchReduce;
  edgeBlindSamples: number;
  /** Absolute sample index of the first pending (unfinished) sample; null before the first window. */
  start: number | null;
  /** Pending samples, all covered by at least one window. */
  length: number;
  /**
   * Per pending sample and class: sum (mean) or max of the contributions away from window edges. The
   * arrays may be longer than the pending samples (room for the next window); the rest is zeros.
   */
  value: Float64Array;
  /** Per pending sample: how many windows contributed to `value`. */
  count: Uint32Array;
  /** Like `value`, for contributions from blinded window edges (empty when `edgeBlindSamples` is 0). */
  edgeValue: Float64Array;
  edgeCount: Uint32Array;
}

export interface ProbabilityWindow {
  /** Absolute sample index of the window's first sample (same time base for the whole stream). */
  start: number;
  /** Row-major [length, classes]. */
  probs: ArrayLike<number>;
}

export interface StitchedSegment {
  /** Absolute sample index of the first sample. */
  start: number;
  /** Row-major [length, classes] combined probabilities. */
  probs: Float32Array;
}

export interface StitchResult {
  state: StitchState;
  /**
   * The samples that no later window can change, or null when there are none yet. From `pushWindow`
   * its probabilities are a view of storage that the next `pushWindow` (of any station) writes again:
   * read or copy them before. A Float32Array per window (18 KB at a 15 s stride) was external
   * memory that brought V8's full collections on sooner; every consumer (peak trackers, quality
   * tails, the live page, annotate) reads the segment at once.
   */
  finished: StitchedSegment | null;
}

export function createStitchState(options: StitchOptions): StitchState {
  const { classes, reduce = 'mean', edgeBlindSamples = 0 } = options;
  if (!Number.isInteger(classes) || classes < 1) {
    throw new ConfigError(`classes must be a positive integer, got ${classes}`);
  }
  if (reduce !== 'mean' && reduce !== 'max') {
    throw new ConfigError(`reduce must be 'mean' or 'max', got '${reduce}'`);
  }
  if (!Number.isInteger(edgeBlindSamples) || edgeBlindSamples < 0) {
    throw new ConfigError(`edgeBlindSamples must be a non-negative integer, got ${edgeBlindSamples}`, {
      hint: 'a few percent of the window length, or 0 to use every sample of every window',
    });
  }
  return {
    classes,
    reduce,
    edgeBlindSamples,
    start: null,
    length: 0,
    ...emptyPending(),
  };
}

function emptyPending() {
  return {
    value: new Float64Array(0),
    count: new Uint32Array(0),
    edgeValue: new Float64Array(0),
    edgeCount: new Uint32Array(0),
  };
}

/**
 * Add a window. Windows must come in non-decreasing start order; a window may begin after the end of
 * the pending part (a data gap), which finishes all of it: the next segment then starts at the window.
 */
export function pushWindow(state: StitchState, window: ProbabilityWindow): StitchResult {
  const { classes } = state;
  const { start, probs } = window;
  if (!Number.isSafeInteger(start))
    throw new RangeError(`window start ${start} is not an integer sample index`);
  if (probs.length === 0 || probs.length % classes !== 0) {
    throw new RangeError(`a window of ${probs.length} values is not [length, ${classes}]`);
  }
  if (state.start !== null && start < state.start) {
    throw new RangeError(
      `window at sample ${start} comes after one at ${state.start}: windows must arrive in start order`,
    );
  }
  const pendingStart = state.start ?? start;
  // Everything before the new window's start is final (all of the pending part after a gap).
  const cut = Math.min(start - pendingStart, state.length);
  const finished = cut > 0 ? finish(state, pendingStart, cut, true) : null;

  const windowLength = probs.length / classes;
  const length = Math.max(state.start === null ? 0 : pendingStart + state.length - start, windowLength);
  const blind = state.edgeBlindSamples;
  const edges = blind > 0;
  const s = state;
  s.value = shifted(s.value, s.length * classes, cut * classes, length * classes);
  s.count = shifted(s.count, s.length, cut, length);
  if (edges) {
    s.edgeValue = shifted(s.edgeValue, s.length * classes, cut * classes, length * classes);
    s.edgeCount = shifted(s.edgeCount, s.length, cut, length);
  }
  s.start = start;
  s.length = length;
  if (s.reduce === 'mean') {
    // Flat loops over the window's edge and inner ranges, not a choice of arrays per sample: the
    // pipeline sets edgeBlindSamples, and that per-sample loop was 4 % of its live loop (profile).
    const lo = Math.min(blind, windowLength);
    const hi = Math.max(lo, windowLength - blind);
    addToMean(s.edgeValue, s.edgeCount, probs, classes, 0, lo);
    addToMean(s.value, s.count, probs, classes, lo, hi);
    addToMean(s.edgeValue, s.edgeCount, probs, classes, hi, windowLength);
    return { state: s, finished };
  }
  for (let i = 0; i < windowLength; i++) {
    const edge = edges && (i < blind || i >= windowLength - blind);
    const value = edge ? s.edgeValue : s.value;
    const count = edge ? s.edgeCount : s.count;
    const first = count[i] === 0;
    for (let k = 0, at = i * classes; k < classes; k++, at++) {
      value[at] = first ? probs[at] : Math.max(value[at], probs[at]);
    }
    count[i]++;
  }
  return { state: s, finished };
}

/** Window samples [from, to) added to the sums and counts of the same pending samples. */
function addToMean(
  value: Float64Array,
  count: Uint32Array,
  probs: ArrayLike<number>,
  classes: number,
  from: number,
  to: number,
): void {
  for (let at = from * classes; at < to * classes; at++) value[at] += probs[at];
  for (let i = from; i < to; i++) count[i]++;
}

/** End of stream (or of a station's session): hand out every pending sample. */
export function flushStitch(state: StitchState): StitchResult {
  // Its own array: a segment's last window gives a pushWindow segment and this one together.
  const finished =
    state.start !== null && state.length > 0 ? finish(state, state.start, state.length, false) : null;
  const end = state.start === null ? null : state.start + state.length;
  return {
    state: { ...state, start: end, length: 0, ...emptyPending() },
    finished,
  };
}

/** What `pushWindow` hands out its finished probabilities in (see StitchResult). */
let shared = new Float32Array(0);

/** The combined probabilities of the first `samples` pending samples, in `shared` or a new array. */
function finish(state: StitchState, start: number, samples: number, inShared: boolean): StitchedSegment {
  const { classes } = state;
  const size = samples * classes;
  if (inShared && shared.length < size) shared = new Float32Array(size);
  const probs = inShared ? shared.subarray(0, size) : new Float32Array(size);
  const mean = state.reduce === 'mean';
  for (let i = 0; i < samples; i++) {
    const inner = state.count[i] > 0;
    const value = inner ? state.value : state.edgeValue;
    const count = inner ? state.count[i] : state.edgeCount[i];
    for (let k = 0, at = i * classes; k < classes; k++, at++) {
      probs[at] = mean ? value[at] / count : value[at];
    }
  }
  return { start, probs };
}

/**
 * `values` (its first `used` entries meaningful) without its first `drop` entries and zeros up to
 * `length`: in place when it has the room, else in a new array.
 */
function shifted<T extends Float64Array | Uint32Array>(
  values: T,
  used: number,
  drop: number,
  length: number,
): T {
  const kept = Math.max(0, used - drop);
  let out = values;
  if (values.length < length) {
    // Exactly the pending length: it is a window's length from the first window on (stride <= length).
    out = new (values.constructor as { new (n: number): T })(length);
    out.set(values.subarray(drop, used));
  } else if (drop > 0) values.copyWithin(0, drop, used);
  out.fill(0, kept, length);
  return out;
}
