/**
 * Source time functions: the moment rate of an explosion or the force of a point force, in units
 * of the source's amplitude.
 */
export type Wavelet =
  | { kind: 'ricker'; peakHz: number; delayS?: number }
  /** Brune's (1970) omega-squared source: moment rate wc^2 t exp(-wc t), wc = 2 pi cornerHz. */
  | { kind: 'brune'; cornerHz: number; delayS?: number };

/** The default delay of a Ricker wavelet: its value at t = 0 is below 1e-6 of its peak. */
export function waveletDelayS(w: Wavelet): number {
  if (w.delayS !== undefined) return w.delayS;
  return w.kind === 'ricker' ? 1.2 / w.peakHz : 0;
}

export function waveletValue(w: Wavelet, tS: number): number {
  const t = tS - waveletDelayS(w);
  if (w.kind === 'ricker') {
    const a = (Math.PI * w.peakHz * t) ** 2;
    return (1 - 2 * a) * Math.exp(-a);
  }
  if (t <= 0) return 0;
  const wc = 2 * Math.PI * w.cornerHz;
  return wc * wc * t * Math.exp(-wc * t);
}

/**
 * The highest frequency the grid must resolve: 2.5 x the peak of a Ricker wavelet (its spectrum is
 * down to 1.4 % there) and 4.5 x the corner of a Brune source (down to 5 %).
 */
export function waveletMaxHz(w: Wavelet): number {
  return w.kind === 'ricker' ? 2.5 * w.peakHz : 4.5 * w.cornerHz;
}

/**
 * When the wavelet starts: its first time above 1 % of its peak. An arrival's onset, as an analyst
 * picks it, is the travel time plus this.
 */
export function waveletOnsetS(w: Wavelet): number {
  if (w.kind === 'brune') return waveletDelayS(w);
  // Ricker: |(1 - 2a) e^-a| = 0.01 at a = 7.2, |t - delay| = sqrt(a) / (pi f).
  return waveletDelayS(w) - Math.sqrt(7.2) / (Math.PI * w.peakHz);
}
