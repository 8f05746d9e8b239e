import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { readPhaseNetNpz } from '../../src/ingest/npz.ts';
import { pseudoLabelConfigSchema } from '../../src/pseudo/config.ts';
import type { GatherRecord } from '../../src/pseudo/gathers.ts';
import { accepted, pseudoLabel, scoreStages, writeTrainingRecords } from '../../src/pseudo/pseudolabel.ts';

/**
 * Two hand-made gathers of 10 receivers 100 m apart, the source at x = 0: P at sample 100 + x / 10,
 * S at 150 + x / 5 (100 Hz). The model's picks are right but for one P per gather, picked 0.5 s late
 * with the right onset as a weak second peak. Gather 0 is the labelled one (it trains the SVM).
 */
function gathers() {
  const records = [];
  const truth = new Map<string, { itp: number; its: number }>();
  for (const gather of [0, 1]) {
    for (let r = 0; r < 10; r++) {
      const x = 100 * r;
      const fname = `g${gather}_r${r}.npz`;
      const itp = 100 + x / 10;
      const its = 150 + x / 5;
      truth.set(fname, { itp, its });
      const wrong = (gather === 0 && r === 3) || (gather === 1 && r === 5);
      const g: GatherRecord = { fname, gather, receiver: r, receiverXM: x, receiverZM: 0, sourceXM: 0 };
      records.push({
        gather: g,
        peaks: {
          P: wrong
            ? [
                { sample: itp + 50, probability: 0.6 },
                { sample: itp, probability: 0.2 },
              ]
            : [{ sample: itp + (r % 2), probability: 0.8 }],
          S: [{ sample: its - (r % 2), probability: 0.7 }],
        },
        data: new Float64Array(3 * 400),
        length: 400,
      });
    }
  }
  return { records, truth };
}

t.test('the late pick is flagged by the moveout, corrected, and kept by the SVM', async (t) => {
  const { records, truth } = gathers();
  const config = pseudoLabelConfigSchema.parse({ svm: { labelledGathers: 1, cost: 10 } });
  const { labels, fits } = await pseudoLabel(records, config, 100, truth);
  const fit = fits.get('1.P')!;
  t.ok(Math.abs(fit.slope - 0.001) < 1e-4 || fit.kind === 'hyperbolic', `P moveout ${fit.kind} ${fit.slope}`);
  const late = labels.find((l) => l.fname === 'g1_r5.npz' && l.phase === 'P' && l.origin === 'model')!;
  t.equal(late.anomalous, true, 'the late pick is anomalous');
  t.equal(late.right, false);
  const others = labels.filter((l) => l.gather === 1 && l.origin === 'model' && l.fname !== 'g1_r5.npz');
  t.equal(others.filter((l) => l.anomalous).length, 0, 'every other pick is kept by the regression');
  const correction = labels.find((l) => l.fname === 'g1_r5.npz' && l.origin === 'corrected')!;
  t.equal(correction.sample, 150, 'the correction is the weak peak at the true onset');
  t.equal(correction.svm, true, 'the SVM keeps the correction');
  t.equal(late.svm, false, 'and rejects the late pick');
  t.equal(accepted(labels, 'regression').has('g1_r5.npz.P'), false);
  t.equal(accepted(labels, 'svm').get('g1_r5.npz.P')?.sample, 150);
  t.equal(accepted(labels, 'raw').get('g1_r5.npz.P')?.sample, 200);
  t.ok(
    labels.filter((l) => l.gather === 0).every((l) => l.svm === null),
    'the labelled gather is not judged',
  );
  const scores = scoreStages(labels, 10);
  const p = (stage: string) => scores.find((s) => s.phase === 'P' && s.stage === stage)!;
  t.same([p('raw').precision, p('raw').recall], [0.9, 0.9]);
  t.same([p('regression').precision, p('regression').recall], [1, 0.9]);
  t.same([p('svm').precision, p('svm').recall], [1, 1]);

  const dir = mkdtempSync(join(tmpdir(), 'pseudo-'));
  const written = writeTrainingRecords(dir, records, labels, 'svm', truth, new Set([0]), [
    'HHE',
    'HHN',
    'HHZ',
  ]);
  t.equal(written, 10, 'every record of the unlabelled gather');
  t.equal(readdirSync(dir).length, 10);
  const record = readPhaseNetNpz(join(dir, 'g1_r5.npz'));
  t.same(
    [record.itp, record.its],
    [[150], [249]],
    'the corrected P and the S as picked (one sample early at odd receivers)',
  );
});

t.test('labelled gathers with one class only: a clear error', async (t) => {
  const { records, truth } = gathers();
  // Gather 1 first: make its wrong pick right, so that the labelled gather holds right picks only.
  const config = pseudoLabelConfigSchema.parse({ svm: { labelledGathers: 1 } });
  const clean = records.map((r) =>
    r.gather.gather === 0 && r.gather.receiver === 3
      ? { ...r, peaks: { ...r.peaks, P: [{ sample: 130, probability: 0.8 }] } }
      : r,
  );
  await t.rejects(pseudoLabel(clean, config, 100, truth), /hold only right picks/);
});
