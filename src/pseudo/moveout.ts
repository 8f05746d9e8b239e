import { TheilSenRegression } from 'ml-regression-theil-sen';

/**
 * Robust moveout of one phase across a gather: arrival time against source-receiver offset, fitted
 * with the Theil-Sen estimator (the median of pairwise slopes, mljs's implementation: 29 % of the
 * picks can be wrong without moving it) as a line, t = a + b |x| (a refraction or a distant
 * source), or a hyperbola, t^2 = a + b x^2 (a reflection-like or near-vertical ray from a buried
 * source). `auto` keeps the one whose residuals have the smaller robust scale.
 */

export type MoveoutKind = 'linear' | 'hyperbolic';

export interface MoveoutFit {
  kind: MoveoutKind;
  intercept: number;
  slope: number;
  /** Robust scale of the residuals: 1.4826 x their median absolute deviation (s). */
  scaleS: number;
  /** Observed minus fitted time per pick (s). */
  residualsS: number[];
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

/** 1.4826 x the median absolute deviation from the median: the standard deviation for Gaussian data. */
export function robustScale(values: readonly number[]): number {
  const m = median(values);
  return 1.4826 * median(values.map((v) => Math.abs(v - m)));
}

export function predictMoveout(
  fit: Pick<MoveoutFit, 'kind' | 'intercept' | 'slope'>,
  offsetM: number,
): number {
  const x = Math.abs(offsetM);
  return fit.kind === 'linear'
    ? fit.intercept + fit.slope * x
    : Math.sqrt(Math.max(0, fit.intercept + fit.slope * x * x));
}

function fitKind(kind: MoveoutKind, offsetsM: readonly number[], timesS: readonly number[]): MoveoutFit {
  const x = offsetsM.map((o) => (kind === 'linear' ? Math.abs(o) : o * o));
  const y = timesS.map((t) => (kind === 'linear' ? t : t * t));
  const { slope, intercept } = new TheilSenRegression(x, y);
  const fit = { kind, slope, intercept };
  const residualsS = timesS.map((t, n) => t - predictMoveout(fit, offsetsM[n]));
  return { ...fit, residualsS, scaleS: robustScale(residualsS) };
}

/**
 * The robust moveout of picks at `offsetsM` (source to receiver, m) and `timesS`; null where fewer
 * than 3 picks (or all at one offset) leave nothing to fit.
 */
export function fitMoveout(
  offsetsM: readonly number[],
  timesS: readonly number[],
  kind: MoveoutKind | 'auto' = 'auto',
): MoveoutFit | null {
  if (offsetsM.length < 3 || new Set(offsetsM.map(Math.abs)).size < 2) return null;
  if (kind !== 'auto') return fitKind(kind, offsetsM, timesS);
  const linear = fitKind('linear', offsetsM, timesS);
  const hyperbolic = fitKind('hyperbolic', offsetsM, timesS);
  return hyperbolic.scaleS < linear.scaleS ? hyperbolic : linear;
}

/**
 * Which picks are anomalous: a residual beyond `threshold` robust scales, the scale floored at
 * `minScaleS` (a gather picked to the sample would otherwise flag any one-sample jitter).
 */
export function anomalies(fit: MoveoutFit, threshold: number, minScaleS: number): boolean[] {
  const limit = threshold * Math.max(fit.scaleS, minScaleS);
  return fit.residualsS.map((r) => Math.abs(r) > limit);
}
