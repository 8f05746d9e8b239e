import { finalize, identity, map, type Observable } from 'rxjs';
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
import { type Float64Pool, float32Pool } from '../util/array-pool.ts';
import { matchesStation } from '../util/station-pattern.ts';
import { liveEdgePipeline } from './live-edge-pipeline.ts';

/**
 * The one place where the flow is put together: decoded records (live or archived) -> per-channel
 * sequencing and resampling -> station assembly -> sliding windows -> batches across stations ->
 * inference, stitching and peak detection -> picks. Live picking and replay differ only in the source.
 */
export interface PipelineHooks {
  onChannelEvent?: (event: ChannelEvent) => void;
  onBatch?: (info: { windows: number; inferenceMs: number }) => void;
  /** Batches of the live-edge lane (also given to onBatch). */
  onEdgeBatch?: (info: { windows: number; inferenceMs: number }) => void;
  /** Edge windows the live-edge lane skipped, its engine share being full (pick-live-edge.ts). */
  onEdgeSkipped?: (windows: number) => void;
  onBlock?: StationWindowsOptions['onBlock'];
  onProbabilities?: PickPhasesOptions['onProbabilities'];
  onOpenSample?: PickPhasesOptions['onOpenSample'];
  onPending?: PickPhasesOptions['onPending'];
  /** Sensor axes from station metadata (StationXML), to rotate Z12 stations to ZNE. */
  sensorAxes?: StationWindowsOptions['sensorAxes'];
  /** A pick with its station's coordinates, from station metadata. */
  locate?: (pick: Pick) => Pick;
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

/**
 * Windows per batch: the config's, else 32 on a CPU (onnxruntime's windows/s level off there) and 1024
 * on a GPU, where a batch costs little more than one window until the device is full. Batches fill
 * across stations; a batch that has not filled goes out after `batching.maxWaitMs` all the same.
 */
export function batchSizeFor(engine: InferenceEngine, config: Config): number {
  return config.batching.size ?? (engine.device === 'gpu' ? 1024 : 32);
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
    staggerWindows: config.picker.staggerWindows,
    maxReorderWaitMs: config.stream.maxReorderWaitMs,
    maxPendingRecords: config.stream.maxPendingRecords,
    clockJumpS: config.stream.clockJumpS,
    maxLagMs: config.stream.maxLagMs,
    shortGapFillS: config.stream.shortGapFillS,
    endAfterIdleMs: config.stream.endAfterIdleMs,
    report: hooks.onChannelEvent,
    onBlock: hooks.onBlock,
    sensorAxes: hooks.sensorAxes,
    onError: (key, error) =>
      log.error({ key, err: error }, 'a station pipeline failed; it restarts with its next data'),
  };
}

/**
 * Window arrays kept for reuse: the windows between the stream layer and the picker at a peak (a
 * batch filling and those waiting for or in inference: ~600 at 5,000 live stations with the engine
 * backed up; a pool of 256 still allocated 300 windows a second there). The pool holds only arrays
 * that were in use at once before: 37 MB at most of 3,000 x 3 samples (the limit is per size class).
 */
export const WINDOWS_POOLED = 1024;

/**
 * Record sample arrays kept for reuse between the decoder and station assembly (decodeRecords'
 * `sampleData`, the pipeline's `recordData`): a record's array comes back once its samples are in a
 * block, a few seconds after it came, so the pool holds the turnover, not the records in flight: 256
 * per size class (512-byte Steim2 records of 100 Hz data fall in a handful), under 1 MB each.
 */
export const RECORDS_POOLED = 256;

export interface PickPipelineOptions {
  /** Run the live-edge lane (config picker.liveEdge): provisional picks and their lifecycle. */
  liveEdge?: boolean;
  /** The pool the records' sample arrays were decoded into, to give them back (StationWindowsOptions). */
  recordData?: Float64Pool;
}

export function pickPipeline(
  records: Observable<SequenceRecord>,
  engine: InferenceEngine,
  config: Config,
  hooks: PipelineHooks = {},
  options: PickPipelineOptions = {},
): Observable<Pick> {
  const { card } = engine;
  const pickerOptions = (key: string) => pickerOptionsFor(card, config, key);
  const finals = (windowsOptions: StationWindowsOptions, onProbabilities = hooks.onProbabilities) => {
    // The windows' arrays go round between the stream layer and the picker (src/util/array-pool.ts).
    const windowData = float32Pool(WINDOWS_POOLED);
    return records.pipe(
      stationWindows({ ...windowsOptions, windowData, recordData: options.recordData }),
      batchWindows({ size: batchSizeFor(engine, config), maxWaitMs: config.batching.maxWaitMs }),
      pickPhases(engine, {
        pickerOptions,
        windowData,
        onBatch: hooks.onBatch,
        onProbabilities,
        onOpenSample: hooks.onOpenSample,
        onPending: hooks.onPending,
      }),
    );
  };
  const picks =
    options.liveEdge && config.picker.liveEdge.enabled
      ? liveEdgePipeline(engine, config, hooks, (lane) =>
          finals(
            { ...stationWindowsOptions(card, config, hooks), onBlock: lane.onBlock },
            lane.onProbabilities,
          ).pipe(finalize(lane.end)),
        )
      : finals(stationWindowsOptions(card, config, hooks));
  return picks.pipe(hooks.locate ? map(hooks.locate) : identity);
}
