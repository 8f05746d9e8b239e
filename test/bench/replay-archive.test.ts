import { existsSync } from 'node:fs';
import { lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import {
  benchStationCode,
  buildSdsArchive,
  contentOffset,
  type DevRecord,
  daySpans,
  loadDevRecord,
  sdsPath,
  spreadFraction,
  tiledSamples,
} from '../../bench/archive-builder.ts';
import { UsageError } from '../../src/errors.ts';
import { archiveRecords, sdsFiles } from '../../src/ingest/archive.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

t.test('tiledSamples reads from an offset and starts over at the end', async (t) => {
  const source = Int32Array.from([10, 11, 12, 13]);
  t.same([...tiledSamples(source, 1, 3)], [11, 12, 13]);
  t.same([...tiledSamples(source, 2, 7)], [12, 13, 10, 11, 12, 13, 10]);
  t.same([...tiledSamples(source, 6, 2)], [12, 13]);
  t.same([...tiledSamples(source, -1, 2)], [13, 10]);
  t.same([...tiledSamples(source, 0, 0)], []);
  t.throws(() => tiledSamples(new Int32Array(0), 0, 1), RangeError);
});

t.test('stations read the record from distinct, well-spread offsets', async (t) => {
  const length = 936_001;
  const offsets = Array.from({ length: 3200 }, (_, i) => contentOffset(i, length));
  t.equal(new Set(offsets).size, offsets.length);
  t.ok(offsets.every((o) => o >= 0 && o < length));
  t.equal(offsets[0], 0);
  // However many stations, none is far from its neighbours: the largest gap between consecutive
  // fractions (around the circle) stays under 1.5 / n, where evenly spaced points would have 1 / n.
  for (const n of [10, 100, 3200]) {
    const sorted = Array.from({ length: n }, (_, i) => spreadFraction(i)).sort((a, b) => a - b);
    const gaps = sorted.map((x, i) => (i + 1 < n ? sorted[i + 1] : sorted[0] + 1) - x);
    t.ok(Math.max(...gaps) < 1.5 / n, `${n} stations: largest gap ${Math.max(...gaps)}`);
  }
});

t.test('benchStationCode', async (t) => {
  t.equal(benchStationCode('B', 0), 'B0001');
  t.equal(benchStationCode('R', 9998), 'R9999');
  t.throws(() => benchStationCode('R', 9999), UsageError);
});

t.test('sdsPath and daySpans follow the SDS layout and UTC days', async (t) => {
  const id = { network: 'XX', station: 'B0001', location: '00', channel: 'HHZ' };
  const march31 = Date.UTC(2011, 2, 31) * 1000;
  t.equal(sdsPath('/a', id, march31), '/a/2011/XX/B0001/HHZ.D/XX.B0001.00.HHZ.D.2011.090');
  const h = 3_600_000_000;
  t.same(daySpans(march31 + 23 * h, march31 + 26 * h), [
    { startUs: march31 + 23 * h, endUs: march31 + 24 * h },
    { startUs: march31 + 24 * h, endUs: march31 + 26 * h },
  ]);
  t.same(daySpans(march31, march31 + h), [{ startUs: march31, endUs: march31 + h }]);
});

/** A small synthetic station: a ramp per component, so that every sample says where it came from. */
function rampRecord(length: number, samplingRate: number): DevRecord {
  return {
    network: 'XX',
    station: 'DEV1',
    location: '00',
    channels: ['HHE', 'HHN', 'HHZ'],
    samplingRate,
    startTimeUs: 0,
    samples: [0, 1, 2].map((c) => Int32Array.from({ length }, (_, i) => c * 1_000_000 + i)),
  };
}

t.test('buildSdsArchive writes day files that the archive reader gives back sample for sample', async (t) => {
  const root = t.testdir();
  const dev = rampRecord(5_000, 10);
  const startUs = Date.UTC(2011, 2, 31, 23, 50) * 1000;
  const durationS = 1_200; // 10 minutes on each side of midnight: two day files per channel
  const archive = await buildSdsArchive(dev, root, 2, startUs, durationS);
  t.same(archive.stations, ['XX.B0001', 'XX.B0002']);
  t.equal(archive.files, 2 * 3 * 2);
  t.ok(
    existsSync(sdsPath(root, { network: 'XX', station: 'B0002', location: '00', channel: 'HHN' }, startUs)),
  );

  const files = sdsFiles(root, archive.startUs, archive.endUs, ['XX.B0002']);
  t.equal(files.length, 6);
  const records = await lastValueFrom(archiveRecords(files).pipe(toArray()));
  const channel = records.filter((r) => r.streamId.channel === 'HHN');
  const samples = channel.flatMap((r) => [...r.samples]);
  const count = durationS * dev.samplingRate;
  t.same(samples, [...tiledSamples(dev.samples[1], contentOffset(1, 5_000), count)]);
  t.equal(channel[0].startTimeUs, startUs);
  // The file of the next day starts at midnight, continuing the station's samples.
  const midnight = Date.UTC(2011, 3, 1) * 1000;
  const firstOfDay = channel.find((r) => r.startTimeUs >= midnight)!;
  t.equal(firstOfDay.startTimeUs, midnight);
  t.equal(firstOfDay.samples[0], samples[(midnight - startUs) / 100_000]);
});

t.test(
  'loadDevRecord reads the dev station as one run per component',
  { skip: skipUnlessShared('data/continuous-dev') },
  async (t) => {
    const dev = await loadDevRecord(sharedPath('data/continuous-dev'));
    t.same(dev.channels, ['HHE', 'HHN', 'HHZ']);
    t.equal(dev.samplingRate, 100);
    t.equal(dev.startTimeUs, Date.UTC(2011, 2, 31) * 1000);
    t.same(
      dev.samples.map((s) => s.length),
      [936_001, 936_001, 936_001],
    );
  },
);
