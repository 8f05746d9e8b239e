/**
 * Spare batch buffers kept of each kind: as many as batches are in flight at a peak (a backed-up
 * engine at 5,000 live stations held ~10; fewer kept meant a new megabyte per batch after each
 * peak), 18 MB of each kind at most at 32 windows a batch.
 */
const SPARE_BUFFERS = 16;

/**
 * Buffers an engine thread handed back (see InferenceEngine.run), to be given again: a batch takes
 * the smallest one that holds it, as a view of its start (batches that waited for windows come in
 * every size, so exact sizes would rarely match, and each miss is a new megabyte V8 counts toward
 * its next full collection).
 */
export function spareBuffers() {
  const spare: Float32Array[] = [];
  return {
    take(size: number): Float32Array | undefined {
      let best = -1;
      for (let i = 0; i < spare.length; i++) {
        if (spare[i].length >= size && (best < 0 || spare[i].length < spare[best].length)) best = i;
      }
      return best < 0 ? undefined : spare.splice(best, 1)[0].subarray(0, size);
    },
    give(buffer: ArrayBufferLike): void {
      if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return;
      if (spare.push(new Float32Array(buffer)) > SPARE_BUFFERS) spare.shift();
    },
  };
}
