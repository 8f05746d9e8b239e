/**
 * The absolute sample grid of src/stream/types.ts: index = round(timeUs * samplingRate / 1e6).
 *
 * Epoch microseconds times a rate overflow the exact range of doubles (1.7e15 µs x 250 Hz > 2^53), so
 * the product is split into whole seconds and the microseconds within the second: for integer rates
 * both conversions are then exact.
 */

/** The grid index nearest to `timeUs` at `samplingRate` (a time between grid points snaps to the nearest). */
export function indexFromTimeUs(timeUs: number, samplingRate: number): number {
  const seconds = Math.floor(timeUs / 1e6);
  const micros = timeUs - seconds * 1e6;
  return Math.round(seconds * samplingRate + (micros * samplingRate) / 1e6);
}

/** Epoch microseconds of grid index `index` at `samplingRate`, rounded to the microsecond. */
export function timeUsFromIndex(index: number, samplingRate: number): number {
  if (Number.isInteger(samplingRate)) {
    const seconds = Math.floor(index / samplingRate);
    const rest = index - seconds * samplingRate;
    return seconds * 1e6 + Math.round((rest * 1e6) / samplingRate);
  }
  return Math.round((index / samplingRate) * 1e6);
}

/** The duration of `samples` samples at `samplingRate`, in microseconds. */
export function samplesToUs(samples: number, samplingRate: number): number {
  return Math.round((samples * 1e6) / samplingRate);
}

/** The first grid index at or after `timeUs` (a sample exactly on the grid point counts). */
export function indexAtOrAfterTimeUs(timeUs: number, samplingRate: number): number {
  const seconds = Math.floor(timeUs / 1e6);
  const micros = timeUs - seconds * 1e6;
  // Times are whole microseconds: one up to half a microsecond past a grid point counts as on it.
  return Math.ceil(seconds * samplingRate + ((micros - 0.5) * samplingRate) / 1e6);
}

/**
 * Where a station's windows start within the stride when windows are staggered (`staggerWindows`):
 * 0 to `stride` - 1, from a hash of the station's key (FNV-1a), the same in every process and run.
 * Unstaggered, every station's windows start at multiples of the stride: all of a network's windows
 * are due within the few seconds its records take to arrive, once per stride; staggered, they come
 * spread over the stride (bench/README.md, "Windows due at once").
 */
export function staggerOffset(key: string, stride: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return hash % stride;
}
