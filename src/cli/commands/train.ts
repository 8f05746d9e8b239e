import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { trainProgress } from '../../app/progress.ts';
import { checkWithSchema, readConfigFile } from '../../config/load.ts';
import { createEngine } from '../../engine/index.ts';
import { useTfjsBackend } from '../../engine/tfjs/backend.ts';
import { UsageError } from '../../errors.ts';
import { log } from '../../log.ts';
import type { LoadedModel, ModelCard } from '../../model/card.ts';
import { fetchOriginalModel } from '../../model/fetch.ts';
import { ORIGINAL_SOURCE, originalCard } from '../../model/original.ts';
import { ORIGINAL_ARCHITECTURE } from '../../model/phasenet/architecture.ts';
import { loadModelDir, saveModelDir } from '../../model/store.ts';
import { type TrainConfig, type TrainConfigInput, trainConfigSchema } from '../../train/config.ts';
import { lossCurvesCsv, lossCurvesSvg } from '../../train/curves.ts';
import {
  type DatasetEntry,
  excludeManifestRecords,
  mseedEventDataset,
  npzDataset,
  splitDataset,
} from '../../train/dataset.ts';
import { evaluateWindows } from '../../train/evaluate-windows.ts';
import { trainModel } from '../../train/trainer.ts';
import { initialPhaseNetWeights, transferWeights } from '../../train/transfer.ts';
import { metricsTable } from './evaluate.ts';

interface TrainCliOptions {
  config?: string;
  data?: string[];
  mseed?: string[];
  picks?: string;
  out: string;
  from?: string;
  freeze?: string;
  load?: string;
  components?: string;
  splitBy?: string;
  split?: string;
  excludeManifest?: string;
  excludeStations?: boolean;
  epochs?: number;
  batchSize?: number;
  stepsPerEpoch?: number;
  lr?: number;
  lrDecay?: number;
  patience?: number;
  classWeights?: string;
  seed?: number;
  backend?: string;
  workers?: number;
  name?: string;
  resume?: boolean;
}

const list = (value?: string) =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);

const numbers = (value: string | undefined, name: string, count: number) => {
  if (value === undefined) return undefined;
  const parts = value.split(',').map(Number);
  if (parts.length !== count || parts.some((n) => !Number.isFinite(n))) {
    throw new UsageError(`${name} takes ${count} comma-separated numbers, got '${value}'`);
  }
  return parts;
};

/** The config file's value with the command-line options laid over it, checked. */
async function trainConfigFrom(opts: TrainCliOptions): Promise<TrainConfig> {
  const file = (opts.config ? await readConfigFile(opts.config) : {}) as TrainConfigInput;
  const merged: TrainConfigInput = {
    ...file,
    data: {
      ...file.data,
      ...(opts.data ? { npz: opts.data } : {}),
      ...(opts.mseed ? { mseed: opts.mseed } : {}),
      ...(opts.picks ? { picks: opts.picks } : {}),
      split: {
        ...file.data?.split,
        ...(opts.splitBy ? { by: opts.splitBy as 'record' | 'station' } : {}),
        ...(opts.split ? { fractions: numbers(opts.split, '--split', 3) as [number, number, number] } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      },
      exclude: {
        ...file.data?.exclude,
        ...(opts.excludeManifest ? { manifest: opts.excludeManifest } : {}),
        ...(opts.excludeStations ? { stations: true } : {}),
      },
    },
    model: {
      ...file.model,
      ...(opts.from ? { from: opts.from } : {}),
      ...(opts.freeze !== undefined ? { freeze: list(opts.freeze) } : {}),
      ...(opts.load !== undefined ? { load: list(opts.load) } : {}),
      ...(opts.components ? { components: list(opts.components) } : {}),
      ...(opts.name ? { name: opts.name } : {}),
    },
    training: {
      ...file.training,
      ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
      ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
      ...(opts.stepsPerEpoch !== undefined ? { stepsPerEpoch: opts.stepsPerEpoch } : {}),
      ...(opts.lr !== undefined ? { learningRate: opts.lr } : {}),
      ...(opts.lrDecay !== undefined ? { learningRateDecay: opts.lrDecay } : {}),
      ...(opts.patience !== undefined ? { patience: opts.patience } : {}),
      ...(opts.classWeights
        ? { classWeights: numbers(opts.classWeights, '--class-weights', 3) as [number, number, number] }
        : {}),
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.backend ? { backend: opts.backend as 'wasm' } : {}),
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    },
  };
  return checkWithSchema(
    trainConfigSchema,
    merged,
    opts.config ?? 'training options',
    'config/train.example.yaml',
  );
}

async function datasetOf(config: TrainConfig): Promise<{ entries: DatasetEntry[]; excluded: string[] }> {
  const { data, model } = config;
  const entries = npzDataset(data.npz, model.components);
  if (data.mseed.length > 0) {
    if (!data.picks) throw new UsageError('miniSEED training data needs a picks CSV (--picks)');
    entries.push(...(await mseedEventDataset(data.mseed, data.picks, model.components)));
  }
  if (entries.length === 0) {
    throw new UsageError('no training data', {
      hint: 'give npz files or directories with --data, or --mseed with --picks',
    });
  }
  if (!data.exclude.manifest) return { entries, excluded: [] };
  const { kept, excluded } = excludeManifestRecords(entries, data.exclude.manifest, data.exclude);
  return { entries: kept, excluded };
}

async function baseModel(from: string): Promise<LoadedModel> {
  if (from === ORIGINAL_SOURCE.name) return loadModelDir(await fetchOriginalModel());
  return loadModelDir(from);
}

/** The initial model: transferred from `model.from`, or fresh weights for the configured architecture. */
async function initialModel(config: TrainConfig, commandLine: string): Promise<LoadedModel> {
  const { model, training } = config;
  const components = model.components;
  if (model.from) {
    const base = await baseModel(model.from);
    const architecture = { ...base.card.architecture, inChannels: components.length };
    const card: ModelCard = {
      ...base.card,
      name: model.name,
      version: new Date().toISOString().slice(0, 10),
      description: `PhaseNet fine-tuned by PhaseStream from ${base.card.name} (${base.card.version}).`,
      architecture,
      componentOrder: components,
      source: { origin: `phasestream: ${commandLine}` },
      createdAt: new Date().toISOString(),
    };
    const weights = transferWeights(base, {
      architecture,
      componentOrder: components,
      load: model.load,
      seed: training.seed,
    });
    return { card, weights };
  }
  const architecture = {
    ...ORIGINAL_ARCHITECTURE,
    inChannels: components.length,
    depth: model.depth,
    rootFilters: model.rootFilters,
  };
  const card: ModelCard = {
    ...originalCard(architecture, `phasestream: ${commandLine}`),
    name: model.name,
    version: new Date().toISOString().slice(0, 10),
    description: 'PhaseNet trained from scratch by PhaseStream.',
    componentOrder: components,
    source: { origin: `phasestream: ${commandLine}` },
    licence: { name: 'MIT' },
    metrics: {},
  };
  return { card, weights: initialPhaseNetWeights(architecture, training.seed) };
}

async function runTraining(opts: TrainCliOptions, commandLine: string): Promise<void> {
  const config = await trainConfigFrom(opts);
  const backend = await useTfjsBackend(config.training.backend);
  const { entries, excluded } = await datasetOf(config);
  const split = splitDataset(entries, config.data.split);
  const ids = (list: DatasetEntry[]) => list.map((e) => e.id);
  if (split.train.length === 0)
    throw new UsageError('the split left no training records', { hint: 'check --split' });
  const initial = await initialModel(config, commandLine);
  const out = resolve(opts.out);
  await mkdir(out, { recursive: true });
  await writeFile(
    join(out, 'split.json'),
    `${JSON.stringify({ by: config.data.split.by, seed: config.data.split.seed, excluded, train: ids(split.train), validation: ids(split.validation), test: ids(split.test) }, null, 2)}\n`,
  );
  await writeFile(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  log.info(
    {
      backend: backend.name,
      train: split.train.length,
      validation: split.validation.length,
      test: split.test.length,
      excluded: excluded.length,
    },
    'training',
  );
  const progress = trainProgress();
  const { model, state } = await trainModel(
    initial,
    split,
    {
      windowLength: initial.card.windowLength,
      label: config.labels,
      augment: config.augment,
      ...config.training,
      freeze: config.model.freeze,
    },
    {
      outDir: out,
      resume: opts.resume,
      hooks: {
        onBatch: (info) => progress.batch(info),
        onEpoch: (record) => log.info(record, 'epoch done'),
      },
    },
  );
  progress.stop();
  await writeFile(join(out, 'loss.csv'), lossCurvesCsv(state.history));
  await writeFile(
    join(out, 'loss.svg'),
    lossCurvesSvg(state.history, `${config.model.name}: cross-entropy per epoch`),
  );

  const engine = await createEngine(model, { engine: 'auto', backend: 'auto' });
  const testMetrics = split.test.length > 0 ? await evaluateWindows(engine, split.test) : null;
  await engine.dispose();
  const summary = testMetrics
    ? Object.fromEntries(
        Object.entries(testMetrics).map(([phase, m]) => [
          phase,
          {
            precision: round(m.precision),
            recall: round(m.recall),
            F1: round(m.f1),
            TP: m.truePositives,
            FP: m.falsePositives,
            FN: m.falseNegatives,
          },
        ]),
      )
    : null;
  const card: ModelCard = {
    ...model.card,
    trainingData:
      `${split.train.length} training and ${split.validation.length} validation records of ${[...config.data.npz, ...config.data.mseed].join(', ')}` +
      ` (split by ${config.data.split.by}, seed ${config.data.split.seed}; split.json lists them)` +
      (excluded.length > 0
        ? `; left out, as ${config.data.exclude.manifest} uses them${config.data.exclude.stations ? ' or their stations' : ''}: ${excluded.join(', ')}`
        : '') +
      (model.card.trainingData && config.model.from ? `. Starting weights: ${model.card.trainingData}` : ''),
    metrics: {
      ...(summary
        ? {
            testSplit: {
              where: `${split.test.length} held-out records of the split, 0.1 s tolerance`,
              ...summary,
            },
          }
        : {}),
      training: {
        commandLine,
        seed: config.training.seed,
        epochs: state.epoch,
        bestEpoch: state.bestEpoch,
        bestValidationLoss: state.bestValidationLoss,
        stopped: state.stopped,
        backend: backend.name,
        workers: config.training.workers,
      },
    },
    createdAt: new Date().toISOString(),
  };
  await saveModelDir(join(out, 'model'), { card, weights: model.weights });
  if (testMetrics) {
    await writeFile(join(out, 'metrics.json'), `${JSON.stringify(summary, null, 2)}\n`);
    process.stdout.write(metricsTable(testMetrics));
  }
  process.stdout.write(`${join(out, 'model')}\n`);
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function addTrainOptions(command: Command): Command {
  const int = (name: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new UsageError(`${name} must be a non-negative integer, got '${v}'`);
    return n;
  };
  const num = (name: string) => (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`${name} must be a number, got '${v}'`);
    return n;
  };
  return command
    .requiredOption(
      '--out <dir>',
      'output directory: model/, checkpoint/, best/, loss.csv, loss.svg, split.json, metrics.json',
    )
    .option(
      '--config <file>',
      'YAML or JSON training config (src/train/config.ts); options override its keys',
    )
    .option('--data <paths...>', 'PhaseNet npz files or directories of them')
    .option('--mseed <files...>', 'miniSEED files holding event windows (with --picks)')
    .option('--picks <csv>', 'picks of the miniSEED: CSV event,station,phase,time (station NET.STA)')
    .option('--components <list>', 'input components in order, e.g. E,N,Z or Z (default E,N,Z)')
    .addOption(
      new Option('--split-by <what>', 'keep records or whole stations together').choices([
        'record',
        'station',
      ]),
    )
    .option('--split <fractions>', 'train,validation,test fractions (default 0.8,0.1,0.1)')
    .option(
      '--exclude-manifest <manifest.json>',
      "leave out the records a continuous-dev manifest's embeds used",
    )
    .option('--exclude-stations', 'with --exclude-manifest, leave out every record of their stations too')
    .option('--epochs <n>', 'epochs (default 10)', int('--epochs'))
    .option('--batch-size <n>', 'windows per batch (default 16)', int('--batch-size'))
    .option('--steps-per-epoch <n>', 'batches per epoch at most', int('--steps-per-epoch'))
    .option('--lr <rate>', 'Adam learning rate (default 0.001)', num('--lr'))
    .option('--lr-decay <factor>', 'learning rate factor per epoch (default 0.95)', num('--lr-decay'))
    .option(
      '--patience <epochs>',
      'early stopping: epochs without a lower validation loss (0: off; default 3)',
      int('--patience'),
    )
    .option('--class-weights <w>', 'cross-entropy weights of noise,P,S (default 1,1,1)')
    .option(
      '--seed <n>',
      'seed of the split, initialization, order and augmentation (default 1)',
      int('--seed'),
    )
    .addOption(
      new Option(
        '--backend <backend>',
        'tfjs backend to train on (default auto: the fastest installed)',
      ).choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']),
    )
    .option(
      '--workers <n>',
      'worker threads, each computing the gradients of a share of every batch (wasm and cpu use one thread each; default 1)',
      int('--workers'),
    )
    .option('--name <name>', "the model's name in its card")
    .option('--resume', 'continue from the checkpoint in --out');
}

const commandLineOf = (argv: string[]) => `phasestream ${argv.slice(2).join(' ')}`;

export function registerTrainCommands(program: Command): void {
  addTrainOptions(
    program
      .command('train')
      .description(
        "Train PhaseNet from scratch on labelled event windows (the report's method: labels, augmentation, Adam)",
      ),
  ).action(async (opts: TrainCliOptions) => {
    if (opts.from) throw new UsageError('train starts from scratch; use finetune --from');
    await runTraining(opts, commandLineOf(process.argv));
  });
  addTrainOptions(
    program
      .command('finetune')
      .description(
        'Adapt a trained model to new data: load all or some of its layers, freeze named groups, change input channels',
      ),
  )
    .requiredOption(
      '--from <model>',
      `model directory to start from, or ${ORIGINAL_SOURCE.name} (fetched and cached)`,
    )
    .option(
      '--freeze <list>',
      'layers to keep as they are: aliases deepest2, encoder, decoder, downup, io, all; groups input, down0.., up0.., output; or layer names',
    )
    .option(
      '--load <list>',
      'layers to take from --from (default all); the rest start fresh (same names as --freeze)',
    )
    .action(async (opts: TrainCliOptions) => {
      await runTraining(opts, commandLineOf(process.argv));
    });
}
