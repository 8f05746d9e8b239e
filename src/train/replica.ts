import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { PhaseNetArchitecture, PhaseNetWeights } from '../model/phasenet/architecture.ts';
import {
  getPhaseNetWeights,
  phasenetLayersModel,
  setPhaseNetWeights,
} from '../model/phasenet/layers-model.ts';
import { resolveLayerNames } from './transfer.ts';

/** Weighted cross-entropy of probabilities (the model's softmax output) against soft targets. */
export function crossEntropy(classWeights?: readonly number[]) {
  return (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const logP = tf.log(tf.clipByValue(yPred, 1e-7, 1));
      const weighted = classWeights ? tf.mul(yTrue, tf.tensor1d([...classWeights])) : yTrue;
      return tf.neg(tf.mean(tf.sum(tf.mul(weighted, logP), -1)));
    });
}

export interface ReplicaOptions {
  architecture: PhaseNetArchitecture;
  weights: PhaseNetWeights;
  /** Layers, groups or aliases that do not train. */
  freeze: string[];
  learningRate: number;
  classWeights?: [number, number, number];
}

/** Adam's state as plain arrays (checkpoints, and from a worker thread to the main one). */
export type OptimizerState = { name: string; shape: number[]; values: Float32Array }[];

/** A batch as plain arrays: x [count, length, channels], y [count, length, classes]. */
export interface PlainBatch {
  x: Float32Array;
  y: Float32Array;
  count: number;
  length: number;
}

/**
 * One copy of the model being trained, with its Adam optimizer, on the thread's active tfjs backend.
 * Training in one thread takes whole steps; data-parallel training (src/train/parallel.ts) has each
 * worker's replica compute the gradients of its share of a batch, then apply the average, so that
 * every replica takes the same step.
 */
export class Replica {
  readonly model: LayersModel;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly arch: PhaseNetArchitecture;
  private readonly loss: ReturnType<typeof crossEntropy>;

  constructor(options: ReplicaOptions) {
    this.arch = options.architecture;
    this.model = phasenetLayersModel(options.architecture, options.weights);
    const frozen = new Set(resolveLayerNames(options.architecture, options.freeze));
    for (const layer of this.model.layers) if (frozen.has(layer.name)) layer.trainable = false;
    this.optimizer = tf.train.adam(options.learningRate);
    this.loss = crossEntropy(options.classWeights);
    this.model.compile({ optimizer: this.optimizer, loss: this.loss });
  }

  private tensors(batch: PlainBatch) {
    return {
      x: tf.tensor3d(batch.x, [batch.count, batch.length, this.arch.inChannels]),
      y: tf.tensor3d(batch.y, [batch.count, batch.length, this.arch.classes]),
    };
  }

  /** One training step on the batch; its loss before the step. */
  async step(batch: PlainBatch): Promise<number> {
    const { x, y } = this.tensors(batch);
    try {
      return (await this.model.trainOnBatch(x, y)) as number;
    } finally {
      tf.dispose([x, y]);
    }
  }

  /** The loss of the batch and the gradients of the trainable weights (in `trainableNames` order). */
  async gradients(batch: PlainBatch): Promise<{ loss: number; gradients: Float32Array[] }> {
    const { x, y } = this.tensors(batch);
    const variables = this.trainableVariables();
    const { value, grads } = tf.variableGrads(
      () => this.loss(y, this.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      variables,
    );
    try {
      const gradients = [];
      for (const v of variables) gradients.push((await grads[v.name].data()) as Float32Array);
      return { loss: (await value.data())[0], gradients };
    } finally {
      tf.dispose([x, y, value, ...Object.values(grads)]);
    }
  }

  /** Applies gradients (in `trainableNames` order) with Adam. */
  apply(gradients: Float32Array[]): void {
    const variables = this.trainableVariables();
    const named = variables.map((v, i) => ({ name: v.name, tensor: tf.tensor(gradients[i], v.shape) }));
    this.optimizer.applyGradients(named);
    tf.dispose(named.map((n) => n.tensor));
  }

  private trainableVariables(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** Adam's rate is a plain field, read at each step. */
  setLearningRate(rate: number): void {
    (this.optimizer as unknown as { learningRate: number }).learningRate = rate;
  }

  weights(): Promise<PhaseNetWeights> {
    return getPhaseNetWeights(this.model, this.arch);
  }

  setWeights(weights: PhaseNetWeights): void {
    setPhaseNetWeights(this.model, this.arch, weights);
  }

  async optimizerState(): Promise<OptimizerState> {
    const named = await this.optimizer.getWeights();
    const out: OptimizerState = [];
    for (const { name, tensor } of named) {
      out.push({ name, shape: [...tensor.shape], values: Float32Array.from(await tensor.data()) });
    }
    return out;
  }

  async loadOptimizerState(state: OptimizerState): Promise<void> {
    await this.optimizer.setWeights(
      state.map(({ name, shape, values }) => ({ name, tensor: tf.tensor(values, shape) })),
    );
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}
