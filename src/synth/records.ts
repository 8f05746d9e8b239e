import { normals } from '../util/random.ts';

/**
 * From simulated traces to training records: resampling to the output rate, the report's random
 * extraction of windows (alpha: the chance that an extract holds the arrivals) and additive white
 * Gaussian noise at a signal-to-noise ratio. Pure functions of their inputs and a uniform generator.
 */

/**
 * `trace` sampled at firstSampleS + k dtS, at times n / samplingRate for n < count, linearly
 * interpolated (the simulation's step is several times shorter than the output's, and its content
 * is below 0.4 x the output rate, so no filter is needed); 0 outside the trace.
 */
export function resampleTrace(
  trace: ArrayLike<number>,
  firstSampleS: number,
  dtS: number,
  samplingRate: number,
  count: number,
): Float32Array {
  const out = new Float32Array(count);
  for (let n = 0; n < count; n++) {
    const position = (n / samplingRate - firstSampleS) / dtS;
    const k = Math.floor(position);
    if (k < 0 || k + 1 >= trace.length) continue;
    const f = position - k;
    out[n] = (1 - f) * trace[k] + f * trace[k + 1];
  }
  return out;
}

export interface Extract {
  start: number;
  /** Sample of P and S within the extract, null where it holds none. */
  itp: number | null;
  its: number | null;
}

/**
 * Where to cut an extract of `length` samples from a record of `recordLength` with arrivals at
 * `itp` and `its`. With chance alpha it holds the arrivals (both where they fit, at least `margin`
 * samples inside), otherwise none of them (before P or after S, where the record leaves room; an
 * extract with the arrivals where it does not).
 */
export function chooseExtract(
  recordLength: number,
  length: number,
  itp: number,
  its: number,
  alpha: number,
  uniform: () => number,
  margin = 100,
): Extract {
  const lastStart = recordLength - length;
  const within = (start: number): Extract => ({
    start,
    itp: itp >= start && itp < start + length ? itp - start : null,
    its: its >= start && its < start + length ? its - start : null,
  });
  const draw = (lo: number, hi: number) => lo + Math.floor(uniform() * (hi - lo + 1));
  if (uniform() >= alpha) {
    const quiet: [number, number][] = [];
    if (itp - length >= 0) quiet.push([0, Math.min(lastStart, itp - length)]);
    if (its + 1 <= lastStart) quiet.push([its + 1, lastStart]);
    if (quiet.length > 0) {
      const [lo, hi] = quiet[Math.floor(uniform() * quiet.length)];
      return within(draw(lo, hi));
    }
  }
  // Both arrivals inside if they fit, else P inside.
  const last = its - itp + 2 * margin <= length ? its : itp;
  const lo = Math.max(0, last + margin - length + 1);
  const hi = Math.min(lastStart, itp - margin);
  return within(hi >= lo ? draw(lo, hi) : Math.max(0, Math.min(lastStart, itp - margin)));
}

/** Root mean square of `values` from `from` (inclusive) to `to` (exclusive). */
export function rms(values: ArrayLike<number>, from = 0, to = values.length): number {
  let sum = 0;
  for (let k = from; k < to; k++) sum += values[k] * values[k];
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

/**
 * Adds white Gaussian noise to `values` (in place) at `snrDb` = 10 log10(RMS_signal^2 / RMS_noise^2)
 * for a signal of RMS `signalRms`: the noise's standard deviation is signalRms 10^(-snrDb / 20), as
 * the report defines SNR (its printed formula for RMS_noise has the exponent's sign inverted).
 */
export function addWhiteNoise(
  values: Float32Array,
  signalRms: number,
  snrDb: number,
  uniform: () => number,
): void {
  const std = signalRms * 10 ** (-snrDb / 20);
  const noise = normals(values.length, uniform);
  for (let k = 0; k < values.length; k++) values[k] += std * noise[k];
}
