/**
 * seisplotjs as an independent reference: its decoders must give the samples ours give on the
 * shared archives, its miniSEED 3 writer must produce records ours read, and it must read ours.
 */
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { loadSeisplotjs } from '../../bench/mseed-decode.ts';
import { decodeMseedRecord } from '../../src/ingest/mseed/decode.ts';
import type { MseedEncodeOptions } from '../../src/ingest/mseed/encode.ts';
import { encodeMseed } from '../../src/ingest/mseed/encode.ts';
import { readMseedBuffer } from '../../src/ingest/mseed/reader.ts';
import type { MseedRecord } from '../../src/ingest/mseed/record.ts';
import { streamKey } from '../../src/ingest/stream-id.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

const sp = await loadSeisplotjs();

type SpDataRecord = ReturnType<typeof sp.miniseed.parseDataRecords>[number];

function arrayBufferOf(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function ours(bytes: Uint8Array): MseedRecord[] {
  return [...readMseedBuffer(bytes)].map((result) => {
    if (result.error) throw result.error;
    return result.record;
  });
}

/** A seisplotjs miniSEED 2 record in our terms: stream key, start (epoch us), rate, samples. */
function theirs(record: SpDataRecord) {
  const h = record.header;
  const b = h.startBTime;
  const startTimeUs =
    Date.UTC(b.year, 0, b.jday, b.hour, b.min, b.sec) * 1000 + b.tenthMilli * 100 + b.microsecond;
  return {
    key: `${h.netCode}.${h.staCode}.${h.locCode}.${h.chanCode}`,
    startTimeUs,
    samplingRate: h.sampleRate,
    samples: Array.from(record.decompress()),
  };
}

function mine(record: MseedRecord) {
  return {
    key: streamKey(record.streamId),
    startTimeUs: record.startTimeUs,
    samplingRate: record.samplingRate,
    samples: Array.from(record.samples),
  };
}

const sharedFiles = ['continuous-dev', 'real-continuous'].flatMap((dir) =>
  skipUnlessShared('data', dir)
    ? []
    : readdirSync(sharedPath('data', dir))
        .filter((name) => name.endsWith('.mseed'))
        .map((name) => sharedPath('data', dir, name)),
);

t.test(
  'decoded samples, times and rates equal seisplotjs on every shared file',
  { skip: skipUnlessShared('data') },
  async (t) => {
    t.ok(sharedFiles.length >= 7, 'the shared files are there');
    for (const path of sharedFiles) {
      const bytes = readFileSync(path);
      const reference = sp.miniseed.parseDataRecords(arrayBufferOf(bytes)).map(theirs);
      const decoded = ours(bytes).map(mine);
      t.equal(decoded.length, reference.length, `${path}: records`);
      const differing = decoded.findIndex(
        (record, i) => JSON.stringify(record) !== JSON.stringify(reference[i]),
      );
      t.equal(
        differing,
        -1,
        `${path}: every record equal${differing < 0 ? '' : ` (first difference: record ${differing})`}`,
      );
    }
  },
);

t.test(
  'miniSEED 3 records written by seisplotjs decode to the same records',
  { skip: skipUnlessShared('data') },
  async (t) => {
    // seisplotjs writes and checksums byte by byte: the first records of each file are enough.
    const count = 300;
    for (const path of sharedFiles) {
      const bytes = readFileSync(path);
      const v3 = sp.miniseed
        .parseDataRecords(arrayBufferOf(bytes))
        .slice(0, count)
        .map((ms2) => {
          const record = sp.mseed3.convertMS2Record(ms2);
          // convertMS2Record wraps the whole buffer (`new DataView(data.buffer)`), not the record's payload.
          record.rawData = ms2.data;
          const out = new DataView(new ArrayBuffer(record.calcSize()));
          record.save(out);
          return new Uint8Array(out.buffer);
        });
      const fromV3 = ours(Buffer.concat(v3));
      t.ok(fromV3.every((r) => r.formatVersion === 3));
      t.same(
        fromV3.map(mine),
        ours(bytes).slice(0, count).map(mine),
        `${path}: same records from miniSEED 3`,
      );
    }
  },
);

t.test('seisplotjs reads the records our encoder writes', async (t) => {
  const samples = new Int32Array(5000);
  for (let i = 1; i < samples.length; i++)
    samples[i] = samples[i - 1] + Math.round(Math.sin(i / 7) * 4000 + ((i * 7919) % 13));
  const floats = Float64Array.from(samples, (v) => v / 1024);
  const series = {
    streamId: { network: 'XX', station: 'ENC', location: '', channel: 'BHZ' },
    startTimeUs: Date.parse('2020-01-02T03:04:05Z') * 1000 + 678_912,
    samplingRate: 40,
    samples,
  };
  const cases: [MseedEncodeOptions, ArrayLike<number>][] = [
    [{ encoding: 'steim2' }, samples],
    [{ encoding: 'steim1' }, samples],
    [{ encoding: 'int32', recordLength: 4096 }, samples],
    [{ encoding: 'float32' }, Float32Array.from(floats)],
    [{ encoding: 'float64' }, floats],
  ];
  for (const [options, values] of cases) {
    const records = encodeMseed({ ...series, samples: values }, options);
    const reference = sp.miniseed.parseDataRecords(arrayBufferOf(Buffer.concat(records))).map(theirs);
    t.same(
      reference,
      records.map((bytes) => mine(decodeMseedRecord(bytes))),
      `miniSEED 2 ${options.encoding}`,
    );
    t.same(
      reference.flatMap((r) => r.samples),
      Array.from(values),
      `miniSEED 2 ${options.encoding}: seisplotjs gets the samples`,
    );

    const v3 = encodeMseed({ ...series, samples: values }, { ...options, formatVersion: 3 });
    const parsed = sp.mseed3.parseMSeed3Records(arrayBufferOf(Buffer.concat(v3)));
    t.same(
      parsed.flatMap((r) => Array.from(r.decompress())),
      Array.from(values),
      `miniSEED 3 ${options.encoding}: seisplotjs gets the samples`,
    );
    t.same(
      parsed.map((r) => r.header.crc),
      parsed.map((r) => r.calcCrc()),
      'CRCs agree with the CRC seisplotjs computes',
    );
    t.same([...new Set(parsed.map((r) => r.header.identifier))], ['FDSN:XX_ENC__B_H_Z']);
    t.equal(parsed[0].header.nanosecond, 678_912_000);
  }
});
