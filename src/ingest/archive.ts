import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import { UsageError } from '../errors.ts';
import { matchesStation } from '../util/station-pattern.ts';
import { endTimeUs, type MseedRecord, type MseedRecordError, readMseedFile } from './mseed/index.ts';
import { yearDayFromEpochUs } from './mseed/time.ts';

/**
 * Archived miniSEED as a stream of records: plain files, or an SDS archive
 * (`YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY`) over a time range, merged in time order across
 * files so that stations interleave as they would live, as fast as possible or paced at real time ×N.
 */

export interface ArchiveOptions {
  /** Keep records that overlap [startUs, endUs). */
  startUs?: number;
  endUs?: number;
  /** Called for each record that cannot be decoded; the replay goes on. */
  onBadRecord?: (file: string, error: MseedRecordError) => void;
}

export interface ArchiveReplayOptions extends ArchiveOptions {
  /** Pace the records at real time x speed (default: as fast as they can be read). */
  speed?: number;
  /** Awaited (when it gives a promise) before each record: the consumer's backpressure. */
  ready?: () => Promise<void> | undefined;
}

/** The SDS files that may hold data of [startUs, endUs) for the selected stations, day by day. */
export function sdsFiles(root: string, startUs: number, endUs: number, stations: string[] = []): string[] {
  if (!existsSync(root)) throw new UsageError(`SDS archive ${root} does not exist`);
  if (!(endUs > startUs)) throw new UsageError('--end must be after --start');
  const files: string[] = [];
  const dayUs = 86_400_000_000;
  for (let day = Math.floor(startUs / dayUs) * dayUs; day < endUs; day += dayUs) {
    const { year, dayOfYear } = yearDayFromEpochUs(day);
    const doy = String(dayOfYear).padStart(3, '0');
    const yearDir = join(root, String(year));
    for (const net of list(yearDir)) {
      for (const sta of list(join(yearDir, net))) {
        for (const chanDir of list(join(yearDir, net, sta)).filter((d) => d.endsWith('.D'))) {
          for (const file of list(join(yearDir, net, sta, chanDir))) {
            const [n, s, loc, cha, type, y, d] = file.split('.');
            if (type !== 'D' || y !== String(year) || d !== doy) continue;
            const key = `${n}.${s}.${loc}.${cha}`;
            if (stations.length > 0 && !stations.some((p) => matchesStation(key, p))) continue;
            files.push(join(yearDir, net, sta, chanDir, file));
          }
        }
      }
    }
  }
  return files;
}

function list(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/**
 * The records of `files` in order of start time across files (each file is read in order; a k-way
 * merge keeps one record per file in memory), cut to the time range.
 */
export async function* mergedRecords(
  files: string[],
  options: ArchiveOptions = {},
): AsyncGenerator<MseedRecord> {
  for await (const entry of mergedRecordEntries(files, options)) yield entry.record;
}

/** As {@link mergedRecords}, with each record's file and byte offset (to copy its raw bytes). */
export async function* mergedRecordEntries(
  files: string[],
  options: ArchiveOptions = {},
): AsyncGenerator<{ file: string; offset: number; record: MseedRecord }> {
  const readers = files.map((file) => ({ file, iterator: readMseedFile(file)[Symbol.asyncIterator]() }));
  const heads: ({ file: string; offset: number; record: MseedRecord } | undefined)[] = [];
  const advance = async (reader: (typeof readers)[number]) => {
    for (;;) {
      const next = await reader.iterator.next();
      if (next.done) return undefined;
      const result = next.value;
      if (result.error) {
        options.onBadRecord?.(reader.file, result.error);
        continue;
      }
      const record = result.record;
      if (options.endUs !== undefined && record.startTimeUs >= options.endUs) continue;
      if (options.startUs !== undefined && endTimeUs(record) < options.startUs) continue;
      return { file: reader.file, offset: result.offset, record };
    }
  };
  for (const reader of readers) heads.push(await advance(reader));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head && (best < 0 || head.record.startTimeUs < heads[best]!.record.startTimeUs)) best = i;
    }
    if (best < 0) return;
    yield heads[best]!;
    heads[best] = await advance(readers[best]);
  }
}

/**
 * Records as an observable. `speed` paces emission by data time: 1 is real time, 60 is a minute of
 * data a second, undefined as fast as possible; `ready` holds the reader while the consumer is behind
 * (without it the pipeline's operators queue what the reader runs ahead).
 */
export function archiveRecords(files: string[], options: ArchiveReplayOptions = {}): Observable<MseedRecord> {
  return new Observable<MseedRecord>((subscriber) => {
    let stopped = false;
    (async () => {
      let firstDataUs: number | undefined;
      const startedMs = performance.now();
      for await (const record of mergedRecords(files, options)) {
        if (stopped) return;
        const wait = options.ready?.();
        if (wait !== undefined) await wait;
        if (options.speed) {
          const dataEndUs = endTimeUs(record);
          firstDataUs ??= record.startTimeUs;
          const dueMs = startedMs + (dataEndUs - firstDataUs) / 1000 / options.speed;
          const waitMs = dueMs - performance.now();
          if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
        } else {
          // Yield to the event loop now and then so that timers (progress, batching waits) still run.
          await new Promise((r) => setImmediate(r));
        }
        subscriber.next(record);
      }
      subscriber.complete();
    })().catch((error) => subscriber.error(error));
    return () => {
      stopped = true;
    };
  });
}
