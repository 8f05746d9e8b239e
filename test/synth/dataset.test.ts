import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkSimulationDatasetConfig, loadSimulationDatasetConfig } from '../../src/config/load.ts';
import { ConfigError, UsageError } from '../../src/errors.ts';
import { readPhaseNetNpz } from '../../src/ingest/npz.ts';
import { buildDataset, DATASET_COLUMNS } from '../../src/synth/dataset.ts';
import { scenario } from '../../src/synth/scenario.ts';
import { repoRoot } from '../helpers/cli.ts';

/** Small enough for seconds: 3 models x 3 receivers x 3 extracts on coarse grids. */
const small = checkSimulationDatasetConfig({
  models: 3,
  receivers: 3,
  grid: { widthM: 6000, depthM: 2500, maxPoints: 6000 },
  source: { depthM: [800, 1500] },
  record: { durationS: 40 },
  extraction: { extractsPerRecord: 3, alpha: 0.7 },
  waterSaturated: { probability: 0.5 },
  fluid: { probability: 0.5 },
  topography: { probability: 1 },
  noise: { snrDb: null },
});

t.test('config/simulate-dataset.yaml lists the defaults', async (t) => {
  const file = await loadSimulationDatasetConfig(join(repoRoot, 'config/simulate-dataset.yaml'));
  t.same(file, checkSimulationDatasetConfig({}));
  t.same(checkSimulationDatasetConfig({}).noise.snrDb, [0, 30], 'noise by default, as the file says');
  t.same(checkSimulationDatasetConfig({ noise: {} }).noise.snrDb, [0, 30]);
  t.equal(checkSimulationDatasetConfig({ noise: { snrDb: null } }).noise.snrDb, null, 'null: none');
  t.equal(file.models * file.receivers * file.extraction.extractsPerRecord, 2048, 'at least 2000 windows');
  t.throws(() => checkSimulationDatasetConfig({ layers: { vpMS: [3000, 2000] } }), ConfigError);
  t.throws(
    () => checkSimulationDatasetConfig({ layers: { vpMS: [3000, 2000] } }),
    /layers\.vpMS: a range is \[min, max\]/,
  );
  t.throws(() => checkSimulationDatasetConfig({ extraction: { alpha: 2 } }), /extraction\.alpha/);
});

t.test(
  'random scenarios: the same seed gives the same model, each model the same for all sources',
  async (t) => {
    const a = scenario(small, 1, 0);
    t.same(scenario(small, 1, 0).source, a.source);
    t.same(scenario(small, 1, 1).model, a.model, 'a second source of the same model');
    t.notSame(scenario(small, 2, 0).model, a.model);
    t.notSame(scenario(checkSimulationDatasetConfig({ ...small, seed: 9 }), 1, 0).model, a.model);
    const { medium } = a;
    t.ok(medium.nx * medium.nz <= 6000 * 1.1, `grid of ${medium.nx} x ${medium.nz} within maxPoints`);
    // Receivers on the free surface: solid at their node, vacuum above it.
    for (const r of a.receivers) {
      const i = Math.round(r.xM / medium.spacingM);
      const j = Math.round((r.zM - medium.zOriginM) / medium.spacingM);
      t.ok(medium.density[j * medium.nx + i] > 0 && medium.density[(j - 1) * medium.nx + i] === 0);
    }
  },
);

t.test('a dataset builds on worker threads as PhaseNet npz records, and resumes', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'phasestream-synth-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const first = await buildDataset(small, out, { workers: 2 });
  t.equal(first.tasks, 3);
  t.equal(first.windows + first.dropped * 3, 27, 'records x extracts, less dropped records');
  t.ok(first.windows >= 18, `${first.windows} windows, ${first.dropped} records dropped`);
  const csv = readFileSync(join(out, 'dataset.csv'), 'utf8').trim().split('\n');
  t.equal(csv[0], DATASET_COLUMNS.join(','));
  t.equal(csv.length - 1, first.windows);
  let withP = 0;
  for (const row of csv.slice(1)) {
    const [fname, itp, its, channels] = row.split(',');
    const record = readPhaseNetNpz(join(out, 'waveforms', fname));
    t.equal(record.length, 3000);
    t.same(record.channels, channels.split('_'));
    t.same(record.itp, itp === '' ? [] : [Number(itp)]);
    t.same(record.its, its === '' ? [] : [Number(its)]);
    if (itp !== '') {
      withP++;
      t.ok(its === '' || Number(its) > Number(itp), 'S after P');
      // Energy comes with the P label: quiet before it (noise-free), not after.
      const z = (k: number) => record.data[3 * k + 2];
      let before = 0;
      let after = 0;
      for (let k = Math.max(0, Number(itp) - 60); k < Number(itp) - 20; k++)
        before = Math.max(before, Math.abs(z(k)));
      for (let k = Number(itp); k < Math.min(3000, Number(itp) + 150); k++)
        after = Math.max(after, Math.abs(z(k)));
      t.ok(
        after > 20 * before,
        `${fname}: P arrives at its label (${before.toExponential(1)} before, ${after.toExponential(1)} after)`,
      );
    }
  }
  t.ok(withP > 0 && withP < first.windows, `${withP} of ${first.windows} extracts hold arrivals (alpha 0.7)`);

  // Resume: a task whose part file is gone is simulated again, the same way.
  const part = readdirSync(join(out, 'parts'))[1];
  const before = readFileSync(join(out, 'dataset.csv'), 'utf8');
  const oneFile = csv.find((row) => row.startsWith(`m0001`))!.split(',')[0];
  const bytes = readFileSync(join(out, 'waveforms', oneFile));
  unlinkSync(join(out, 'parts', part));
  unlinkSync(join(out, 'waveforms', oneFile));
  const again = await buildDataset(small, out, { workers: 1 });
  t.equal(again.resumedTasks, 2);
  t.equal(readFileSync(join(out, 'dataset.csv'), 'utf8'), before);
  t.same(readFileSync(join(out, 'waveforms', oneFile)), bytes, 'the same record again');

  await t.rejects(buildDataset({ ...small, seed: 2 }, out), UsageError);
});

t.test(
  'without noise, N carries the horizontal motion along the profile, E and N by one azimuth',
  async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'phasestream-synth-'));
    t.teardown(() => rmSync(out, { recursive: true, force: true }));
    const quiet = checkSimulationDatasetConfig({
      ...small,
      models: 1,
      noise: { snrDb: null },
      extraction: { extractsPerRecord: 1, alpha: 1 },
    });
    await buildDataset(quiet, out, { workers: 1 });
    const [fname] = readFileSync(join(out, 'dataset.csv'), 'utf8').trim().split('\n')[1].split(',');
    const { data } = readPhaseNetNpz(join(out, 'waveforms', fname));
    const east = data.filter((_, k) => k % 3 === 0);
    const north = data.filter((_, k) => k % 3 === 1);
    t.ok(
      north.some((v) => v !== 0),
      'N is not all zeros',
    );
    // One horizontal trace split by a fixed azimuth: N / E is the same ratio wherever both move.
    const at = east.reduce((best, v, k) => (Math.abs(v) > Math.abs(east[best]) ? k : best), 0);
    const ratio = north[at] / east[at];
    const moving = [...east.keys()].filter((k) => Math.abs(east[k]) > 0.01 * Math.abs(east[at]));
    t.ok(moving.length > 50);
    t.ok(
      moving.every(
        (k) => Math.abs(north[k] - ratio * east[k]) <= 1e-4 * Math.abs(east[at]) * (1 + Math.abs(ratio)),
      ),
      'N = E cot(azimuth) sample by sample',
    );
  },
);

t.test('noise: AWGN on every component', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'phasestream-synth-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const noisy = checkSimulationDatasetConfig({
    ...small,
    models: 1,
    noise: { snrDb: [10, 10] },
    extraction: { extractsPerRecord: 1, alpha: 1 },
  });
  const built = await buildDataset(noisy, out, { workers: 1 });
  const [fname] = readFileSync(join(out, 'dataset.csv'), 'utf8').trim().split('\n')[1].split(',');
  const record = readPhaseNetNpz(join(out, 'waveforms', fname));
  const north = record.data.filter((_, k) => k % 3 === 1);
  t.ok(
    north.some((v) => v !== 0),
    'N holds noise',
  );
  t.ok(built.windows >= 1);
});
