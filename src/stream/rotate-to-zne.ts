import { map, type OperatorFunction } from 'rxjs';
import { timeUsFromIndex } from './grid.ts';
import { isIdentity, rotateBlock, type StationAxes, zneMatrix } from './rotate.ts';
import type { StationBlock, StationId } from './types.ts';

/** A station's sensor axes at a time (station metadata), or undefined when unknown. */
export type StationAxesLookup = (station: StationId, timeUs: number) => StationAxes | undefined;

/**
 * Station blocks rotated to Z, N, E with each station's real sensor axes (rotate.ts). Stations
 * without metadata, or whose sensors are already aligned, pass unchanged. Stateless: the axes are
 * looked up for each block's start, so a sensor re-oriented between metadata epochs is followed.
 */
export function rotateToZne(axesOf: StationAxesLookup): OperatorFunction<StationBlock, StationBlock> {
  return map(rotateWithAxes(axesOf));
}

/** One block rotated with its station's axes at its start (rotateToZne's step). */
export function rotateWithAxes(axesOf: StationAxesLookup): (block: StationBlock) => StationBlock {
  return (block) => {
    const axes = axesOf(block.station, timeUsFromIndex(block.startIndex, block.samplingRate));
    const matrix = axes && zneMatrix(axes);
    return matrix === undefined || isIdentity(matrix) ? block : rotateBlock(block, matrix);
  };
}
