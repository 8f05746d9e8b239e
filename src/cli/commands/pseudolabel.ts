import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { checkWithSchema, readConfigFile } from '../../config/load.ts';
import { createEngine } from '../../engine/index.ts';
import { UsageError } from '../../errors.ts';
import { log } from '../../log.ts';
import { resolveModelDir } from '../../model/resolve.ts';
import { loadModelDir } from '../../model/store.ts';
import { type PseudoLabelConfigInput, pseudoLabelConfigSchema } from '../../pseudo/config.ts';
import { readGathers, readTruth } from '../../pseudo/gathers.ts';
import {
  FEATURE_NAMES,
  labelledGatherIds,
  pickGathers,
  pseudoLabel,
  type StageScore,
  scoreStages,
  writeTrainingRecords,
} from '../../pseudo/pseudolabel.ts';

interface PseudoLabelCliOptions {
  model?: string;
  data: string;
  out: string;
  config?: string;
  truth?: string;
  records?: string;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

function stageTable(scores: StageScore[]): string {
  const rows = scores.map((s) =>
    [s.phase, s.stage, s.labels, s.right, s.arrivals, s.precision.toFixed(3), s.recall.toFixed(3)].join('  '),
  );
  return `phase  stage  labels  right  arrivals  precision  recall\n${rows.join('\n')}\n`;
}

export function registerPseudoLabelCommand(program: Command): void {
  program
    .command('pseudolabel')
    .description(
      "Pseudo-label unlabelled array gathers (the report's Part V): a model's picks, anomalies by robust moveout regression, an SVM that keeps, corrects or rejects; training records of what is kept",
    )
    .requiredOption('--data <dir>', 'gathers: waveforms/*.npz and gathers.csv (phasestream simulate gathers)')
    .requiredOption('--out <dir>', 'pseudo-labels.csv, report.json and records/ (npz for finetune)')
    .option('--model <dir>', 'the model that picks (default: the bundled model)')
    .option('--config <file>', 'YAML or JSON (config/pseudolabel.example.yaml lists every key)')
    .option(
      '--truth <truth.csv>',
      "true arrivals: the SVM's labelled gathers, and scoring (default: truth.csv of --data, if there)",
    )
    .addOption(
      new Option('--records <labels>', 'which labels the training records get (default svm)').choices([
        'svm',
        'regression',
        'raw',
        'truth',
      ]),
    )
    .action(async (opts: PseudoLabelCliOptions) => {
      const file = (opts.config ? await readConfigFile(opts.config) : {}) as PseudoLabelConfigInput;
      const config = checkWithSchema(
        pseudoLabelConfigSchema,
        { ...file, ...(opts.records ? { records: opts.records } : {}) },
        opts.config ?? 'pseudolabel options',
        'config/pseudolabel.example.yaml',
      );
      const truthPath = opts.truth ?? join(opts.data, 'truth.csv');
      if (!existsSync(truthPath)) {
        throw new UsageError(`no true labels at ${truthPath}: the SVM needs a few labelled gathers`, {
          hint: 'give --truth with the arrivals of at least svm.labelledGathers gathers',
        });
      }
      const truth = readTruth(truthPath);
      const gathers = readGathers(opts.data);
      const model = await loadModelDir(await resolveModelDir(opts.model));
      const engine = await createEngine(model, { engine: 'auto', backend: 'auto' });
      const lowest = Math.min(config.candidates.minProbability, config.svm.correctMinProbability);
      const picked = await pickGathers(engine, opts.data, gathers, lowest).finally(() => engine.dispose());
      const fs = model.card.samplingRate;
      const { labels } = await pseudoLabel(picked, config, fs, truth);
      const labelled = labelledGatherIds(picked, config.svm.labelledGathers);
      const unlabelledRecords = picked.filter((r) => !labelled.has(r.gather.gather));
      const scored = unlabelledRecords.every((r) => truth.has(r.gather.fname));
      const scores = scored ? scoreStages(labels, unlabelledRecords.length) : [];
      const written = writeTrainingRecords(
        join(opts.out, 'records'),
        picked,
        labels,
        config.records,
        truth,
        labelled,
        ['HHE', 'HHN', 'HHZ'],
      );
      const header = [
        'fname',
        'gather',
        'phase',
        'sample',
        'origin',
        'residual_s',
        'anomalous',
        ...FEATURE_NAMES,
        'svm',
        'right',
      ];
      const rows = labels.map((l) =>
        [
          l.fname,
          l.gather,
          l.phase,
          l.sample,
          l.origin,
          l.residualS === null ? '' : l.residualS.toFixed(4),
          l.anomalous,
          ...l.features.map((f) => f.toFixed(4)),
          l.svm ?? '',
          l.right ?? '',
        ].join(','),
      );
      writeFileSync(join(opts.out, 'pseudo-labels.csv'), `${header.join(',')}\n${rows.join('\n')}\n`);
      const report = {
        model: model.card.name,
        data: opts.data,
        records: picked.length,
        labelledGathers: [...labelled],
        trainingRecords: { labels: config.records, written },
        stages: scores.map((s) => ({ ...s, precision: round(s.precision), recall: round(s.recall) })),
        config,
      };
      writeFileSync(join(opts.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
      log.info({ records: picked.length, written }, 'pseudo-labels written');
      if (scored) process.stdout.write(stageTable(scores));
      process.stdout.write(
        `${written} training records (${config.records} labels) in ${join(opts.out, 'records')}\n`,
      );
    });
}
