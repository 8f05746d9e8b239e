import * as tf from '@tensorflow/tfjs-core';
import {
  model as functionalModel,
  initializers,
  input,
  type LayersModel,
  layers,
  type Shape,
  type SymbolicTensor,
} from '@tensorflow/tfjs-layers';
import type { BatchNormalization } from '@tensorflow/tfjs-layers/dist/layers/normalization.js';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types.js';
import { ModelFormatError } from '../../errors.ts';
import {
  BATCH_NORM_EPSILON,
  levelFilters,
  type PhaseNetArchitecture,
  type PhaseNetWeights,
  phasenetLayers,
  samePadding,
} from './architecture.ts';
import { batchNormInTraining } from './batch-norm-training.ts';

/**
 * PhaseNet as a tfjs-layers functional model, for any input length (input [null, inChannels]).
 * Layers carry the canonical names of architecture.ts, so weight `${layer}/${param}` of the model is
 * canonical weight `${layer}/${param}` with the same shape. Besides them, the activations are named
 * layers too (see `activationLayerNames`), which lets a caller read every intermediate result.
 *
 * tfjs-layers has no 1-D transposed convolution and no crop whose offset depends on the run-time
 * lengths, and two of its behaviours need replacing (strided 'same' on tfjs-wasm, batch norm that
 * freezes), so four small custom layers do these; importing this module registers them, after which a
 * saved model.json loads with `loadLayersModel`. All are written with differentiable tfjs ops, so the
 * model trains with `fit`.
 */

type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

function singleShape(shape: Shape | Shape[]): Shape {
  return Array.isArray(shape[0]) ? (shape as Shape[])[0] : (shape as Shape);
}

function singleTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor3D {
  return (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
}

export interface TransposedConv1DArgs extends LayerArgs {
  filters: number;
  kernelSize: number;
  strides: number;
}

/**
 * 1-D transposed convolution with TF 'SAME' semantics, as tf.layers.conv2d_transpose of the original
 * computes it on [T, 1] images: of the full output, length (n-1)*s + k, the n*s samples that SAME
 * keeps, starting where SAME padding of the matching forward convolution would begin ([1 : 1+4n] for
 * k=7, s=4). tf.conv2dTranspose with pad 'same' computes exactly this crop (the golden intermediate
 * activations check it). Kernel [k, filters, inChannels], the layout of the TF checkpoint.
 */
export class TransposedConv1D extends layers.Layer {
  static readonly className = 'PhaseNetTransposedConv1D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  private kernel?: ReturnType<layers.Layer['addWeight']>;

  constructor(args: TransposedConv1DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides;
  }

  override build(inputShape: Shape | Shape[]): void {
    const inChannels = singleShape(inputShape).at(-1);
    if (inChannels == null) throw new ModelFormatError(`${this.name}: the channel dimension must be known`);
    this.kernel = this.addWeight(
      'kernel',
      [this.kernelSize, this.filters, inChannels],
      'float32',
      initializers.glorotUniform({}),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [batch, length] = singleShape(inputShape);
    return [batch, length == null ? null : length * this.strides, this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = singleTensor(inputs);
      const [batch, length, inChannels] = x.shape;
      const k = this.kernelSize;
      const s = this.strides;
      const kernel = tf.reshape(this.kernel!.read(), [k, 1, this.filters, inChannels]) as tf.Tensor4D;
      const up = tf.conv2dTranspose(
        tf.reshape(x, [batch, length, 1, inChannels]) as tf.Tensor4D,
        kernel,
        [batch, length * s, 1, this.filters],
        [s, 1],
        'same',
      );
      return tf.reshape(up, [batch, length * s, this.filters]);
    });
  }

  override getConfig() {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
    };
  }
}

export interface SamePadding1DArgs extends LayerArgs {
  kernelSize: number;
  strides: number;
}

/**
 * The zero padding of TF 'SAME' for a strided convolution, computed for the run-time length
 * (`samePadding`); the convolution after it is 'valid'. tfjs's own 'same' is right for stride 1, but
 * tfjs-wasm (XNNPACK) gets strided SAME wrong when the kernel is shorter than the stride and the
 * length a multiple of it (its total padding goes negative instead of 0; 3000 samples, k=3, s=4).
 */
export class SamePadding1D extends layers.Layer {
  static readonly className = 'PhaseNetSamePadding1D';
  readonly kernelSize: number;
  readonly strides: number;

  constructor(args: SamePadding1DArgs) {
    super(args);
    this.kernelSize = args.kernelSize;
    this.strides = args.strides;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [batch, length, channels] = singleShape(inputShape);
    if (length == null) return [batch, null, channels];
    const { before, after } = samePadding(length, this.kernelSize, this.strides);
    return [batch, length + before + after, channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = singleTensor(inputs);
    const { before, after } = samePadding(x.shape[1], this.kernelSize, this.strides);
    return tf.pad(x, [
      [0, 0],
      [before, after],
      [0, 0],
    ]);
  }

  override getConfig() {
    return { ...super.getConfig(), kernelSize: this.kernelSize, strides: this.strides };
  }
}

/**
 * Joins a skip connection and the up-sampled level as the original does: concat([skip, up cropped to
 * the skip's length at offset (len(up) - len(skip)) // 2]). The offset depends on the input length, so
 * it is computed from the tensors at run time. Inputs [skip, up].
 */
export class SkipConcat extends layers.Layer {
  static readonly className = 'PhaseNetSkipConcat';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [skip, up] = inputShape as Shape[];
    const channels = skip[2] == null || up[2] == null ? null : skip[2] + up[2];
    return [skip[0], skip[1], channels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [skip, up] = inputs as tf.Tensor3D[];
      const [batch, skipLength] = skip.shape;
      const offset = Math.floor((up.shape[1] - skipLength) / 2);
      return tf.concat([skip, tf.slice(up, [0, offset, 0], [batch, skipLength, up.shape[2]])], 2);
    });
  }
}

// tfjs-layers exports the batch norm layer's factory but not its class; the class is the prototype's.
const BatchNormalizationLayer = Object.getPrototypeOf(layers.batchNormalization({}))
  .constructor as typeof BatchNormalization;

/**
 * Batch norm that, when not trainable, also stops learning its statistics: it normalizes with the
 * moving mean and variance and leaves them as they are, as Keras does since TF 2.0. tfjs-layers'
 * own layer keeps updating them in `fit` even when frozen, which would undo a frozen group. In
 * training it normalizes through `batchNormInTraining`, whose gradient is the closed form, and
 * updates the moving averages as tfjs-layers does.
 */
export class FreezableBatchNormalization extends BatchNormalizationLayer {
  static override readonly className = 'PhaseNetBatchNormalization';
  /** Off: tfjs-layers' own training path (for bench/train.ts's baseline). */
  static closedFormGradient = true;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const training = this.trainable && kwargs.training === true;
    const x = singleTensor(inputs);
    // tfjs-layers keeps these private; this layer reads them as its parent class does.
    const own = this as unknown as Record<
      'gamma' | 'beta' | 'movingMean' | 'movingVariance',
      LayerVariableLike
    > &
      Record<'axis' | 'epsilon' | 'momentum', number>;
    if (
      !training ||
      !FreezableBatchNormalization.closedFormGradient ||
      (own.axis !== -1 && own.axis !== x.rank - 1)
    ) {
      return super.call(inputs, training ? kwargs : { ...kwargs, training: false });
    }
    return tf.tidy(() => {
      const { normalized, mean, variance } = batchNormInTraining(
        x,
        own.gamma.read(),
        own.beta.read(),
        own.epsilon,
      );
      for (const [variable, value] of [
        [own.movingMean, mean],
        [own.movingVariance, variance],
      ] as const) {
        const current = variable.read();
        variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - own.momentum)));
      }
      return normalized;
    });
  }
}

interface LayerVariableLike {
  read(): tf.Tensor;
  write(value: tf.Tensor): void;
}

tf.serialization.registerClass(TransposedConv1D);
tf.serialization.registerClass(SkipConcat);
tf.serialization.registerClass(SamePadding1D);
tf.serialization.registerClass(FreezableBatchNormalization);

/** The input layer's name. */
export const INPUT_NAME = 'waveform';
/** The logits (the 1x1 output convolution) and the probabilities. */
export const LOGITS_LAYER = 'output_conv';
export const PROBS_LAYER = 'output_softmax';

/**
 * The layers whose outputs are the network's activations, in the order the network computes them:
 * `input_relu`; per level d `down{d}_relu1` (the skip) and `down{d}_relu3` (strided); per up level
 * `up{d}_relu0` (transposed conv, SAME crop, BN, ReLU, before the skip crop), `up{d}_concat`,
 * `up{d}_relu1`; then `output_conv` (logits) and `output_softmax`.
 */
export function activationLayerNames(arch: PhaseNetArchitecture): string[] {
  const names = ['input_relu'];
  for (let d = 0; d < arch.depth; d++) {
    names.push(`down${d}_relu1`);
    if (d < arch.depth - 1) names.push(`down${d}_relu3`);
  }
  for (let d = arch.depth - 2; d >= 0; d--) names.push(`up${d}_relu0`, `up${d}_concat`, `up${d}_relu1`);
  names.push(LOGITS_LAYER, PROBS_LAYER);
  return names;
}

/** Builds the untrained PhaseNet layers model (outputs: probabilities [batch, length, classes]). */
export function buildPhaseNetModel(arch: PhaseNetArchitecture): LayersModel {
  const specs = new Map(phasenetLayers(arch).map((spec) => [spec.name, spec]));
  const spec = (name: string) => {
    const found = specs.get(name);
    if (!found) throw new Error(`architecture has no layer ${name}`);
    return found;
  };
  const conv = (x: SymbolicTensor, name: string) => {
    const { params, stride = 1, bias } = spec(name);
    const [k, , filters] = params[0].shape;
    const args = { name, filters, kernelSize: k, strides: stride, useBias: bias };
    if (stride === 1) return layers.conv1d({ ...args, padding: 'same' }).apply(x) as SymbolicTensor;
    const padded = new SamePadding1D({ name: `${name}_pad`, kernelSize: k, strides: stride }).apply(x);
    return layers.conv1d({ ...args, padding: 'valid' }).apply(padded) as SymbolicTensor;
  };
  const bnRelu = (x: SymbolicTensor, bnName: string, reluName: string) => {
    spec(bnName); // only names the architecture has
    const normalized = new FreezableBatchNormalization({
      name: bnName,
      axis: -1,
      epsilon: BATCH_NORM_EPSILON,
      momentum: 0.99,
    }).apply(x) as SymbolicTensor;
    return layers.activation({ name: reluName, activation: 'relu' }).apply(normalized) as SymbolicTensor;
  };

  const waveform = input({ name: INPUT_NAME, shape: [null, arch.inChannels] });
  let x = bnRelu(conv(waveform, 'input_conv'), 'input_bn', 'input_relu');
  const skips: SymbolicTensor[] = [];
  for (let d = 0; d < arch.depth; d++) {
    x = bnRelu(conv(x, `down${d}_conv1`), `down${d}_bn1`, `down${d}_relu1`);
    skips.push(x);
    if (d < arch.depth - 1) x = bnRelu(conv(x, `down${d}_conv3`), `down${d}_bn3`, `down${d}_relu3`);
  }
  for (let d = arch.depth - 2; d >= 0; d--) {
    const deconv = spec(`up${d}_deconv`);
    const up = new TransposedConv1D({
      name: deconv.name,
      filters: levelFilters(arch, d),
      kernelSize: arch.kernelSize,
      strides: arch.stride,
    }).apply(x) as SymbolicTensor;
    const upsampled = bnRelu(up, `up${d}_bn0`, `up${d}_relu0`);
    const joined = new SkipConcat({ name: `up${d}_concat` }).apply([skips[d], upsampled]) as SymbolicTensor;
    x = bnRelu(conv(joined, `up${d}_conv1`), `up${d}_bn1`, `up${d}_relu1`);
  }
  const logits = conv(x, LOGITS_LAYER);
  const probs = layers.softmax({ name: PROBS_LAYER, axis: -1 }).apply(logits) as SymbolicTensor;
  return functionalModel({ name: 'phasenet', inputs: waveform, outputs: probs });
}

/** A model sharing `model`'s layers whose outputs are the named layers' outputs (e.g. the logits). */
export function outputsModel(model: LayersModel, layerNames: string[]): LayersModel {
  const outputs = layerNames.map((name) => model.getLayer(name).output as SymbolicTensor);
  return functionalModel({ inputs: model.inputs, outputs });
}

// Weights are matched by `originalName`, `${layer}/${param}`: `name` gets a suffix (`…_1`) when another
// model in the process has used it.

/** Sets every weight of the model from canonical weights; the shapes must match the architecture. */
export function setPhaseNetWeights(
  model: LayersModel,
  arch: PhaseNetArchitecture,
  weights: PhaseNetWeights,
): void {
  for (const spec of phasenetLayers(arch)) {
    const layer = model.getLayer(spec.name);
    const values = layer.weights.map((variable) => {
      const name = variable.originalName;
      const weight = weights.get(name);
      if (!weight) throw new ModelFormatError(`weights lack ${name}`);
      if (weight.shape.join(',') !== variable.shape.join(',')) {
        throw new ModelFormatError(
          `weight ${name} has shape [${weight.shape}], the model needs [${variable.shape}]`,
        );
      }
      return tf.tensor(weight.values, weight.shape, 'float32');
    });
    layer.setWeights(values);
    tf.dispose(values);
  }
}

/** Reads every weight of the model, by canonical name. */
export async function getPhaseNetWeights(
  model: LayersModel,
  arch: PhaseNetArchitecture,
): Promise<PhaseNetWeights> {
  const weights: PhaseNetWeights = new Map();
  for (const spec of phasenetLayers(arch)) {
    for (const variable of model.getLayer(spec.name).weights) {
      const values = (await variable.read().data()) as Float32Array;
      weights.set(variable.originalName, {
        shape: [...variable.shape] as number[],
        values: Float32Array.from(values),
      });
    }
  }
  return weights;
}

/** Builds the model and loads canonical weights into it. */
export function phasenetLayersModel(arch: PhaseNetArchitecture, weights: PhaseNetWeights): LayersModel {
  const model = buildPhaseNetModel(arch);
  setPhaseNetWeights(model, arch, weights);
  return model;
}

/**
 * Sets whether the layers of the given groups (`input`, `down0`…, `up0`…, `output`; see
 * architecture.ts) train. Compile the model after changing it, as tfjs-layers reads `trainable` then.
 */
export function setGroupsTrainable(
  model: LayersModel,
  arch: PhaseNetArchitecture,
  groups: readonly string[],
  trainable: boolean,
): void {
  const known = new Set(phasenetLayers(arch).map((spec) => spec.group));
  const unknown = groups.filter((group) => !known.has(group));
  if (unknown.length > 0) {
    throw new ModelFormatError(`unknown layer group(s) ${unknown.join(', ')}`, {
      hint: `PhaseNet's groups are ${[...known].join(', ')}`,
    });
  }
  for (const spec of phasenetLayers(arch)) {
    if (groups.includes(spec.group)) model.getLayer(spec.name).trainable = trainable;
  }
}
