import t from 'tap';
import { marbles } from '../../test/stream/marbles.ts';
import { batchWindows, pushBatch, releaseBatch } from './batch-windows.ts';

t.test('a batch goes out when full, when its oldest waited maxWaitMs, and at completion', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const windows = cold('-a-b-c-d------e-|');
    expectObservable(windows.pipe(batchWindows<string>({ size: 3, maxWaitMs: 5 }))).toBe(
      '-----x------y---(z|)',
      {
        x: ['a', 'b', 'c'],
        y: ['d'],
        z: ['e'],
      },
    );
  });
});

t.test('the wait counts from the oldest window of the batch, not the newest', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const windows = cold('-a-b-------c-|');
    expectObservable(windows.pipe(batchWindows<string>({ size: 10, maxWaitMs: 5 }))).toBe(
      '------x------(y|)',
      {
        x: ['a', 'b'],
        y: ['c'],
      },
    );
  });
});

t.test('an empty stream gives no batch', async (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    expectObservable(cold('---|').pipe(batchWindows({ size: 2, maxWaitMs: 1 }))).toBe('---|');
  });
});

t.test('pure steps: full at size, release hands out the rest once', async (t) => {
  let state = { pending: [] as number[], oldestMs: 0 };
  const first = pushBatch(state, 1, 10, 2);
  t.strictSame(first, { state: { pending: [1], oldestMs: 10 }, batches: [] });
  state = first.state;
  const second = pushBatch(state, 2, 20, 2);
  t.strictSame(second.batches, [[1, 2]]);
  t.strictSame(releaseBatch(second.state).batches, []);
  t.strictSame(releaseBatch(first.state).batches, [[1]]);
});

t.test('bad options are refused', async (t) => {
  t.throws(() => batchWindows({ size: 0, maxWaitMs: 1 }), { name: 'ConfigError' });
  t.throws(() => batchWindows({ size: 2, maxWaitMs: -1 }), { name: 'ConfigError' });
});
