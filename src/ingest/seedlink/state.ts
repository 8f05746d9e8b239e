import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../log.ts';
import { SeedLinkStateError } from './errors.ts';
import type { DataPosition, SeedLinkProtocolVersion } from './wire.ts';

/**
 * Where a SeedLink client resumes, per station (NET_STA).
 *
 * Two points are kept. The last packet received (sequence and data start time) resumes a connection
 * that dropped while the process ran on: `DATA seq+1 start`, which ringserver trusts only with the
 * start second of that very packet. The resume time is the oldest data the consumer has not finished
 * with (`markProcessed`): a restarted process asks for the data from there again by time (TIME on 3.1,
 * `DATA ALL` on 4.0), since what a crash lost is what was received but not yet processed. A consumer
 * that never marks anything resumes a restart after its last packet, as a plain SeedLink client does.
 * With the resume time goes `doneUntilUs`, the consumer's own note of what it had finished (the
 * picker: picks before it are written), read back after a restart.
 *
 * The state is keyed by station only, not by the server's spelling: the file belongs to one configured
 * server, and a sequence that belongs to another one fails ringserver's start-time check and falls
 * back to the time.
 */
export interface StationResume {
  /** The server the last packet came from (normalized URL), for the log. */
  server: string;
  protocol: SeedLinkProtocolVersion;
  /** The last packet received, and its data start time. */
  sequence?: bigint;
  lastStartTimeUs?: number;
  /** Oldest data a restart must ask for again. */
  resumeTimeUs?: number;
  /** The consumer's note of how far it had finished. */
  doneUntilUs?: number;
}

const stationSchema = z.object({
  server: z.string(),
  protocol: z.enum(['3.1', '4.0']),
  sequence: z.string().regex(/^\d+$/).optional(),
  lastStartTimeUs: z.number().int().optional(),
  resumeTimeUs: z.number().int().optional(),
  doneUntilUs: z.number().int().optional(),
});

const fileSchema = z.object({
  version: z.literal(2),
  savedAt: z.string(),
  stations: z.record(z.string(), stationSchema),
});

/** Version 1 kept the last sequence and each stream's last end time: the sequence carries over. */
const fileSchemaV1 = z.object({
  version: z.literal(1),
  stations: z.record(
    z.string(),
    z.object({ server: z.string(), sequence: z.string().regex(/^\d+$/), protocol: z.enum(['3.1', '4.0']) }),
  ),
});

/** Writes a temporary file beside `path`, syncs it, then renames it over `path`: readers see old or new. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

export interface ResumeOptions {
  /** Backfill: a station the state does not know starts with the data from this time. */
  startUs?: number;
  /**
   * The consumer marks what it processed (`markProcessed`): a station's resume time starts at its
   * first data. Without it a restart resumes after the last packet.
   */
  tracksProcessing?: boolean;
}

export class SeedLinkResumeState {
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Stations with a packet received by this process: their last packet is where they resume. */
  private readonly receivedNow = new Set<string>();

  private constructor(
    readonly path: string | undefined,
    private readonly server: string,
    private readonly stations: Map<string, StationResume>,
    private readonly logger: Logger,
    private readonly options: ResumeOptions,
  ) {}

  /** Loads `path` (missing file: empty state); without a path the state lives in memory only. */
  static async load(
    path: string | undefined,
    server: string,
    logger: Logger,
    options: ResumeOptions = {},
  ): Promise<SeedLinkResumeState> {
    const stations = new Map<string, StationResume>();
    const state = () => new SeedLinkResumeState(path, server, stations, logger, options);
    if (path === undefined) return state();
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return state();
      throw new SeedLinkStateError(`cannot read SeedLink state file ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      const json = JSON.parse(text);
      const entries =
        json?.version === 1
          ? Object.entries(fileSchemaV1.parse(json).stations)
          : Object.entries(fileSchema.parse(json).stations);
      for (const [key, entry] of entries) {
        stations.set(key, {
          ...entry,
          sequence: entry.sequence === undefined ? undefined : BigInt(entry.sequence),
        });
      }
    } catch (error) {
      throw new SeedLinkStateError(
        `SeedLink state file ${path} is not a state file: ${(error as Error).message}`,
        {
          hint: 'Delete it to start from the newest data (what it resumed from is then lost).',
          cause: error,
        },
      );
    }
    const moved = [...stations].filter(([, entry]) => entry.server !== server).map(([key]) => key);
    if (moved.length > 0) {
      logger.info(
        { stateFile: path, stations: moved, server },
        'SeedLink state of these stations was saved with another server address: resuming them all the same',
      );
    }
    logger.info({ stateFile: path, stations: stations.size }, 'SeedLink resume state loaded');
    return state();
  }

  station(key: string): StationResume | undefined {
    return this.stations.get(key);
  }

  stationKeys(): string[] {
    return [...this.stations.keys()];
  }

  /**
   * Where `key` resumes on a connection speaking `protocol`: after its last packet when this process
   * received one (or, on a restart of a consumer that marks nothing, after the saved one); else by its
   * resume time; else the backfill start; else the next packet. `byTime` turns a position after a
   * packet into one by that packet's start time (see {@link positions}).
   */
  resumePoint(key: string, protocol: SeedLinkProtocolVersion, byTime = false): DataPosition {
    const entry = this.stations.get(key);
    if (entry === undefined)
      return this.options.startUs === undefined ? {} : { timeUs: this.options.startUs };
    const now = this.receivedNow.has(key);
    if (!now && entry.resumeTimeUs !== undefined) return { timeUs: entry.resumeTimeUs };
    // A 24-bit v3 sequence means nothing to a v4 server.
    const sequenceApplies =
      entry.sequence !== undefined && (now || !(entry.protocol === '3.1' && protocol === '4.0'));
    if (!sequenceApplies) return entry.lastStartTimeUs === undefined ? {} : { timeUs: entry.lastStartTimeUs };
    if (byTime && entry.lastStartTimeUs !== undefined) return { timeUs: entry.lastStartTimeUs };
    return { lastSequence: entry.sequence, lastStartTimeUs: entry.lastStartTimeUs };
  }

  /**
   * The positions of the stations of one connection. ringserver positions a connection once, from the
   * newest sequence any station names, and by time only when none names one: so either every station
   * resumes by sequence, or, when one must go by time, every one does (from its last packet's start:
   * a packet seen twice is a duplicate the stream layer drops, a packet skipped would be lost).
   */
  positions(keys: readonly string[], protocol: SeedLinkProtocolVersion): Map<string, DataPosition> {
    const points = keys.map((key) => [key, this.resumePoint(key, protocol)] as const);
    const byTime = points.some(([, p]) => p.timeUs !== undefined);
    return new Map(byTime ? keys.map((key) => [key, this.resumePoint(key, protocol, true)]) : points);
  }

  /** The start of the last packet received for `key`. */
  lastStartTimeUs(key: string): number | undefined {
    return this.stations.get(key)?.lastStartTimeUs;
  }

  /** The oldest data a restart asks for again (undefined: none received, or the consumer marks nothing). */
  resumeTimeUs(key: string): number | undefined {
    return this.stations.get(key)?.resumeTimeUs;
  }

  /** What the consumer noted it had finished, as saved. */
  doneUntilUs(key: string): number | undefined {
    return this.stations.get(key)?.doneUntilUs;
  }

  record(key: string, sequence: bigint, protocol: SeedLinkProtocolVersion, startTimeUs?: number): void {
    let entry = this.stations.get(key);
    if (entry === undefined) {
      entry = { server: this.server, protocol };
      this.stations.set(key, entry);
    }
    entry.server = this.server;
    entry.sequence = sequence;
    entry.protocol = protocol;
    entry.lastStartTimeUs = startTimeUs;
    if (this.options.tracksProcessing && entry.resumeTimeUs === undefined && startTimeUs !== undefined) {
      // A backfill starts where it was asked to even when the first packet begins before.
      entry.resumeTimeUs = Math.max(startTimeUs, this.options.startUs ?? startTimeUs);
    }
    this.receivedNow.add(key);
    this.dirty = true;
  }

  /** A packet that cannot be read is taken as received: the next connection asks for the one after it. */
  skip(key: string, sequence: bigint): void {
    const entry = this.stations.get(key) ?? { server: this.server, protocol: '4.0' as const };
    this.stations.set(key, { ...entry, sequence, lastStartTimeUs: undefined });
    this.receivedNow.add(key);
    this.dirty = true;
  }

  /**
   * The consumer finished `key`'s data up to `resumeTimeUs` (a restart asks again from there) and notes
   * `doneUntilUs`. Both only move forward.
   */
  markProcessed(key: string, point: { resumeTimeUs: number; doneUntilUs: number }): void {
    const entry = this.stations.get(key);
    if (entry === undefined) return;
    const resume = Math.max(entry.resumeTimeUs ?? point.resumeTimeUs, point.resumeTimeUs);
    const done = Math.max(entry.doneUntilUs ?? point.doneUntilUs, point.doneUntilUs);
    if (resume === entry.resumeTimeUs && done === entry.doneUntilUs) return;
    entry.resumeTimeUs = resume;
    entry.doneUntilUs = done;
    this.dirty = true;
  }

  /** Writes within `delayMs` unless a write is already scheduled: one write per interval at most. */
  scheduleFlush(delayMs: number): void {
    if (this.path === undefined || this.timer !== undefined || !this.dirty) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch((error: unknown) => {
        this.logger.error({ err: error, stateFile: this.path }, 'cannot write SeedLink state file');
      });
    }, delayMs);
  }

  /** Writes the state now if it changed; writes never overlap. */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    if (this.path === undefined || !this.dirty) return;
    this.dirty = false;
    const stations: z.infer<typeof fileSchema>['stations'] = {};
    for (const [key, entry] of this.stations) {
      stations[key] = { ...entry, sequence: entry.sequence?.toString() };
    }
    const file: z.infer<typeof fileSchema> = { version: 2, savedAt: new Date().toISOString(), stations };
    try {
      await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }
}
