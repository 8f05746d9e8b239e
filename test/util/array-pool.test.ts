import t from 'tap';
import { float32Pool, float64Pool } from '../../src/util/array-pool.ts';

t.test('a buffer given back is taken again for a length its size class holds', async (t) => {
  const pool = float32Pool(4);
  const first = pool.take(9000);
  t.equal(first.length, 9000);
  t.ok(
    first.buffer.byteLength >= 9000 * 4 && first.buffer.byteLength <= 1.1 * 9000 * 4,
    'at most ~9 % more room',
  );
  pool.give(first);
  const again = pool.take(9000);
  t.equal(again.buffer, first.buffer, 'the same buffer');
  t.equal(again.byteOffset, 0);
  t.equal(again.length, 9000);
  t.not(pool.take(9000).buffer, first.buffer, 'once taken it is not handed out twice');
  pool.give(again);
  t.equal(pool.take(8950).buffer, first.buffer, 'a little shorter: the same class');
});

t.test('a buffer never serves a length it cannot hold, nor sits unused for a much shorter one', async (t) => {
  const pool = float64Pool(8);
  const small = pool.take(400);
  pool.give(small);
  const longer = pool.take(480);
  t.not(longer.buffer, small.buffer, 'too small for 480');
  t.equal(longer.length, 480);
  t.equal(pool.take(400).buffer, small.buffer);
  pool.give(longer);
  t.not(pool.take(100).buffer, longer.buffer, 'a buffer of 480 values waits for its own class');
  // Arrays the pool did not make serve the classes they hold whole.
  const foreign = new Float64Array(1000);
  pool.give(foreign);
  const taken = pool.take(900);
  t.equal(taken.buffer, foreign.buffer, 'a whole array of 1000 serves 900');
  t.equal(taken.length, 900);
});

t.test(
  'at most `limit` buffers of a class wait; views of part of a buffer it did not make are not kept',
  async (t) => {
    const pool = float32Pool(2);
    // Other lengths' buffers, given back first, take no room from this class.
    const others = [pool.take(500), pool.take(500), pool.take(7000)];
    for (const array of others) pool.give(array);
    const kept = [pool.take(10), pool.take(10), pool.take(10)];
    for (const array of kept) pool.give(array);
    const first = pool.take(10);
    const second = pool.take(10);
    t.ok(
      [first.buffer, second.buffer].every((b) => b === kept[0].buffer || b === kept[1].buffer) &&
        first.buffer !== second.buffer,
      'the first two were kept',
    );
    t.not(pool.take(10).buffer, kept[2].buffer, 'the third was left to the collector');

    const other = float32Pool(4);
    const whole = new Float32Array(20);
    other.give(whole.subarray(0, 10));
    other.give(whole.subarray(10));
    t.not(other.take(10).buffer, whole.buffer, 'a view would hand out memory another array still uses');
    const own = other.take(300);
    other.give(own.subarray(100));
    t.equal(
      other.take(300).buffer,
      own.buffer,
      "any view of a buffer it made gives that buffer back (an assembly's trimmed piece)",
    );
    t.equal(other.take(0).length, 0, 'an empty array costs no buffer');
  },
);
