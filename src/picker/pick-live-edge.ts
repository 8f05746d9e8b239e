import { concatMap, from, type OperatorFunction } from 'rxjs';
import type { InferenceEngine } from '../engine/engine.ts';
import { type StationWindow, stationKey } from '../stream/types.ts';
import { type EdgePeakOptions, type EdgePeakState, edgePeaks } from './live-edge.ts';
import { makePick, type Pick } from './pick.ts';

export interface PickLiveEdgeOptions {
  /** Peak options of a station (its thresholds and distance, and the guard at the window's end). */
  peakOptions: (stationKey: string) => EdgePeakOptions;
  onBatch?: (info: { windows: number; inferenceMs: number }) => void;
}

/**
 * Batches of live-edge windows (all of the model's length) -> provisional picks: the network runs on
 * each batch, and each window's new peaks (live-edge.ts `edgePeaks`) come out at once with status
 * `provisional`. What was given per station is kept in the closure as plain data.
 */
export function pickLiveEdge(
  engine: InferenceEngine,
  options: PickLiveEdgeOptions,
): OperatorFunction<StationWindow[], Pick> {
  return (batches) => {
    const given = new Map<string, EdgePeakState>();
    const model = engine.card.name;
    const classes = engine.card.classes.length;
    const run = async (batch: StationWindow[]): Promise<Pick[]> => {
      const { length } = batch[0];
      const channels = batch[0].components.length;
      const input = new Float32Array(batch.length * length * channels);
      for (const [i, w] of batch.entries()) input.set(w.data, i * length * channels);
      const started = performance.now();
      const { probs } = await engine.run(input, batch.length, length);
      options.onBatch?.({ windows: batch.length, inferenceMs: performance.now() - started });
      return batch.flatMap((window, i) => {
        const key = stationKey(window.station);
        const step = edgePeaks(
          given.get(key) ?? {},
          options.peakOptions(key),
          window.startIndex,
          probs.subarray(i * length * classes, (i + 1) * length * classes),
        );
        given.set(key, step.state);
        return step.peaks.map((p) => ({
          ...makePick(window.station, p.phase, p.sample, window.samplingRate, p.probability, model),
          status: 'provisional' as const,
        }));
      });
    };
    return batches.pipe(concatMap((batch) => from(run(batch)).pipe(concatMap((picks) => from(picks)))));
  };
}
