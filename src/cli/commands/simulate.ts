import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { taskProgress } from '../../app/progress.ts';
import { checkSimulationDatasetConfig, loadSimulationDatasetConfig } from '../../config/load.ts';
import { UsageError } from '../../errors.ts';
import { log } from '../../log.ts';
import { writeGathers } from '../../pseudo/gathers.ts';
import { writeContinuousExample } from '../../synth/continuous.ts';
import { buildDataset, simulateScenario } from '../../synth/dataset.ts';
import { simulationImage } from '../../synth/image.ts';
import { scenario } from '../../synth/scenario.ts';
import { positiveInteger } from '../options.ts';

function nonNegativeInteger(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new UsageError(`${name} must be an integer >= 0, got '${value}'`);
    return n;
  };
}

async function datasetConfig(path: string | undefined) {
  return path ? loadSimulationDatasetConfig(path) : checkSimulationDatasetConfig({});
}

export function registerSimulateCommand(program: Command): void {
  const simulateCommand = program
    .command('simulate')
    .description(
      'Simulate seismograms (2-D P-SV finite differences) of one random model of a dataset config: an image of the wavefield and the seismograms',
    )
    .option(
      '--config <file>',
      'dataset config (YAML or JSON) whose ranges the model is drawn from (default: the defaults)',
    )
    .option('--model-index <n>', 'which random model of the config', nonNegativeInteger('--model-index'), 0)
    .option('--source-index <n>', 'which source of that model', nonNegativeInteger('--source-index'), 0)
    .option('--snapshots <n>', 'wavefield snapshots in the image', positiveInteger('--snapshots'), 4)
    .option('--image <file.png>', 'where to write the image', 'simulation.png')
    .action(
      async (opts: {
        config?: string;
        modelIndex: number;
        sourceIndex: number;
        snapshots: number;
        image: string;
      }) => {
        const config = await datasetConfig(opts.config);
        const s = scenario(config, opts.modelIndex, opts.sourceIndex);
        const { labels, sim } = simulateScenario(config, s, opts.snapshots);
        const { medium } = s;
        const png = simulationImage(medium, sim, {
          labels,
          receiverColumns: s.receivers.map((r) => Math.round(r.xM / medium.spacingM)),
          sourceNode: {
            i: Math.round(s.source.xM / medium.spacingM),
            j: Math.round((s.source.zM - medium.zOriginM) / medium.spacingM),
          },
        });
        writeFileSync(opts.image, png);
        const summary = {
          image: opts.image,
          model: s.model,
          source: s.source,
          grid: { nx: medium.nx, nz: medium.nz, spacingM: medium.spacingM },
          dtS: sim.dtS,
          steps: sim.steps,
          pointsPerWavelength: Number(sim.pointsPerWavelength.toFixed(2)),
          receivers: s.receivers.map((r, n) => ({
            xM: Number(r.xM.toFixed(1)),
            zM: r.zM,
            pS: Number(labels.pS[n].toFixed(3)),
            sS: Number(labels.sS[n].toFixed(3)),
          })),
        };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      },
    );

  simulateCommand
    .command('dataset')
    .description(
      "Build (or resume) a training dataset: random models and sources simulated, cut into PhaseNet npz records with the report's extraction (alpha) and AWGN",
    )
    .requiredOption(
      '--out <dir>',
      'dataset directory (waveforms/*.npz, dataset.csv); an interrupted build resumes there',
    )
    .option(
      '--config <file>',
      'dataset config, YAML or JSON (default: the defaults of config/simulate-dataset.yaml)',
    )
    .option('--workers <n>', 'worker threads (default: all cores)', positiveInteger('--workers'))
    .action(async (_opts: unknown, command: Command) => {
      // `--config` may come before or after `dataset`: commander gives it to `simulate` before it.
      const opts = command.optsWithGlobals<{ out: string; config?: string; workers?: number }>();
      const config = await datasetConfig(opts.config);
      const progress = taskProgress(config.models * config.sourcesPerModel, 'simulate');
      let windows = 0;
      const summary = await buildDataset(config, opts.out, {
        workers: opts.workers,
        onTask(result, done, total) {
          if (result) {
            windows += result.windows;
            log.info({ ...result, done, total }, 'simulation done');
          } else {
            log.info({ done, total }, 'resuming: tasks already done');
          }
          progress.update(done, windows);
        },
      }).finally(() => progress.stop());
      log.info(summary, 'dataset built');
      process.stdout.write(`${JSON.stringify({ out: opts.out, ...summary })}\n`);
    });

  simulateCommand
    .command('gathers')
    .description(
      'Write array gathers (one source, every receiver) of a dataset config: unlabelled npz records, gathers.csv (receiver and source positions) and truth.csv (true arrivals, kept apart for scoring)',
    )
    .requiredOption('--out <dir>', 'directory for waveforms/*.npz, gathers.csv and truth.csv')
    .option('--config <file>', 'dataset config, YAML or JSON (e.g. config/pseudo-gathers.yaml)')
    .option(
      '--gathers <n>',
      "how many gathers (models x sources; default the config's)",
      positiveInteger('--gathers'),
    )
    .option(
      '--seed <n>',
      "seed (default the config's): another seed, other gathers",
      nonNegativeInteger('--seed'),
    )
    .option('--labels-in-records', 'also write the true itp/its into the npz (a held-out set for evaluate)')
    .action(async (_opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<{
        out: string;
        config?: string;
        gathers?: number;
        seed?: number;
        labelsInRecords?: boolean;
      }>();
      const base = await datasetConfig(opts.config);
      const config = {
        ...base,
        ...(opts.gathers !== undefined ? { models: opts.gathers, sourcesPerModel: 1 } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      };
      const progress = taskProgress(config.models * config.sourcesPerModel, 'simulate');
      const records = (() => {
        try {
          return writeGathers(config, opts.out, {
            labelsInRecords: opts.labelsInRecords,
            onGather: (done) => progress.update(done, done * config.receivers),
          });
        } finally {
          progress.stop();
        }
      })();
      process.stdout.write(
        `${JSON.stringify({ out: opts.out, gathers: config.models * config.sourcesPerModel, records: records.length })}\n`,
      );
    });

  simulateCommand
    .command('continuous')
    .description(
      'Write continuous example data: earthquakes in a layered model with topography recorded by surface stations in noise (100 Hz Steim2 miniSEED and the true picks.csv)',
    )
    .requiredOption('--out <dir>', 'directory for the miniSEED files and picks.csv')
    .option('--stations <n>', 'stations', positiveInteger('--stations'), 4)
    .option('--events <n>', 'earthquakes', positiveInteger('--events'), 6)
    .option('--duration <seconds>', 'length of the record', positiveInteger('--duration'), 240)
    .option('--seed <n>', 'random seed', nonNegativeInteger('--seed'), 7)
    .action((opts: { out: string; stations: number; events: number; duration: number; seed: number }) => {
      if (opts.duration < 30 * opts.events) {
        throw new UsageError(`${opts.events} events need at least ${30 * opts.events} s (--duration)`);
      }
      const summary = writeContinuousExample({
        out: opts.out,
        stations: opts.stations,
        events: opts.events,
        durationS: opts.duration,
        seed: opts.seed,
      });
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
}
