import { concatMap, from, type OperatorFunction } from 'rxjs';
import type { InferenceEngine } from '../engine/engine.ts';
import { type StationWindow, stationKey } from '../stream/types.ts';
import type { Float32Pool } from '../util/array-pool.ts';
import { engineBatches } from './batch-buffers.ts';
import { type EdgePeakOptions, type EdgePeakState, edgePeaks } from './live-edge.ts';
import { makePick, type Pick } from './pick.ts';

export interface PickLiveEdgeOptions {
  /** Peak options of a station (its thresholds and distance, and the guard at the window's end). */
  peakOptions: (stationKey: string) => EdgePeakOptions;
  onBatch?: (info: { windows: number; inferenceMs: number }) => void;
  /** A batch skipped because LANE_BATCHES_IN_FLIGHT were in the engine already: its window count. */
  onSkipped?: (windows: number) => void;
  /** The lane's batches in the engine, each time that changes (what liveEdgeWindows' `admit` asks). */
  onInFlight?: (batches: number) => void;
  /** Where the windows' data go once copied into a batch (or skipped): liveEdgeWindows' pool. */
  windowData?: Float32Pool;
}

/**
 * The lane's batches in the engine at once, at most. The lane is best effort: when the engine's
 * queue is long (the regular path keeps it busy, or the loop is behind in taking replies), a batch that
 * finds this many in flight is skipped rather than queued, so that the lane neither takes the cores
 * the final picks need nor piles up windows whose provisional picks would come too late to matter.
 * Each station's next edge window looks again (its lookback), and its final picks come regardless.
 */
export const LANE_BATCHES_IN_FLIGHT = 2;

/**
 * Batches of live-edge windows (all of the model's length) -> provisional picks: the network runs on
 * each batch, and each window's new peaks (live-edge.ts `edgePeaks`) come out at once with status
 * `provisional`. What was given per station is kept in the closure as plain data.
 *
 * A batch goes to the engine as soon as it comes (up to LANE_BATCHES_IN_FLIGHT), and the peaks follow
 * in batch order, as in pickPhases: taking the next batch only once the last one's picks were out let
 * the lane run one batch per round trip of an engine thread whose queue also holds the regular
 * batches (~0.6 s at 5,000 live stations), ~50 windows a second where the data called for hundreds,
 * so its queue of batches, and its picks' delay, grew without bound.
 */
export function pickLiveEdge(
  engine: InferenceEngine,
  options: PickLiveEdgeOptions,
): OperatorFunction<StationWindow[], Pick> {
  return (batches) => {
    const given = new Map<string, EdgePeakState>();
    const model = engine.card.name;
    const classes = engine.card.classes.length;
    const batchesOf = engineBatches(engine);
    const infer = async (batch: StationWindow[]): Promise<Float32Array> => {
      const data = batch.map((w) => w.data);
      const run = batchesOf.run(data, batch[0].length);
      giveBack(batch);
      const { probs, inferenceMs } = await run;
      options.onBatch?.({ windows: batch.length, inferenceMs });
      return probs;
    };
    const giveBack = (batch: StationWindow[]) => {
      for (const window of batch) options.windowData?.give(window.data);
    };
    const peaks = (batch: StationWindow[], probs: Float32Array): Pick[] => {
      const { length } = batch[0];
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
    let inFlight = 0;
    return batches.pipe(
      concatMap((batch) => {
        if (inFlight >= LANE_BATCHES_IN_FLIGHT) {
          giveBack(batch);
          options.onSkipped?.(batch.length);
          return [];
        }
        options.onInFlight?.(++inFlight);
        const probs = infer(batch).finally(() => options.onInFlight?.(--inFlight));
        // Its failure errors the stream when its turn comes, not as an unhandled rejection before.
        probs.catch(() => undefined);
        return [{ batch, probs }];
      }),
      concatMap(({ batch, probs }) =>
        from(probs).pipe(
          concatMap((p) => {
            const picks = peaks(batch, p);
            batchesOf.release(p);
            return from(picks);
          }),
        ),
      ),
    );
  };
}
