import t from 'tap';
import { marbles } from '../../test/stream/marbles.ts';
import { mapSteps, perKeySteps, pipeSteps, type StepDriver, stepOperator } from './operate.ts';

interface Item {
  key: string;
  value: number;
}

/** Numbers a key's items from 1 (state per driver), fails on a negative value, and says `end` at the end. */
const counter = (): StepDriver<Item, string> => {
  let n = 0;
  return {
    push: ({ key, value }) => {
      if (value < 0) throw new Error(`bad value at ${key}`);
      n++;
      return [`${key}:${n}`];
    },
    flush: () => [`end after ${n}`],
  };
};

/**
 * Holds each input until `waitMs` after it came (a reorder wait), then puts it out; a later input
 * puts out what waits at once. Its state is the one waiting input.
 */
const holder = (waitMs: number): StepDriver<Item, string> => {
  let held: { item: Item; dueMs: number } | null = null;
  const release = () => {
    const out = held === null ? [] : [`${held.item.key}=${held.item.value}`];
    held = null;
    return out;
  };
  return {
    push: (item, nowMs) => {
      const out = release();
      if (item.value !== 0) held = { item, dueMs: nowMs + waitMs };
      return out;
    },
    flush: release,
    dueMs: () => held?.dueMs ?? null,
    tick: release,
  };
};

const item = (key: string, value = 1): Item => ({ key, value });

t.test(
  "pipeSteps: the first driver's outputs go through the second, in order, then both flush",
  async (t) => {
    const same = mapSteps((x: Item) => x);
    const doubled: StepDriver<Item, Item> = {
      push: (x) => [x, { ...x, value: x.value * 10 }],
      flush: () => [item('last', 5)],
    };
    marbles(t).run(({ cold, expectObservable }) => {
      const items = cold('-a-----b-----|', { a: item('A'), b: item('B') });
      const out = items.pipe(stepOperator(() => pipeSteps(pipeSteps(same, doubled), counter())));
      // Items of every key go through one counter here; the first driver's flush goes in before the
      // second's own.
      expectObservable(out).toBe('-(ab)--(cd)--(ef|)', {
        a: 'A:1',
        b: 'A:2',
        c: 'B:3',
        d: 'B:4',
        e: 'last:5',
        f: 'end after 5',
      });
    });
  },
);

t.test('perKeySteps: a driver per key; at the end they flush in the order their keys came', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const items = cold('-a-b-c-|', { a: item('B'), b: item('A'), c: item('B') });
    const out = items.pipe(
      stepOperator(() =>
        perKeySteps(
          (x: Item) => x.key,
          counter,
          (key) => t.fail(key),
        ),
      ),
    );
    expectObservable(out).toBe('-x-y-z-(uv|)', {
      x: 'B:1',
      y: 'A:1',
      z: 'B:2',
      u: 'end after 2',
      v: 'end after 1',
    });
  });
});

t.test('perKeySteps: a failing driver is reported and starts afresh; the other keys go on', async (t) => {
  const failures: [string, string][] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const items = cold('-a-b-c-d-e-|', {
      a: item('A'),
      b: item('B'),
      c: item('B', -1),
      d: item('A'),
      e: item('B'),
    });
    const onError = (key: string, error: unknown) => failures.push([key, (error as Error).message]);
    const out = items.pipe(stepOperator(() => perKeySteps((x: Item) => x.key, counter, onError)));
    expectObservable(out).toBe('-w-x---y-z-(uv|)', {
      w: 'A:1',
      x: 'B:1',
      y: 'A:2',
      // B's state started over.
      z: 'B:1',
      u: 'end after 2',
      v: 'end after 1',
    });
  });
  t.strictSame(failures, [['B', 'bad value at B']]);
});

t.test("perKeySteps: each key's wait ends at its own time, through one timer", async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    // A waits from frame 1 (due 11), B from 3 (due 13). A's next input at 5 releases A at once and
    // clears its wait: the timer, armed for 11, then finds only B due at 13. C waits from 7 until
    // the end, which releases it.
    const items = cold('-a-b-c-d-------|', { a: item('A'), b: item('B'), c: item('A', 0), d: item('C') });
    const out = items.pipe(
      stepOperator(() =>
        perKeySteps(
          (x: Item) => x.key,
          () => holder(10),
          (key) => t.fail(key),
        ),
      ),
    );
    expectObservable(out).toBe('-----x-------y-(z|)', { x: 'A=1', y: 'B=1', z: 'C=1' });
  });
});

t.test(
  'pipeSteps: a wait of either driver ends at its time, and what the first releases goes on',
  async (t) => {
    marbles(t).run(({ cold, expectObservable }) => {
      const items = cold('-a----|', { a: item('A', 7) });
      const relay: StepDriver<string, string> = { push: (s) => [`<${s}>`], flush: () => [] };
      const out = items.pipe(stepOperator(() => pipeSteps(holder(3), relay)));
      expectObservable(out).toBe('----x-|', { x: '<A=7>' });
    });
  },
);
