import {
  asyncScheduler,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  type Subscription,
} from 'rxjs';

/**
 * The closure side of the stream operators: each keeps its state in a driver made per subscription and
 * delegates the arithmetic to pure step functions over plain data. `push` runs for every input, `flush`
 * once at completion, and `tick` when the time `dueMs` names comes (scheduler clock; re-armed after
 * every step), for waits such as a reorder buffer's. A step that throws errors the output; the
 * per-station helpers catch that per group.
 */
export interface StepDriver<I, O> {
  push(input: I, nowMs: number): O[];
  /** At completion (`nowMs`: the clock then, for what a composed driver's flush pushes on). */
  flush(nowMs: number): O[];
  /** When `tick` should run next (scheduler milliseconds), or null for never. */
  dueMs?(): number | null;
  tick?(nowMs: number): O[];
}

export function stepOperator<I, O>(
  create: () => StepDriver<I, O>,
  scheduler: SchedulerLike = asyncScheduler,
): OperatorFunction<I, O> {
  return (source) =>
    new Observable<O>((subscriber) => {
      const driver = create();
      let timer: Subscription | undefined;
      let timerDueMs: number | null = null;
      const disarm = () => {
        timer?.unsubscribe();
        timer = undefined;
        timerDueMs = null;
      };
      // A timer armed for an earlier time stays: when it fires it asks `dueMs` again and re-arms for a
      // later one. An idle timeout moves later with every input; re-arming it each time (a clear and
      // a set of a timer per record and channel) was a measurable share of a live pipeline's loop.
      const arm = () => {
        const due = driver.dueMs?.() ?? null;
        if (due === null || driver.tick === undefined) {
          disarm();
          return;
        }
        if (timerDueMs !== null && timerDueMs <= due) return;
        disarm();
        const tick = driver.tick;
        timerDueMs = due;
        timer = scheduler.schedule(
          () => {
            timer = undefined;
            timerDueMs = null;
            const now = scheduler.now();
            const dueNow = driver.dueMs?.() ?? null;
            if (dueNow === null) return;
            if (dueNow > now) arm();
            else {
              let outputs: O[];
              try {
                outputs = tick(now);
              } catch (error) {
                fail(error);
                return;
              }
              emit(outputs);
            }
          },
          Math.max(0, due - scheduler.now()),
        );
      };
      const fail = (error: unknown) => {
        disarm();
        subscriber.error(error);
      };
      const emit = (outputs: O[]) => {
        for (const output of outputs) subscriber.next(output);
        arm();
      };
      const subscription = source.subscribe({
        // No closure per input: one per input and operator was ~20,000 a second at 5,000 live stations.
        next: (input) => {
          let outputs: O[];
          try {
            outputs = driver.push(input, scheduler.now());
          } catch (error) {
            fail(error);
            return;
          }
          emit(outputs);
        },
        error: fail,
        complete: () => {
          disarm();
          let outputs: O[];
          try {
            outputs = driver.flush(scheduler.now());
          } catch (error) {
            subscriber.error(error);
            return;
          }
          for (const output of outputs) subscriber.next(output);
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        disarm();
      };
    });
}

/**
 * Drivers composed without rxjs between them: what stationWindows runs for every record. Each hop of
 * the rxjs composition (a group's Subject, an operator's subscriber, mergeMap's inner subscriber) is a
 * handful of objects per station that a record touches once and then leaves cold until that station's
 * next record: in live order (every station's records interleaved) those hops cost the stream layer
 * more than its arithmetic (bench/stream-order.ts). The composition mirrors `pipe` and `groupBy`.
 */

const NOTHING: never[] = [];

/** The earlier of two due times (null: none). */
function earlier(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** When a driver wants its tick, or null (never, or it has no tick). */
function dueOf(driver: StepDriver<unknown, unknown>): number | null {
  return driver.tick === undefined ? null : (driver.dueMs?.() ?? null);
}

/** Two drivers in a row, as `pipe` puts two operators in a row. */
export function pipeSteps<A, B, C>(first: StepDriver<A, B>, second: StepDriver<B, C>): StepDriver<A, C> {
  const into = (middle: B[], nowMs: number): C[] => {
    if (middle.length === 0) return NOTHING;
    if (middle.length === 1) return second.push(middle[0], nowMs);
    const outputs: C[] = [];
    for (const item of middle) for (const output of second.push(item, nowMs)) outputs.push(output);
    return outputs;
  };
  return {
    push: (input, nowMs) => into(first.push(input, nowMs), nowMs),
    flush: (nowMs) => [...into(first.flush(nowMs), nowMs), ...second.flush(nowMs)],
    dueMs: () => earlier(dueOf(first), dueOf(second)),
    tick: (nowMs) => {
      const firstDue = dueOf(first);
      const outputs = firstDue !== null && firstDue <= nowMs ? [...into(first.tick!(nowMs), nowMs)] : [];
      const secondDue = dueOf(second);
      if (secondDue !== null && secondDue <= nowMs) outputs.push(...second.tick!(nowMs));
      return outputs;
    },
  };
}

/** A driver that maps every input to one output and keeps nothing. */
export function mapSteps<I, O>(project: (input: I) => O): StepDriver<I, O> {
  return { push: (input) => [project(input)], flush: () => NOTHING };
}

/**
 * A driver per key, as perKey (per-station.ts) runs a pipeline per group: `create` makes a key's
 * driver at its first input. A driver that throws is reported through `onError` and dropped; the
 * key's next input starts a new one, and the other keys go on. At the end, the drivers flush in the
 * order their keys first came.
 */
export function perKeySteps<I, O>(
  keyOf: (input: I) => string,
  create: (input: I) => StepDriver<I, O>,
  onError: (key: string, error: unknown) => void,
): StepDriver<I, O> {
  const drivers = new Map<string, StepDriver<I, O>>();
  // No later than any driver's due time, possibly earlier (a driver's wait may have ended since): a
  // tick then finds nothing due and computes it afresh. Exact after every step, it would cost a pass
  // over thousands of stations per record.
  let earliest: number | null = null;
  const fail = (key: string, error: unknown): O[] => {
    drivers.delete(key);
    onError(key, error);
    return NOTHING;
  };
  const guard = (key: string, step: () => O[]): O[] => {
    try {
      return step();
    } catch (error) {
      return fail(key, error);
    }
  };
  return {
    // Every record comes here (twice in stationWindows): no `guard` closure made per record.
    push: (input, nowMs) => {
      const key = keyOf(input);
      try {
        let driver = drivers.get(key);
        if (driver === undefined) {
          driver = create(input);
          drivers.set(key, driver);
        }
        const outputs = driver.push(input, nowMs);
        earliest = earlier(earliest, dueOf(driver));
        return outputs;
      } catch (error) {
        return fail(key, error);
      }
    },
    flush: (nowMs) => {
      const outputs: O[] = [];
      for (const [key, driver] of drivers) outputs.push(...guard(key, () => driver.flush(nowMs)));
      return outputs;
    },
    dueMs: () => earliest,
    tick: (nowMs) => {
      const outputs: O[] = [];
      earliest = null;
      for (const [key, driver] of drivers) {
        const due = dueOf(driver);
        if (due !== null && due <= nowMs) outputs.push(...guard(key, () => driver.tick!(nowMs)));
        if (drivers.has(key)) earliest = earlier(earliest, dueOf(driver));
      }
      return outputs;
    },
  };
}
