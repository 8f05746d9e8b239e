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

/**
 * First-arrival time from a source at `sourceDepthM` to the surface at horizontal `offsetM` through
 * flat layers (thicknesses and speeds, the last a half-space): the earliest of the direct upgoing
 * ray (ray parameter found by bisection) and the head waves along the top of every deeper, faster
 * layer (t = x p + sum of h sqrt(1/v^2 - p^2) over the legs, p = 1 / v of the refractor).
 */
export function layeredFirstArrivalS(
  layers: { thicknessM: number; speedMS: number }[],
  sourceDepthM: number,
  offsetM: number,
): number {
  // Thickness of each layer crossed by the direct ray, from the source up to the surface.
  const up: number[] = [];
  const bottoms: number[] = [];
  let top = 0;
  let sourceLayer = layers.length - 1;
  for (let k = 0; k < layers.length; k++) {
    const bottom = k === layers.length - 1 ? Number.POSITIVE_INFINITY : top + layers[k].thicknessM;
    up.push(Math.max(0, Math.min(bottom, sourceDepthM) - top));
    bottoms.push(bottom);
    if (sourceDepthM >= top && sourceDepthM < bottom) sourceLayer = k;
    top = bottom;
  }
  const legs = (p: number, thickness: number[]) => {
    let x = 0;
    let t = 0;
    thickness.forEach((h, k) => {
      if (h === 0) return;
      const v = layers[k].speedMS;
      const c = Math.sqrt(1 - p * p * v * v);
      x += (h * p * v) / c;
      t += h / (v * c);
    });
    return { x, t };
  };
  const fastest = Math.max(...up.map((h, k) => (h > 0 ? layers[k].speedMS : 0)));
  let [lo, hi] = [0, 1 / fastest];
  for (let k = 0; k < 200; k++) {
    const mid = 0.5 * (lo + hi);
    if (legs(mid, up).x < offsetM) lo = mid;
    else hi = mid;
  }
  let best = legs(lo, up).t;
  for (let n = sourceLayer + 1; n < layers.length; n++) {
    if (!layers.slice(0, n).every((l) => l.speedMS < layers[n].speedMS)) continue;
    const p = 1 / layers[n].speedMS;
    const thickness = layers.slice(0, n).map((layer, k) => {
      const down = k > sourceLayer ? layer.thicknessM : k === sourceLayer ? bottoms[k] - sourceDepthM : 0;
      return layer.thicknessM + down;
    });
    const { x, t } = legs(p, thickness);
    if (x <= offsetM) best = Math.min(best, t + (offsetM - x) * p);
  }
  return best;
}
