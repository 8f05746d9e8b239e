import { identity, type OperatorFunction, type SchedulerLike, tap } from 'rxjs';
import { type Float32Pool, type Float64Pool, float32Pool } from '../util/array-pool.ts';
import { assembleStation } from './assemble-station.ts';
import { perChannel, perStation } from './per-station.ts';
import type { ReportChannelEvent } from './report.ts';
import { resampleChannel } from './resample-channel.ts';
import { rotateToZne, type StationAxesLookup } from './rotate-to-zne.ts';
import { type SequenceOptions, type SequenceRecord, sequenceChannel } from './sequence-channel.ts';
import { slidingWindows } from './sliding-windows.ts';
import type { StationBlock, StationWindow } from './types.ts';

/** Spare block arrays kept per size class: a block is given back before the next one is made. */
const BLOCKS_POOLED = 16;

/** Everything between decoded records and the batcher, for one model. */
export interface StationWindowsOptions extends SequenceOptions {
  /** The model's rate (card.samplingRate). */
  samplingRate: number;
  /** The model's component order (card.componentOrder). */
  components: string[];
  /** card.windowLength. */
  windowLength: number;
  strideSamples: number;
  /** Each station's windows at its own offset within the stride (slidingWindows' `stagger`). */
  staggerWindows?: boolean;
  maxLagMs?: number;
  shortGapFillS?: number;
  endAfterIdleMs?: number;
  report?: ReportChannelEvent;
  /** A channel or station pipeline failed (it restarts with its next data). */
  onError?: (key: string, error: unknown) => void;
  /**
   * Each assembled block of a station, before windowing (what the live page draws). Read its data
   * during the call: once windowed, the block's array carries a later block.
   */
  onBlock?: (block: StationBlock) => void;
  /** Stations' sensor axes (StationXML): their blocks are rotated to Z, N, E before windowing. */
  sensorAxes?: StationAxesLookup;
  scheduler?: SchedulerLike;
  /** Wall clock for `receivedAtMs`. Default Date.now. */
  clock?: () => number;
  /** Arrays for the windows' normalized data, given back by the picker (see slidingWindows). */
  windowData?: Float32Pool;
  /**
   * Where the records' sample arrays go once assembled (see assembleStation's `chunkData`): the pool
   * decodeRecords' `sampleData` takes them from. Only for records nothing else holds on to.
   */
  recordData?: Float64Pool;
}

/**
 * Decoded records of any number of stations -> normalized windows: per channel sequenceChannel and
 * resampleChannel, per station assembleStation and slidingWindows. Feed it from decodeRecords (SeedLink)
 * or an archive reader; batch the result with batchWindows.
 */
export function stationWindows(
  options: StationWindowsOptions,
): OperatorFunction<SequenceRecord, StationWindow> {
  const { samplingRate, components, report, scheduler } = options;
  return (records) => {
    // The blocks' arrays go round between assembly and windowing (src/util/array-pool.ts), per
    // subscription: a block is copied into its station's window buffer as soon as it is made, so
    // only the few blocks of one chunk are out at once; the rest are the classes' spares.
    const blockData = float32Pool(BLOCKS_POOLED);
    return records.pipe(
      perChannel(
        (channel) =>
          channel.pipe(
            sequenceChannel({
              maxReorderWaitMs: options.maxReorderWaitMs,
              maxPendingRecords: options.maxPendingRecords,
              clockJumpS: options.clockJumpS,
              report,
              scheduler,
            }),
            resampleChannel(samplingRate),
          ),
        { onError: options.onError },
      ),
      perStation(
        (station) =>
          station.pipe(
            assembleStation({
              components,
              samplingRate,
              maxLagMs: options.maxLagMs,
              shortGapFillS: options.shortGapFillS,
              endAfterIdleMs: options.endAfterIdleMs,
              report,
              scheduler,
              blockData,
              chunkData: options.recordData,
            }),
            options.sensorAxes ? rotateToZne(options.sensorAxes) : identity,
            tap((block) => options.onBlock?.(block)),
            slidingWindows({
              length: options.windowLength,
              stride: options.strideSamples,
              stagger: options.staggerWindows,
              components,
              clock: options.clock,
              windowData: options.windowData,
              blockData,
            }),
          ),
        { onError: options.onError },
      ),
    );
  };
}
