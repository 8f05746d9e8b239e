import { asyncScheduler, map, merge, type Observable, observeOn, Subject } from 'rxjs';
import type { Config } from '../config/schema.ts';
import type { InferenceEngine } from '../engine/engine.ts';
import { log } from '../log.ts';
import type { LifecycleInput } from '../picker/lifecycle.ts';
import type { LiveEdgeOptions } from '../picker/live-edge.ts';
import { type ArrivedBlock, liveEdgeWindows } from '../picker/live-edge-windows.ts';
import type { Pick } from '../picker/pick.ts';
import { pickLifecycle } from '../picker/pick-lifecycle.ts';
import { LANE_BATCHES_IN_FLIGHT, pickLiveEdge } from '../picker/pick-live-edge.ts';
import type { PickPhasesOptions } from '../picker/pick-phases.ts';
import { timeUsFromIndex } from '../stream/grid.ts';
import { batchWindows } from '../stream/index.ts';
import type { StationBlock } from '../stream/types.ts';
import { stationKey } from '../stream/types.ts';
import { float32Pool } from '../util/array-pool.ts';
import { batchSizeFor, type PipelineHooks, pickerOptionsFor } from './pipeline.ts';

/** Edge window arrays kept for reuse: the lane holds at most two batches and one filling. */
const LANE_WINDOWS_POOLED = 128;

/** What the regular path gives the lane: its blocks, its stitched frontiers, and its end. */
export interface LaneTaps {
  onBlock: (block: StationBlock) => void;
  onProbabilities: NonNullable<PickPhasesOptions['onProbabilities']>;
  end: () => void;
}

/** The lane's options from the config, in samples of the model's rate. */
export function liveEdgeOptions(config: Config, samplingRate: number, length: number): LiveEdgeOptions {
  const edge = config.picker.liveEdge;
  const samples = (s: number) => Math.max(1, Math.round(s * samplingRate));
  return {
    length,
    strideSamples: samples(edge.strideS),
    trigger:
      edge.trigger.ratio === 0
        ? null
        : {
            staSamples: samples(edge.trigger.staS),
            ratio: edge.trigger.ratio,
            holdSamples: samples(edge.trigger.holdS),
          },
  };
}

/**
 * The regular path (`finals`, given the lane's taps) with the live-edge lane beside it: the blocks the
 * regular windows are cut from also feed edge windows, which batch among themselves (so they never
 * wait behind regular batches) and run on the same engine; their provisional picks and the final
 * picks go through the lifecycle (src/picker/lifecycle.ts). Final picks are those of the regular path
 * unchanged.
 */
export function liveEdgePipeline(
  engine: InferenceEngine,
  config: Config,
  hooks: PipelineHooks,
  finals: (taps: LaneTaps) => Observable<Pick>,
  clock: () => number = Date.now,
): Observable<Pick> {
  const { card } = engine;
  const edge = config.picker.liveEdge;
  const blocks = new Subject<ArrivedBlock>();
  let skipped = 0;
  let warnedAtMs = 0;
  let inFlight = 0;
  // The edge windows' arrays go round between the lane's two operators, as the regular ones do.
  const windowData = float32Pool(LANE_WINDOWS_POOLED);
  const onSkipped = (windows: number) => {
    hooks.onEdgeSkipped?.(windows);
    skipped += windows;
    const now = clock();
    if (now - warnedAtMs >= 60_000) {
      log.warn(
        { skippedWindows: skipped, sinceMs: warnedAtMs === 0 ? undefined : now - warnedAtMs },
        'live-edge lane behind the data: edge windows skipped (fewer provisional picks; final picks are not affected)',
      );
      skipped = 0;
      warnedAtMs = now;
    }
  };
  const frontiers = new Subject<LifecycleInput>();
  const taps: LaneTaps = {
    onBlock: (block) => {
      hooks.onBlock?.(block);
      blocks.next({ block, arrivedAtMs: clock() });
    },
    onProbabilities: (station, rate, segment) => {
      hooks.onProbabilities?.(station, rate, segment);
      const key = stationKey(station);
      const end = segment.start + segment.probs.length / card.classes.length;
      const reach = pickerOptionsFor(card, config, key).minPeakDistanceSamples + 1;
      frontiers.next({ kind: 'frontier', station: key, timeUs: timeUsFromIndex(end - reach, rate) });
    },
    end: () => {
      blocks.complete();
      frontiers.complete();
    },
  };
  const provisional = blocks.pipe(
    liveEdgeWindows(liveEdgeOptions(config, card.samplingRate, card.windowLength), {
      admit: () => inFlight < LANE_BATCHES_IN_FLIGHT,
      onSkipped,
      windowData,
    }),
    batchWindows({ size: batchSizeFor(engine, config), maxWaitMs: edge.maxWaitMs }),
    pickLiveEdge(engine, {
      peakOptions: (key) => ({
        ...pickerOptionsFor(card, config, key),
        guardSamples: Math.round(edge.guardS * card.samplingRate),
        lookbackSamples: Math.round(edge.lookbackS * card.samplingRate),
        minProvisionalHeight: edge.minProbability,
      }),
      onBatch: (info) => {
        hooks.onBatch?.(info);
        hooks.onEdgeBatch?.(info);
      },
      onSkipped,
      onInFlight: (batches) => {
        inFlight = batches;
      },
      windowData,
    }),
    map((pick): LifecycleInput => ({ kind: 'provisional', pick })),
  );
  const final = finals(taps).pipe(map((pick): LifecycleInput => ({ kind: 'final', pick })));
  // pickPhases tells a frontier (onProbabilities) before it emits the picks of the same batch, all
  // in one task: a frontier taken a task later comes after every pick it accounts for.
  return merge(provisional, frontiers.pipe(observeOn(asyncScheduler)), final).pipe(
    pickLifecycle({ matchToleranceUs: Math.round(edge.matchToleranceS * 1e6) }),
  );
}
