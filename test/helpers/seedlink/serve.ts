/**
 * A SeedLink test server in a process of its own, for fault tests that kill it: it serves miniSEED
 * files as a live feed, each record due at `origin + (its end - the first end) / speed` (wall clock,
 * ms). Started again with the same origin after a kill, it holds the same ring as if it had never
 * died (the records due by then, with the same sequence numbers), as ringserver keeps its ring on
 * disk, and feeds the rest on time.
 *
 *   node --import tsx test/helpers/seedlink/serve.ts PORT ORIGIN_MS SPEED FILE...
 *
 * Prints one JSON line per event on standard output: `listening`, then `streaming` (a connection past
 * END, with the time) and `first-packet` (the first packet a connection sent, with the time).
 */
import { pino } from 'pino';
import { readRecordSpan } from '../../../src/ingest/seedlink/record-header.ts';
import type { Logger } from '../../../src/log.ts';
import { loadRecordFiles, SeedLinkRing, SeedLinkServer } from './server.ts';

const [port, origin, speed, ...files] = process.argv.slice(2);
const say = (event: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ ...event, at: Date.now() })}\n`);

const records = await loadRecordFiles(files);
const ends = records.map((r) => readRecordSpan(r).endTimeUs);
const dueMs = ends.map((end) => Number(origin) + (end - ends[0]) / 1000 / Number(speed));
const ring = new SeedLinkRing();
let next = 0;
const feed = () => {
  while (next < records.length && dueMs[next] <= Date.now()) ring.append(records[next++]);
  if (next < records.length) setTimeout(feed, Math.max(1, dueMs[next] - Date.now()));
};
feed();

const streaming = new Set<number>();
let sent = false;
const server = new SeedLinkServer({
  ring,
  host: '127.0.0.1',
  port: Number(port),
  logger: pino({ level: 'silent' }) as unknown as Logger,
  onCommand: (connection, command) => {
    if (command === 'END' && !streaming.has(connection)) {
      streaming.add(connection);
      say({ event: 'streaming', connection });
    }
  },
  mangle: (packet) => {
    if (streaming.size > 0 && !sent) {
      sent = true;
      say({ event: 'first-packet', sequence: String(packet.sequence) });
    }
    return undefined;
  },
});
await server.start();
say({ event: 'listening', port: server.port });
