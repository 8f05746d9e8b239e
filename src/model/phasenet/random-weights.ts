import { seededUniform } from '../../util/random.ts';
import type { LoadedModel } from '../card.ts';
import { originalCard } from '../original.ts';
import {
  ORIGINAL_ARCHITECTURE,
  type PhaseNetArchitecture,
  type PhaseNetWeights,
  phasenetWeightSpec,
} from './architecture.ts';

/**
 * Reproducible random weights for any architecture, batch-norm statistics included (gamma, variance
 * in [0.5, 1.5), means and betas non-zero), so that every folding and padding path does real work.
 * For tests and benchmarks that must run without a trained checkpoint; the values mean nothing, but
 * they keep activations O(1) (no overflow, no subnormals that would slow some CPUs down).
 */
export function randomPhaseNetWeights(arch: PhaseNetArchitecture, seed = 1): PhaseNetWeights {
  const uniform = seededUniform(seed);
  const weights: PhaseNetWeights = new Map();
  for (const { name, shape } of phasenetWeightSpec(arch)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const param = name.slice(name.lastIndexOf('/') + 1);
    // Kernels: uniform with variance 1/fan-in (taps x input channels).
    const fanIn = shape.length === 3 ? shape[0] * (name.includes('deconv') ? shape[2] : shape[1]) : 1;
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

/** The original architecture with random weights and a card that says so (for benchmarks). */
export function randomOriginalModel(seed = 1): LoadedModel {
  return {
    card: originalCard(ORIGINAL_ARCHITECTURE, 'random weights for benchmarking'),
    weights: randomPhaseNetWeights(ORIGINAL_ARCHITECTURE, seed),
  };
}
