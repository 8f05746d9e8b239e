import type { OperatorFunction } from 'rxjs';
import { stepOperator } from '../stream/operate.ts';
import { type StationBlock, type StationWindow, stationKey } from '../stream/types.ts';
import { createLiveEdge, type LiveEdgeOptions, type LiveEdgeState, pushEdgeBlock } from './live-edge.ts';

/** A station's block as it arrived (the wall clock when it was assembled). */
export interface ArrivedBlock {
  block: StationBlock;
  arrivedAtMs: number;
}

/**
 * Blocks of any number of stations -> the live edge's windows (live-edge.ts `pushEdgeBlock`), each
 * station's lane state in the closure as plain data. Feed it the blocks the regular windows are cut
 * from (the `onBlock` hook of stationWindows), batch the result for `pickLiveEdge`.
 */
export function liveEdgeWindows(options: LiveEdgeOptions): OperatorFunction<ArrivedBlock, StationWindow> {
  createLiveEdge(options);
  return stepOperator<ArrivedBlock, StationWindow>(() => {
    const lanes = new Map<string, LiveEdgeState>();
    return {
      push: ({ block, arrivedAtMs }) => {
        const key = stationKey(block.station);
        const step = pushEdgeBlock(lanes.get(key) ?? createLiveEdge(options), options, block, arrivedAtMs);
        lanes.set(key, step.state);
        return step.windows;
      },
      flush: () => [],
    };
  });
}
