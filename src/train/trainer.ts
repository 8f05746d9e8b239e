import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { TfjsBackendName } from '../engine/tfjs/tfjs-engine.ts';
import type { LoadedModel } from '../model/card.ts';
import type { PhaseNetArchitecture, PhaseNetWeights } from '../model/phasenet/architecture.ts';
import { phasenetLayersModel, setPhaseNetWeights } from '../model/phasenet/layers-model.ts';
import { loadModelDir, saveModelDir } from '../model/store.ts';
import type { AugmentOptions } from './augment.ts';
import { type Batch, type DatasetEntry, fixedBatches, trainingBatches } from './dataset.ts';
import type { LabelOptions } from './labels.ts';
import { ParallelReplicas } from './parallel.ts';
import { crossEntropy, type OptimizerState, type PlainBatch, Replica } from './replica.ts';

export { crossEntropy } from './replica.ts';

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
  /**
   * Worker threads for data-parallel training (src/train/parallel.ts); 1: in this thread. Results
   * then depend on the count too, as batch norm sees each worker's share of a batch.
   */
  workers?: number;
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

async function saveOptimizer(state: OptimizerState, dir: string): Promise<void> {
  const bytes = new Float32Array(state.reduce((n, p) => n + p.values.length, 0));
  let offset = 0;
  for (const p of state) {
    bytes.set(p.values, offset);
    offset += p.values.length;
  }
  await writeFile(join(dir, OPTIMIZER_FILE), new Uint8Array(bytes.buffer));
  const manifest = state.map(({ name, shape, values }) => ({ name, shape, size: values.length }));
  await writeFile(join(dir, 'optimizer.json'), `${JSON.stringify(manifest)}\n`);
}

async function loadOptimizer(dir: string): Promise<OptimizerState> {
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
  return manifest.map(({ name, shape, size }) => {
    const part = values.slice(offset, offset + size);
    offset += size;
    return { name, shape, values: part };
  });
}

/** Where the training steps run: one replica in this thread, or replicas in worker threads. */
interface Trainer {
  step(batch: PlainBatch, learningRate: number): Promise<number>;
  weights(): Promise<PhaseNetWeights>;
  optimizerState(): Promise<OptimizerState>;
  loadOptimizerState(state: OptimizerState): Promise<void>;
  dispose(): Promise<void>;
}

async function startTrainer(
  options: ConstructorParameters<typeof Replica>[0],
  workers: number,
): Promise<Trainer> {
  if (workers > 1) {
    return ParallelReplicas.start(workers, tf.getBackend() as TfjsBackendName, options);
  }
  const replica = new Replica(options);
  return {
    step(batch, learningRate) {
      replica.setLearningRate(learningRate);
      return replica.step(batch);
    },
    weights: () => replica.weights(),
    optimizerState: () => replica.optimizerState(),
    loadOptimizerState: (state) => replica.loadOptimizerState(state),
    dispose: async () => replica.dispose(),
  };
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
  const trainer = await startTrainer(
    {
      architecture: arch,
      weights: start.weights,
      freeze: options.freeze,
      learningRate: state.learningRate,
      classWeights: options.classWeights,
    },
    options.workers ?? 1,
  );
  if (checkpoint && run.outDir)
    await trainer.loadOptimizerState(await loadOptimizer(join(run.outDir, CHECKPOINT_DIR)));
  // Validation runs in this thread, on a copy of the weights after each epoch.
  const evaluation = phasenetLayersModel(arch, start.weights);
  const loss = crossEntropy(options.classWeights);

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
        const value = await trainer.step({ ...batch, length: options.windowLength }, state.learningRate);
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
      const weights = await trainer.weights();
      setPhaseNetWeights(evaluation, arch, weights);
      const validationValue = await validationLoss(evaluation, validation, loss, arch, options.windowLength);
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
        best = weights;
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
        await saveModelDir(dir, { card: initial.card, weights });
        await saveOptimizer(await trainer.optimizerState(), dir);
        if (best) await saveModelDir(join(run.outDir, 'best'), { card: initial.card, weights: best });
        await writeFile(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
      }
    }
    if (!best && run.outDir)
      best = (await loadModelDir(join(run.outDir, 'best')).catch(() => null))?.weights ?? null;
    return { model: { card: initial.card, weights: best ?? (await trainer.weights()) }, state };
  } finally {
    evaluation.dispose();
    await trainer.dispose();
  }
}
