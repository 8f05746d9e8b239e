import type { OperatorFunction, SchedulerLike } from 'rxjs';
import { ConfigError } from '../errors.ts';
import { stepOperator } from './operate.ts';
import type { StationWindow } from './types.ts';

/**
 * Windows of all stations -> batches for the network: a batch goes out when it holds `size` windows,
 * when its oldest window has waited `maxWaitMs` (so a quiet network still gets its picks in time), and
 * at completion with whatever is left. Order is kept.
 */

export interface BatchState<T> {
  pending: T[];
  /** When the oldest pending item came (scheduler ms). */
  oldestMs: number;
}

export interface BatchStep<T> {
  state: BatchState<T>;
  batches: T[][];
}

export function pushBatch<T>(state: BatchState<T>, item: T, nowMs: number, size: number): BatchStep<T> {
  const pending = [...state.pending, item];
  const oldestMs = state.pending.length === 0 ? nowMs : state.oldestMs;
  if (pending.length >= size) return { state: { pending: [], oldestMs: 0 }, batches: [pending] };
  return { state: { pending, oldestMs }, batches: [] };
}

/** Hands out what is pending (the wait is over, or the stream ended). */
export function releaseBatch<T>(state: BatchState<T>): BatchStep<T> {
  return { state: { pending: [], oldestMs: 0 }, batches: state.pending.length === 0 ? [] : [state.pending] };
}

export interface BatchWindowsOptions {
  /** Windows per batch at most. */
  size: number;
  /** How long the oldest window of a batch may wait for the batch to fill. */
  maxWaitMs: number;
  scheduler?: SchedulerLike;
}

export function batchWindows<T = StationWindow>(options: BatchWindowsOptions): OperatorFunction<T, T[]> {
  const { size, maxWaitMs } = options;
  if (!Number.isInteger(size) || size < 1)
    throw new ConfigError(`batch size must be a positive integer, got ${size}`);
  if (!(maxWaitMs >= 0)) throw new ConfigError(`maxWaitMs must be >= 0, got ${maxWaitMs}`);
  return stepOperator<T, T[]>(() => {
    let state: BatchState<T> = { pending: [], oldestMs: 0 };
    const take = (step: BatchStep<T>) => {
      state = step.state;
      return step.batches;
    };
    return {
      push: (item, nowMs) => take(pushBatch(state, item, nowMs, size)),
      flush: () => take(releaseBatch(state)),
      dueMs: () => (state.pending.length === 0 ? null : state.oldestMs + maxWaitMs),
      tick: () => take(releaseBatch(state)),
    };
  }, options.scheduler);
}
