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
  flush(): O[];
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
            else run(() => tick(now));
          },
          Math.max(0, due - scheduler.now()),
        );
      };
      const run = (step: () => O[]) => {
        let outputs: O[];
        try {
          outputs = step();
        } catch (error) {
          disarm();
          subscriber.error(error);
          return;
        }
        for (const output of outputs) subscriber.next(output);
        arm();
      };
      const subscription = source.subscribe({
        next: (input) => run(() => driver.push(input, scheduler.now())),
        error: (error) => {
          disarm();
          subscriber.error(error);
        },
        complete: () => {
          disarm();
          let outputs: O[];
          try {
            outputs = driver.flush();
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
