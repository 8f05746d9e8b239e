import type { OperatorFunction } from 'rxjs';
import { stepOperator } from '../stream/operate.ts';
import {
  endLifecycle,
  type LifecycleInput,
  type LifecycleOptions,
  type LifecycleState,
  stepLifecycle,
} from './lifecycle.ts';
import type { Pick } from './pick.ts';

/**
 * Provisional picks, final picks and the stitched path's frontiers (merged, in arrival order) ->
 * every pick's life as it happens (lifecycle.ts): provisional, then final (same id), revised (with
 * `finalId`) or retracted. At completion, what is still provisional is retracted.
 */
export function pickLifecycle(options: LifecycleOptions): OperatorFunction<LifecycleInput, Pick> {
  return stepOperator<LifecycleInput, Pick>(() => {
    let state: LifecycleState = {};
    const take = (step: { state: LifecycleState; picks: Pick[] }) => {
      state = step.state;
      return step.picks;
    };
    return {
      push: (input) => take(stepLifecycle(state, options, input)),
      flush: () => take(endLifecycle(state)),
    };
  });
}
