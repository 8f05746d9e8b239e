import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { decodeMseedRecord } from '../../src/ingest/mseed/decode.ts';
import { readMseedBuffer, readMseedFile } from '../../src/ingest/mseed/reader.ts';
import type { MseedRecord } from '../../src/ingest/mseed/record.ts';
import { endTimeUs, MseedEncoding } from '../../src/ingest/mseed/record.ts';
import { type StreamId, streamKey } from '../../src/ingest/stream-id.ts';
import { sharedPath, skipUnlessShared } from '../helpers/shared.ts';

interface FileRead {
  records: MseedRecord[];
  offsets: number[];
  errors: string[];
}

async function readAll(path: string): Promise<FileRead> {
  const out: FileRead = { records: [], offsets: [], errors: [] };
  for await (const result of readMseedFile(path)) {
    if (result.error) {
      out.errors.push(result.error.message);
    } else {
      out.records.push(result.record);
      out.offsets.push(result.offset);
    }
  }
  return out;
}

/**
 * The sample counts of the fixed headers of a file of big-endian miniSEED 2 records, found by walking
 * the blockette chain to blockette 1000: an independent reading of what the decoder must match.
 */
function headerSampleCounts(bytes: Buffer): { offset: number; count: number }[] {
  const out: { offset: number; count: number }[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    let blockette = bytes.readUInt16BE(offset + 46);
    while (bytes.readUInt16BE(offset + blockette) !== 1000)
      blockette = bytes.readUInt16BE(offset + blockette + 2);
    out.push({ offset, count: bytes.readUInt16BE(offset + 30) });
    offset += 2 ** bytes[offset + blockette + 6];
  }
  return out;
}

/**
 * Gaps and overlaps between consecutive records of each stream: a record should start one sample
 * period after the last sample of the record before, within `toleranceUs`.
 */
function discontinuities(records: readonly MseedRecord[], toleranceUs: number): string[] {
  const expectedStart = new Map<string, number>();
  const found: string[] = [];
  for (const record of records) {
    const key = streamKey(record.streamId);
    const expected = expectedStart.get(key);
    if (expected !== undefined && Math.abs(record.startTimeUs - expected) > toleranceUs) {
      found.push(`${key}: ${record.startTimeUs - expected} us at ${record.startTimeUs}`);
    }
    expectedStart.set(key, endTimeUs(record) + Math.round(1e6 / record.samplingRate));
  }
  return found;
}

/** The records read, in the form of {@link headerSampleCounts}. */
function recordCounts(read: FileRead): { offset: number; count: number }[] {
  return read.records.map((record, i) => ({ offset: read.offsets[i], count: record.sampleCount }));
}

const devDir = sharedPath('data', 'continuous-dev');

t.test(
  'continuous-dev: three 100 Hz Steim2 channels, 2.6 hours each, no gap',
  { skip: skipUnlessShared('data', 'continuous-dev') },
  async (t) => {
    const manifest = JSON.parse(readFileSync(`${devDir}/manifest.json`, 'utf8'));
    for (const channel of manifest.channels as string[]) {
      const path = `${devDir}/${manifest.network}.${manifest.station}.${manifest.location}.${channel}.mseed`;
      const read = await readAll(path);
      t.same(read.errors, [], `${channel}: no bad records`);
      t.same(recordCounts(read), headerSampleCounts(readFileSync(path)), `${channel}: header sample counts`);
      const { records } = read;
      t.same(
        [...new Set(records.map((r) => streamKey(r.streamId)))],
        [`${manifest.network}.${manifest.station}.${manifest.location}.${channel}`],
      );
      t.equal(
        records.reduce((n, r) => n + r.sampleCount, 0),
        manifest.n_samples,
        `${channel}: samples of the manifest`,
      );
      t.equal(records[0].startTimeUs, Date.parse(manifest.start) * 1000, `${channel}: start of the manifest`);
      t.ok(
        records.every(
          (r) => r.samplingRate === manifest.sampling_rate && r.encoding === MseedEncoding.steim2,
        ),
      );
      t.ok(
        records.every(
          (r) => r.recordLength === 512 && r.formatVersion === 2 && r.samples instanceof Float64Array,
        ),
      );
      t.same(discontinuities(records, 0), [], `${channel}: each record starts one sample after the last`);
      // The reader decodes into stretches of shared arrays: every record kept to the end must still
      // hold its own samples, those of the record decoded alone.
      const bytes = readFileSync(path);
      const differing = records.filter((record, i) => {
        const alone = decodeMseedRecord(bytes.subarray(read.offsets[i]));
        return alone.samples.some((value, k) => record.samples[k] !== value);
      });
      t.equal(differing.length, 0, `${channel}: records read together keep their own samples`);
    }
  },
);

t.test(
  "continuous-dev read record by record from its three files in turn: a channel's records share one StreamId",
  { skip: skipUnlessShared('data', 'continuous-dev') },
  async (t) => {
    const files = readdirSync(devDir).filter((name) => name.endsWith('.mseed'));
    const readers = files.map((name) => readMseedBuffer(readFileSync(`${devDir}/${name}`)));
    const ids = new Map<string, Set<StreamId>>();
    for (let open = readers.length; open > 0; ) {
      open = 0;
      for (const reader of readers) {
        const next = reader.next();
        if (next.done || next.value.record === undefined) continue;
        open++;
        const { streamId } = next.value.record;
        ids.set(streamKey(streamId), (ids.get(streamKey(streamId)) ?? new Set()).add(streamId));
      }
    }
    t.equal(ids.size, 3);
    t.same(
      [...ids.values()].map((set) => set.size),
      [1, 1, 1],
    );
  },
);

const realDir = sharedPath('data', 'real-continuous');

t.test(
  'real-continuous: other networks, 1 Hz LH channels, interleaved channels',
  { skip: skipUnlessShared('data', 'real-continuous') },
  async (t) => {
    const files = readdirSync(realDir).filter((name) => name.endsWith('.mseed'));
    t.ok(files.length >= 4, 'the shared files are there');
    const streams = new Map<string, MseedRecord[]>();
    for (const name of files) {
      const path = `${realDir}/${name}`;
      const read = await readAll(path);
      t.test(name, async (t) => {
        t.same(read.errors, [], 'no bad records');
        t.same(
          recordCounts(read),
          headerSampleCounts(readFileSync(path)),
          'every record, with its header count',
        );
        // Real recorders round record start times to a few microseconds: half a sample is libmseed's tolerance.
        t.same(
          discontinuities(read.records, 5e5 / read.records[0].samplingRate),
          [],
          'contiguous per stream',
        );
      });
      for (const record of read.records) {
        const key = streamKey(record.streamId);
        streams.set(key, [...(streams.get(key) ?? []), record]);
      }
    }
    const rates = Object.fromEntries(
      [...streams].map(([key, records]) => [key, [...new Set(records.map((r) => r.samplingRate))]]),
    );
    t.match(rates, {
      'BW.KW1..EHZ': [100],
      'CH.BALST..LHE': [1],
      'IU.COLA.00.LH1': [1],
      'IU.COLA.00.LH2': [1],
      'IU.COLA.00.LHZ': [1],
    });
    const cola = streams.get('IU.COLA.00.LHZ')![0];
    t.equal(cola.dataQuality, 'M', 'quality indicator');
    t.equal(cola.timingQuality, 100, 'blockette 1001 timing quality');
    t.equal(cola.startTimeUs % 1000, 539, 'blockette 1001 microseconds (06:50:00.069539)');
    t.equal(new Date(cola.startTimeUs / 1000).toISOString(), '2010-02-27T06:50:00.069Z');
  },
);
