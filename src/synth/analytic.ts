import { type Wavelet, waveletValue } from './wavelet.ts';

/**
 * Exact and far-field solutions of 2-D elastic waves in a homogeneous full space, the yardsticks of
 * the simulator. The 2-D Green's function of the scalar wave equation is
 * H(t - r/c) / (2 pi c^2 sqrt(t^2 - r^2/c^2)); with t' = (r/c) cosh u its convolution with a wavelet
 * is (1 / (2 pi c^2)) int_0^inf w(t - (r/c) cosh u) du, whose integrand is smooth.
 */

/** int_0^inf w(t - (r/c) cosh u) du by Simpson's rule (the wavelet is negligible before t = 0). */
export function lineSourceIntegral(
  w: Wavelet,
  rM: number,
  cMS: number,
  tS: number,
  intervals = 4000,
): number {
  const ratio = (tS * cMS) / rM;
  if (ratio <= 1) return 0;
  const upper = Math.acosh(ratio);
  const du = upper / intervals;
  const f = (u: number) => waveletValue(w, tS - (rM / cMS) * Math.cosh(u));
  let sum = f(0) + f(upper);
  for (let k = 1; k < intervals; k++) sum += (k % 2 === 1 ? 4 : 2) * f(k * du);
  return (sum * du) / 3;
}

/**
 * Radial particle velocity of an explosion (moment rate `amplitude` x w(t), N m/m/s, a line source)
 * in a full space: v = grad(dphi/dt), dphi/dt = -(1 / (2 pi rho vp^2)) int w(t - (r/vp) cosh u) du.
 * Exact, near field included.
 */
export function explosionRadialVelocity(
  w: Wavelet,
  medium: { vpMS: number; densityKgM3: number },
  rM: number,
  tS: number,
  amplitude = 1,
): number {
  const { vpMS, densityKgM3 } = medium;
  const dr = rM * 1e-4;
  const derivative =
    (lineSourceIntegral(w, rM + dr, vpMS, tS) - lineSourceIntegral(w, rM - dr, vpMS, tS)) / (2 * dr);
  return (-amplitude / (2 * Math.PI * densityKgM3 * vpMS * vpMS)) * derivative;
}

/**
 * Far-field S particle velocity of a point force (force `amplitude` x w(t), N/m), along the force,
 * at a receiver perpendicular to it: (1 / (2 pi rho vs^2)) d/dt int w(t - (r/vs) cosh u) du. Its
 * neglected near-field terms fall off one power of (k r) faster.
 */
export function forceFarFieldSVelocity(
  w: Wavelet,
  medium: { vsMS: number; densityKgM3: number },
  rM: number,
  tS: number,
  amplitude = 1,
): number {
  const { vsMS, densityKgM3 } = medium;
  const dt = 1e-5;
  const derivative =
    (lineSourceIntegral(w, rM, vsMS, tS + dt) - lineSourceIntegral(w, rM, vsMS, tS - dt)) / (2 * dt);
  return (amplitude / (2 * Math.PI * densityKgM3 * vsMS * vsMS)) * derivative;
}

/**
 * The lag (in samples, fractional) that best aligns `b` to `a` (b shifted later by the lag matches
 * a): the peak of their cross-correlation within +- maxLag, refined by a parabola through it.
 */
export function crossCorrelationLag(a: ArrayLike<number>, b: ArrayLike<number>, maxLag: number): number {
  let best = -maxLag;
  let bestValue = Number.NEGATIVE_INFINITY;
  const values: number[] = [];
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let sum = 0;
    for (let k = 0; k < a.length; k++) {
      const m = k - lag;
      if (m >= 0 && m < b.length) sum += a[k] * b[m];
    }
    values.push(sum);
    if (sum > bestValue) {
      bestValue = sum;
      best = lag;
    }
  }
  const at = best + maxLag;
  if (at === 0 || at === values.length - 1) return best;
  const [y0, y1, y2] = [values[at - 1], values[at], values[at + 1]];
  const denominator = y0 - 2 * y1 + y2;
  return denominator === 0 ? best : best + (0.5 * (y0 - y2)) / denominator;
}
