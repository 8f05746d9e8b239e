import { type PhaseNetArchitecture, type PhaseNetWeights, phasenetWeightSpec } from './architecture.ts';

/**
 * Reproducible random weights for any architecture, batch-norm statistics included (gamma, variance
 * in [0.5, 1.5), means and betas non-zero), so that every folding and padding path does real work.
 * For tests and benchmarks that must run without a trained checkpoint; the values mean nothing.
 */
export function randomPhaseNetWeights(arch: PhaseNetArchitecture, seed = 1): PhaseNetWeights {
  // A linear congruential generator (Numerical Recipes constants): reproducible across runs and platforms.
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const weights: PhaseNetWeights = new Map();
  for (const { name, shape } of phasenetWeightSpec(arch)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const param = name.slice(name.lastIndexOf('/') + 1);
    // Kernels: uniform with variance 1/fan-in (taps x input channels), which keeps activations O(1).
    const fanIn = shape.length === 3 ? shape[0] * shape[1] : 1;
    const draw =
      param === 'gamma' || param === 'moving_variance'
        ? () => 0.5 + uniform()
        : param === 'kernel'
          ? () => (uniform() * 2 - 1) * Math.sqrt(3 / fanIn)
          : () => (uniform() * 2 - 1) * 0.3;
    weights.set(name, { shape: [...shape], values: Float32Array.from({ length: size }, draw) });
  }
  return weights;
}
