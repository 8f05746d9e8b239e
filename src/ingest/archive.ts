import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import { UsageError } from '../errors.ts';
import { matchesStation } from '../util/station-pattern.ts';
import { endTimeUs, type MseedReadResult, type MseedRecord, type MseedRecordError } from './mseed/index.ts';
import { readMseedFileChunks } from './mseed/reader.ts';
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
): AsyncGenerator<ArchiveEntry> {
  const merge = new RecordMerge(files, options);
  for (let entry = await merge.next(); entry !== undefined; entry = await merge.next()) yield entry;
}

interface ArchiveEntry {
  file: string;
  offset: number;
  record: MseedRecord;
}

/** One file's place in the merge: the results of its current chunk, taken one by one. */
interface FileCursor {
  file: string;
  chunks: AsyncIterator<Iterable<MseedReadResult>>;
  results: Iterator<MseedReadResult>;
}

/**
 * The k-way merge of the files' records in order of start time, cut to the time range. `next` is
 * synchronous while every file's current chunk holds its next record, and gives a promise only when
 * a file must be read further (once per chunk of ~2,000 records): the merge of a station-day costs
 * no promise per record.
 */
class RecordMerge {
  private readonly cursors: FileCursor[];
  private readonly heads: (ArchiveEntry | undefined)[] = [];
  /** Files whose head must be taken (the one just handed out, at first all of them). */
  private stale: number[];

  constructor(
    files: string[],
    private readonly options: ArchiveOptions,
  ) {
    const none: Iterator<MseedReadResult> = [][Symbol.iterator]();
    this.cursors = files.map((file) => ({
      file,
      chunks: readMseedFileChunks(file)[Symbol.asyncIterator](),
      results: none,
    }));
    this.stale = files.map((_, i) => i);
  }

  /** The next entry in time order, undefined at the end; a promise where a file must be read first. */
  next(): ArchiveEntry | undefined | Promise<ArchiveEntry | undefined> {
    while (this.stale.length > 0) {
      const i = this.stale[this.stale.length - 1];
      const head = this.advance(this.cursors[i]);
      if (head === 'read') return this.read(i).then(() => this.next());
      this.heads[i] = head;
      this.stale.pop();
    }
    let best = -1;
    for (let i = 0; i < this.heads.length; i++) {
      const head = this.heads[i];
      if (head && (best < 0 || head.record.startTimeUs < this.heads[best]!.record.startTimeUs)) best = i;
    }
    if (best < 0) return undefined;
    this.stale.push(best);
    return this.heads[best];
  }

  /** The file's next record in the time range from the chunk at hand; 'read' when that chunk is done. */
  private advance(cursor: FileCursor): ArchiveEntry | 'read' {
    const { startUs, endUs, onBadRecord } = this.options;
    for (;;) {
      const next = cursor.results.next();
      if (next.done) return 'read';
      const result = next.value;
      if (result.error) {
        onBadRecord?.(cursor.file, result.error);
        continue;
      }
      const record = result.record;
      if (endUs !== undefined && record.startTimeUs >= endUs) continue;
      if (startUs !== undefined && endTimeUs(record) < startUs) continue;
      return { file: cursor.file, offset: result.offset, record };
    }
  }

  /** Reads the file's next chunk; at the end of the file it leaves the merge. */
  private async read(i: number): Promise<void> {
    const cursor = this.cursors[i];
    const chunk = await cursor.chunks.next();
    if (chunk.done) {
      this.heads[i] = undefined;
      this.stale.splice(this.stale.indexOf(i), 1);
    } else {
      cursor.results = chunk.value[Symbol.iterator]();
    }
  }
}

/** How long a replay as fast as possible runs before it lets the event loop turn. */
const YIELD_EVERY_MS = 2;

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
      let yieldedMs = startedMs;
      const merge = new RecordMerge(files, options);
      for (;;) {
        const next = merge.next();
        const entry = next instanceof Promise ? await next : next;
        if (stopped) return;
        if (entry === undefined) break;
        const { record } = entry;
        const wait = options.ready?.();
        if (wait !== undefined) await wait;
        if (options.speed) {
          const dataEndUs = endTimeUs(record);
          firstDataUs ??= record.startTimeUs;
          const dueMs = startedMs + (dataEndUs - firstDataUs) / 1000 / options.speed;
          const waitMs = dueMs - performance.now();
          if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
        } else if (performance.now() - yieldedMs >= YIELD_EVERY_MS) {
          // Yield to the event loop now and then so that timers (progress, batching waits) and the
          // engine thread's replies still run. Not after every record: a turn of the loop costs ~3 µs
          // (0.23 s of CPU for the 74,600 records of a station-day, bench/replay.ts).
          await new Promise((r) => setImmediate(r));
          yieldedMs = performance.now();
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
