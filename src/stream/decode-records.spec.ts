import { from, lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import { marbles } from '../../test/stream/marbles.ts';
import type { WaveformFormatError } from '../errors.ts';
import { decodeMseedRecord } from '../ingest/mseed/decode.ts';
import { encodeMseed } from '../ingest/mseed/encode.ts';
import { MseedRecordError } from '../ingest/mseed/record.ts';
import { float64Pool } from '../util/array-pool.ts';
import { decodeRecords } from './decode-records.ts';

const streamId = { network: 'XX', station: 'STA', location: '00', channel: 'HHZ' };
const T0_US = 1_700_000_000_000_000;
const samples = Int32Array.from({ length: 4000 }, (_, i) => Math.round(1000 * Math.sin(i / 7)));
const records = encodeMseed(
  { streamId, startTimeUs: T0_US, samplingRate: 100, samples },
  { formatVersion: 3, recordLength: 1024 },
);

t.test('records decode in order; corrupt ones are reported with their problem and skipped', async (t) => {
  const [r1, r2, r3] = records;
  const corrupt = r2.slice();
  corrupt[corrupt.length - 1] ^= 0xff; // the CRC no longer matches
  const bad: WaveformFormatError[] = [];
  marbles(t).run(({ cold, expectObservable }) => {
    const packets = cold('-a-b-c-d-e|', {
      a: { recordBytes: r1 },
      b: { recordBytes: corrupt },
      c: { recordBytes: r3 },
      d: { recordBytes: r1.slice(0, 200) },
      e: { recordBytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
    });
    expectObservable(packets.pipe(decodeRecords({ onBadRecord: (error) => bad.push(error) }))).toBe(
      '-x---z----|',
      { x: decodeMseedRecord(r1), z: decodeMseedRecord(r3) },
    );
  });
  t.strictSame(
    bad.map((e) => (e as MseedRecordError).problem),
    ['crc', 'truncated', 'garbage'],
  );
  t.ok(bad.every((e) => e instanceof MseedRecordError && e.hint !== undefined));
  t.match(bad[0].message, /CRC-32C mismatch .*XX\.STA\.00\.HHZ/);
});

t.test('the decoded records hold the encoded samples and times', async (t) => {
  const decoded = await lastValueFrom(
    from(records.map((recordBytes) => ({ recordBytes }))).pipe(decodeRecords(), toArray()),
  );
  t.equal(decoded.length, records.length);
  t.strictSame(Array.from(decoded.flatMap((r) => Array.from(r.samples))), Array.from(samples));
  let next = T0_US;
  for (const r of decoded) {
    t.equal(r.startTimeUs, next);
    next += r.sampleCount * 10_000;
  }
});

t.test("with sampleData, a record's samples go into the pool's arrays, whatever was in them", async (t) => {
  const pool = float64Pool(4);
  const [r1, r2] = records;
  const count = decodeMseedRecord(r1).samples.length;
  const spare = pool.take(count).fill(Number.NaN);
  pool.give(spare);
  const decoded = await lastValueFrom(
    from([{ recordBytes: r1 }, { recordBytes: r2 }]).pipe(decodeRecords({ sampleData: pool }), toArray()),
  );
  t.equal(decoded[0].samples.buffer, spare.buffer, 'the first into the array given back');
  t.same(
    decoded.map((r) => Array.from(r.samples)),
    [r1, r2].map((r) => Array.from(decodeMseedRecord(r).samples)),
    'the same samples as a new array gets',
  );
});
