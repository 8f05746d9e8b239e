import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { lastValueFrom, tap } from 'rxjs';
import { engineOverPort } from '../engine/worker-engine.ts';
import { PhaseStreamError } from '../errors.ts';
import { archiveRecords } from '../ingest/archive.ts';
import { streamKey } from '../ingest/stream-id.ts';
import { batchSizeFor, pickPipeline } from './pipeline.ts';
import type { ShardData, ShardMessage, ShardReport } from './replay-shards.ts';
import { WindowGate } from './window-gate.ts';

/** One shard of a replay (replay-shards.ts): its files through the pipeline, reports to the main thread. */

const port = parentPort!;
const data = workerData as ShardData;
const engine = engineOverPort(data.enginePort as MessagePort, data.engineName, data.card, data.engineDevice);
const send = (message: ShardMessage) => port.postMessage(message);

let report: ShardReport = { picks: [], records: [], events: [], batches: [], badRecords: [] };
/**
 * The records read since the last report, counted per stream: a message per record cost the shard
 * ~10 % of its time (structured clones at both ends, 75,000 records a station-day).
 */
const recordCounts = new Map<string, ShardReport['records'][number]>();
let items = 0;
let lastSentMs = performance.now();
/** Sends what was gathered when there is enough of it, or enough time passed (or at the end). */
function flush(force: boolean): void {
  items++;
  if (!force && items < 256 && performance.now() - lastSentMs < 100) return;
  report.records = [...recordCounts.values()];
  recordCounts.clear();
  send({ report });
  report = { picks: [], records: [], events: [], batches: [], badRecords: [] };
  items = 0;
  lastSentMs = performance.now();
}

try {
  const gate = new WindowGate(4 * batchSizeFor(engine, data.config));
  const records = archiveRecords(data.files, {
    startUs: data.startUs,
    endUs: data.endUs,
    ready: () => gate.ready(),
    onBadRecord: (file, error) => {
      report.badRecords.push({ file, offset: error.offset, problem: error.problem, message: error.message });
      flush(false);
    },
  }).pipe(
    tap((record) => {
      const { streamId, startTimeUs, samplingRate, samples } = record;
      const key = streamKey(streamId);
      const entry = recordCounts.get(key) ?? { streamId, records: 0, samples: 0, endUs: 0, bytes: 0 };
      entry.records++;
      entry.samples += samples.length;
      entry.endUs = Math.max(entry.endUs, startTimeUs + (samples.length / samplingRate) * 1e6);
      entry.bytes += record.recordLength;
      recordCounts.set(key, entry);
      if (performance.now() - lastSentMs >= 100) flush(true);
    }),
  );
  const picks = pickPipeline(records, engine, data.config, {
    onChannelEvent: (event) => {
      report.events.push(event);
      flush(false);
    },
    onBatch: (info) => {
      report.batches.push(info);
      flush(false);
    },
    onPending: gate.setPending,
  }).pipe(
    tap((pick) => {
      report.picks.push(pick);
      flush(false);
    }),
  );
  await lastValueFrom(picks, { defaultValue: undefined });
  flush(true);
  send({ done: true });
} catch (error) {
  const e = error instanceof Error ? error : new Error(String(error));
  send({
    error: {
      name: e.name,
      message: e.message,
      ...(e instanceof PhaseStreamError && e.hint !== undefined ? { hint: e.hint } : {}),
    },
  });
} finally {
  await engine.dispose();
  port.close();
}
