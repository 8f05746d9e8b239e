import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { checkWithSchema, readConfigFile } from '../../config/load.ts';
import { createEngine } from '../../engine/index.ts';
import { UsageError } from '../../errors.ts';
import { resolveModelDir } from '../../model/resolve.ts';
import { loadModelDir } from '../../model/store.ts';
import { PICK_COLUMNS } from '../../sink/pick-file.ts';
import { evaluateConfigSchema } from '../../train/config.ts';
import {
  type ExclusionMode,
  isoToEpochUs,
  readArrivalsCsv,
  readTransientExclusions,
} from '../../train/continuous-truth.ts';
import { npzDataset } from '../../train/dataset.ts';
import { evaluateWindows } from '../../train/evaluate-windows.ts';
import { type PhaseMetrics, pickingMetrics, type TimedPhase } from '../../train/metrics.ts';
import { addEngineOptions, engineOptionsFrom } from '../options.ts';

/** Picks from a replay's output: JSON lines or CSV with `phase` and `time`. */
export function readPickFile(path: string): TimedPhase[] {
  const text = readFileSync(path, 'utf8').trim();
  if (text === '') return [];
  if (text.startsWith('{')) {
    // A live run's file holds each pick's whole life: only final picks are scored.
    const picks = text.split('\n').map((line) => JSON.parse(line));
    return picks
      .filter((pick) => pick.status === undefined || pick.status === 'final')
      .map((pick) => {
        return {
          phase: pick.phase,
          timeUs: isoToEpochUs(pick.time),
          station: `${pick.network}.${pick.station}`,
        };
      });
  }
  if (!text.startsWith(PICK_COLUMNS.join(',')) && !text.includes('phase')) {
    throw new UsageError(`${path} is neither JSON lines nor a CSV of picks`);
  }
  return readArrivalsCsv(path);
}

export function metricsTable(metrics: Record<string, PhaseMetrics>): string {
  const rows = [
    [
      'phase',
      'precision',
      'recall',
      'F1',
      'TP',
      'FP',
      'FN',
      'excluded',
      'residual mean ms',
      'residual std ms',
    ],
  ];
  for (const [phase, m] of Object.entries(metrics)) {
    const ms = (us: number | null) => (us === null ? '-' : (us / 1000).toFixed(1));
    rows.push([
      phase,
      hasPicks(m) ? m.precision.toFixed(3) : 'undefined',
      m.recall.toFixed(3),
      m.f1.toFixed(3),
      String(m.truePositives),
      String(m.falsePositives),
      String(m.falseNegatives),
      String(m.excludedPicks),
      ms(m.residualMeanUs),
      ms(m.residualStdUs),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const notes = Object.entries(metrics)
    .filter(([, m]) => !hasPicks(m))
    .map(([phase]) => `${phase}: no picks were scored, so precision (TP / picks) is undefined\n`);
  return `${rows.map((r) => r.map((cell, c) => cell.padStart(widths[c])).join('  ')).join('\n')}\n${notes.join('')}`;
}

/** Whether any pick was scored (true or false positive): precision is 0/0 otherwise. */
function hasPicks(m: Pick<PhaseMetrics, 'truePositives' | 'falsePositives'>): boolean {
  return m.truePositives + m.falsePositives > 0;
}

/** The options from `--config` with those given on the command line laid over them, checked. */
async function withConfigFile(
  opts: EvaluateOptions & { config?: string },
  cmd: Command,
): Promise<EvaluateOptions> {
  if (!opts.config) return opts;
  const given = Object.fromEntries(
    Object.entries(opts).filter(([key]) => key !== 'config' && cmd.getOptionValueSource(key) === 'cli'),
  );
  const file = (await readConfigFile(opts.config)) as Record<string, unknown>;
  return checkWithSchema(evaluateConfigSchema, { ...file, ...given }, opts.config) as EvaluateOptions;
}

interface EvaluateOptions {
  picks?: string;
  truth?: string;
  data?: string[];
  model?: string;
  engine?: string;
  backend?: string;
  threads?: number;
  exclusions?: string;
  exclusionMode: ExclusionMode;
  tolerance: number;
  format: string;
}

/** Metrics of a model on a window dataset (npz event records), picked through the annotate path. */
async function evaluateModelOnWindows(opts: EvaluateOptions, toleranceUs: number) {
  const model = await loadModelDir(await resolveModelDir(opts.model));
  const engine = await createEngine(model, engineOptionsFrom(opts));
  try {
    return await evaluateWindows(engine, npzDataset(opts.data ?? [], model.card.componentOrder), {
      toleranceUs,
    });
  } finally {
    await engine.dispose();
  }
}

export function registerEvaluateCommand(program: Command): void {
  const command = program
    .command('evaluate')
    .description(
      'Precision, recall and F1 per phase (one-to-one within a tolerance): of picks against known arrivals, ' +
        'or of a model on event records (npz) with their analyst picks',
    )
    .option('--picks <file>', "picks to score: a replay's output (JSON lines or CSV); with --truth")
    .option('--truth <file>', 'known arrivals: CSV with phase,time columns')
    .option('--data <paths...>', 'instead: PhaseNet npz records or directories, picked with --model')
    .option(
      '--exclusions <manifest.json>',
      "leave out unmatched picks inside the manifest's unlabelled transients",
    )
    .addOption(
      new Option(
        '--exclusion-mode <mode>',
        'strict: not inside embedded event windows, where the background was replaced; lenient: as listed',
      )
        .choices(['strict', 'lenient'])
        .default('strict'),
    )
    .option('--tolerance <seconds>', 'largest |pick - arrival| of a true positive', Number, 0.1)
    .option('--format <format>', 'table or json', 'table')
    .option('--config <file>', 'YAML or JSON with any of these options by name; options given override it');
  addEngineOptions(command).action(async (cliOpts: EvaluateOptions & { config?: string }, cmd: Command) => {
    const opts = await withConfigFile(cliOpts, cmd);
    if (!(opts.tolerance > 0)) throw new UsageError(`--tolerance must be a positive number of seconds`);
    const toleranceUs = Math.round(opts.tolerance * 1e6);
    let metrics: Record<string, PhaseMetrics>;
    if (opts.data) {
      metrics = await evaluateModelOnWindows(opts, toleranceUs);
    } else {
      if (!opts.picks || !opts.truth) {
        throw new UsageError('evaluate needs --picks and --truth, or --data (with --model)');
      }
      metrics = pickingMetrics(readPickFile(opts.picks), readArrivalsCsv(opts.truth), {
        toleranceUs,
        exclusionsUs: opts.exclusions ? readTransientExclusions(opts.exclusions, opts.exclusionMode) : [],
      });
    }
    if (opts.format === 'json') {
      const summary = Object.fromEntries(
        Object.entries(metrics).map(([phase, { residualsUs, ...rest }]) => [
          phase,
          { ...rest, precision: hasPicks(rest) ? rest.precision : null, matched: residualsUs.length },
        ]),
      );
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    } else {
      process.stdout.write(metricsTable(metrics));
    }
  });
}
