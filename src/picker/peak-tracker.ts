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
 *
 * The step takes the state over, as the stitcher's does: it updates the given state's arrays in place
 * (no copies of the candidates per window) and returns it.
 */
export function pushSamples(
  state: PeakTrackerState,
  start: number,
  values: ArrayLike<number>,
  width = 1,
  offset = 0,
): PeakTrackerResult {
  const peaks: TrackedPeak[] = [];
  const { last, indices, heights, mph, threshold } = state;
  if (state.next !== null && start !== state.next) closeClusters(state, Number.POSITIVE_INFINITY, peaks);
  if (state.next === null || start !== state.next) last.length = 0;
  // The two samples before the current one; `seen` counts how many of them exist (at most 2).
  let seen = last.length;
  let before = seen === 2 ? last[0] : 0;
  let x = seen === 0 ? 0 : last[seen - 1];
  const count = Math.ceil((values.length - offset) / width);
  let found = 0;
  for (let i = 0; i < count; i++) {
    const after = values[offset + i * width];
    // detect_peaks' rising edge: up into the sample, then flat or down; a plateau counts at its first sample.
    // The height test first: it is almost always false and predictable, where the slopes of noise are
    // not (1.7x faster on noise, a branch mispredicted less per sample).
    if (
      x >= mph &&
      seen === 2 &&
      x - before > 0 &&
      after - x <= 0 &&
      !(threshold > 0 && Math.min(x - before, x - after) < threshold)
    ) {
      if (found === candidates.length) candidates = grown(candidates);
      candidates[found++] = i - 1;
    }
    before = x;
    x = after;
    if (seen < 2) seen++;
  }
  for (let k = 0; k < found; k++) {
    // A candidate at -1 is the last sample of the previous push.
    const i = candidates[k];
    indices.push(start + i);
    heights.push(i < 0 ? last[last.length - 1] : values[offset + i * width]);
  }
  last.length = 0;
  if (seen === 2) last.push(before, x);
  else if (seen === 1) last.push(x);
  state.next = start + count;
  closeClusters(state, state.next - 1, peaks);
  return { state, peaks };
}

/**
 * The loop's candidates (offsets into the pushed samples) before they join the state: pushing them
 * onto the state's arrays inside the loop made V8 box every sample it read (measured: ~26 KB of
 * garbage per window at 5,000 live stations; in a scratch loop over windows with peaks, 2.3x the
 * step's time).
 */
let candidates: Int32Array<ArrayBuffer> = new Int32Array(256);

function grown(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** End of the segment (end of stream, or a gap): every candidate is final. */
export function flushPeaks(state: PeakTrackerState): PeakTrackerResult {
  const peaks: TrackedPeak[] = [];
  closeClusters(state, Number.POSITIVE_INFINITY, peaks);
  state.last.length = 0;
  return { state, peaks };
}

/**
 * The final peaks of the clusters that no candidate at or after `frontier` can reach, onto `peaks`;
 * their candidates leave the state.
 */
function closeClusters(state: PeakTrackerState, frontier: number, peaks: TrackedPeak[]): void {
  const { indices, heights, mpd } = state;
  let closedCount = 0;
  for (let k = 0; k < indices.length; k++) {
    const clusterEnds = k === indices.length - 1 || indices[k + 1] - indices[k] > mpd;
    if (clusterEnds && indices[k] + mpd < frontier) closedCount = k + 1;
  }
  if (closedCount === 0) return;
  const closedIndices = indices.splice(0, closedCount);
  const closedHeights = heights.splice(0, closedCount);
  const kept =
    mpd > 1 ? new Set(suppressClosePeaks(closedIndices, closedHeights, mpd)) : new Set(closedIndices);
  for (let k = 0; k < closedCount; k++) {
    if (kept.has(closedIndices[k])) peaks.push({ index: closedIndices[k], height: closedHeights[k] });
  }
}
