import t from 'tap';
import { WaveformFormatError } from '../../src/errors.ts';
import { decodeMseedRecord } from '../../src/ingest/mseed/decode.ts';
import type { MseedEncodeOptions, MseedSeries } from '../../src/ingest/mseed/encode.ts';
import { encodeMseed, factorsFromSamplingRate } from '../../src/ingest/mseed/encode.ts';
import { readMseedBuffer } from '../../src/ingest/mseed/reader.ts';
import type { MseedRecord } from '../../src/ingest/mseed/record.ts';
import { endTimeUs, MseedEncoding, sampleTimeUs } from '../../src/ingest/mseed/record.ts';
import { epochUsFromYearDay, isoFromEpochUs, yearDayFromEpochUs } from '../../src/ingest/mseed/time.ts';
import { samplingRateFromFactors } from '../../src/ingest/mseed/v2.ts';
import { seededUniform } from '../../src/util/random.ts';

const streamId = { network: 'XX', station: 'TEST', location: '00', channel: 'HHZ' };
const START_US = Date.parse('2024-02-29T23:59:58Z') * 1000 + 123_456;

function randomWalk(n: number, seed: number, step = 500): Int32Array {
  const next = seededUniform(seed);
  const out = new Int32Array(n);
  for (let i = 1; i < n; i++) out[i] = out[i - 1] + Math.round((next() - 0.5) * 2 * step);
  return out;
}

/**
 * Differences that need every Steim2 packing, each at both ends of its range: runs of 7 four-bit,
 * 6 five-bit, 5 six-bit, 4 eight-bit, 3 ten-bit, 2 fifteen-bit and single 30-bit differences, and
 * runs of zeros.
 */
function steim2EdgeSeries(): Int32Array {
  const diffs: number[] = [];
  const run = (count: number, bits: number) => {
    const lo = -(2 ** (bits - 1));
    const hi = 2 ** (bits - 1) - 1;
    for (let i = 0; i < count; i++) diffs.push(i % 2 === 0 ? lo : hi);
  };
  for (let repeat = 0; repeat < 20; repeat++) {
    diffs.push(...new Array(20).fill(0));
    run(7, 4);
    run(6, 5);
    run(5, 6);
    run(4, 8);
    run(3, 10);
    run(2, 15);
    run(1, 30);
    diffs.push(2 ** 29 - 1, -(2 ** 29), 2 ** 29 - 1); // large jumps, alternating sign
  }
  const samples = new Int32Array(diffs.length + 1);
  samples[0] = -123_456;
  for (let i = 0; i < diffs.length; i++) samples[i + 1] = samples[i] + diffs[i];
  return samples;
}

/** Every (code, dnib) packing found in the Steim2 frames of a miniSEED 2 record (payload at byte 64). */
function steim2Packings(record: Uint8Array): Set<string> {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const found = new Set<string>();
  for (let frame = 64; frame < record.length; frame += 64) {
    const control = view.getUint32(frame);
    for (let w = frame === 64 ? 3 : 1; w < 16; w++) {
      const code = (control >>> (30 - 2 * w)) & 3;
      if (code === 1) found.add('1');
      else if (code > 1) found.add(`${code}/${view.getUint32(frame + 4 * w) >>> 30}`);
    }
  }
  return found;
}

function decodeAll(records: Uint8Array[]): MseedRecord[] {
  return records.map((bytes) => decodeMseedRecord(bytes));
}

function joined(records: readonly MseedRecord[]): number[] {
  return records.flatMap((record) => Array.from(record.samples));
}

interface RoundTrip {
  decoded: MseedRecord[];
  samples: number[];
  /** Records whose time, rate, stream or length differ from what was encoded. */
  problems: string[];
}

function roundTrip(series: MseedSeries, options: MseedEncodeOptions): RoundTrip {
  const encoded = encodeMseed(series, options);
  const decoded = decodeAll(encoded);
  const problems: string[] = [];
  let offset = 0;
  for (const [i, record] of decoded.entries()) {
    const expected = sampleTimeUs(series.startTimeUs, series.samplingRate, offset);
    if (record.startTimeUs !== expected)
      problems.push(`record ${i} starts at ${record.startTimeUs}, not ${expected}`);
    if (record.samplingRate !== series.samplingRate) problems.push(`record ${i} rate ${record.samplingRate}`);
    if (JSON.stringify(record.streamId) !== JSON.stringify(series.streamId))
      problems.push(`record ${i} stream`);
    if (record.recordLength !== encoded[i].length) problems.push(`record ${i} length ${record.recordLength}`);
    offset += record.sampleCount;
  }
  return { decoded, samples: joined(decoded), problems };
}

t.test('Steim2 round trip covers every packing at its limits, runs of zeros and 30-bit jumps', async (t) => {
  const samples = steim2EdgeSeries();
  for (const formatVersion of [2, 3] as const) {
    const encoded = encodeMseed(
      { streamId, startTimeUs: START_US, samplingRate: 100, samples },
      { formatVersion },
    );
    t.same(joined(decodeAll(encoded)), Array.from(samples), `miniSEED ${formatVersion}`);
  }
  const v2 = encodeMseed({ streamId, startTimeUs: START_US, samplingRate: 100, samples });
  const packings = new Set(v2.flatMap((record) => [...steim2Packings(record)]));
  t.same([...packings].sort(), ['1', '2/1', '2/2', '2/3', '3/0', '3/1', '3/2'], 'all seven packings used');
  t.ok(v2.length > 1, 'the series spans several records');
});

t.test(
  'Steim2 refuses a difference beyond 30 bits; Steim1 and int32 take the full int32 range',
  async (t) => {
    const samples = Int32Array.from([0, 2 ** 31 - 1, -(2 ** 31), 5, -(2 ** 31), 2 ** 31 - 1]);
    const series = { streamId, startTimeUs: START_US, samplingRate: 100, samples };
    t.throws(() => encodeMseed(series, { encoding: 'steim2' }), WaveformFormatError);
    for (const options of [
      { encoding: 'steim1' },
      { encoding: 'int32' },
      { encoding: 'steim1', formatVersion: 3 },
      { encoding: 'steim1', littleEndian: true },
    ] as const) {
      const trip = roundTrip(series, options);
      t.same(trip.samples, Array.from(samples), JSON.stringify(options));
      t.same(trip.problems, []);
    }
  },
);

t.test('every encoding round-trips in miniSEED 2 (both byte orders) and 3', async (t) => {
  const walk = randomWalk(3000, 7, 3000);
  const small = randomWalk(3000, 8, 100).map((v) => Math.max(-32768, Math.min(32767, v)));
  const next = seededUniform(9);
  const floats = Float64Array.from({ length: 3000 }, () => (next() - 0.5) * 1e-3);
  const cases: [MseedEncodeOptions['encoding'], ArrayLike<number>][] = [
    ['steim1', walk],
    ['steim2', walk],
    ['int16', small],
    ['int32', walk],
    ['float32', Float32Array.from(floats)],
    ['float64', floats],
  ];
  for (const [encoding, samples] of cases) {
    for (const options of [
      { formatVersion: 2 as const },
      { formatVersion: 2 as const, littleEndian: true },
      { formatVersion: 2 as const, recordLength: 4096 },
      { formatVersion: 3 as const },
      { formatVersion: 3 as const, recordLength: 1000 },
    ]) {
      t.test(`${encoding} ${JSON.stringify(options)}`, async (t) => {
        const trip = roundTrip(
          { streamId, startTimeUs: START_US, samplingRate: 100, samples },
          { encoding, ...options },
        );
        t.same(trip.samples, Array.from(samples));
        t.same(trip.problems, []);
        const { decoded } = trip;
        t.ok(decoded.length > 1, 'several records');
        t.ok(decoded[0].samples instanceof Float64Array, 'samples of every encoding as float64');
        t.equal(decoded[0].encoding, MseedEncoding[encoding!]);
        t.equal(decoded[0].formatVersion, options.formatVersion);
      });
    }
  }
});

t.test('a little-endian miniSEED 2 header is detected from its year and day', async (t) => {
  const samples = randomWalk(200, 3);
  const [big] = encodeMseed({ streamId, startTimeUs: START_US, samplingRate: 100, samples });
  const [little] = encodeMseed(
    { streamId, startTimeUs: START_US, samplingRate: 100, samples },
    { littleEndian: true },
  );
  t.not(Buffer.from(big).compare(Buffer.from(little)), 0, 'the bytes differ');
  t.equal(new DataView(little.buffer).getUint16(20, true), 2024, 'year stored little-endian');
  const a = decodeMseedRecord(big);
  const b = decodeMseedRecord(little);
  t.same(Array.from(b.samples), Array.from(a.samples));
  t.equal(b.startTimeUs, a.startTimeUs);
});

t.test('odd sampling rates: times of consecutive records are contiguous', async (t) => {
  for (const samplingRate of [40, 200, 1, 0.1, 12.5, 2000]) {
    const samples = randomWalk(5000, samplingRate * 10);
    for (const formatVersion of [2, 3] as const) {
      const trip = roundTrip({ streamId, startTimeUs: START_US, samplingRate, samples }, { formatVersion });
      t.same(trip.samples, Array.from(samples));
      t.same(trip.problems, [], `${samplingRate} Hz v${formatVersion}`);
      const { decoded } = trip;
      for (let i = 1; i < decoded.length; i++) {
        const expected = endTimeUs(decoded[i - 1]) + Math.round(1e6 / samplingRate);
        t.ok(
          Math.abs(decoded[i].startTimeUs - expected) <= 1,
          `${samplingRate} Hz v${formatVersion} record ${i}`,
        );
      }
    }
  }
});

t.test('start times keep their microseconds; miniSEED 3 nanoseconds round to microseconds', async (t) => {
  for (const us of [0, 1, 49, 50, 99, 100, 999_999]) {
    const startTimeUs = Date.parse('2011-03-31T12:34:56Z') * 1000 + us;
    const series = { streamId, startTimeUs, samplingRate: 100, samples: Int32Array.of(1, 2, 3) };
    t.equal(decodeMseedRecord(encodeMseed(series)[0]).startTimeUs, startTimeUs, `v2 +${us} us`);
    t.equal(
      decodeMseedRecord(encodeMseed(series, { formatVersion: 3 })[0]).startTimeUs,
      startTimeUs,
      `v3 +${us} us`,
    );
  }
  // Rewrite the nanoseconds of a v3 record to 1500 and 1499 ns (its CRC then fails: recompute it).
  const { recordCrc } = await import('../../src/ingest/mseed/v3.ts');
  const series = { streamId, startTimeUs: START_US - 123_456, samplingRate: 100, samples: Int32Array.of(1) };
  for (const [ns, us] of [
    [1500, 2],
    [1499, 1],
  ]) {
    const [record] = encodeMseed(series, { formatVersion: 3 });
    const view = new DataView(record.buffer);
    view.setUint32(4, ns, true);
    view.setUint32(28, recordCrc(record, 0, record.length), true);
    t.equal(decodeMseedRecord(record).startTimeUs, series.startTimeUs + us, `${ns} ns`);
  }
});

t.test(
  'headers: sequence numbers, quality, timing quality, extra headers, publication version',
  async (t) => {
    const samples = randomWalk(3000, 11);
    const series = { streamId, startTimeUs: START_US, samplingRate: 100, samples };
    const v2 = decodeAll(
      encodeMseed(series, { sequenceNumber: 999_998, dataQuality: 'Q', timingQuality: 87 }),
    );
    t.same(
      v2.slice(0, 4).map((r) => r.sequenceNumber),
      ['999998', '999999', '000001', '000002'],
      'sequence numbers count up and wrap',
    );
    t.equal(v2[0].dataQuality, 'Q');
    t.equal(v2[0].timingQuality, 87);
    const v3 = decodeAll(encodeMseed(series, { formatVersion: 3, timingQuality: 55, publicationVersion: 4 }));
    t.equal(v3[0].timingQuality, 55);
    t.equal(v3[0].publicationVersion, 4);
    t.same(JSON.parse(v3[0].extraHeaders!), { FDSN: { Time: { Quality: 55 } } });
    const extraHeaders = JSON.stringify({ FDSN: { Time: { Quality: 12 } }, Lab: { Note: 'ünïcode' } });
    const [withExtra] = decodeAll(encodeMseed(series, { formatVersion: 3, extraHeaders }));
    t.equal(withExtra.extraHeaders, extraHeaders, 'extra headers kept as the JSON text stored');
    t.equal(withExtra.timingQuality, 12);
  },
);

t.test('miniSEED 3 keeps stream ids that miniSEED 2 cannot hold', async (t) => {
  const long = { network: 'XX2024', station: 'LONGSTA', location: '', channel: 'H_H_ZZ' };
  const series = { streamId: long, startTimeUs: START_US, samplingRate: 100, samples: Int32Array.of(1, 2) };
  t.throws(() => encodeMseed(series), WaveformFormatError);
  t.same(decodeMseedRecord(encodeMseed(series, { formatVersion: 3 })[0]).streamId, long);
});

t.test('the encoder refuses what the format cannot hold', async (t) => {
  const series = { streamId, startTimeUs: START_US, samplingRate: 100, samples: [1, 2.5] };
  t.throws(() => encodeMseed(series, { encoding: 'int32' }), WaveformFormatError, 'non-integer for int32');
  t.throws(() => encodeMseed({ ...series, samples: [40_000] }, { encoding: 'int16' }), WaveformFormatError);
  t.throws(() => encodeMseed({ ...series, samplingRate: 0 }, { encoding: 'float64' }), WaveformFormatError);
  t.throws(() => encodeMseed({ ...series, samples: [1] }, { recordLength: 500 }), WaveformFormatError);
  t.throws(() => encodeMseed({ ...series, samples: [1], startTimeUs: 0.5 }), WaveformFormatError);
  t.same(encodeMseed({ ...series, samples: [] }), [], 'no samples, no records');
});

t.test('sampling rate factor and multiplier', async (t) => {
  const cases: [number, [number, number]][] = [
    [100, [100, 1]],
    [40, [40, 1]],
    [0.1, [-10, 1]],
    [1 / 3, [-3, 1]],
    [12.5, [25, -2]],
    [19.6, [98, -5]],
  ];
  for (const [rate, factors] of cases) {
    t.same(factorsFromSamplingRate(rate), factors, `${rate} Hz`);
    t.equal(samplingRateFromFactors(...factors), rate, `${factors} decodes to ${rate} Hz`);
  }
  t.throws(() => factorsFromSamplingRate(Math.PI), WaveformFormatError);
  // SEED manual examples: factor 33, multiplier 10 = 330 Hz; factor -60, multiplier 1 = 1 sample per minute.
  t.equal(samplingRateFromFactors(33, 10), 330);
  t.equal(samplingRateFromFactors(-60, 1), 1 / 60);
  t.equal(samplingRateFromFactors(1, -10), 0.1);
  t.equal(samplingRateFromFactors(-10, -10), 0.01);
});

t.test('times: year and day of year, leap years, ISO text', async (t) => {
  t.equal(epochUsFromYearDay(2011, 90, 0, 0, 0, 0), Date.parse('2011-03-31T00:00:00Z') * 1000);
  t.equal(
    epochUsFromYearDay(2012, 366, 23, 59, 59, 999_999),
    Date.parse('2012-12-31T23:59:59.999Z') * 1000 + 999,
  );
  t.equal(epochUsFromYearDay(1969, 365, 0, 0, 0, 0), Date.parse('1969-12-31T00:00:00Z') * 1000);
  t.equal(
    epochUsFromYearDay(2016, 366, 23, 59, 60, 0),
    Date.parse('2017-01-01T00:00:00Z') * 1000,
    'leap second',
  );
  t.same(yearDayFromEpochUs(Date.parse('2024-12-31T01:02:03Z') * 1000 + 456_789), {
    year: 2024,
    dayOfYear: 366,
    hour: 1,
    minute: 2,
    second: 3,
    microsecond: 456_789,
  });
  const next = seededUniform(5);
  for (let i = 0; i < 200; i++) {
    const timeUs = Math.round((next() - 0.3) * 4e15);
    const f = yearDayFromEpochUs(timeUs);
    t.equal(epochUsFromYearDay(f.year, f.dayOfYear, f.hour, f.minute, f.second, f.microsecond), timeUs);
  }
  t.equal(isoFromEpochUs(Date.parse('2011-03-31T00:00:00.180Z') * 1000 + 7), '2011-03-31T00:00:00.180007Z');
});

t.test('readMseedBuffer reads concatenated records of mixed formats and streams', async (t) => {
  const a = { streamId, startTimeUs: START_US, samplingRate: 100, samples: randomWalk(2000, 1) };
  const b = {
    streamId: { ...streamId, channel: 'HHN' },
    startTimeUs: START_US,
    samplingRate: 40,
    samples: randomWalk(900, 2),
  };
  const records = [
    ...encodeMseed(a, { recordLength: 256 }),
    ...encodeMseed(b, { formatVersion: 3 }),
    ...encodeMseed(a, { recordLength: 4096, encoding: 'int32' }),
  ];
  const results = [...readMseedBuffer(Buffer.concat(records))];
  t.equal(results.filter((r) => r.error).length, 0);
  const byChannel = (channel: string) =>
    joined(results.flatMap((r) => (r.record?.streamId.channel === channel ? [r.record] : [])));
  t.same(byChannel('HHZ'), [...a.samples, ...a.samples]);
  t.same(byChannel('HHN'), Array.from(b.samples));
});

t.test(
  'miniSEED 2 header fields the encoder does not write: time correction and blockette 100',
  async (t) => {
    const series = { streamId, startTimeUs: START_US, samplingRate: 100, samples: randomWalk(50, 4) };
    const [record] = encodeMseed(series, { encoding: 'int32' });
    const view = new DataView(record.buffer);
    view.setInt32(40, 12_345); // time correction of 1.2345 s ...
    t.equal(
      decodeMseedRecord(record).startTimeUs,
      START_US + 1_234_500,
      '... added while bit 1 of the activity flags is 0',
    );
    record[36] |= 0x02;
    t.equal(decodeMseedRecord(record).startTimeUs, START_US, '... already applied when the bit is 1');

    // Blockette 100 (actual sampling rate) after 1001 needs room: move the payload from byte 64 to 128.
    record.copyWithin(128, 64, 64 + 50 * 4);
    view.setUint16(44, 128);
    record[39] = 3;
    view.setUint16(58, 64); // 1001 -> 100
    view.setUint16(64, 100);
    view.setUint16(66, 0);
    view.setFloat32(68, 99.5);
    const decoded = decodeMseedRecord(record);
    t.equal(decoded.samplingRate, 99.5, 'blockette 100 overrides factor and multiplier (100 Hz)');
    t.same(Array.from(decoded.samples), Array.from(series.samples));
  },
);
