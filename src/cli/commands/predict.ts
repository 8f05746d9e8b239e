import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createEngine } from '../../engine/index.ts';
import { UsageError } from '../../errors.ts';
import { type EventRecord, readEventRecords } from '../../ingest/event-record.ts';
import { isoFromEpochUs } from '../../ingest/mseed/index.ts';
import { resolveModelDir } from '../../model/resolve.ts';
import { loadModelDir } from '../../model/store.ts';
import { type Annotation, annotateRecord, defaultAnnotateOptions } from '../../picker/annotate.ts';
import { addEngineOptions, engineOptionsFrom, positiveInteger } from '../options.ts';

interface PredictOptions {
  model?: string;
  engine?: string;
  backend?: string;
  threads?: number;
  probs?: string;
  format: string;
  stride?: number;
}

/** The probabilities as CSV: `sample,noise,P,S` (the card's classes), one row per sample. */
export function probabilitiesCsv(classes: string[], probs: Float32Array): string {
  const rows = [`sample,${classes.join(',')}`];
  const k = classes.length;
  for (let i = 0; i < probs.length / k; i++) {
    const row = [String(i)];
    for (let c = 0; c < k; c++) row.push(probs[i * k + c].toPrecision(6));
    rows.push(row.join(','));
  }
  return `${rows.join('\n')}\n`;
}

function picksOf(record: EventRecord, annotation: Annotation) {
  return annotation.peaks.map((peak) => ({
    source: record.source,
    phase: peak.phase,
    sample: peak.sample,
    ...(record.startTimeUs === undefined
      ? {}
      : { time: isoFromEpochUs(record.startTimeUs + Math.round((peak.sample * 1e6) / record.samplingRate)) }),
    probability: Number(peak.probability.toFixed(4)),
  }));
}

export function registerPredictCommand(program: Command): void {
  const command = program
    .command('predict')
    .description(
      'Probabilities and P/S picks for event records (PhaseNet npz files, or miniSEED of one or more stations)',
    )
    .argument('<files...>', '.npz records ([T, 3] E, N, Z at 100 Hz) or miniSEED files')
    .option('--probs <out.csv>', 'write the probability traces as CSV (sample,noise,P,S); one record only')
    .option(
      '--stride <samples>',
      'window stride for records longer than a window (default: half a window)',
      positiveInteger('--stride'),
    )
    .option('--format <format>', 'text or json (one pick per line)', 'text');
  addEngineOptions(command).action(async (files: string[], opts: PredictOptions) => {
    if (opts.format !== 'text' && opts.format !== 'json') {
      throw new UsageError(`--format must be text or json, got '${opts.format}'`);
    }
    const model = await loadModelDir(await resolveModelDir(opts.model));
    const records = await readEventRecords(files, model.card.componentOrder);
    if (opts.probs && records.length !== 1) {
      throw new UsageError(
        `--probs writes one record's probabilities, and these files hold ${records.length}`,
      );
    }
    for (const record of records) {
      if (record.samplingRate !== model.card.samplingRate) {
        throw new UsageError(
          `${record.source} is sampled at ${record.samplingRate} Hz, and the model expects ${model.card.samplingRate} Hz`,
          { hint: 'use `phasestream replay`, which resamples to the model rate' },
        );
      }
    }
    const engine = await createEngine(model, engineOptionsFrom(opts));
    try {
      const options = defaultAnnotateOptions(model.card, opts.stride);
      for (const record of records) {
        const annotation = await annotateRecord(engine, record.data, options);
        const picks = picksOf(record, annotation);
        for (const pick of picks) {
          process.stdout.write(
            opts.format === 'json'
              ? `${JSON.stringify(pick)}\n`
              : `${[pick.source, pick.phase, pick.sample, pick.time ?? '', pick.probability.toFixed(3)].join('\t')}\n`,
          );
        }
        if (opts.probs) await writeFile(opts.probs, probabilitiesCsv(model.card.classes, annotation.probs));
      }
    } finally {
      await engine.dispose();
    }
  });
}
