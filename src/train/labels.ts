/**
 * Training targets as in the report (section 5.2.1) and PhaseNet: for each arrival a bump of
 * probability centred on its sample, over `widthSamples` points (the report's 50), in the P or S
 * channel; noise = 1 - P - S. A window without arrivals is all noise.
 */

export type LabelShape = 'gaussian' | 'triangle';

export interface LabelOptions {
  shape: LabelShape;
  /** Points the bump covers, centred on the arrival (the report's 50; PhaseNet's 60 at 100 Hz). */
  widthSamples: number;
}

export const DEFAULT_LABEL_OPTIONS: LabelOptions = { shape: 'gaussian', widthSamples: 50 };

/** Arrivals of one record, as (possibly fractional) sample indices from its first sample. */
export interface Arrivals {
  P: number[];
  S: number[];
}

/**
 * Height of the bump at `offset` samples from the arrival: a Gaussian with standard deviation
 * width/6 (so that the bump's edges, width/2 away, are at 3 sigma) or a triangle reaching 0 at
 * width/2; 0 beyond width/2 for both.
 */
export function bumpValue(offset: number, options: LabelOptions): number {
  const half = options.widthSamples / 2;
  const d = Math.abs(offset);
  if (d > half) return 0;
  if (options.shape === 'triangle') return 1 - d / half;
  const sigma = options.widthSamples / 6;
  return Math.exp(-(d * d) / (2 * sigma * sigma));
}

/**
 * Targets for a window of `length` samples, row-major [length, 3] in the class order noise, P, S.
 * Where P and S bumps overlap so that they would exceed 1 together, both are scaled down to sum to 1.
 */
export function phaseLabels(
  length: number,
  arrivals: Arrivals,
  options: LabelOptions = DEFAULT_LABEL_OPTIONS,
): Float32Array {
  if (!(options.widthSamples > 0))
    throw new RangeError(`widthSamples must be > 0, got ${options.widthSamples}`);
  const labels = new Float32Array(length * 3);
  const half = options.widthSamples / 2;
  const paint = (times: number[], column: number) => {
    for (const t of times) {
      const from = Math.max(0, Math.ceil(t - half));
      const to = Math.min(length - 1, Math.floor(t + half));
      for (let i = from; i <= to; i++) {
        labels[i * 3 + column] = Math.max(labels[i * 3 + column], bumpValue(i - t, options));
      }
    }
  };
  paint(arrivals.P, 1);
  paint(arrivals.S, 2);
  for (let i = 0; i < length; i++) {
    const p = labels[i * 3 + 1];
    const s = labels[i * 3 + 2];
    if (p + s > 1) {
      labels[i * 3 + 1] = p / (p + s);
      labels[i * 3 + 2] = s / (p + s);
      labels[i * 3] = 0;
    } else {
      labels[i * 3] = 1 - p - s;
    }
  }
  return labels;
}
