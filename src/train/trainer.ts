import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { registerBatchNormGradient } from '../engine/tfjs/batch-norm-gradient.ts';
import type { LoadedModel } from '../model/card.ts';
import type { PhaseNetArchitecture, PhaseNetWeights } from '../model/phasenet/architecture.ts';
import { getPhaseNetWeights, phasenetLayersModel } from '../model/phasenet/layers-model.ts';
import { loadModelDir, saveModelDir } from '../model/store.ts';
import type { AugmentOptions } from './augment.ts';
import { type Batch, type DatasetEntry, fixedBatches, trainingBatches } from './dataset.ts';
import type { LabelOptions } from './labels.ts';
import { resolveLayerNames } from './transfer.ts';

registerBatchNormGradient();

/**
 * The training loop: PhaseNet as the tfjs layers model (src/model/phasenet/layers-model.ts) on the
 * active tfjs backend, cross-entropy with optional class weights, Adam with a learning rate that
 * decays each epoch, a validation loss after each epoch, early stopping, and a checkpoint (weights,
 * optimizer state, history) after each epoch from which a run resumes where it stopped.
 */

export interface TrainOptions {
  windowLength: number;
  label: LabelOptions;
  augment: AugmentOptions;
  batchSize: number;
  epochs: number;
  /** Batches per epoch at most (default: all the training records once). */
  stepsPerEpoch?: number;
  learningRate: number;
  /** The learning rate is multiplied by this after each epoch. */
  learningRateDecay: number;
  /** Weights of the classes (noise, P, S) in the cross-entropy; default all 1. */
  classWeights?: [number, number, number];
  /** Stop after this many epochs without a lower validation loss (0: never). */
  patience: number;
  /** Layers, groups or aliases whose weights stay as they are (src/train/transfer.ts). */
  freeze: string[];
  seed: number;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validationLoss: number | null;
  learningRate: number;
  windowsPerSecond: number;
}

export interface TrainState {
  /** Epochs done. */
  epoch: number;
  learningRate: number;
  bestValidationLoss: number | null;
  bestEpoch: number | null;
  epochsWithoutImprovement: number;
  history: EpochRecord[];
  stopped: 'early' | 'epochs' | null;
}

export interface TrainHooks {
  onBatch?(info: {
    epoch: number;
    step: number;
    steps: number;
    loss: number;
    windowsPerSecond: number;
  }): void;
  onEpoch?(record: EpochRecord): void;
}

/** Weighted cross-entropy of probabilities (the model's softmax output) against soft targets. */
export function crossEntropy(classWeights?: readonly number[]) {
  return (yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const logP = tf.log(tf.clipByValue(yPred, 1e-7, 1));
      const weighted = classWeights ? tf.mul(yTrue, tf.tensor1d([...classWeights])) : yTrue;
      return tf.neg(tf.mean(tf.sum(tf.mul(weighted, logP), -1)));
    });
}

function toTensors(batch: Batch, windowLength: number, channels: number, classes: number) {
  return {
    x: tf.tensor3d(batch.x, [batch.count, windowLength, channels]),
    y: tf.tensor3d(batch.y, [batch.count, windowLength, classes]),
  };
}

async function validationLoss(
  model: LayersModel,
  batches: Batch[],
  loss: ReturnType<typeof crossEntropy>,
  arch: PhaseNetArchitecture,
  windowLength: number,
): Promise<number | null> {
  if (batches.length === 0) return null;
  let total = 0;
  let count = 0;
  for (const batch of batches) {
    const value = tf.tidy(() => {
      const { x, y } = toTensors(batch, windowLength, arch.inChannels, arch.classes);
      return loss(y, model.predict(x) as tf.Tensor);
    });
    total += (await value.data())[0] * batch.count;
    count += batch.count;
    value.dispose();
  }
  return total / count;
}

const CHECKPOINT_DIR = 'checkpoint';
const STATE_FILE = 'state.json';
const OPTIMIZER_FILE = 'optimizer.bin';

async function saveOptimizer(optimizer: tf.Optimizer, dir: string): Promise<void> {
  const named = await optimizer.getWeights();
  const manifest = [];
  const parts: Float32Array[] = [];
  for (const { name, tensor } of named) {
    const values = Float32Array.from(await tensor.data());
    manifest.push({ name, shape: tensor.shape, size: values.length });
    parts.push(values);
  }
  const bytes = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    bytes.set(p, offset);
    offset += p.length;
  }
  await writeFile(join(dir, OPTIMIZER_FILE), new Uint8Array(bytes.buffer));
  await writeFile(join(dir, 'optimizer.json'), `${JSON.stringify(manifest)}\n`);
}

async function loadOptimizer(optimizer: tf.Optimizer, dir: string): Promise<void> {
  const manifest = JSON.parse(await readFile(join(dir, 'optimizer.json'), 'utf8')) as {
    name: string;
    shape: number[];
    size: number;
  }[];
  const buffer = await readFile(join(dir, OPTIMIZER_FILE));
  const values = new Float32Array(
    buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
  );
  let offset = 0;
  const named = manifest.map(({ name, shape, size }) => {
    const tensor = tf.tensor(values.subarray(offset, offset + size), shape);
    offset += size;
    return { name, tensor };
  });
  await optimizer.setWeights(named);
}

/** The checkpoint of a run in `outDir`, if there is one. */
export async function readCheckpoint(
  outDir: string,
): Promise<{ model: LoadedModel; state: TrainState } | null> {
  const dir = join(outDir, CHECKPOINT_DIR);
  const text = await readFile(join(dir, STATE_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  return { model: await loadModelDir(dir), state: JSON.parse(text) as TrainState };
}

/**
 * Trains `initial` on `train` and returns the weights of the epoch with the lowest validation loss
 * (the last epoch's without validation data), with the history. With `outDir` it writes a
 * checkpoint after each epoch and, when `resume` and a checkpoint is there, continues from it.
 */
export async function trainModel(
  initial: LoadedModel,
  data: { train: DatasetEntry[]; validation: DatasetEntry[] },
  options: TrainOptions,
  run: { outDir?: string; resume?: boolean; hooks?: TrainHooks } = {},
): Promise<{ model: LoadedModel; state: TrainState }> {
  const arch = initial.card.architecture;
  let start = initial;
  let state: TrainState = {
    epoch: 0,
    learningRate: options.learningRate,
    bestValidationLoss: null,
    bestEpoch: null,
    epochsWithoutImprovement: 0,
    history: [],
    stopped: null,
  };
  const checkpoint = run.resume && run.outDir ? await readCheckpoint(run.outDir) : null;
  if (checkpoint) {
    start = checkpoint.model;
    // A run that ended at its epoch count continues when more epochs are asked for; an early stop stands.
    state = { ...checkpoint.state, stopped: checkpoint.state.stopped === 'early' ? 'early' : null };
  }
  const model = phasenetLayersModel(arch, start.weights);
  const frozen = new Set(resolveLayerNames(arch, options.freeze));
  for (const layer of model.layers) if (frozen.has(layer.name)) layer.trainable = false;
  const optimizer = tf.train.adam(state.learningRate);
  const loss = crossEntropy(options.classWeights);
  model.compile({ optimizer, loss });
  if (checkpoint && run.outDir) await loadOptimizer(optimizer, join(run.outDir, CHECKPOINT_DIR));

  const windowOptions = { windowLength: options.windowLength, label: options.label };
  const validation = await fixedBatches(data.validation, {
    ...windowOptions,
    batchSize: options.batchSize,
    seed: options.seed,
  });
  const stepsPerEpoch = Math.min(
    options.stepsPerEpoch ?? Number.POSITIVE_INFINITY,
    Math.ceil(data.train.length / options.batchSize),
  );
  let best: PhaseNetWeights | null = null;
  try {
    while (state.epoch < options.epochs && state.stopped === null) {
      // Adam's rate is a plain field, read at each step: set it for this epoch.
      (optimizer as unknown as { learningRate: number }).learningRate = state.learningRate;
      const started = performance.now();
      let windows = 0;
      let lossSum = 0;
      let step = 0;
      for await (const batch of trainingBatches(data.train, {
        ...windowOptions,
        batchSize: options.batchSize,
        augment: options.augment,
        seed: options.seed,
        epoch: state.epoch,
      })) {
        if (step >= stepsPerEpoch) break;
        const { x, y } = toTensors(batch, options.windowLength, arch.inChannels, arch.classes);
        const value = (await model.trainOnBatch(x, y)) as number;
        tf.dispose([x, y]);
        step++;
        windows += batch.count;
        lossSum += value * batch.count;
        run.hooks?.onBatch?.({
          epoch: state.epoch,
          step,
          steps: stepsPerEpoch,
          loss: value,
          windowsPerSecond: windows / ((performance.now() - started) / 1000),
        });
      }
      const seconds = (performance.now() - started) / 1000;
      const validationValue = await validationLoss(model, validation, loss, arch, options.windowLength);
      const record: EpochRecord = {
        epoch: state.epoch + 1,
        trainLoss: lossSum / Math.max(1, windows),
        validationLoss: validationValue,
        learningRate: state.learningRate,
        windowsPerSecond: windows / seconds,
      };
      state.history.push(record);
      state.epoch++;
      state.learningRate *= options.learningRateDecay;
      const improved =
        validationValue === null ||
        state.bestValidationLoss === null ||
        validationValue < state.bestValidationLoss;
      if (improved) {
        state.bestValidationLoss = validationValue;
        state.bestEpoch = state.epoch;
        state.epochsWithoutImprovement = 0;
        best = await getPhaseNetWeights(model, arch);
      } else {
        state.epochsWithoutImprovement++;
        if (options.patience > 0 && state.epochsWithoutImprovement >= options.patience)
          state.stopped = 'early';
      }
      if (state.epoch >= options.epochs && state.stopped === null) state.stopped = 'epochs';
      run.hooks?.onEpoch?.(record);
      if (run.outDir) {
        const dir = join(run.outDir, CHECKPOINT_DIR);
        await mkdir(dir, { recursive: true });
        await saveModelDir(dir, { card: initial.card, weights: await getPhaseNetWeights(model, arch) });
        await saveOptimizer(optimizer, dir);
        if (best) await saveModelDir(join(run.outDir, 'best'), { card: initial.card, weights: best });
        await writeFile(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
      }
    }
    if (!best && run.outDir)
      best = (await loadModelDir(join(run.outDir, 'best')).catch(() => null))?.weights ?? null;
    return { model: { card: initial.card, weights: best ?? (await getPhaseNetWeights(model, arch)) }, state };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}
