import { createPeakTracker, flushPeaks, type PeakTrackerState, pushSamples } from './peak-tracker.ts';
import {
  createStitchState,
  flushStitch,
  type ProbabilityWindow,
  pushWindow,
  type StitchedSegment,
  type StitchReduce,
  type StitchState,
} from './stitch.ts';

/**
 * A station's picker: overlapping probability windows in, P and S peaks out, each peak once and as
 * soon as no later window can change it. Live picking, replay, prediction and evaluation all go
 * through it. Its state is plain data, so a station can be saved and moved between processes.
 */
export interface PhasePickerOptions {
  /** Output classes of the model, in order (the card's `classes`, e.g. noise, P, S). */
  classes: string[];
  /** Minimum peak height per phase; a class without one is not picked (noise). */
  minPeakHeight: Record<string, number>;
  minPeakDistanceSamples: number;
  /** detect_peaks' threshold against neighbours (0: off). */
  threshold?: number;
  reduce?: StitchReduce;
  edgeBlindSamples?: number;
}

export interface PhasePickerState {
  classes: string[];
  stitch: StitchState;
  /** One tracker per picked phase, keyed by class name. */
  trackers: Record<string, PeakTrackerState>;
}

export interface PhasePeak {
  phase: string;
  /** Absolute sample index in the station's time base. */
  sample: number;
  probability: number;
}

export interface PhasePickerResult {
  state: PhasePickerState;
  peaks: PhasePeak[];
  /** The stitched probabilities that became final with this step. */
  finished: StitchedSegment | null;
}

export function createPhasePicker(options: PhasePickerOptions): PhasePickerState {
  const trackers: Record<string, PeakTrackerState> = {};
  for (const phase of options.classes) {
    const mph = options.minPeakHeight[phase];
    if (mph === undefined) continue;
    trackers[phase] = createPeakTracker({
      mph,
      mpd: options.minPeakDistanceSamples,
      threshold: options.threshold,
    });
  }
  return {
    classes: options.classes,
    stitch: createStitchState({
      classes: options.classes.length,
      reduce: options.reduce,
      edgeBlindSamples: options.edgeBlindSamples,
    }),
    trackers,
  };
}

/**
 * Adds one window of probabilities ([length, classes] starting at an absolute sample). It takes the
 * state over (the stitcher and the peak trackers update their arrays in place): go on with the
 * returned state, not the one given. The result's `finished` is valid until the next push (stitch.ts).
 */
export function pushProbabilities(state: PhasePickerState, window: ProbabilityWindow): PhasePickerResult {
  const { state: stitch, finished } = pushWindow(state.stitch, window);
  return track({ ...state, stitch }, finished, false);
}

/** End of a segment or of the stream: every pending sample and peak becomes final. */
export function flushPhasePicker(state: PhasePickerState): PhasePickerResult {
  const { state: stitch, finished } = flushStitch(state.stitch);
  return track({ ...state, stitch }, finished, true);
}

/**
 * The first sample whose peaks may still come: every peak before it has been handed out (the stitched
 * samples before it are final and their candidates' clusters closed). A run that stops here and picks
 * the same windows again from far enough before it gives the same peaks from it on. Null before the
 * first window.
 */
export function firstOpenSample(state: PhasePickerState): number | null {
  if (state.stitch.start === null) return null;
  // The last finished sample can still become a candidate once its right neighbour is in.
  let open = state.stitch.start - 1;
  for (const tracker of Object.values(state.trackers)) {
    if (tracker.indices.length > 0) open = Math.min(open, tracker.indices[0]);
  }
  return open;
}

function track(state: PhasePickerState, finished: StitchedSegment | null, flush: boolean): PhasePickerResult {
  const classes = state.classes.length;
  const trackers: Record<string, PeakTrackerState> = {};
  const peaks: PhasePeak[] = [];
  for (const [phase, tracker] of Object.entries(state.trackers)) {
    let next = tracker;
    if (finished) {
      const k = state.classes.indexOf(phase);
      const result = pushSamples(next, finished.start, finished.probs, classes, k);
      next = result.state;
      peaks.push(...result.peaks.map((p) => ({ phase, sample: p.index, probability: p.height })));
    }
    if (flush) {
      const result = flushPeaks(next);
      next = result.state;
      peaks.push(...result.peaks.map((p) => ({ phase, sample: p.index, probability: p.height })));
    }
    trackers[phase] = next;
  }
  peaks.sort((a, b) => a.sample - b.sample);
  return { state: { ...state, trackers }, peaks, finished };
}
