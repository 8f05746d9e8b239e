import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { type Float32Pool, type Float64Pool, float32Pool } from '../util/array-pool.ts';
import { assembleSteps, checkAssembleOptions } from './assemble-station.ts';
import { mapSteps, perKeySteps, pipeSteps, type StepDriver, stepOperator } from './operate.ts';
import { channelKey, logGroupFailure, stationKeyOfStream } from './per-station.ts';
import type { ReportChannelEvent } from './report.ts';
import { createResampleState, resampleSteps } from './resample-channel.ts';
import { rotateWithAxes, type StationAxesLookup } from './rotate-to-zne.ts';
import {
  createSequenceState,
  type SequenceOptions,
  type SequenceRecord,
  sequenceSteps,
} from './sequence-channel.ts';
import { createWindowState, windowSteps } from './sliding-windows.ts';
import type { ChannelChunk, StationBlock, StationWindow } from './types.ts';

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
 *
 * It runs the operators' drivers (operate.ts), not the operators themselves: the same steps, the same
 * groups and the same order of outputs as `perChannel(sequenceChannel, resampleChannel)` then
 * `perStation(assembleStation, slidingWindows)` (the spec holds the two to it), without rxjs's
 * subscribers between them, which cost more than the steps themselves in live order.
 */
export function stationWindows(
  options: StationWindowsOptions,
): OperatorFunction<SequenceRecord, StationWindow> {
  const { samplingRate, components, report } = options;
  const onError = options.onError ?? logGroupFailure;
  const sequenceOptions = {
    maxReorderWaitMs: options.maxReorderWaitMs,
    maxPendingRecords: options.maxPendingRecords,
    clockJumpS: options.clockJumpS,
    report,
  };
  const windowOptions = {
    length: options.windowLength,
    stride: options.strideSamples,
    stagger: options.staggerWindows,
    components,
    clock: options.clock,
    windowData: options.windowData,
  };
  const assembleOptions = {
    components,
    samplingRate,
    maxLagMs: options.maxLagMs,
    shortGapFillS: options.shortGapFillS,
    endAfterIdleMs: options.endAfterIdleMs,
    report,
    chunkData: options.recordData,
  };
  // Bad options fail here, when the operator is made, as the named operators' do.
  createSequenceState({ network: '', station: '', location: '', channel: '' }, sequenceOptions);
  createResampleState(samplingRate);
  checkAssembleOptions(assembleOptions);
  createWindowState(windowOptions);
  return stepOperator(() => {
    // The blocks' arrays go round between assembly and windowing (src/util/array-pool.ts), per
    // subscription: a block is copied into its station's window buffer as soon as it is made, so
    // only the few blocks of one chunk are out at once; the rest are the classes' spares.
    const blockData = float32Pool(BLOCKS_POOLED);
    const station = (): StepDriver<ChannelChunk, StationWindow> => {
      let blocks = assembleSteps({ ...assembleOptions, blockData });
      if (options.sensorAxes) blocks = pipeSteps(blocks, mapSteps(rotateWithAxes(options.sensorAxes)));
      const { onBlock } = options;
      if (onBlock) {
        blocks = pipeSteps(
          blocks,
          mapSteps((block) => {
            onBlock(block);
            return block;
          }),
        );
      }
      return pipeSteps(blocks, windowSteps({ ...windowOptions, blockData }));
    };
    return pipeSteps(
      perKeySteps(
        (record: SequenceRecord) => channelKey(record.streamId),
        () => pipeSteps(sequenceSteps(sequenceOptions), resampleSteps(samplingRate)),
        onError,
      ),
      perKeySteps((chunk: ChannelChunk) => stationKeyOfStream(chunk.streamId), station, onError),
    );
  }, options.scheduler);
}
