/**
 * The data side of bench/live-edge-realtime.ts, in a process of its own: the dev record (2.6 h of
 * XX.DEV1) cut into `slices` consecutive parts, each re-labelled as a station (XX.L01, XX.L02, ...)
 * and re-timed to start at the record's start, so that all of it is fed at real time in 1/slices of
 * its length. A SeedLinkServer on 127.0.0.1 serves them as a RecordFeed fills its ring at `speed`;
 * the same records are written to `outDir` for the replay the live picks are compared with.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeMseed } from '../src/ingest/mseed/index.ts';
import { readRecordSpan } from '../src/ingest/seedlink/record-header.ts';
import { RecordFeed, SeedLinkRing, SeedLinkServer } from '../test/helpers/seedlink/server.ts';
import { loadDevRecord } from './archive-builder.ts';

export interface SliceFeedRequest {
  slices: number;
  speed: number;
  outDir: string;
}

export type SliceFeedMessage =
  | {
      type: 'listening';
      port: number;
      files: string[];
      sliceSamples: number;
      startUs: number;
      records: number;
    }
  | { type: 'started'; wallMs: number }
  | { type: 'done'; appended: number };

export const sliceStation = (k: number) => `L${String(k + 1).padStart(2, '0')}`;

async function serve(request: SliceFeedRequest): Promise<void> {
  const send = (message: SliceFeedMessage) => process.send!(message);
  const dev = await loadDevRecord();
  const total = dev.samples[0].length;
  const sliceSamples = Math.ceil(total / request.slices);
  const records: { bytes: Uint8Array; endUs: number }[] = [];
  const files: string[] = [];
  for (let k = 0; k < request.slices; k++) {
    const from = k * sliceSamples;
    const to = Math.min(total, from + sliceSamples);
    const own: Uint8Array[] = [];
    for (const [c, channel] of dev.channels.entries()) {
      const series = {
        streamId: { network: dev.network, station: sliceStation(k), location: dev.location, channel },
        startTimeUs: dev.startTimeUs,
        samplingRate: dev.samplingRate,
        samples: dev.samples[c].subarray(from, to),
      };
      own.push(...encodeMseed(series, { recordLength: 512, encoding: 'steim2' }));
    }
    // In production order (components interleaved by end time), as an archive reader needs them.
    const ordered = own
      .map((bytes) => ({ bytes, endUs: readRecordSpan(bytes).endTimeUs }))
      .sort((a, b) => a.endUs - b.endUs);
    const file = join(request.outDir, `XX.${sliceStation(k)}.mseed`);
    await writeFile(file, Buffer.concat(ordered.map((r) => r.bytes)));
    files.push(file);
    records.push(...ordered);
  }
  records.sort((a, b) => a.endUs - b.endUs);
  const ring = new SeedLinkRing();
  const server = new SeedLinkServer({ ring, host: '127.0.0.1', websocket: false });
  const port = await server.start();
  send({ type: 'listening', port, files, sliceSamples, startUs: dev.startTimeUs, records: records.length });
  while (server.streamingCount === 0) await new Promise((r) => setTimeout(r, 20));
  const feed = new RecordFeed(
    ring,
    records.map((r) => r.bytes),
    { speed: request.speed },
  );
  feed.start();
  send({ type: 'started', wallMs: Date.now() });
  await feed.done;
  send({ type: 'done', appended: feed.produced });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await server.stop();
  process.exit(0);
}

if (process.send) {
  process.once('disconnect', () => process.exit(0));
  await serve(JSON.parse(process.argv[2]) as SliceFeedRequest);
}
