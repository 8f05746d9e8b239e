import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import t from 'tap';
import { archiveRecords, mergedRecordEntries } from '../../src/ingest/archive.ts';
import { encodeMseed } from '../../src/ingest/mseed/encode.ts';
import { readMseedBuffer } from '../../src/ingest/mseed/reader.ts';
import type { MseedRecordError } from '../../src/ingest/mseed/record.ts';
import { streamKey } from '../../src/ingest/stream-id.ts';

const START_US = Date.parse('2024-06-01T00:00:00Z') * 1000;

function walk(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let state = seed;
  for (let i = 1; i < n; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = out[i - 1] + ((state >>> 16) % 2001) - 1000;
  }
  return out;
}

function channel(code: string, offsetUs: number, samples: number, seed: number): Uint8Array {
  const records = encodeMseed({
    streamId: { network: 'XX', station: 'ARC', location: '00', channel: code },
    startTimeUs: START_US + offsetUs,
    samplingRate: 100,
    samples: walk(samples, seed),
  });
  return Buffer.concat(records);
}

interface Seen {
  file: string;
  offset: number;
  stream: string;
  startTimeUs: number;
}

/** What the merge must give: every file's records, in order of start time (file order on ties). */
function expected(files: { path: string; bytes: Uint8Array }[], startUs: number, endUs: number): Seen[] {
  const all: Seen[] = [];
  for (const { path, bytes } of files) {
    for (const result of readMseedBuffer(bytes)) {
      if (result.record === undefined) continue;
      const { record } = result;
      const endOfRecordUs = record.startTimeUs + ((record.sampleCount - 1) * 1e6) / record.samplingRate;
      if (record.startTimeUs >= endUs || endOfRecordUs < startUs) continue;
      all.push({
        file: path,
        offset: result.offset,
        stream: streamKey(record.streamId),
        startTimeUs: record.startTimeUs,
      });
    }
  }
  return all.sort((a, b) => a.startTimeUs - b.startTimeUs);
}

t.test(
  'the archive merge gives every record of every file once, in time order, over several read chunks, cut to the range',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ps-archive-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    // Z is longer than one read chunk (1 MiB); N starts later and interleaves with it; E has garbage
    // before its records.
    const z = channel('HHZ', 0, 700_000, 1);
    const n = channel('HHN', 1_234_567, 200_000, 2);
    const e = Buffer.concat([
      Buffer.from('not miniSEED at all, skipped'),
      channel('HHE', 2_000_000, 150_000, 3),
    ]);
    t.ok(z.length > 1 << 20, 'one file spans several read chunks');
    const files = [
      { path: join(dir, 'z.mseed'), bytes: z },
      { path: join(dir, 'n.mseed'), bytes: n },
      { path: join(dir, 'e.mseed'), bytes: e },
    ];
    for (const file of files) await writeFile(file.path, file.bytes);
    const paths = files.map((f) => f.path);
    const startUs = START_US + 600_000_000;
    const endUs = START_US + 1_800_000_000;

    const bad: [string, MseedRecordError][] = [];
    const seen: Seen[] = [];
    for await (const { file, offset, record } of mergedRecordEntries(paths, {
      startUs,
      endUs,
      onBadRecord: (file, error) => bad.push([file, error]),
    })) {
      seen.push({ file, offset, stream: streamKey(record.streamId), startTimeUs: record.startTimeUs });
    }
    const want = expected(files, startUs, endUs);
    t.same(new Set(want.map((w) => w.stream)).size, 3, 'records of all three files in the range');
    t.strictSame(seen, want, 'every record in the range once, in order of start time');
    t.strictSame(
      bad.map(([file, error]) => [file, error.problem]),
      [[files[2].path, 'garbage']],
      'the garbage reported once, with its file',
    );

    const emitted = await lastValueFrom(archiveRecords(paths, { startUs, endUs }).pipe(toArray()));
    t.strictSame(
      emitted.map((record) => [streamKey(record.streamId), record.startTimeUs]),
      want.map((w) => [w.stream, w.startTimeUs]),
      'archiveRecords emits the same records in the same order',
    );
  },
);
