import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { WaveformFormatError } from '../../src/errors.ts';
import { decodeMseedRecord } from '../../src/ingest/mseed/decode.ts';
import { encodeMseed } from '../../src/ingest/mseed/encode.ts';
import type { MseedReadResult } from '../../src/ingest/mseed/reader.ts';
import { readMseedBuffer, readMseedFile, readMseedStream } from '../../src/ingest/mseed/reader.ts';
import type { MseedProblem } from '../../src/ingest/mseed/record.ts';
import { MseedRecordError } from '../../src/ingest/mseed/record.ts';
import { isoFromEpochUs } from '../../src/ingest/mseed/time.ts';

const streamId = { network: 'XX', station: 'BAD', location: '00', channel: 'HHZ' };
const START_US = Date.parse('2024-06-01T12:00:00Z') * 1000;
const RECORDS = 5;
const BAD = 2;

function walk(n: number): Int32Array {
  const out = new Int32Array(n);
  let state = 12345;
  for (let i = 1; i < n; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = out[i - 1] + ((state >>> 16) % 2001) - 1000;
  }
  return out;
}

/** Five 512-byte Steim2 records (miniSEED 2, or 3 of variable length) of one stream. */
function goodRecords(formatVersion: 2 | 3 = 2): Uint8Array[] {
  const records = encodeMseed(
    { streamId, startTimeUs: START_US, samplingRate: 100, samples: walk(5000) },
    { formatVersion, recordLength: formatVersion === 2 ? 512 : 700 },
  ).slice(0, RECORDS);
  if (records.length !== RECORDS) throw new Error('test series too short');
  return records;
}

const decodedOf = (records: Uint8Array[]) => records.map((bytes) => decodeMseedRecord(bytes));

const offsets = (records: Uint8Array[]) =>
  records.map((_, i) => records.slice(0, i).reduce((n, r) => n + r.length, 0));

interface Outcome {
  /** Start times of the records read, in order. */
  startTimes: number[];
  samples: number[][];
  errors: MseedRecordError[];
}

function outcome(results: Iterable<MseedReadResult>): Outcome {
  const out: Outcome = { startTimes: [], samples: [], errors: [] };
  for (const result of results) {
    if (result.error) {
      out.errors.push(result.error);
    } else {
      out.startTimes.push(result.record.startTimeUs);
      out.samples.push(Array.from(result.record.samples));
    }
  }
  return out;
}

/** What a reader should give: every good record except those `missing`, and one error of `problem` at `offset`. */
function oneBadRecord(expected: {
  problem: MseedProblem;
  offset: number;
  missing: number[];
  good?: Uint8Array[];
}) {
  const good = decodedOf(expected.good ?? goodRecords()).filter((_, i) => !expected.missing.includes(i));
  return {
    startTimes: good.map((r) => isoFromEpochUs(r.startTimeUs)),
    samples: good.map((r) => Array.from(r.samples)),
    errors: [[expected.problem, expected.offset]],
  };
}

/** `got` in the form of {@link oneBadRecord}. */
function summary(got: Outcome) {
  return {
    startTimes: got.startTimes.map(isoFromEpochUs),
    samples: got.samples,
    errors: got.errors.map((e) => [e.problem, e.offset]),
  };
}

t.test('a corrupt Steim frame (flipped difference) fails the Xn check of its record only', async (t) => {
  const records = goodRecords();
  records[BAD][64 * 2 + 4 * 5 + 1] ^= 0x10; // a difference word in frame 2
  const got = outcome(readMseedBuffer(Buffer.concat(records), { source: 'corrupt.mseed' }));
  t.same(summary(got), oneBadRecord({ problem: 'steim-frame', offset: BAD * 512, missing: [BAD] }));
  const [error] = got.errors;
  t.ok(error instanceof WaveformFormatError);
  t.match(
    error.message,
    /^Steim2 integrity check failed: last sample -?\d+ differs from the reverse integration constant Xn/,
  );
  t.match(
    error.message,
    `in record of XX.BAD.00.HHZ at ${isoFromEpochUs(decodedOf(goodRecords())[BAD].startTimeUs)}`,
  );
  t.match(error.message, `(byte offset ${BAD * 512} of corrupt.mseed)`);
  t.ok(error.hint);
});

t.test('an invalid Steim2 nibble code is reported as such', async (t) => {
  const records = goodRecords();
  const view = new DataView(records[BAD].buffer);
  const frame1 = 64 * 2;
  // word 1 of frame 1: code 3 (5/6/7 differences) with dnib 3, which Steim2 does not define
  view.setUint32(frame1, (view.getUint32(frame1) & ~(3 << 28)) | (3 << 28));
  view.setUint32(frame1 + 4, (view.getUint32(frame1 + 4) & 0x3fffffff) | (3 << 30));
  const got = outcome(readMseedBuffer(Buffer.concat(records)));
  t.same(summary(got), oneBadRecord({ problem: 'steim-frame', offset: BAD * 512, missing: [BAD] }));
  t.match(
    got.errors[0].message,
    /^invalid Steim2 code 3 with dnib 3 in word 1 of frame 1 in record of XX\.BAD/,
  );
});

t.test('a wrong reverse integration constant Xn is caught', async (t) => {
  const records = goodRecords();
  const view = new DataView(records[BAD].buffer);
  view.setInt32(64 + 8, view.getInt32(64 + 8) + 1);
  t.same(
    summary(outcome(readMseedBuffer(Buffer.concat(records)))),
    oneBadRecord({
      problem: 'steim-frame',
      offset: BAD * 512,
      missing: [BAD],
    }),
  );
});

t.test('a header sample count above what the frames hold is a sample-count error', async (t) => {
  const records = goodRecords();
  const view = new DataView(records[BAD].buffer);
  view.setUint16(30, view.getUint16(30) + 500);
  const got = outcome(readMseedBuffer(Buffer.concat(records)));
  t.same(summary(got), oneBadRecord({ problem: 'sample-count', offset: BAD * 512, missing: [BAD] }));
  t.match(got.errors[0].message, /^Steim2 frames hold \d+ samples but the header says \d+/);
});

t.test('an unknown encoding (patched byte) names the encoding, stream and time', async (t) => {
  const records = goodRecords();
  records[BAD][52] = 42; // blockette 1000 encoding
  const got = outcome(readMseedBuffer(Buffer.concat(records)));
  t.same(summary(got), oneBadRecord({ problem: 'unknown-encoding', offset: BAD * 512, missing: [BAD] }));
  const time = isoFromEpochUs(decodedOf(goodRecords())[BAD].startTimeUs);
  t.match(got.errors[0].message, `unknown encoding 42 in record of XX.BAD.00.HHZ at ${time}`);
  t.match(got.errors[0].hint, /Steim1, Steim2, int16, int32, float32 and float64/);
  t.throws(() => decodeMseedRecord(records[BAD]), { name: 'MseedRecordError', problem: 'unknown-encoding' });
});

t.test('a truncated record (bytes cut out) is reported and the next record still decodes', async (t) => {
  const records = goodRecords();
  records[BAD] = records[BAD].subarray(0, 300);
  const got = outcome(readMseedBuffer(Buffer.concat(records)));
  t.same(summary(got), oneBadRecord({ problem: 'truncated', offset: BAD * 512, missing: [BAD] }));
  t.match(
    got.errors[0].message,
    /^truncated record: the header says 512 bytes, the next record starts after 300/,
  );
  t.ok(got.errors[0].cause instanceof MseedRecordError, 'the decode failure is kept as the cause');
});

t.test('a record cut by the end of the input is truncated; a lone partial header too', async (t) => {
  const records = goodRecords();
  const cut = Buffer.concat(records).subarray(0, 4 * 512 + 200);
  const got = outcome(readMseedBuffer(cut));
  t.same(summary(got), oneBadRecord({ problem: 'truncated', offset: 4 * 512, missing: [4] }));
  t.match(got.errors[0].message, /the header says 512 bytes, the input ends after 200/);

  const partial = outcome(readMseedBuffer(Buffer.concat(records).subarray(0, 4 * 512 + 30)));
  t.same(
    partial.errors.map((e) => [e.problem, e.offset]),
    [['truncated', 4 * 512]],
  );
  t.equal(partial.startTimes.length, 4);
  t.throws(() => decodeMseedRecord(records[0].subarray(0, 400)), {
    name: 'MseedRecordError',
    problem: 'truncated',
  });
});

t.test('garbage between, before and after records is skipped and reported once per stretch', async (t) => {
  const records = goodRecords();
  const garbage = (n: number) => new Uint8Array(n).fill(0xa5);
  const bytes = Buffer.concat([
    garbage(13),
    records[0],
    records[1],
    garbage(37),
    ...records.slice(2),
    garbage(5),
  ]);
  const got = outcome(readMseedBuffer(bytes));
  const good = decodedOf(goodRecords());
  t.same(
    got.startTimes,
    good.map((r) => r.startTimeUs),
    'all five records read',
  );
  t.same(
    got.errors.map((e) => [e.problem, e.offset, e.message]),
    [
      ['garbage', 0, '13 bytes that are not miniSEED skipped (byte offset 0)'],
      ['garbage', 13 + 1024, '37 bytes that are not miniSEED skipped (byte offset 1037)'],
      ['garbage', 13 + 37 + 5 * 512, '5 bytes that are not miniSEED skipped (byte offset 2610)'],
    ],
  );
});

t.test('a header without blockette 1000 is one header error; the reader finds the next record', async (t) => {
  const records = goodRecords();
  const view = new DataView(records[BAD].buffer);
  view.setUint16(48, 999); // blockette 1000 becomes an unknown type 999 ...
  view.setUint16(50, 0); // ... and the last one
  const got = outcome(readMseedBuffer(Buffer.concat(records)));
  t.same(summary(got), oneBadRecord({ problem: 'header', offset: BAD * 512, missing: [BAD] }));
  t.match(got.errors[0].message, /^no blockette 1000 .* in record of XX\.BAD\.00\.HHZ/);
});

t.test('a miniSEED 3 CRC mismatch fails that record only', async (t) => {
  const records = goodRecords(3);
  const at = offsets(records);
  records[BAD][records[BAD].length - 10] ^= 0x01;
  const got = outcome(readMseedBuffer(Buffer.concat(records)));
  t.same(
    summary(got),
    oneBadRecord({ problem: 'crc', offset: at[BAD], missing: [BAD], good: goodRecords(3) }),
  );
  t.match(
    got.errors[0].message,
    /^CRC-32C mismatch \(header 0x[0-9a-f]+, computed 0x[0-9a-f]+\) in record of XX\.BAD/,
  );
  t.throws(() => decodeMseedRecord(records[BAD]), { name: 'MseedRecordError', problem: 'crc' });
});

t.test('a miniSEED 3 length field beyond 10 MiB is a header error, not a record to wait for', async (t) => {
  const records = goodRecords(3);
  const at = offsets(records);
  new DataView(records[BAD].buffer).setUint32(36, 0x7fffffff, true);
  const got = outcome(readMseedBuffer(Buffer.concat(records)));
  t.same(
    summary(got),
    oneBadRecord({ problem: 'header', offset: at[BAD], missing: [BAD], good: goodRecords(3) }),
  );
  t.match(got.errors[0].message, /^record length \d+ exceeds 10485760 bytes in record of XX\.BAD/);
});

t.test('a miniSEED 3 record with a source identifier that is not FDSN is a header error', async (t) => {
  const records = goodRecords(3);
  const at = offsets(records);
  records[BAD][40] = 0x58; // 'FDSN:' -> 'XDSN:'
  const got = outcome(readMseedBuffer(Buffer.concat(records)));
  t.same(
    summary(got),
    oneBadRecord({ problem: 'header', offset: at[BAD], missing: [BAD], good: goodRecords(3) }),
  );
  t.match(got.errors[0].message, /^source identifier 'XDSN:XX_BAD_00_H_H_Z' is not of the form/);
});

t.test('text records are decoded as text and skipped by the reader', async (t) => {
  const records = goodRecords();
  const log = records[BAD];
  const message = 'GPS lock regained';
  const view = new DataView(log.buffer);
  log[52] = 0; // encoding text
  log[15] = 0x4c; // channel LOG
  log[16] = 0x4f;
  log[17] = 0x47;
  view.setUint16(30, message.length);
  view.setInt16(32, 0); // sampling rate 0
  log.fill(0, 64);
  log.set(Buffer.from(message), 64);
  const text = decodeMseedRecord(log);
  t.equal(text.text, message);
  t.equal(text.sampleCount, 0);
  t.same(text.streamId, { ...streamId, channel: 'LOG' });
  const got = outcome(readMseedBuffer(Buffer.concat(records)));
  t.equal(got.errors.length, 0, 'not an error');
  t.equal(got.startTimes.length, RECORDS - 1, 'skipped');
});

t.test('streaming in small chunks gives the same results as reading the whole buffer', async (t) => {
  const records = goodRecords();
  records[1][52] = 42;
  records[3] = records[3].subarray(0, 200);
  const bytes = Buffer.concat([new Uint8Array(9).fill(0xee), ...records, new Uint8Array(21).fill(0x30)]);
  const whole = outcome(readMseedBuffer(bytes));
  t.ok(whole.errors.length >= 3, 'several problems');
  for (const chunkBytes of [1, 7, 100, 511, 4096]) {
    async function* chunks() {
      for (let at = 0; at < bytes.length; at += chunkBytes) yield bytes.subarray(at, at + chunkBytes);
    }
    const results: MseedReadResult[] = [];
    for await (const result of readMseedStream(chunks())) results.push(result);
    const streamed = outcome(results);
    t.same(streamed.startTimes, whole.startTimes, `${chunkBytes}-byte chunks: records`);
    t.same(
      streamed.errors.map((e) => [e.problem, e.offset, e.message]),
      whole.errors.map((e) => [e.problem, e.offset, e.message]),
      `${chunkBytes}-byte chunks: errors`,
    );
  }
});

t.test('readMseedFile reads a file with bad records; a missing file throws', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'phasestream-mseed-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const records = goodRecords();
  records[BAD][52] = 42;
  const path = join(dir, 'XX.BAD.00.HHZ.mseed');
  await writeFile(path, Buffer.concat(records));
  const results: MseedReadResult[] = [];
  for await (const result of readMseedFile(path)) results.push(result);
  const got = outcome(results);
  t.same(summary(got), oneBadRecord({ problem: 'unknown-encoding', offset: BAD * 512, missing: [BAD] }));
  t.equal(got.errors[0].source, path);
  t.match(got.errors[0].message, `of ${path})`);

  await t.rejects(async () => {
    for await (const _ of readMseedFile(join(dir, 'missing.mseed'))) {
      // nothing
    }
  }, WaveformFormatError);
});

t.test(
  'a record dated 2150 or on day 400 is a header error naming the date, not "not miniSEED"',
  async (t) => {
    for (const [version, yearAt, littleEndian] of [
      [2, 20, false],
      [3, 8, true],
    ] as const) {
      for (const [year, day] of [
        [2150, 10],
        [2024, 400],
      ]) {
        const records = goodRecords(version);
        const view = new DataView(records[BAD].buffer, records[BAD].byteOffset);
        view.setUint16(yearAt, year, littleEndian);
        view.setUint16(yearAt + 2, day, littleEndian);
        const got = outcome(readMseedBuffer(Buffer.concat(records)));
        const offset = offsets(records)[BAD];
        t.same(
          summary(got),
          oneBadRecord({ problem: 'header', offset, missing: [BAD], good: goodRecords(version) }),
          `miniSEED ${version}, year ${year}, day ${day}`,
        );
        t.match(got.errors[0].message, new RegExp(`year ${year}, day of year ${day} is out of range`));
      }
    }
  },
);
