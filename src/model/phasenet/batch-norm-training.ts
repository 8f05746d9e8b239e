import * as tf from '@tensorflow/tfjs-core';

/**
 * Batch normalization over every axis but the last (channels), as a layer computes it in training,
 * with its gradient written out rather than derived op by op. tfjs-layers normalizes with
 * `tf.moments` then `tf.batchNorm`; differentiating that chain costs about thirteen passes over the
 * activations per layer (the mean's gradient alone tiles ones, multiplies and divides), where the
 * closed form needs five:
 *
 *   x^ = (x - mean) / sqrt(var + eps),  y = gamma x^ + beta
 *   dbeta = sum(dy),  dgamma = sum(dy x^)
 *   dx = gamma / sqrt(var + eps) * (dy - dbeta / n - x^ dgamma / n)
 *
 * (sums and n over the batch and time axes). Returns the batch's mean and (population) variance per
 * channel too, for the layer's moving averages; the caller disposes them.
 */
export function batchNormInTraining(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { normalized: tf.Tensor; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const channels = x.shape[x.rank - 1];
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const count = x.size / channels;
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  // customGrad passes the inputs and then `save` as one list of arguments.
  const normalize = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, scale, offset] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const mean = tf.mean(input, axes, true);
    const centred = tf.sub(input, mean);
    const variance = tf.mean(tf.square(centred), axes, true);
    const inverseStd = tf.rsqrt(tf.add(variance, tf.scalar(epsilon)));
    const normalized = tf.mul(centred, inverseStd);
    stats = {
      mean: tf.keep(tf.reshape(mean, [channels])),
      variance: tf.keep(tf.reshape(variance, [channels])),
    };
    save([normalized, inverseStd, scale]);
    return {
      value: tf.add(tf.mul(normalized, scale), offset),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const gradient = dy as tf.Tensor;
        const [xHat, inv, g] = saved;
        const dBeta = tf.sum(gradient, axes);
        const dGamma = tf.sum(tf.mul(gradient, xHat), axes);
        const inner = tf.sub(tf.sub(gradient, tf.div(dBeta, count)), tf.mul(xHat, tf.div(dGamma, count)));
        return [tf.mul(inner, tf.mul(g, inv)), dGamma, dBeta];
      },
    };
  });
  const normalized = normalize(x, gamma, beta);
  return { normalized, ...stats! };
}
