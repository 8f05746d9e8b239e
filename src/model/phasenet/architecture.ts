/**
 * PhaseNet (Zhu & Beroza, 2019) as the original TensorFlow code builds it, described as data:
 * the layers, their weight names and shapes, and the lengths of every level for any input length.
 * Every engine (tfjs layers model, tfjs fast path, ONNX export) and the checkpoint importer work
 * from this one description.
 */

export interface PhaseNetArchitecture {
  type: 'phasenet';
  /** Input channels in the card's component order (3: E, N, Z; 1 or 2 for adapted models). */
  inChannels: number;
  /** Number of levels of the U (5 in the original: lengths 3000, 750, 188, 47, 12). */
  depth: number;
  /** Filters at level 0; level d has rootFilters * 2^d. */
  rootFilters: number;
  kernelSize: number;
  /** Down-sampling factor between levels. */
  stride: number;
  /** Output classes (noise, P, S). */
  classes: number;
}

export const ORIGINAL_ARCHITECTURE: PhaseNetArchitecture = {
  type: 'phasenet',
  inChannels: 3,
  depth: 5,
  rootFilters: 8,
  kernelSize: 7,
  stride: 4,
  classes: 3,
};

/** Batch-norm epsilon of the original (tf.layers.batch_normalization's default). */
export const BATCH_NORM_EPSILON = 1e-3;

/** A float32 tensor held in plain memory, row-major. */
export interface WeightTensor {
  shape: number[];
  values: Float32Array;
}

/** Weights by canonical name (see `phasenetWeightSpec`). */
export type PhaseNetWeights = Map<string, WeightTensor>;

export type LayerKind = 'conv' | 'deconv' | 'batchnorm';

export interface LayerSpec {
  /** Canonical layer name, e.g. `down2_conv3`; weights are `${name}/${param}`. */
  name: string;
  kind: LayerKind;
  /** Freezing and partial loading address groups: `input`, `down0`…, `up0`…, `output`. */
  group: string;
  /**
   * conv: kernel [k, in, out] (+ bias [out] when `bias`); deconv: kernel [k, out, in];
   * batchnorm: gamma, beta, moving_mean, moving_variance, each [channels].
   */
  params: { name: string; shape: number[] }[];
  /** The level (0 = full length) at which the layer's output lives. */
  level: number;
  stride?: number;
  bias?: boolean;
}

export function levelFilters(arch: PhaseNetArchitecture, level: number): number {
  return arch.rootFilters * 2 ** level;
}

interface Placement {
  name: string;
  group: string;
  level: number;
}

function conv(at: Placement, k: number, cin: number, cout: number, stride: number, bias: boolean): LayerSpec {
  const params = [{ name: 'kernel', shape: [k, cin, cout] }];
  if (bias) params.push({ name: 'bias', shape: [cout] });
  return { ...at, kind: 'conv', params, stride, bias };
}

function deconv(at: Placement, k: number, cin: number, cout: number, stride: number): LayerSpec {
  return { ...at, kind: 'deconv', params: [{ name: 'kernel', shape: [k, cout, cin] }], stride, bias: false };
}

function batchnorm(at: Placement, channels: number): LayerSpec {
  return {
    ...at,
    kind: 'batchnorm',
    params: ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((p) => ({ name: p, shape: [channels] })),
  };
}

/**
 * The layers in the order the original applies them. Each conv/deconv is followed by its batch norm
 * and a ReLU, except `output_conv` (1x1, with bias, then softmax).
 */
export function phasenetLayers(arch: PhaseNetArchitecture): LayerSpec[] {
  const { kernelSize: k, stride, depth } = arch;
  const f = (d: number) => levelFilters(arch, d);
  const at = (group: string, suffix: string, level: number) => ({ name: `${group}_${suffix}`, group, level });
  const layers: LayerSpec[] = [
    conv(at('input', 'conv', 0), k, arch.inChannels, f(0), 1, true),
    batchnorm(at('input', 'bn', 0), f(0)),
  ];
  for (let d = 0; d < depth; d++) {
    const group = `down${d}`;
    layers.push(conv(at(group, 'conv1', d), k, d === 0 ? f(0) : f(d - 1), f(d), 1, false));
    layers.push(batchnorm(at(group, 'bn1', d), f(d)));
    if (d < depth - 1) {
      layers.push(conv(at(group, 'conv3', d + 1), k, f(d), f(d), stride, false));
      layers.push(batchnorm(at(group, 'bn3', d + 1), f(d)));
    }
  }
  for (let d = depth - 2; d >= 0; d--) {
    const group = `up${d}`;
    layers.push(deconv(at(group, 'deconv', d), k, f(d + 1), f(d), stride));
    layers.push(batchnorm(at(group, 'bn0', d), f(d)));
    layers.push(conv(at(group, 'conv1', d), k, 2 * f(d), f(d), 1, false));
    layers.push(batchnorm(at(group, 'bn1', d), f(d)));
  }
  layers.push(conv(at('output', 'conv', 0), 1, f(0), arch.classes, 1, true));
  return layers;
}

/** Every weight's canonical name and shape, in layer order. */
export function phasenetWeightSpec(arch: PhaseNetArchitecture): { name: string; shape: number[] }[] {
  return phasenetLayers(arch).flatMap((layer) =>
    layer.params.map((p) => ({ name: `${layer.name}/${p.name}`, shape: p.shape })),
  );
}

/** Trainable parameters (batch-norm moving statistics excluded): 268,443 for the original. */
export function trainableParameterCount(arch: PhaseNetArchitecture): number {
  return phasenetWeightSpec(arch)
    .filter((w) => !w.name.endsWith('/moving_mean') && !w.name.endsWith('/moving_variance'))
    .reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
}

/** TensorFlow 'SAME' padding: output length ceil(n / s), total pad split with the smaller half before. */
export function samePadding(length: number, kernelSize: number, stride: number) {
  const outLength = Math.ceil(length / stride);
  const total = Math.max((outLength - 1) * stride + kernelSize - length, 0);
  const before = Math.floor(total / 2);
  return { outLength, before, after: total - before };
}

/** Length of each level for an input of `length` samples (3000 → 3000, 750, 188, 47, 12). */
export function levelLengths(arch: PhaseNetArchitecture, length: number): number[] {
  const lengths = [length];
  for (let d = 1; d < arch.depth; d++)
    lengths.push(samePadding(lengths[d - 1], arch.kernelSize, arch.stride).outLength);
  return lengths;
}

/**
 * Where the up-sampled level d+1 is cropped to join the skip connection of level d: the transposed
 * convolution keeps [1 : 1 + stride*n] of its full output (TF SAME), then the original crops at
 * (len(up) - len(skip)) // 2. For 3000 samples the offsets of levels 3..0 are 0, 0, 1, 0.
 */
export function skipCropOffset(arch: PhaseNetArchitecture, length: number, level: number): number {
  const lengths = levelLengths(arch, length);
  const upLength = lengths[level + 1] * arch.stride;
  return Math.floor((upLength - lengths[level]) / 2);
}

/**
 * Multiply-adds of one forward pass over `length` samples, convolutions only (batch norm folds into
 * them; ReLU and softmax are comparatively free). A transposed convolution costs k·in·out per input
 * sample. FLOPs are twice this: 38.9 MFLOP for a 3000-sample window of the original.
 */
export function multiplyAdds(arch: PhaseNetArchitecture, length: number): number {
  const lengths = levelLengths(arch, length);
  let total = 0;
  for (const layer of phasenetLayers(arch)) {
    if (layer.kind === 'batchnorm') continue;
    const [k, a, b] = layer.params[0].shape;
    total += lengths[layer.kind === 'deconv' ? layer.level + 1 : layer.level] * k * a * b;
  }
  return total;
}
