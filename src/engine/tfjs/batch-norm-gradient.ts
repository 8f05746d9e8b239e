import * as tf from '@tensorflow/tfjs-core';

/**
 * The gradient of `FusedBatchNorm` (batch normalization with per-channel mean, variance, scale and
 * offset), in place of tfjs-core's: that one tiles 1/sqrt(variance + eps) to the full input shape
 * before multiplying and computes full-size products for each parameter, which took a fifth of a
 * PhaseNet training step on wasm (100 of 470 ms, batch 16). Here the per-channel factors broadcast,
 * and the parameter gradients reduce first and multiply per channel:
 *
 *   dx = dy * scale / sqrt(v + eps)
 *   dmean = -scale / sqrt(v + eps) * sum(dy)
 *   dvariance = -scale / 2 * (v + eps)^(-3/2) * sum(dy * (x - mean))
 *   dscale = sum(dy * (x - mean)) / sqrt(v + eps)
 *   doffset = sum(dy)
 *
 * with sums over every axis but the channels. Registering replaces tfjs-core's gradient for every
 * backend; the values are the same (test/engine/tfjs-wasm-training.test.ts checks them numerically).
 */
export function registerBatchNormGradient(): void {
  tf.registerGradient({
    kernelName: tf.FusedBatchNorm,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
      const [x, mean, variance, scale] = saved;
      const gradient = dy as tf.Tensor;
      const perChannel = mean.rank === 1;
      const axes = perChannel ? Array.from({ length: x.rank - 1 }, (_, i) => i) : [];
      const reduce = (t: tf.Tensor) => (perChannel ? tf.sum(t, axes) : t);
      const inverseStd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const scaleValue = scale ?? tf.scalar(1);
      // Shared by the variance and scale gradients; made here, in the backward pass's scope, as each
      // gradient function's own intermediates are disposed when it returns.
      const centredProduct = reduce(tf.mul(gradient, tf.sub(x, mean)));
      return {
        x: () => tf.mul(gradient, tf.mul(inverseStd, scaleValue)),
        mean: () => tf.reshape(tf.mul(tf.neg(tf.mul(inverseStd, scaleValue)), reduce(gradient)), mean.shape),
        variance: () =>
          tf.reshape(
            tf.mul(
              tf.mul(tf.mul(tf.pow(inverseStd, tf.scalar(3)), scaleValue), tf.scalar(-0.5)),
              centredProduct,
            ),
            mean.shape,
          ),
        scale: () => tf.reshape(tf.mul(centredProduct, inverseStd), mean.shape),
        offset: () => tf.reshape(reduce(gradient), mean.shape),
      };
    },
  });
}
