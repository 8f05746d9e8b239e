/**
 * Float32Arrays handed round between the code that fills them and the code that finishes with them:
 * the stream layer's normalized windows, given back by the picker once it has read them. Each new
 * array is an ArrayBuffer that V8 counts against its allowance of outside memory until a collection
 * frees it, and a spent allowance starts a full collection of the whole heap: at 5,000 live stations
 * the windows alone (36 KB each, 500 a second) spent it every few seconds.
 *
 * Whoever gives an array back must hold no reference to it any more: the next `take` hands it out
 * again. At most `limit` arrays wait here; more given back are left to the collector.
 */
export interface Float32Pool {
  /** An array of `length` values, with whatever an earlier user left in it. */
  take(length: number): Float32Array;
  give(array: Float32Array): void;
}

export function float32Pool(limit: number): Float32Pool {
  // By length: the windows are nearly all of one, but the short ones at segment ends must not make
  // every take search a long list.
  const free = new Map<number, Float32Array[]>();
  let count = 0;
  return {
    take(length) {
      const arrays = free.get(length);
      if (arrays === undefined || arrays.length === 0) return new Float32Array(length);
      count--;
      return arrays.pop()!;
    },
    give(array) {
      if (count >= limit || array.byteOffset !== 0 || array.byteLength !== array.buffer.byteLength) return;
      const arrays = free.get(array.length);
      if (arrays === undefined) free.set(array.length, [array]);
      else arrays.push(array);
      count++;
    },
  };
}
