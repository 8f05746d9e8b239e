import t from 'tap';
import { float32Pool } from '../../src/util/float32-pool.ts';

t.test('an array given back is taken again for its length, not for another', async (t) => {
  const pool = float32Pool(4);
  const a = new Float32Array(9000);
  const b = new Float32Array(300);
  pool.give(a);
  pool.give(b);
  t.equal(pool.take(9000), a, 'the same array for its length');
  const other = pool.take(9000);
  t.not(other, a, 'once taken it is not handed out twice');
  t.equal(other.length, 9000, 'a new one when none is free');
  t.equal(pool.take(300), b, 'an array of another length waits for its own');
});

t.test('at most `limit` arrays wait; views of a larger buffer are not kept', async (t) => {
  const pool = float32Pool(2);
  const kept: Float32Array[] = [new Float32Array(10), new Float32Array(10)];
  for (const array of kept) pool.give(array);
  pool.give(new Float32Array(10));
  const first = pool.take(10);
  const second = pool.take(10);
  t.ok(kept.includes(first) && kept.includes(second) && first !== second, 'the first two were kept');
  t.notOk(kept.includes(pool.take(10)), 'the third was left to the collector');
  const whole = new Float32Array(20);
  pool.give(whole.subarray(0, 10));
  t.not(pool.take(10).buffer, whole.buffer, 'a view would hand out memory another array still uses');
});
