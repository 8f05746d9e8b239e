import type { OperatorFunction } from 'rxjs';
import { stepOperator } from '../stream/operate.ts';
import { type StationBlock, type StationWindow, stationKey } from '../stream/types.ts';
import type { Float32Pool } from '../util/array-pool.ts';
import { createLiveEdge, type LiveEdgeOptions, type LiveEdgeState, pushEdgeBlock } from './live-edge.ts';

/** A station's block as it arrived (the wall clock when it was assembled). */
export interface ArrivedBlock {
  block: StationBlock;
  arrivedAtMs: number;
}

export interface LiveEdgeWindowsOptions {
  /**
   * Asked at each block: false skips a window due then before it is normalized (the lane's
   * batches are all in the engine: `pickLiveEdge` would skip it anyway, after the cost of making it).
   */
  admit?: () => boolean;
  /** A due window skipped. */
  onSkipped?: (windows: number) => void;
  /** Where the windows' data come from (pickLiveEdge gives them back); new arrays without it. */
  windowData?: Float32Pool;
}

/**
 * Blocks of any number of stations -> the live edge's windows (live-edge.ts `pushEdgeBlock`), each
 * station's lane state in the closure as plain data. Feed it the blocks the regular windows are cut
 * from (the `onBlock` hook of stationWindows), batch the result for `pickLiveEdge`.
 */
export function liveEdgeWindows(
  options: LiveEdgeOptions,
  lane: LiveEdgeWindowsOptions = {},
): OperatorFunction<ArrivedBlock, StationWindow> {
  createLiveEdge(options);
  return stepOperator<ArrivedBlock, StationWindow>(() => {
    const lanes = new Map<string, LiveEdgeState>();
    const pool = lane.windowData;
    const into = pool ? (values: number) => pool.take(values) : undefined;
    return {
      push: ({ block, arrivedAtMs }) => {
        const key = stationKey(block.station);
        const step = pushEdgeBlock(
          lanes.get(key) ?? createLiveEdge(options),
          options,
          block,
          arrivedAtMs,
          lane.admit?.() ?? true,
          into,
        );
        lanes.set(key, step.state);
        if (step.skipped > 0) lane.onSkipped?.(step.skipped);
        return step.windows;
      },
      flush: () => [],
    };
  });
}
