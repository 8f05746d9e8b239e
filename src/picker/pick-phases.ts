import { concat, concatMap, defer, EMPTY, from, map, type Observable, type OperatorFunction } from 'rxjs';
import type { InferenceEngine } from '../engine/engine.ts';
import type { StationWindow } from '../stream/types.ts';
import { stationKey } from '../stream/types.ts';
import type { Float32Pool } from '../util/array-pool.ts';
import { engineBatches } from './batch-buffers.ts';
import {
  createPhasePicker,
  firstOpenSample,
  flushPhasePicker,
  type PhasePickerOptions,
  type PhasePickerResult,
  type PhasePickerState,
  pushProbabilities,
} from './phase-picker.ts';
import { makePick, type Pick } from './pick.ts';
import {
  createPickQuality,
  observeProbabilities,
  observeWindow,
  type PickQualityState,
  withQuality,
} from './pick-quality.ts';
import type { StitchedSegment } from './stitch.ts';

export interface PickPhasesOptions {
  /** Picking options of a station (thresholds may differ per station). */
  pickerOptions: (stationKey: string) => PhasePickerOptions;
  /** Called with each batch's inference time, for health and latency metrics. */
  onBatch?: (info: { windows: number; inferenceMs: number }) => void;
  /**
   * How many windows are in this operator (handed in, picks not yet out), each time that changes: a
   * source without backpressure of its own (an archive) waits on it (src/app/window-gate.ts).
   */
  onPending?: (windows: number) => void;
  /** Each station's stitched probabilities as they become final (what the live page draws). */
  onProbabilities?: (
    station: StationWindow['station'],
    samplingRate: number,
    segment: StitchedSegment,
  ) => void;
  /**
   * After the picks of a batch went downstream: for each station in it, the first sample whose picks
   * may still come (`firstOpenSample`). What resumes a restarted run (docs/seedlink.md).
   */
  onOpenSample?: (station: StationWindow['station'], samplingRate: number, sample: number) => void;
  /**
   * Where the windows' normalized data go once read (after the batch input was filled and the
   * station's pick quality saw the window): the pool stationWindows takes them from. Only for windows
   * nothing else holds on to.
   */
  windowData?: Float32Pool;
}

/**
 * Batches of windows -> picks: runs the network on each batch (windows of equal length together),
 * stitches each station's overlapping probabilities and emits each pick once, when no later window
 * can change it. Stations' pickers live in the closure as plain data (see phase-picker.ts).
 */
export function pickPhases(
  engine: InferenceEngine,
  options: PickPhasesOptions,
): OperatorFunction<StationWindow[], Pick> {
  return (batches: Observable<StationWindow[]>) => {
    const pickers = new Map<string, PhasePickerState>();
    const stations = new Map<string, { id: StationWindow['station']; rate: number }>();
    const model = engine.card.name;
    const quality = new Map<string, PickQualityState>();
    const observe = (key: string, state: PickQualityState, results: PhasePickerResult[]) => {
      let next = state;
      for (const r of results) {
        if (r.finished)
          next = observeProbabilities(next, r.finished, r.state.classes, Object.keys(r.state.trackers));
      }
      quality.set(key, next);
      return next;
    };

    const step = (window: StationWindow, probs: Float32Array): Pick[] => {
      const key = stationKey(window.station);
      const state = pickers.get(key) ?? createPhasePicker(options.pickerOptions(key));
      stations.set(key, { id: window.station, rate: window.samplingRate });
      const results: PhasePickerResult[] = [pushProbabilities(state, { start: window.startIndex, probs })];
      if (window.endOfSegment) results.push(flushPhasePicker(results[0].state));
      pickers.set(key, results[results.length - 1].state);
      for (const r of results)
        if (r.finished) options.onProbabilities?.(window.station, window.samplingRate, r.finished);
      const seen = observe(key, observeWindow(quality.get(key) ?? createPickQuality(), window), results);
      return results.flatMap((r) =>
        r.peaks.map((p) =>
          withQuality(
            makePick(window.station, p.phase, p.sample, window.samplingRate, p.probability, model),
            seen,
            p,
            window.samplingRate,
          ),
        ),
      );
    };

    // The network runs on a batch as soon as it comes (an engine off the event loop, worker-engine.ts,
    // queues the next batch while one runs, so it never waits for the stitching of the one before);
    // stitching follows in batch order.
    let pending = 0;
    const batchesOf = engineBatches(engine);
    const infer = async (batch: StationWindow[]): Promise<Map<StationWindow, Float32Array>> => {
      const probsOf = new Map<StationWindow, Float32Array>();
      // Windows of one length run together; a segment shorter than a window makes a shorter one.
      for (const length of new Set(batch.map((w) => w.length))) {
        const same = batch.filter((w) => w.length === length);
        const { probs, inferenceMs } = await batchesOf.run(
          same.map((w) => w.data),
          length,
        );
        options.onBatch?.({ windows: same.length, inferenceMs });
        const out = length * engine.card.classes.length;
        for (const [i, w] of same.entries()) probsOf.set(w, probs.subarray(i * out, (i + 1) * out));
      }
      return probsOf;
    };
    const stitch = (batch: StationWindow[], probsOf: Map<StationWindow, Float32Array>): Pick[] => {
      const picks: Pick[] = [];
      // Stations' windows are stitched in batch order, which keeps each station's start order.
      for (const window of batch) {
        picks.push(...step(window, probsOf.get(window)!));
        options.windowData?.give(window.data);
      }
      // The stitchers added the probabilities up: their buffers can take the next batch's.
      const buffers = new Map([...probsOf.values()].map((p) => [p.buffer, p]));
      for (const probs of buffers.values()) batchesOf.release(probs);
      pending -= batch.length;
      options.onPending?.(pending);
      return picks;
    };

    /** Tells `onOpenSample` where the stations of `keys` stand, once their picks are downstream. */
    const reportOpen = (keys: () => Iterable<string>) =>
      defer(() => {
        if (options.onOpenSample) {
          for (const key of keys()) {
            const open = firstOpenSample(pickers.get(key)!);
            const station = stations.get(key)!;
            if (open !== null) options.onOpenSample(station.id, station.rate, open);
          }
        }
        return EMPTY;
      });

    // A stream that ends without closing a station's segment still gives that station's last picks.
    const flushAll = defer(() => {
      const picks: Pick[] = [];
      for (const [key, state] of pickers) {
        const result = flushPhasePicker(state);
        pickers.set(key, result.state);
        const station = stations.get(key)!;
        if (result.finished) options.onProbabilities?.(station.id, station.rate, result.finished);
        const seen = observe(key, quality.get(key) ?? createPickQuality(), [result]);
        picks.push(
          ...result.peaks.map((p) =>
            withQuality(
              makePick(station.id, p.phase, p.sample, station.rate, p.probability, model),
              seen,
              p,
              station.rate,
            ),
          ),
        );
      }
      return from(picks);
    });
    return concat(
      batches.pipe(
        map((batch) => {
          pending += batch.length;
          options.onPending?.(pending);
          const probs = infer(batch);
          // Its failure errors the stream when its turn comes, not as an unhandled rejection before.
          probs.catch(() => undefined);
          return { batch, probs };
        }),
        concatMap(({ batch, probs }) =>
          from(probs).pipe(
            concatMap((probsOf) =>
              concat(
                from(stitch(batch, probsOf)),
                reportOpen(() => new Set(batch.map((w) => stationKey(w.station)))),
              ),
            ),
          ),
        ),
      ),
      flushAll,
      reportOpen(() => pickers.keys()),
    );
  };
}
