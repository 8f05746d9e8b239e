import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceEngine } from '../engine/engine.ts';
import { UsageError } from '../errors.ts';
import { readEventRecords } from '../ingest/event-record.ts';
import { encodePhaseNetNpz } from '../ingest/npz.ts';
import { annotateRecord, defaultAnnotateOptions } from '../picker/annotate.ts';
import type { PseudoLabelConfig } from './config.ts';
import type { GatherRecord } from './gathers.ts';
import { anomalies, fitMoveout, type MoveoutFit, median, predictMoveout } from './moveout.ts';
import { trainPickClassifier } from './pick-classifier.ts';

/**
 * Pseudo-labelling of unlabelled array gathers (the report's Part V): a model picks every record
 * (its most probable P and S peak: the pseudo-labels), a robust moveout per gather and phase flags
 * the anomalous ones, and an SVM trained on a few labelled gathers keeps, corrects or rejects each
 * one by its features. What is kept becomes training records for `phasestream finetune`.
 */

export const PHASES = ['P', 'S'] as const;
export type Phase = (typeof PHASES)[number];

export type Stage = 'raw' | 'regression' | 'svm';

/** One pseudo-label (or a correction offered for it) of a record and phase. */
export interface PseudoLabel {
  fname: string;
  gather: number;
  phase: Phase;
  sample: number;
  probability: number;
  /** `model`: the record's most probable peak; `corrected`: the peak nearest the moveout. */
  origin: 'model' | 'corrected';
  residualS: number | null;
  anomalous: boolean;
  features: number[];
  /** The SVM's verdict (null in the labelled gathers, which train it). */
  svm: boolean | null;
  /** Right within the tolerance, where the truth is known (scoring only). */
  right: boolean | null;
}

export const FEATURE_NAMES = [
  'probability',
  'residual_scales',
  'neighbour_disagreement',
  'snr_db',
  's_minus_p_scales',
] as const;

interface RecordPeaks {
  gather: GatherRecord;
  /** Every peak of a phase down to the lowest probability the steps use. */
  peaks: Record<Phase, { sample: number; probability: number }[]>;
  /** Row-major [length, 3] waveform, for the SNR feature and the training records. */
  data: Float64Array;
  length: number;
}

/** Energy after a sample against before it (1 s each side, all components), in dB. */
export function pickSnrDb(data: Float64Array, channels: number, sample: number, fs: number): number {
  const energy = (from: number, to: number) => {
    let sum = 0;
    const lo = Math.max(0, from);
    const hi = Math.min(data.length / channels, to);
    for (let k = lo * channels; k < hi * channels; k++) sum += data[k] * data[k];
    return sum / Math.max(1, hi - lo);
  };
  const before = energy(sample - fs, sample);
  const after = energy(sample, sample + fs);
  return 10 * Math.log10((after + 1e-12) / (before + 1e-12));
}

/** Picks every record of the gathers with `engine`, down to `minProbability`. */
export async function pickGathers(
  engine: InferenceEngine,
  dir: string,
  gathers: readonly GatherRecord[],
  minProbability: number,
): Promise<RecordPeaks[]> {
  const options = defaultAnnotateOptions(engine.card);
  options.picker = { ...options.picker, minPeakHeight: { P: minProbability, S: minProbability } };
  const out: RecordPeaks[] = [];
  for (const gather of gathers) {
    const [record] = await readEventRecords(
      [join(dir, 'waveforms', gather.fname)],
      engine.card.componentOrder,
    );
    const { peaks } = await annotateRecord(engine, record.data, options);
    const byPhase: RecordPeaks['peaks'] = { P: [], S: [] };
    for (const peak of peaks) {
      if (peak.phase === 'P' || peak.phase === 'S') byPhase[peak.phase].push(peak);
    }
    out.push({ gather, peaks: byPhase, data: record.data, length: record.length });
  }
  return out;
}

const offsetOf = (g: GatherRecord) => g.receiverXM - g.sourceXM;

/** The gathers whose truth trains the SVM: the first `count` by number. */
export function labelledGatherIds(records: readonly { gather: GatherRecord }[], count: number): Set<number> {
  const ids = [...new Set(records.map((r) => r.gather.gather))].sort((a, b) => a - b);
  return new Set(ids.slice(0, count));
}

interface Scored {
  labels: PseudoLabel[];
  fits: Map<string, MoveoutFit | null>;
}

/**
 * Pseudo-labels of picked gathers through the three stages. `truth` (samples per record) is read
 * for the labelled gathers (the SVM's training set) and for scoring; no decision uses it elsewhere.
 */
export async function pseudoLabel(
  records: readonly RecordPeaks[],
  config: PseudoLabelConfig,
  samplingRate: number,
  truth: Map<string, { itp: number; its: number }>,
): Promise<Scored> {
  const { regression, svm, candidates } = config;
  const toleranceSamples = config.toleranceS * samplingRate;
  const gatherIds = [...new Set(records.map((r) => r.gather.gather))].sort((a, b) => a - b);
  const labelled = labelledGatherIds(records, svm.labelledGathers);
  const rightOf = (fname: string, phase: Phase, sample: number) => {
    const t = truth.get(fname);
    return t ? Math.abs(sample - (phase === 'P' ? t.itp : t.its)) <= toleranceSamples : null;
  };
  const labels: PseudoLabel[] = [];
  const fits = new Map<string, MoveoutFit | null>();
  for (const id of gatherIds) {
    const members = records.filter((r) => r.gather.gather === id);
    // The most probable peak per record and phase: the model's pseudo-label.
    const best = (r: RecordPeaks, phase: Phase) =>
      r.peaks[phase]
        .filter((p) => p.probability >= candidates.minProbability)
        .reduce<{ sample: number; probability: number } | null>(
          (a, p) => (a === null || p.probability > a.probability ? p : a),
          null,
        );
    const chosen = new Map<string, Record<Phase, { sample: number; probability: number } | null>>();
    for (const r of members) chosen.set(r.gather.fname, { P: best(r, 'P'), S: best(r, 'S') });
    const gatherFits: Record<Phase, MoveoutFit | null> = { P: null, S: null };
    for (const phase of PHASES) {
      const picked = members.filter((r) => chosen.get(r.gather.fname)![phase]);
      const fit =
        picked.length >= regression.minPicks
          ? fitMoveout(
              picked.map((r) => offsetOf(r.gather)),
              picked.map((r) => chosen.get(r.gather.fname)![phase]!.sample / samplingRate),
              regression.moveout,
            )
          : null;
      gatherFits[phase] = fit;
      fits.set(`${id}.${phase}`, fit);
    }
    // S - P against offset: its own robust line (consistency of the two picks of a record).
    const both = members.filter((r) => chosen.get(r.gather.fname)!.P && chosen.get(r.gather.fname)!.S);
    const spFit =
      both.length >= regression.minPicks
        ? fitMoveout(
            both.map((r) => offsetOf(r.gather)),
            both.map((r) => {
              const c = chosen.get(r.gather.fname)!;
              return (c.S!.sample - c.P!.sample) / samplingRate;
            }),
            'linear',
          )
        : null;
    const scale = (fit: MoveoutFit | null) => Math.max(fit?.scaleS ?? 0, regression.minScaleS);
    const residualOf = (phase: Phase, r: RecordPeaks, sample: number) => {
      const fit = gatherFits[phase];
      return fit ? sample / samplingRate - predictMoveout(fit, offsetOf(r.gather)) : null;
    };
    // Features of a pick: how it sits on the moveout, against its neighbours and its other phase.
    const featuresOf = (phase: Phase, r: RecordPeaks, pick: { sample: number; probability: number }) => {
      const residual = residualOf(phase, r, pick.sample);
      const s = scale(gatherFits[phase]);
      const neighbours = members
        .filter((m) => m !== r && chosen.get(m.gather.fname)![phase])
        .sort(
          (a, b) =>
            Math.abs(a.gather.receiverXM - r.gather.receiverXM) -
            Math.abs(b.gather.receiverXM - r.gather.receiverXM),
        )
        .slice(0, 2)
        .map((m) => residualOf(phase, m, chosen.get(m.gather.fname)![phase]!.sample))
        .filter((v): v is number => v !== null);
      const disagreement =
        residual === null || neighbours.length === 0
          ? 10
          : Math.min(10, Math.abs(residual - median(neighbours)) / s);
      const other = chosen.get(r.gather.fname)![phase === 'P' ? 'S' : 'P'];
      let sp = 10;
      if (other && spFit) {
        const spS = (phase === 'P' ? other.sample - pick.sample : pick.sample - other.sample) / samplingRate;
        sp =
          spS <= 0
            ? 10
            : Math.min(10, Math.abs(spS - predictMoveout(spFit, offsetOf(r.gather))) / scale(spFit));
      }
      return [
        pick.probability,
        residual === null ? 10 : Math.min(10, Math.abs(residual) / s),
        disagreement,
        pickSnrDb(r.data, 3, pick.sample, samplingRate),
        sp,
      ];
    };
    const labelOf = (
      r: RecordPeaks,
      phase: Phase,
      pick: { sample: number; probability: number },
      origin: PseudoLabel['origin'],
      anomalous: boolean,
    ): PseudoLabel => ({
      fname: r.gather.fname,
      gather: id,
      phase,
      sample: pick.sample,
      probability: pick.probability,
      origin,
      residualS: residualOf(phase, r, pick.sample),
      anomalous,
      features: featuresOf(phase, r, pick),
      svm: null,
      right: rightOf(r.gather.fname, phase, pick.sample),
    });
    for (const phase of PHASES) {
      const fit = gatherFits[phase];
      const flags = new Map<string, boolean>();
      if (fit) {
        const picked = members.filter((r) => chosen.get(r.gather.fname)![phase]);
        anomalies(fit, regression.threshold, regression.minScaleS).forEach((flag, n) => {
          flags.set(picked[n].gather.fname, flag);
        });
      }
      for (const r of members) {
        const pick = chosen.get(r.gather.fname)![phase];
        const anomalous = pick ? (flags.get(r.gather.fname) ?? true) : true;
        if (pick) labels.push(labelOf(r, phase, pick, 'model', anomalous));
        if (svm.correct && anomalous && fit) {
          const expected = predictMoveout(fit, offsetOf(r.gather)) * samplingRate;
          const near = r.peaks[phase]
            .filter(
              (p) =>
                p.probability >= svm.correctMinProbability &&
                Math.abs(p.sample - expected) <= svm.searchS * samplingRate &&
                p.sample !== pick?.sample,
            )
            .reduce<{ sample: number; probability: number } | null>(
              (a, p) => (a === null || p.probability > a.probability ? p : a),
              null,
            );
          if (near) labels.push(labelOf(r, phase, near, 'corrected', false));
        }
      }
    }
  }
  const training = labels.filter((l) => labelled.has(l.gather));
  if (training.some((l) => l.right === null)) {
    throw new UsageError('the labelled gathers of the SVM have records missing from truth.csv', {
      hint: 'give a truth.csv holding every record of the first svm.labelledGathers gathers',
    });
  }
  const classes = new Set(training.map((l) => l.right));
  if (classes.size < 2) {
    throw new UsageError(
      `the ${labelled.size} labelled gather(s) hold only ${classes.has(true) ? 'right' : 'wrong'} picks: nothing to train the SVM on`,
      { hint: 'raise svm.labelledGathers' },
    );
  }
  const classifier = await trainPickClassifier(
    training.map((l) => l.features),
    training.map((l) => (l.right ? 1 : 0)),
    { cost: svm.cost, gamma: svm.gamma, wrongWeight: svm.wrongWeight },
  );
  const rest = labels.filter((l) => !labelled.has(l.gather));
  classifier.classify(rest.map((l) => l.features)).forEach((verdict, n) => {
    rest[n].svm = verdict === 1;
  });
  classifier.free();
  return { labels, fits };
}

/**
 * The accepted label per record and phase at a stage: `raw` every model pick, `regression` those
 * not anomalous, `svm` those the SVM keeps (a correction only where the model's own pick is not
 * kept; the more probable of two kept). Labelled gathers are left out (they trained the SVM).
 */
export function accepted(labels: readonly PseudoLabel[], stage: Stage): Map<string, PseudoLabel> {
  const out = new Map<string, PseudoLabel>();
  for (const l of labels) {
    if (l.svm === null) continue;
    const keep =
      stage === 'raw'
        ? l.origin === 'model'
        : stage === 'regression'
          ? l.origin === 'model' && !l.anomalous
          : l.svm;
    if (!keep) continue;
    const key = `${l.fname}.${l.phase}`;
    const held = out.get(key);
    if (!held || l.probability > held.probability) out.set(key, l);
  }
  return out;
}

export interface StageScore {
  phase: Phase;
  stage: Stage;
  labels: number;
  right: number;
  arrivals: number;
  precision: number;
  recall: number;
}

/** Precision and recall of the accepted pseudo-labels of each stage against the truth. */
export function scoreStages(labels: readonly PseudoLabel[], arrivals: number): StageScore[] {
  const scores: StageScore[] = [];
  for (const stage of ['raw', 'regression', 'svm'] as const) {
    const kept = [...accepted(labels, stage).values()];
    for (const phase of PHASES) {
      const mine = kept.filter((l) => l.phase === phase);
      const right = mine.filter((l) => l.right).length;
      scores.push({
        phase,
        stage,
        labels: mine.length,
        right,
        arrivals,
        precision: mine.length > 0 ? right / mine.length : 0,
        recall: arrivals > 0 ? right / arrivals : 0,
      });
    }
  }
  return scores;
}

/**
 * Training records in `dir`: each record with both phases labelled at `stage` (or by the truth),
 * its waveform and those labels, in PhaseNet's npz format. Returns how many were written.
 */
export function writeTrainingRecords(
  dir: string,
  records: readonly RecordPeaks[],
  labels: readonly PseudoLabel[],
  stage: Stage | 'truth',
  truth: Map<string, { itp: number; its: number }>,
  labelledGathers: ReadonlySet<number>,
  channels: string[],
): number {
  mkdirSync(dir, { recursive: true });
  const kept = stage === 'truth' ? null : accepted(labels, stage);
  let written = 0;
  for (const r of records) {
    if (labelledGathers.has(r.gather.gather)) continue;
    const t = truth.get(r.gather.fname);
    const itp = kept ? kept.get(`${r.gather.fname}.P`)?.sample : t?.itp;
    const its = kept ? kept.get(`${r.gather.fname}.S`)?.sample : t?.its;
    if (itp === undefined || its === undefined || its <= itp) continue;
    writeFileSync(
      join(dir, r.gather.fname),
      encodePhaseNetNpz({ data: r.data, length: r.length, itp, its, channels }),
    );
    written++;
  }
  return written;
}
