import { normals } from '../util/random.ts';
import type { Arrivals } from './labels.ts';

/**
 * Data augmentation as in the report (sections 5.1 and 9): random extraction of a window of the
 * model's length that holds the arrivals with probability alpha and noise only otherwise; polarity
 * reversal; additive white Gaussian noise at a given SNR. Beyond the report, what users of SeisBench's
 * generators expect: per-component amplitude scaling, a dropped component and a gap. Every function
 * takes its random numbers from a seeded uniform generator, so that a run is reproducible.
 *
 * Waveforms are row-major [length, channels] float arrays; functions that change one do so in place.
 */

export type Uniform = () => number;

/** A random integer in [from, to] (inclusive). */
function randomInt(from: number, to: number, uniform: Uniform): number {
  return from + Math.floor(uniform() * (to - from + 1));
}

/**
 * Start of a window of `windowLength` in a record of `length` samples: one holding every arrival
 * when `withArrivals` (the first arrival when they span more than a window), else one holding none
 * (before the first or after the last, uniformly over the possible starts). Falls back to a window with
 * the arrivals when no noise-only window fits, and to any window when the record has no arrivals.
 */
export function windowStart(
  length: number,
  windowLength: number,
  arrivals: Arrivals,
  withArrivals: boolean,
  uniform: Uniform,
): number {
  const last = Math.max(0, length - windowLength);
  const times = [...arrivals.P, ...arrivals.S].filter((t) => t >= 0 && t < length);
  if (times.length === 0) return randomInt(0, last, uniform);
  const first = Math.min(...times);
  const final = Math.max(...times);
  if (!withArrivals) {
    // Starts s with no arrival in [s, s + windowLength): s <= first - windowLength, or s > final.
    const beforeCount = Math.max(0, Math.floor(first - windowLength) + 1);
    const afterFrom = Math.floor(final) + 1;
    const afterCount = Math.max(0, last - afterFrom + 1);
    if (beforeCount + afterCount > 0) {
      const k = randomInt(0, beforeCount + afterCount - 1, uniform);
      return k < beforeCount ? Math.min(k, last) : afterFrom + (k - beforeCount);
    }
  }
  let from = Math.max(0, Math.ceil(final - windowLength + 1));
  const to = Math.min(Math.floor(first), last);
  if (from > to) from = Math.max(0, Math.ceil(first - windowLength + 1));
  return randomInt(Math.min(from, to), to, uniform);
}

/** A window [start, start + windowLength) of a record, zero-padded past its end, and its arrivals. */
export function cutWindow(
  data: ArrayLike<number>,
  channels: number,
  arrivals: Arrivals,
  start: number,
  windowLength: number,
): { data: Float32Array; arrivals: Arrivals } {
  const out = new Float32Array(windowLength * channels);
  const length = data.length / channels;
  const end = Math.min(length, start + windowLength);
  for (let i = start; i < end; i++) {
    for (let c = 0; c < channels; c++) out[(i - start) * channels + c] = data[i * channels + c];
  }
  const shift = (times: number[]) => times.map((t) => t - start).filter((t) => t >= 0 && t < windowLength);
  return { data: out, arrivals: { P: shift(arrivals.P), S: shift(arrivals.S) } };
}

/** Multiplies the waveform by -1 (the report's polarity reversal). */
export function reversePolarity(data: Float32Array): void {
  for (let i = 0; i < data.length; i++) data[i] = -data[i];
}

/** Root mean square of one channel (the report's RMS: not demeaned). */
export function channelRms(data: ArrayLike<number>, channels: number, channel: number): number {
  const length = data.length / channels;
  let squares = 0;
  for (let i = 0; i < length; i++) squares += data[i * channels + channel] ** 2;
  return Math.sqrt(squares / length);
}

/**
 * RMS of the noise that gives `snrDb` against a signal of RMS `signalRms`, from the report's
 * definition SNR = 10 log10(RMS_S^2 / RMS_noise^2): RMS_noise = sqrt(RMS_S^2 / 10^(SNR/10)). (The
 * report prints the exponent as -SNR/10, which would contradict its own definition: more noise at a
 * higher SNR; the definition is what is followed here, and what the tests measure.)
 */
export function noiseRmsForSnr(signalRms: number, snrDb: number): number {
  return Math.sqrt(signalRms ** 2 / 10 ** (snrDb / 10));
}

/**
 * Adds white Gaussian noise (AWGN) to every channel, with standard deviation (= RMS, as its mean is
 * zero) from that channel's RMS and `snrDb`. Returns the noise RMS used per channel.
 */
export function addNoiseAtSnr(
  data: Float32Array,
  channels: number,
  snrDb: number,
  uniform: Uniform,
): number[] {
  const length = data.length / channels;
  const rms: number[] = [];
  for (let c = 0; c < channels; c++) {
    const sigma = noiseRmsForSnr(channelRms(data, channels, c), snrDb);
    rms.push(sigma);
    if (sigma === 0) continue;
    const noise = normals(length, uniform);
    for (let i = 0; i < length; i++) data[i * channels + c] += sigma * noise[i];
  }
  return rms;
}

/** Multiplies each channel by its own factor. */
export function scaleChannels(data: Float32Array, factors: readonly number[]): void {
  const channels = factors.length;
  for (let i = 0; i < data.length; i++) data[i] *= factors[i % channels];
}

/** Sets one channel to zero (a dead component, as 33 of the dev records have two). */
export function dropChannel(data: Float32Array, channels: number, channel: number): void {
  for (let i = channel; i < data.length; i += channels) data[i] = 0;
}

/** Sets samples [start, start + gapLength) of every channel to zero, as the stream fills a gap. */
export function insertGap(data: Float32Array, channels: number, start: number, gapLength: number): void {
  data.fill(0, start * channels, Math.min(data.length, (start + gapLength) * channels));
}

export interface AugmentOptions {
  /** Probability that an extracted window holds the arrivals (the report's alpha; 0.95). */
  alpha: number;
  /** Probability of a polarity reversal. */
  polarityReversal: number;
  /** Probability of added white Gaussian noise, at an SNR drawn uniformly from `snrDb`. */
  noise: { probability: number; snrDb: [number, number] };
  /** Probability of scaling each channel by its own factor, log-uniform in `range`. */
  amplitudeScale: { probability: number; range: [number, number] };
  /** Probability of zeroing one channel (of multi-channel models). */
  dropComponent: { probability: number };
  /** Probability of a gap of up to `maxSamples` zeros at a random place. */
  gap: { probability: number; maxSamples: number };
}

/** The report's augmentation (random windows with alpha 0.95, polarity reversal); the rest off. */
export const DEFAULT_AUGMENT_OPTIONS: AugmentOptions = {
  alpha: 0.95,
  polarityReversal: 0.5,
  noise: { probability: 0, snrDb: [0, 20] },
  amplitudeScale: { probability: 0, range: [0.5, 2] },
  dropComponent: { probability: 0 },
  gap: { probability: 0, maxSamples: 500 },
};

/**
 * One augmented training window from a record: extraction, then polarity, amplitude, noise, a
 * dropped component and a gap, each drawn with its probability. Raw amplitudes: normalize after.
 */
export function augmentedWindow(
  record: { data: ArrayLike<number>; channels: number; arrivals: Arrivals },
  windowLength: number,
  options: AugmentOptions,
  uniform: Uniform,
): { data: Float32Array; arrivals: Arrivals } {
  const { channels } = record;
  const length = record.data.length / channels;
  const withArrivals = uniform() < options.alpha;
  const start = windowStart(length, windowLength, record.arrivals, withArrivals, uniform);
  const window = cutWindow(record.data, channels, record.arrivals, start, windowLength);
  const data = window.data;
  if (uniform() < options.polarityReversal) reversePolarity(data);
  if (uniform() < options.amplitudeScale.probability) {
    const [lo, hi] = options.amplitudeScale.range;
    scaleChannels(
      data,
      Array.from({ length: channels }, () =>
        Math.exp(Math.log(lo) + uniform() * (Math.log(hi) - Math.log(lo))),
      ),
    );
  }
  if (uniform() < options.noise.probability) {
    const [lo, hi] = options.noise.snrDb;
    addNoiseAtSnr(data, channels, lo + uniform() * (hi - lo), uniform);
  }
  if (channels > 1 && uniform() < options.dropComponent.probability) {
    dropChannel(data, channels, randomInt(0, channels - 1, uniform));
  }
  if (uniform() < options.gap.probability && options.gap.maxSamples > 0) {
    const gapLength = randomInt(1, Math.min(options.gap.maxSamples, windowLength), uniform);
    insertGap(data, channels, randomInt(0, windowLength - gapLength, uniform), gapLength);
  }
  return window;
}
