import { suppressClosePeaks } from './detect-peaks.ts';

/**
 * detect_peaks on a trace that arrives in pieces, giving exactly the peaks that `detectPeaks` (edge
 * 'rising', no valley, no kpsh) would give on the whole segment, each once, as soon as no later
 * sample can change it.
 *
 * Why that moment can be known: a sample becomes a candidate once its right neighbour is seen; the
 * mpd suppression only acts between candidates at most mpd apart, so candidates fall into clusters
 * separated by more than mpd. A cluster whose last candidate is more than mpd before the newest
 * possible candidate (the last sample seen) is closed: its peaks are final.
 *
 * The state is plain numbers (JSON-safe), so a station's picker can move between processes.
 */
export interface PeakTrackerState {
  mph: number;
  mpd: number;
  threshold: number;
  /** Absolute index of the next sample expected; null before the first. */
  next: number | null;
  /** The last (up to) two samples seen in this segment, oldest first. */
  last: number[];
  /** Candidates not yet final: absolute indices (ascending) and heights. */
  indices: number[];
  heights: number[];
}

export interface TrackedPeak {
  /** Absolute sample index. */
  index: number;
  height: number;
}

export interface PeakTrackerResult {
  state: PeakTrackerState;
  peaks: TrackedPeak[];
}

export function createPeakTracker(options: {
  mph: number;
  mpd: number;
  threshold?: number;
}): PeakTrackerState {
  return {
    mph: options.mph,
    mpd: options.mpd,
    threshold: options.threshold ?? 0,
    next: null,
    last: [],
    indices: [],
    heights: [],
  };
}

/**
 * Adds the samples `values` starting at absolute index `start`. A start that does not follow the last
 * sample begins a new segment (after a gap): the old one is closed first, as detect_peaks would end it.
 * `values` may be one column of a row-major table: sample i is `values[offset + i * width]`.
 */
export function pushSamples(
  state: PeakTrackerState,
  start: number,
  values: ArrayLike<number>,
  width = 1,
  offset = 0,
): PeakTrackerResult {
  const closed = state.next !== null && start !== state.next ? closeAll(state) : { state, peaks: [] };
  let { last } = closed.state;
  if (closed.state.next === null || start !== closed.state.next) last = [];
  const indices = [...closed.state.indices];
  const heights = [...closed.state.heights];
  const { mph, threshold } = state;
  // The two samples before the current one; `seen` counts how many of them exist (at most 2).
  let seen = last.length;
  let before = seen === 2 ? last[0] : 0;
  let x = seen === 0 ? 0 : last[seen - 1];
  const count = Math.ceil((values.length - offset) / width);
  for (let i = 0; i < count; i++) {
    const after = values[offset + i * width];
    // detect_peaks' rising edge: up into the sample, then flat or down; a plateau counts at its first sample.
    if (
      seen === 2 &&
      x - before > 0 &&
      after - x <= 0 &&
      x >= mph &&
      !(threshold > 0 && Math.min(x - before, x - after) < threshold)
    ) {
      indices.push(start + i - 1);
      heights.push(x);
    }
    before = x;
    x = after;
    if (seen < 2) seen++;
  }
  const window = seen === 2 ? [before, x] : seen === 1 ? [x] : [];
  const next = start + count;
  const tracked: PeakTrackerState = { ...state, next, last: window, indices, heights };
  const final = closeClusters(tracked, next - 1);
  return { state: final.state, peaks: [...closed.peaks, ...final.peaks] };
}

/** End of the segment (end of stream, or a gap): every candidate is final. */
export function flushPeaks(state: PeakTrackerState): PeakTrackerResult {
  return closeAll(state);
}

function closeAll(state: PeakTrackerState): PeakTrackerResult {
  const { state: closed, peaks } = closeClusters(state, Number.POSITIVE_INFINITY);
  return { state: { ...closed, last: [] }, peaks };
}

/** Final peaks of the clusters that no candidate at or after `frontier` can reach. */
function closeClusters(state: PeakTrackerState, frontier: number): PeakTrackerResult {
  const { indices, heights, mpd } = state;
  let closedCount = 0;
  for (let k = 0; k < indices.length; k++) {
    const clusterEnds = k === indices.length - 1 || indices[k + 1] - indices[k] > mpd;
    if (clusterEnds && indices[k] + mpd < frontier) closedCount = k + 1;
  }
  if (closedCount === 0) return { state, peaks: [] };
  const closedIndices = indices.slice(0, closedCount);
  const closedHeights = heights.slice(0, closedCount);
  const kept =
    mpd > 1 ? new Set(suppressClosePeaks(closedIndices, closedHeights, mpd)) : new Set(closedIndices);
  const peaks = closedIndices.flatMap((index, k) =>
    kept.has(index) ? [{ index, height: closedHeights[k] }] : [],
  );
  return {
    state: { ...state, indices: indices.slice(closedCount), heights: heights.slice(closedCount) },
    peaks,
  };
}
