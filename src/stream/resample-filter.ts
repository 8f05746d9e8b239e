import { WaveformFormatError } from '../errors.ts';

/**
 * The anti-alias filter of rational resampling by up/down (input rate x up / down = output rate), as a
 * polyphase FIR.
 *
 * Design: a Kaiser-windowed sinc at the upsampled rate (input x up), linear phase and applied
 * zero-phase (centred on each output sample), so the output is not shifted in time at all: an arrival
 * keeps its time. Against the lower of the two Nyquist frequencies (the output's when decimating, the
 * input's when interpolating):
 * - passband up to 0.8 of it, ripple below 0.1 % (amplitude within 0.01 dB);
 * - stopband from the Nyquist frequency itself, at least 60 dB down, so nothing aliases into the
 *   output (decimating) and no image of the input spectrum shows (interpolating);
 * - cutoff (-6 dB) at 0.9 of it.
 * E.g. 200 -> 100 Hz: flat to 40 Hz, -60 dB from 50 Hz; 40 -> 100 Hz: flat to 16 Hz, -60 dB from 20 Hz.
 * Kaiser's formulas give the length: (60 - 8) / (2.285 x transition width in rad/sample), i.e. 75 taps
 * for 200 -> 100 and 50 -> 100, 183 for 40 -> 100 and 250 -> 100; per output sample that is 37 (40 and
 * 50 Hz input), 75 (200 Hz) or 92 (250 Hz) multiplications.
 *
 * Each phase (the taps that meet the input for one output position) is scaled to sum to exactly 1, so
 * a constant input gives exactly that constant out, with no ripple at the up-rate period (a station's
 * large DC offset would otherwise leave a small periodic pattern).
 */

export interface PolyphaseFilter {
  up: number;
  down: number;
  /** Half the filter length, in samples at the upsampled rate (input rate x up). */
  halfLength: number;
  /**
   * Per phase p = (output index x down) mod up: the weights of input samples q + firstOffset + i for
   * the output whose position on the upsampled grid is q x up + p.
   */
  phases: { firstOffset: number; weights: Float64Array }[];
  passbandHz: number;
  stopbandHz: number;
}

const STOPBAND_DB = 60;
const PASSBAND_FRACTION = 0.8;
/** The largest up or down factor accepted (1 Hz to 100 Hz is 100/1; 40 to 100 Hz is 5/2). */
export const MAX_RATIO_TERM = 1000;

/** up/down with target = input x up / down, in lowest terms; throws when no small fraction fits. */
export function rationalRatio(inputRate: number, targetRate: number): [up: number, down: number] {
  const ratio = targetRate / inputRate;
  // Convergents of the continued fraction: the best rational approximations of the ratio.
  let [p0, p1, q0, q1] = [0, 1, 1, 0];
  let x = ratio;
  for (let step = 0; step < 40; step++) {
    const a = Math.floor(x);
    const [p2, q2] = [a * p1 + p0, a * q1 + q0];
    if (p2 > MAX_RATIO_TERM || q2 > MAX_RATIO_TERM) break;
    [p0, p1, q0, q1] = [p1, p2, q1, q2];
    if (Math.abs(p1 / q1 - ratio) <= 1e-9 * ratio) return [p1, q1];
    if (x === a) break;
    x = 1 / (x - a);
  }
  throw new WaveformFormatError(`a channel at ${inputRate} Hz cannot be resampled to ${targetRate} Hz`, {
    hint: `the ratio of the rates must be a fraction p/q with p and q up to ${MAX_RATIO_TERM}; check the channel's rate`,
  });
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for Kaiser's beta). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 60; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

const cache = new Map<string, PolyphaseFilter>();

/** The filter for `inputRate` -> `targetRate` (memoized: one per rate pair). */
export function designResampler(inputRate: number, targetRate: number): PolyphaseFilter {
  const key = `${inputRate}/${targetRate}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const [up, down] = rationalRatio(inputRate, targetRate);
  const upRate = inputRate * up;
  const nyquist = Math.min(inputRate, targetRate) / 2;
  const passbandHz = PASSBAND_FRACTION * nyquist;
  const stopbandHz = nyquist;
  const cutoff = (passbandHz + stopbandHz) / 2 / upRate; // cycles per upsampled sample
  const transition = (2 * Math.PI * (stopbandHz - passbandHz)) / upRate; // rad per upsampled sample
  const halfLength = Math.ceil((STOPBAND_DB - 8) / (2.285 * transition) / 2);
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  const i0Beta = besselI0(beta);
  const tap = (j: number) => {
    const x = 2 * cutoff * j;
    const sinc = j === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    const r = j / halfLength;
    return 2 * cutoff * sinc * (besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta);
  };
  const phases = Array.from({ length: up }, (_, phase) => {
    const firstOffset = Math.ceil((phase - halfLength) / up);
    const last = Math.floor((phase + halfLength) / up);
    const weights = new Float64Array(last - firstOffset + 1);
    for (let i = 0; i < weights.length; i++) weights[i] = tap(phase - (firstOffset + i) * up);
    const sum = weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < weights.length; i++) weights[i] /= sum;
    return { firstOffset, weights };
  });
  const filter = { up, down, halfLength, phases, passbandHz, stopbandHz };
  cache.set(key, filter);
  return filter;
}
