import { setFlagsFromString } from 'node:v8';

/**
 * Gives V8's old generation room to grow before its next full collection, for the whole process (its
 * worker threads too): twice what survived the last one, and at least 64 MB.
 *
 * V8 sizes that room from how fast its collector is against how fast the program allocates: the
 * live pipeline promotes little (a few MB/s) and its heap marks fast, so V8 chose a factor of
 * 1.1-1.3, a room smaller than the young generation, and started the next incremental marking
 * almost as soon as one ended: at 5,000 stations a full collection of the ~240 MB heap every ~1.2 s,
 * each with 150-300 ms of marking steps on the event loop. With a factor of 2 the same run
 * (`bench/realtime.ts`, bench/README.md) marked 11 times in 30 s instead of 26 and the loop went from
 * 100 % to 69 % busy. The cost is heap held between collections: at most twice the live heap (about
 * 50 KB per station at 5,000), beside the array buffers that make most of a station's memory.
 *
 * A factor does nothing for a small heap: a replay shard's thread or the engine's holds 8-10 MB, twice
 * that is still less room than the young generation, and V8 began marking again at once: 453 full
 * collections in a 16-station-day replay, most of them in the two shards, every ~100 ms each. The
 * floor of 64 MB (V8's initial old space, in effect a floor under its later limits) made them 18, the
 * replay 10 % faster and its peak memory 64 MB larger (bench/README.md, "Small heaps"); 32 MB changed
 * nothing. It is read when a thread's heap is made, so it reaches every thread started after this
 * call, the engine's and the shards'; the live pipeline's own heap is far above it.
 */
export function growHeapForStreaming(): void {
  setFlagsFromString('--heap-growing-percent=100');
  setFlagsFromString('--initial-old-space-size=64');
}
