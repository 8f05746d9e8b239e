import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../errors.ts';
import { PICK_COLUMNS } from '../../sink/pick-file.ts';
import { isoToEpochUs, readArrivalsCsv, readTransientExclusions } from '../../train/continuous-truth.ts';
import { type PhaseMetrics, pickingMetrics, type TimedPhase } from '../../train/metrics.ts';

/** Picks from a replay's output: JSON lines or CSV with `phase` and `time`. */
export function readPickFile(path: string): TimedPhase[] {
  const text = readFileSync(path, 'utf8').trim();
  if (text === '') return [];
  if (text.startsWith('{')) {
    return text.split('\n').map((line) => {
      const pick = JSON.parse(line);
      return { phase: pick.phase, timeUs: isoToEpochUs(pick.time) };
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
      m.precision.toFixed(3),
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
  return `${rows.map((r) => r.map((cell, c) => cell.padStart(widths[c])).join('  ')).join('\n')}\n`;
}

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description(
      'Precision, recall and F1 per phase of picks against known arrivals (one-to-one, within a tolerance)',
    )
    .requiredOption('--picks <file>', "picks to score: a replay's output (JSON lines or CSV)")
    .requiredOption('--truth <file>', 'known arrivals: CSV with phase,time columns')
    .option(
      '--exclusions <manifest.json>',
      "leave out unmatched picks inside the manifest's unlabelled transients",
    )
    .option('--tolerance <seconds>', 'largest |pick - arrival| of a true positive', Number, 0.1)
    .option('--format <format>', 'table or json', 'table')
    .action(
      (opts: { picks: string; truth: string; exclusions?: string; tolerance: number; format: string }) => {
        if (!(opts.tolerance > 0)) throw new UsageError(`--tolerance must be a positive number of seconds`);
        const metrics = pickingMetrics(readPickFile(opts.picks), readArrivalsCsv(opts.truth), {
          toleranceUs: Math.round(opts.tolerance * 1e6),
          exclusionsUs: opts.exclusions ? readTransientExclusions(opts.exclusions) : [],
        });
        if (opts.format === 'json') {
          const summary = Object.fromEntries(
            Object.entries(metrics).map(([phase, { residualsUs, ...rest }]) => [
              phase,
              { ...rest, matched: residualsUs.length },
            ]),
          );
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        } else {
          process.stdout.write(metricsTable(metrics));
        }
      },
    );
}
