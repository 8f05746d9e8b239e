import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Observable } from 'rxjs';
import type { Config } from '../config/schema.ts';
import type { WorkerEngine } from '../engine/worker-engine.ts';
import { PhaseStreamError } from '../errors.ts';
import { readMseedFile } from '../ingest/mseed/index.ts';
import type { StreamId } from '../ingest/stream-id.ts';
import type { Pick } from '../picker/pick.ts';
import { stationOfStream } from '../stream/component.ts';
import { type ChannelEvent, stationKey } from '../stream/types.ts';
import { workerEntry, workerEnv } from '../util/worker-entry.ts';

/**
 * A replay of many stations on every core: the stations are split into shards, each shard replays its
 * files in a worker thread of its own (archive reader, stream operators, picker: src/app/pipeline.ts as
 * in one thread), and every shard's batches go to the one engine thread (worker-engine.ts `connect`),
 * which runs them as they come. A station's picks are those of a replay in one thread; picks of
 * different stations come in the order the shards make them.
 *
 * Stations go whole to one shard (all their files), so each station's state stays in one thread; the
 * shards are balanced by bytes.
 */

/** What a shard sends for the sinks, batched (every ~100 ms or 256 items). */
export interface ShardReport {
  picks: Pick[];
  /** The records read, per stream: how many, their samples, the last one's end (µs) and their bytes. */
  records: { streamId: StreamId; records: number; samples: number; endUs: number; bytes: number }[];
  events: ChannelEvent[];
  batches: { windows: number; inferenceMs: number }[];
  badRecords: { file: string; offset?: number; problem?: string; message: string }[];
}

export type ShardMessage =
  | { report: ShardReport }
  | { done: true }
  | { error: { name: string; message: string; hint?: string } };

export interface ShardData {
  entry: string;
  files: string[];
  startUs?: number;
  endUs?: number;
  config: Config;
  enginePort: MessagePort | import('node:worker_threads').MessagePort;
  engineName: string;
  engineDevice?: 'cpu' | 'gpu';
  card: WorkerEngine['card'];
}

/**
 * The station (NET.STA.LOC and band/instrument, as the pipeline groups them) of a file's first
 * record; files that hold no record go by their name. A file is read by one shard whole, so a file of
 * several stations takes them all to its shard.
 */
async function stationOfFile(path: string): Promise<string> {
  for await (const result of readMseedFile(path)) {
    if (result.record) return stationKey(stationOfStream(result.record.streamId));
  }
  return path;
}

/** Files grouped by station, the stations dealt to `shards` groups largest first, by bytes. */
export async function shardFiles(files: string[], shards: number): Promise<string[][]> {
  const byStation = new Map<string, { files: string[]; bytes: number }>();
  for (const file of files) {
    const key = await stationOfFile(file);
    const entry = byStation.get(key) ?? { files: [], bytes: 0 };
    entry.files.push(file);
    entry.bytes += statSync(file).size;
    byStation.set(key, entry);
  }
  const groups = Array.from({ length: Math.max(1, Math.min(shards, byStation.size)) }, () => ({
    files: [] as string[],
    bytes: 0,
  }));
  for (const station of [...byStation.values()].sort((a, b) => b.bytes - a.bytes)) {
    const lightest = groups.reduce((best, g) => (g.bytes < best.bytes ? g : best));
    lightest.files.push(...station.files);
    lightest.bytes += station.bytes;
  }
  return groups.map((g) => g.files);
}

/**
 * How many shards a replay gets by default: one per core, at least four stations each (fewer stations
 * gain little and keep their picks in time order across stations), and one when the page is served
 * or the replay is paced (both want the records in one place and time order).
 */
export function defaultShards(stations: number, cores: number, paced: boolean, page: boolean): number {
  if (paced || page) return 1;
  return Math.max(1, Math.min(cores, Math.floor(stations / 4)));
}

export async function stationCount(files: string[]): Promise<number> {
  return new Set(await Promise.all(files.map(stationOfFile))).size;
}

/** The picks of every shard as one stream; `onReport` gets each shard's counts and events as they come. */
export function shardedPicks(
  groups: string[][],
  engine: WorkerEngine,
  config: Config,
  range: { startUs?: number; endUs?: number },
  onReport: (report: ShardReport) => void,
): Observable<Pick> {
  return new Observable<Pick>((subscriber) => {
    const workers: Worker[] = [];
    let running = groups.length;
    for (const files of groups) {
      const enginePort = engine.connect();
      const data: ShardData = {
        entry: workerEntry('replay-shard-thread', import.meta.url),
        files,
        ...range,
        config,
        enginePort,
        engineName: engine.name,
        engineDevice: engine.device,
        card: engine.card,
      };
      const worker = new Worker(new URL('../util/ts-worker-boot.mjs', import.meta.url), {
        workerData: data,
        transferList: [enginePort],
        env: workerEnv(),
      });
      workers.push(worker);
      let done = false;
      worker.on('message', (message: ShardMessage) => {
        if ('report' in message) {
          onReport(message.report);
          for (const pick of message.report.picks) subscriber.next(pick);
        } else if ('done' in message) {
          done = true;
          if (--running === 0) subscriber.complete();
        } else {
          subscriber.error(
            new PhaseStreamError(`a replay shard failed: ${message.error.message}`, {
              hint: message.error.hint,
            }),
          );
        }
      });
      worker.on('error', (error) => subscriber.error(error));
      worker.on('exit', (code) => {
        if (!done)
          subscriber.error(new PhaseStreamError(`a replay shard exited (code ${code}) before its end`));
      });
    }
    return () => {
      for (const worker of workers) void worker.terminate();
    };
  });
}
