import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readEventRecords } from '../../src/ingest/event-record.ts';
import { encodeMseed, type MseedEncodeOptions } from '../../src/ingest/mseed/encode.ts';
import { readArrivalsCsv } from '../../src/train/continuous-truth.ts';
import { pickingMetrics } from '../../src/train/metrics.ts';
import { runCli } from '../helpers/cli.ts';
import { originalModelDir } from '../helpers/original-model.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

/**
 * Bad input on some stations never changes the picks of the others: a replay of a good station
 * together with stations of corrupt records, odd rates, NaN, gaps and missing components gives the
 * good station's picks exactly, and each bad input its own logged report.
 */
const skip = skipUnlessShared('data', 'continuous-dev') || skipUnlessShared('models', 'phasenet-original');
const dev = (...p: string[]) => sharedPath('data', 'continuous-dev', ...p);
const MINUTES = 30;

t.test('one station with bad input never changes the picks of another', { skip }, async (t) => {
  const [record] = await readEventRecords(
    ['HHE', 'HHN', 'HHZ'].map((c) => dev(`XX.DEV1.00.${c}.mseed`)),
    ['E', 'N', 'Z'],
  );
  const length = MINUTES * 60 * 100;
  const startUs = record.startTimeUs!;
  const component = (c: number, from = 0, to = length) => {
    const out: number[] = [];
    for (let i = from; i < to; i++) out.push(record.data[i * 3 + c]);
    return out;
  };
  /** 100 Hz samples at another rate, linearly interpolated (picking, not fidelity, is tested here). */
  const atRate = (samples: number[], rate: number) => {
    const out: number[] = [];
    for (let j = 0; j * (100 / rate) < samples.length - 1; j++) {
      const x = j * (100 / rate);
      const i = Math.floor(x);
      out.push(Math.round(samples[i] + (samples[i + 1] - samples[i]) * (x - i)));
    }
    return out;
  };
  const dir = t.testdir();
  const files: string[] = [];
  const write = (name: string, records: Uint8Array[]) => {
    const path = join(dir, name);
    writeFileSync(path, Buffer.concat(records));
    files.push(path);
    return path;
  };
  const encode = (
    station: string,
    channel: string,
    samples: ArrayLike<number>,
    rate = 100,
    offsetUs = 0,
    options: MseedEncodeOptions = {},
  ) =>
    encodeMseed(
      {
        streamId: { network: 'XX', station, location: '', channel },
        startTimeUs: startUs + offsetUs,
        samplingRate: rate,
        samples,
      },
      options,
    );

  // GOOD: the dev record as it is.
  for (const [c, code] of ['E', 'N', 'Z'].entries())
    write(`GOOD.HH${code}.mseed`, encode('GOOD', `HH${code}`, component(c)));
  const goodFiles = [...files];

  // BAD: corrupt Steim frames, an unknown encoding, a truncated record, duplicates, records out of
  // order, NaN and Inf in float records, a rate change mid-stream, and a 40 s gap on every component.
  const gapFrom = 20 * 60 * 100;
  const gapTo = gapFrom + 40 * 100;
  const z = [
    ...encode('BAD', 'HHZ', component(2, 0, gapFrom)),
    ...encode('BAD', 'HHZ', component(2, gapTo), 100, gapTo * 1e4),
  ];
  z[5] = z[5].slice();
  z[5][64 + 64 + 10] ^= 0xff; // inside a Steim frame
  z[10] = z[10].slice();
  z[10][52] = 42; // blockette 1000's encoding
  [z[30], z[31]] = [z[31], z[30]];
  z.splice(25, 0, z[20], z[21]);
  z.push(z[z.length - 1].slice(0, 300));
  write('BAD.HHZ.mseed', z);
  const n = component(1).map((v, i) =>
    i % 5000 === 17 ? Number.NaN : i % 7001 === 3 ? Number.POSITIVE_INFINITY : v,
  );
  write('BAD.HHN.mseed', [
    ...encode('BAD', 'HHN', n.slice(0, gapFrom), 100, 0, { encoding: 'float32' }),
    ...encode('BAD', 'HHN', n.slice(gapTo), 100, gapTo * 1e4, { encoding: 'float32' }),
  ]);
  const half = 10 * 60 * 100;
  write('BAD.HHE.mseed', [
    ...encode('BAD', 'HHE', component(0, 0, half)),
    ...encode('BAD', 'HHE', atRate(component(0, half, gapFrom), 200), 200, half * 1e4),
    ...encode('BAD', 'HHE', atRate(component(0, gapTo), 200), 200, gapTo * 1e4),
  ]);
  // Other rates, a Z-only station and one that never sends its E component.
  for (const [c, code] of ['E', 'N', 'Z'].entries())
    write(`R40.HH${code}.mseed`, encode('R40', `HH${code}`, atRate(component(c), 40), 40));
  for (const [c, code] of ['E', 'N', 'Z'].entries())
    write(`R200.HH${code}.mseed`, encode('R200', `HH${code}`, atRate(component(c), 200), 200));
  write('ZONLY.HHZ.mseed', encode('ZONLY', 'HHZ', component(2)));
  write('NOE.HHN.mseed', encode('NOE', 'HHN', component(1)));
  write('NOE.HHZ.mseed', encode('NOE', 'HHZ', component(2)));

  const model = await originalModelDir();
  const alone = await runCli(['replay', ...goodFiles, '--model', model]);
  t.equal(alone.code, 0, 'the good station alone replays');
  const all = await runCli(['replay', ...files, '--model', model], {
    env: { PHASESTREAM_LOG_LEVEL: 'warn' },
  });
  t.equal(all.code, 0, 'the replay ends normally');
  const picks = all.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const of = (station: string) => picks.filter((p) => p.station === station);
  t.same(
    of('GOOD'),
    alone.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
    'the good station picks exactly as alone',
  );

  const logs = all.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const said = (pattern: RegExp) =>
    logs.some((l) => pattern.test(`${l.msg} ${l.err ?? ''} ${l.problem ?? ''} ${l.kind ?? ''}`));
  t.ok(said(/unknown encoding 42/), 'the unknown encoding is reported');
  t.ok(said(/steim/i), 'the corrupt Steim frame is reported');
  t.ok(said(/truncated/), 'the truncated record is reported');
  t.ok(said(/duplicate/), 'the duplicates are reported');
  t.ok(said(/rate-change/), 'the rate change is reported');
  t.ok(said(/non-finite/), 'NaN and Inf are reported');
  t.ok(said(/gap/), 'the gap is reported');

  // Every station that has data gets picked, whatever its rate or components.
  const arrivals = readArrivalsCsv(dev('picks.csv')).filter((a) => a.timeUs < startUs + length * 1e4 - 30e6);
  const us = (iso: string) => Date.parse(iso) * 1000 + Number(iso.slice(23, 26));
  for (const station of ['GOOD', 'BAD', 'R40', 'R200', 'ZONLY', 'NOE']) {
    const metrics = pickingMetrics(
      of(station).map((p) => ({ phase: p.phase, timeUs: us(p.time) })),
      arrivals,
    );
    t.ok(
      metrics.P.recall >= 0.6,
      `${station}: P recall ${metrics.P.recall.toFixed(2)}, S recall ${metrics.S.recall.toFixed(2)}`,
    );
  }
});
