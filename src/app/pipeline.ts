import type { Observable } from 'rxjs';
import type { Config } from '../config/schema.ts';
import type { InferenceEngine } from '../engine/engine.ts';
import { log } from '../log.ts';
import type { ModelCard } from '../model/card.ts';
import type { PhasePickerOptions } from '../picker/phase-picker.ts';
import type { Pick } from '../picker/pick.ts';
import { type PickPhasesOptions, pickPhases } from '../picker/pick-phases.ts';
import {
  batchWindows,
  type SequenceRecord,
  type StationWindowsOptions,
  stationWindows,
} from '../stream/index.ts';
import type { ChannelEvent } from '../stream/types.ts';
import { matchesStation } from '../util/station-pattern.ts';

/**
 * The one place where the flow is put together: decoded records (live or archived) -> per-channel
 * sequencing and resampling -> station assembly -> sliding windows -> batches across stations ->
 * inference, stitching and peak detection -> picks. Live picking and replay differ only in the source.
 */
export interface PipelineHooks {
  onChannelEvent?: (event: ChannelEvent) => void;
  onBatch?: (info: { windows: number; inferenceMs: number }) => void;
  onBlock?: StationWindowsOptions['onBlock'];
  onProbabilities?: PickPhasesOptions['onProbabilities'];
  onPending?: PickPhasesOptions['onPending'];
}

/** Picking options of one station: the card's defaults, the config's, then the station's own. */
export function pickerOptionsFor(card: ModelCard, config: Config, stationKey: string): PhasePickerOptions {
  const samples = (s: number) => Math.max(1, Math.round(s * card.samplingRate));
  const [network, station] = stationKey.split('.');
  const own = Object.entries(config.picker.stations).find(([pattern]) =>
    matchesStation(`${network}.${station}`, pattern),
  );
  return {
    classes: card.classes,
    minPeakHeight: {
      ...card.picking.minPeakHeight,
      ...config.picker.minPeakHeight,
      ...own?.[1].minPeakHeight,
    },
    minPeakDistanceSamples:
      config.picker.minPeakDistanceS === undefined
        ? card.picking.minPeakDistanceSamples
        : samples(config.picker.minPeakDistanceS),
    threshold: config.picker.threshold,
    reduce: config.picker.stitch,
    edgeBlindSamples: Math.round(config.picker.edgeBlindS * card.samplingRate),
  };
}

/** The stream layer's options for a model and a config (records -> windows). */
export function stationWindowsOptions(
  card: ModelCard,
  config: Config,
  hooks: PipelineHooks = {},
): StationWindowsOptions {
  return {
    samplingRate: card.samplingRate,
    components: card.componentOrder,
    windowLength: card.windowLength,
    strideSamples: Math.max(1, Math.round(config.picker.strideS * card.samplingRate)),
    maxReorderWaitMs: config.stream.maxReorderWaitMs,
    maxPendingRecords: config.stream.maxPendingRecords,
    clockJumpS: config.stream.clockJumpS,
    maxLagMs: config.stream.maxLagMs,
    shortGapFillS: config.stream.shortGapFillS,
    endAfterIdleMs: config.stream.endAfterIdleMs,
    report: hooks.onChannelEvent,
    onBlock: hooks.onBlock,
    onError: (key, error) =>
      log.error({ key, err: error }, 'a station pipeline failed; it restarts with its next data'),
  };
}

export function pickPipeline(
  records: Observable<SequenceRecord>,
  engine: InferenceEngine,
  config: Config,
  hooks: PipelineHooks = {},
): Observable<Pick> {
  const { card } = engine;
  return records.pipe(
    stationWindows(stationWindowsOptions(card, config, hooks)),
    batchWindows({ size: config.batching.size, maxWaitMs: config.batching.maxWaitMs }),
    pickPhases(engine, {
      pickerOptions: (key) => pickerOptionsFor(card, config, key),
      onBatch: hooks.onBatch,
      onProbabilities: hooks.onProbabilities,
      onPending: hooks.onPending,
    }),
  );
}
