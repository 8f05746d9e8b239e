import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { encodeMseed } from '../../src/ingest/mseed/encode.ts';
import { log } from '../../src/log.ts';
import { DEFAULT_AUGMENT_OPTIONS } from '../../src/train/augment.ts';
import {
  excludeManifestRecords,
  fixedBatches,
  mseedEventDataset,
  npzDataset,
  splitDataset,
  stationOfNpz,
  trainingBatches,
} from '../../src/train/dataset.ts';
import { DEFAULT_LABEL_OPTIONS } from '../../src/train/labels.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';
import { syntheticEntries } from '../helpers/training.ts';

log.level = 'silent';

const entries = (stations: string[]) => stations.map((station, i) => ({ id: `${station}-${i}`, station }));

t.test('splits are deterministic for a seed, and by station keep stations whole', async (t) => {
  const list = entries(['A', 'A', 'A', 'B', 'B', 'C', 'D', 'D', 'E', 'F']);
  const a = splitDataset(list, { by: 'station', fractions: [0.6, 0.2, 0.2], seed: 3 });
  const b = splitDataset(list, { by: 'station', fractions: [0.6, 0.2, 0.2], seed: 3 });
  t.same(a, b);
  const stationsOf = (part: typeof list) => new Set(part.map((e) => e.station));
  for (const s of stationsOf(a.train)) {
    t.notOk(stationsOf(a.validation).has(s) || stationsOf(a.test).has(s), `${s} in one part only`);
  }
  t.equal(a.train.length + a.validation.length + a.test.length, list.length);
  const c = splitDataset(list, { by: 'record', fractions: [0.6, 0.2, 0.2], seed: 3 });
  t.same([c.train.length, c.validation.length, c.test.length], [6, 2, 2]);
  const d = splitDataset(list, { by: 'record', fractions: [0.6, 0.2, 0.2], seed: 4 });
  t.not(c.train.map((e) => e.id).join(), d.train.map((e) => e.id).join(), 'another seed, another split');
});

t.test('the station of a PhaseNet file name', async (t) => {
  t.equal(stationOfNpz('/x/NC_CAL_1986040707411070_02.npz'), 'NC.CAL');
});

t.test('a manifest excludes its records, and with stations their stations', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'phasestream-ds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'm.json'), JSON.stringify({ embeds: [{ fname: 'NC_CAL_1.npz' }] }));
  const list = [
    { id: 'NC_CAL_1.npz', station: 'NC.CAL' },
    { id: 'NC_CAL_2.npz', station: 'NC.CAL' },
    { id: 'NC_MDY_1.npz', station: 'NC.MDY' },
  ];
  t.same(excludeManifestRecords(list, join(dir, 'm.json'), { stations: false }).excluded, ['NC_CAL_1.npz']);
  const byStation = excludeManifestRecords(list, join(dir, 'm.json'), { stations: true });
  t.same(byStation.excluded, ['NC_CAL_1.npz', 'NC_CAL_2.npz']);
  t.same(byStation.kept, [list[2]]);
});

t.test('training batches: shapes, labels, reproducible per seed and epoch', async (t) => {
  const data = syntheticEntries(5);
  const options = {
    windowLength: 256,
    label: DEFAULT_LABEL_OPTIONS,
    augment: { ...DEFAULT_AUGMENT_OPTIONS, alpha: 1 },
    batchSize: 2,
    seed: 1,
    epoch: 0,
  };
  const collect = async (epoch: number) => {
    const out = [];
    for await (const batch of trainingBatches(data, { ...options, epoch })) out.push(batch);
    return out;
  };
  const first = await collect(0);
  t.same(
    first.map((b) => b.count),
    [2, 2, 1],
  );
  t.equal(first[0].x.length, 2 * 256 * 3);
  t.equal(first[0].y.length, 2 * 256 * 3);
  // alpha 1: every window holds a P label peak of 1.
  for (const batch of first) {
    for (let w = 0; w < batch.count; w++) {
      let peak = 0;
      for (let i = 0; i < 256; i++) peak = Math.max(peak, batch.y[(w * 256 + i) * 3 + 1]);
      t.equal(peak, 1);
    }
  }
  const again = await collect(0);
  t.same(Array.from(again[1].x), Array.from(first[1].x));
  const next = await collect(1);
  t.not(Array.from(next[0].x).join(), Array.from(first[0].x).join(), 'another epoch, other windows');
  const fixed = await fixedBatches(data, {
    windowLength: 256,
    label: DEFAULT_LABEL_OPTIONS,
    batchSize: 4,
    seed: 1,
  });
  const fixedAgain = await fixedBatches(data, {
    windowLength: 256,
    label: DEFAULT_LABEL_OPTIONS,
    batchSize: 4,
    seed: 1,
  });
  t.same(Array.from(fixedAgain[0].y), Array.from(fixed[0].y));
});

t.test('a record that cannot be read is skipped, and the others train', async (t) => {
  const broken = {
    id: 'broken.npz',
    station: 'XX.BAD',
    load: () => Promise.reject(new Error('truncated file')),
  };
  const data = [...syntheticEntries(3), broken];
  const options = { windowLength: 256, label: DEFAULT_LABEL_OPTIONS, batchSize: 8, seed: 1 };
  const batches = [];
  for await (const b of trainingBatches(data, { ...options, augment: DEFAULT_AUGMENT_OPTIONS, epoch: 0 }))
    batches.push(b);
  t.same(
    batches.map((b) => b.count),
    [3],
  );
  t.same(
    (await fixedBatches(data, options)).map((b) => b.count),
    [3],
  );
});

t.test(
  'miniSEED event windows are cut around the picks of each event and station, labelled with every pick inside',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'phasestream-ds-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const start = Date.UTC(2020, 0, 1) * 1000;
    const files = [];
    for (const channel of ['HHE', 'HHN', 'HHZ']) {
      const samples = Int32Array.from({ length: 20000 }, (_, i) => (channel === 'HHZ' ? i : -i));
      const records = encodeMseed({
        streamId: { network: 'XX', station: 'STA', location: '00', channel },
        startTimeUs: start,
        samplingRate: 100,
        samples,
      });
      const path = join(dir, `${channel}.mseed`);
      writeFileSync(path, Buffer.concat(records));
      files.push(path);
    }
    writeFileSync(
      join(dir, 'picks.csv'),
      'event,station,phase,time\ne1,XX.STA,P,2020-01-01T00:00:40Z\ne1,XX.STA,S,2020-01-01T00:00:45.5Z\ne2,XX.STA,P,2020-01-01T00:02:00Z\ne3,XX.STA,P,2020-01-01T00:01:05Z\n',
    );
    const data = await mseedEventDataset(files, join(dir, 'picks.csv'), ['E', 'N', 'Z'], {
      beforeS: 30,
      lengthS: 60,
    });
    t.same(
      data.map((e) => e.id),
      ['e1|XX.STA', 'e2|XX.STA', 'e3|XX.STA'],
    );
    const e1 = await data[0].load();
    // P at sample 4000, window from 1000: P at 3000, S at 3550, and e3's P (6500) at 5500: a
    // neighbouring event's arrival inside the window is labelled, not trained as noise. Z counts the
    // sample index.
    t.same(e1.arrivals, { P: [3000, 5500], S: [3550] });
    t.equal(e1.data.length, 6000 * 3);
    t.same(Array.from(e1.data.subarray(0, 3)), [-1000, -1000, 1000]);
    const e2 = await data[1].load();
    // P at 12000, window from 9000, cut at the record's end (20000).
    t.same(e2.arrivals, { P: [3000], S: [] });
    t.equal(e2.data.length, 6000 * 3);
    const e3 = await data[2].load();
    // P at 6500, window from 3500: e1's P (4000) and S (4550) inside it too.
    t.same(e3.arrivals, { P: [500, 3000], S: [1050] });
  },
);

t.test(
  'npz records of the dev set load with their picks',
  { skip: skipUnlessShared('data', 'phasenet-ncedc-dev') },
  async (t) => {
    const data = npzDataset([sharedPath('data', 'phasenet-ncedc-dev')], ['E', 'N', 'Z']);
    t.ok(data.length >= 100);
    const record = await data[0].load();
    t.equal(record.channels, 3);
    t.equal(record.data.length / 3, 9001);
    t.ok(record.arrivals.P.length === 1 && record.arrivals.S.length === 1);
    const z = npzDataset([sharedPath('data', 'phasenet-ncedc-dev')], ['Z']);
    const zRecord = await z[0].load();
    t.equal(zRecord.data[100], record.data[100 * 3 + 2], 'Z only keeps the Z channel');
  },
);
