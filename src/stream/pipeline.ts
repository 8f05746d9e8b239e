import { identity, type OperatorFunction, type SchedulerLike, tap } from 'rxjs';
import type { Float32Pool } from '../util/float32-pool.ts';
import { assembleStation } from './assemble-station.ts';
import { perChannel, perStation } from './per-station.ts';
import type { ReportChannelEvent } from './report.ts';
import { resampleChannel } from './resample-channel.ts';
import { rotateToZne, type StationAxesLookup } from './rotate-to-zne.ts';
import { type SequenceOptions, type SequenceRecord, sequenceChannel } from './sequence-channel.ts';
import { slidingWindows } from './sliding-windows.ts';
import type { StationBlock, StationWindow } from './types.ts';

/** Everything between decoded records and the batcher, for one model. */
export interface StationWindowsOptions extends SequenceOptions {
  /** The model's rate (card.samplingRate). */
  samplingRate: number;
  /** The model's component order (card.componentOrder). */
  components: string[];
  /** card.windowLength. */
  windowLength: number;
  strideSamples: number;
  maxLagMs?: number;
  shortGapFillS?: number;
  endAfterIdleMs?: number;
  report?: ReportChannelEvent;
  /** A channel or station pipeline failed (it restarts with its next data). */
  onError?: (key: string, error: unknown) => void;
  /** Each assembled block of a station, before windowing (what the live page draws). */
  onBlock?: (block: StationBlock) => void;
  /** Stations' sensor axes (StationXML): their blocks are rotated to Z, N, E before windowing. */
  sensorAxes?: StationAxesLookup;
  scheduler?: SchedulerLike;
  /** Wall clock for `receivedAtMs`. Default Date.now. */
  clock?: () => number;
  /** Arrays for the windows' normalized data, given back by the picker (see slidingWindows). */
  windowData?: Float32Pool;
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
  return (records) =>
    records.pipe(
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
            }),
            options.sensorAxes ? rotateToZne(options.sensorAxes) : identity,
            tap((block) => options.onBlock?.(block)),
            slidingWindows({
              length: options.windowLength,
              stride: options.strideSamples,
              components,
              clock: options.clock,
              windowData: options.windowData,
            }),
          ),
        { onError: options.onError },
      ),
    );
}
