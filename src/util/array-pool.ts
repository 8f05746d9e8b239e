/**
 * Typed arrays handed round between the code that fills them and the code that finishes with them:
 * the stream layer's normalized windows (given back by the picker once read), its assembled blocks
 * (given back by the windowing once copied) and, live, the records' samples (given back by station
 * assembly once in a block). Each new array is an ArrayBuffer that V8 counts against
 * its allowance of outside memory until a collection frees it, and a spent allowance starts a full
 * collection of the whole heap: at 5,000 live stations the windows alone (36 KB each, 500 a second)
 * spent it every few seconds.
 *
 * Buffers go by size class, eight to an octave (at most 9 % more room than asked for), and `take`
 * hands out a view of the start of one: blocks come in every length, and exact lengths would rarely
 * meet again. Whoever gives an array back must hold no reference to it, nor to any other view of its
 * buffer, any more: the next `take` hands the buffer out again. A view of part of a buffer that this
 * pool did not make may share that buffer with arrays still in use, so it is not kept. At most `limit`
 * buffers of a size class wait here; more given back are left to the collector. (A limit over all
 * classes let rare lengths' buffers fill the pool, and the common lengths then missed for good.)
 */
export interface ArrayPool<T extends Float32Array | Float64Array> {
  /** An array of `length` values, with whatever an earlier user left in it. */
  take(length: number): T;
  give(array: T): void;
}

export type Float32Pool = ArrayPool<Float32Array>;
export type Float64Pool = ArrayPool<Float64Array>;

const STEPS_PER_OCTAVE = 8;

const capacity = (sizeClass: number) => Math.ceil(2 ** (sizeClass / STEPS_PER_OCTAVE));

/** The smallest class whose buffers hold `length` values. */
function classHolding(length: number): number {
  let c = Math.ceil(STEPS_PER_OCTAVE * Math.log2(length));
  while (capacity(c) < length) c++;
  while (c > 0 && capacity(c - 1) >= length) c--;
  return c;
}

/** The largest class that a buffer of `length` values can serve. */
function classServed(length: number): number {
  let c = Math.floor(STEPS_PER_OCTAVE * Math.log2(length));
  while (capacity(c) > length) c--;
  while (capacity(c + 1) <= length) c++;
  return c;
}

function arrayPool<T extends Float32Array | Float64Array>(
  bytesPerValue: number,
  view: (buffer: ArrayBuffer, length: number) => T,
  limit: number,
): ArrayPool<T> {
  // By size class: small integers (eight per octave of length, under 300 for any typed array).
  const free: ArrayBuffer[][] = [];
  const made = new WeakSet<ArrayBuffer>();
  // Lengths repeat (a window's, a record's few): the logarithm once per length.
  const classes = new Map<number, number>();
  return {
    take(length) {
      if (length === 0) return view(new ArrayBuffer(0), 0);
      let sizeClass = classes.get(length);
      if (sizeClass === undefined) {
        sizeClass = classHolding(length);
        if (classes.size < 4096) classes.set(length, sizeClass);
      }
      let buffer = free[sizeClass]?.pop();
      if (buffer === undefined) {
        buffer = new ArrayBuffer(capacity(sizeClass) * bytesPerValue);
        made.add(buffer);
      }
      return view(buffer, length);
    },
    give(array) {
      const { buffer } = array;
      if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
      if (!made.has(buffer) && (array.byteOffset !== 0 || array.byteLength !== buffer.byteLength)) return;
      const sizeClass = classServed(buffer.byteLength / bytesPerValue);
      const buffers = free[sizeClass];
      if (buffers === undefined) free[sizeClass] = [buffer];
      else if (buffers.length < limit) buffers.push(buffer);
    },
  };
}

export const float32Pool = (limit: number): Float32Pool =>
  arrayPool(4, (buffer, length) => new Float32Array(buffer, 0, length), limit);

export const float64Pool = (limit: number): Float64Pool =>
  arrayPool(8, (buffer, length) => new Float64Array(buffer, 0, length), limit);
