/**
 * The data side of the realtime bench, in a process of its own so that the pipeline's load cannot
 * slow the source without the bench seeing it: a SeedLink server on 127.0.0.1 (TCP) whose ring a
 * RecordFeed fills at `speed` times real time with N re-labelled copies of the dev station. Started
 * by bench/realtime.ts with fork(); talks over IPC (FeedMessage out, `stop` in).
 *
 * Each station starts its data at its own point within one stride (spreadFraction), as the
 * stations of a real network started at unrelated times: its records begin and end at their own
 * times. Its windows do not move with them (they lie on the absolute sample grid,
 * src/stream/grid.ts): every station's window is due within a record's length of the others',
 * once per stride, unless the pipeline staggers them (picker.staggerWindows). The records are
 * encoded once for a pool of 64 data series and re-stamped per station (code and times patched
 * in the header), so that building thousands of stations takes seconds. The first `prerollS`
 * seconds go into the ring at once when the client is streaming (as a reconnecting client's
 * backlog would), so that the first windows come after `windowS - prerollS` seconds instead of a
 * whole window.
 */

import { UsageError } from '../src/errors.ts';
import { RecordFeed, SeedLinkRing, SeedLinkServer } from '../test/helpers/seedlink/server.ts';
import { loadDevRecord } from './archive-builder.ts';
import { feedRecords } from './feed-records.ts';
import { percentile } from './pipeline-measure.ts';

export interface FeedRequest {
  stations: number;
  /** Wall seconds of feeding after the preroll. */
  seconds: number;
  speed: number;
  prerollS: number;
  strideS: number;
  /** Data time of the earliest station's first sample. */
  startUs: number;
}

export type FeedMessage =
  | {
      type: 'listening';
      port: number;
      records: number;
      /** First sample of each station (its stagger). */
      stationStartsUs: number[];
      endUs: number;
      buildSeconds: number;
    }
  | {
      type: 'started';
      /** Date.now() when the feed started: data time `firstEndUs` maps to it. */
      wallMs: number;
      firstEndUs: number;
      prerollRecords: number;
    }
  | {
      type: 'done';
      appended: number;
      /** How late records went into the ring against their schedule, ms. */
      latenessMs: { p50: number; p99: number; max: number };
      cpuSeconds: number;
      maxRssMb: number;
    };

function build(request: FeedRequest, dev: Awaited<ReturnType<typeof loadDevRecord>>) {
  const endUs = request.startUs + Math.round((request.prerollS + request.seconds * request.speed) * 1e6);
  return { endUs, ...feedRecords(dev, request.stations, request.startUs, endUs, request.strideS) };
}

async function serve(request: FeedRequest): Promise<void> {
  const send = (message: FeedMessage) => process.send!(message);
  const built = performance.now();
  const { endUs, stationStartsUs, records } = build(request, await loadDevRecord());
  const buildSeconds = (performance.now() - built) / 1000;
  const prerollEndUs = request.startUs + request.prerollS * 1e6;
  const preroll = records.filter((r) => r.endUs <= prerollEndUs);
  const fed = records.filter((r) => r.endUs > prerollEndUs);
  if (fed.length === 0)
    throw new UsageError(`--seconds ${request.seconds} leaves nothing to feed after the preroll`);

  const ring = new SeedLinkRing();
  const server = new SeedLinkServer({ ring, host: '127.0.0.1', websocket: false });
  const port = await server.start();
  send({ type: 'listening', port, records: records.length, stationStartsUs, endUs, buildSeconds });

  while (server.streamingCount === 0) await new Promise((r) => setTimeout(r, 20));
  for (const record of preroll) ring.append(record.bytes);
  const feed = new RecordFeed(
    ring,
    fed.map((r) => r.bytes),
    { speed: request.speed },
  );
  const firstEndUs = fed[0].endUs;
  const lateness: number[] = [];
  let startedAt = 0;
  ring.subscribe((packet) => {
    const dueMs = (packet.endTimeUs - firstEndUs) / 1000 / request.speed;
    lateness.push(performance.now() - startedAt - dueMs);
  });
  const cpuBefore = process.cpuUsage();
  startedAt = performance.now();
  const wallMs = Date.now();
  feed.start();
  send({ type: 'started', wallMs, firstEndUs, prerollRecords: preroll.length });
  await feed.done;
  const cpu = process.cpuUsage(cpuBefore);
  send({
    type: 'done',
    appended: lateness.length,
    latenessMs: {
      p50: percentile(lateness, 50),
      p99: percentile(lateness, 99),
      max: lateness.reduce((most, late) => Math.max(most, late), Number.NEGATIVE_INFINITY),
    },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await server.stop();
  process.exit(0);
}

if (process.send) {
  // The bench went away: stop with it rather than serve nobody.
  process.once('disconnect', () => process.exit(0));
  await serve(JSON.parse(process.argv[2]) as FeedRequest);
}
