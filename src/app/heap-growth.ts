import { setFlagsFromString } from 'node:v8';

/**
 * Lets V8's old generation grow to twice what survived its last full collection before the next one
 * is due, for the whole process (its worker threads too).
 *
 * V8 sizes that room from how fast its collector is against how fast the program allocates: the
 * live pipeline promotes little (a few MB/s) and its heap marks fast, so V8 chose a factor of
 * 1.1-1.3, a room smaller than the young generation, and started the next incremental marking
 * almost as soon as one ended: at 5,000 stations a full collection of the ~240 MB heap every ~1.2 s,
 * each with 150-300 ms of marking steps on the event loop. With a factor of 2 the same run
 * (`bench/realtime.ts`, bench/README.md) marked 11 times in 30 s instead of 26 and the loop went from
 * 100 % to 69 % busy. The cost is heap held between collections: at most twice the live heap (about
 * 50 KB per station at 5,000), beside the array buffers that make most of a station's memory.
 */
export function growHeapForStreaming(): void {
  setFlagsFromString('--heap-growing-percent=100');
}
