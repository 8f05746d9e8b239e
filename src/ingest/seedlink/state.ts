import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../../log.ts';
import { SeedLinkStateError } from './errors.ts';
import type { SeedLinkProtocolVersion } from './wire.ts';

/**
 * Where a SeedLink client resumes: per station, the last sequence number delivered downstream and, per
 * stream, the end time of its last record. The sequence resumes exactly; the time lets the server
 * position by time when that sequence has left its ring (or belongs to another server or protocol).
 */
export interface StationResume {
  /** The server the sequence came from (normalized URL): sequences mean nothing to another server. */
  server: string;
  sequence: bigint;
  /** The protocol the sequence was received with: a 24-bit v3 sequence means nothing to a v4 server. */
  protocol: SeedLinkProtocolVersion;
  /** Stream (LOC.CHA) -> end time of its last record, microseconds. */
  streamEndTimesUs: Map<string, number>;
}

export interface ResumePoint {
  lastSequence?: bigint;
  timeUs?: number;
}

const fileSchema = z.object({
  version: z.literal(1),
  savedAt: z.string(),
  stations: z.record(
    z.string(),
    z.object({
      server: z.string(),
      sequence: z.string().regex(/^\d+$/),
      protocol: z.enum(['3.1', '4.0']),
      streams: z.record(z.string(), z.number().int()),
    }),
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

export class SeedLinkResumeState {
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string | undefined,
    private readonly server: string,
    private readonly stations: Map<string, StationResume>,
    private readonly logger: Logger,
  ) {}

  /** Loads `path` (missing file: empty state); without a path the state lives in memory only. */
  static async load(path: string | undefined, server: string, logger: Logger): Promise<SeedLinkResumeState> {
    const stations = new Map<string, StationResume>();
    if (path === undefined) return new SeedLinkResumeState(undefined, server, stations, logger);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return new SeedLinkResumeState(path, server, stations, logger);
      }
      throw new SeedLinkStateError(`cannot read SeedLink state file ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch (error) {
      throw new SeedLinkStateError(
        `SeedLink state file ${path} is not a state file: ${(error as Error).message}`,
        {
          hint: 'Delete it to start from the newest data (what it resumed from is then lost).',
          cause: error,
        },
      );
    }
    for (const [key, entry] of Object.entries(parsed.stations)) {
      stations.set(key, {
        server: entry.server,
        sequence: BigInt(entry.sequence),
        protocol: entry.protocol,
        streamEndTimesUs: new Map(Object.entries(entry.streams)),
      });
    }
    const foreign = [...stations].filter(([, entry]) => entry.server !== server).map(([key]) => key);
    if (foreign.length > 0) {
      logger.warn(
        { stateFile: path, stations: foreign, server },
        'SeedLink state of these stations was saved for another server: resuming them by time only',
      );
    }
    logger.info({ stateFile: path, stations: stations.size }, 'SeedLink resume state loaded');
    return new SeedLinkResumeState(path, server, stations, logger);
  }

  station(key: string): StationResume | undefined {
    return this.stations.get(key);
  }

  stationKeys(): string[] {
    return [...this.stations.keys()];
  }

  /**
   * What to send in DATA for `key`: the sequence (when it means something to this server and protocol)
   * and the earliest of the streams' last end times, so that a time filter drops nothing not yet received.
   */
  resumePoint(key: string, protocol: SeedLinkProtocolVersion): ResumePoint {
    const entry = this.stations.get(key);
    if (entry === undefined) return {};
    const ends = [...entry.streamEndTimesUs.values()];
    const timeUs = ends.length > 0 ? Math.min(...ends) : undefined;
    const sequenceApplies = entry.server === this.server && !(entry.protocol === '3.1' && protocol === '4.0');
    return { lastSequence: sequenceApplies ? entry.sequence : undefined, timeUs };
  }

  /** The end of the newest record received for `key`. */
  lastEndTimeUs(key: string): number | undefined {
    const ends = [...(this.stations.get(key)?.streamEndTimesUs.values() ?? [])];
    return ends.length > 0 ? Math.max(...ends) : undefined;
  }

  record(
    key: string,
    sequence: bigint,
    protocol: SeedLinkProtocolVersion,
    stream?: { key: string; endTimeUs: number },
  ): void {
    let entry = this.stations.get(key);
    if (entry === undefined) {
      entry = { server: this.server, sequence, protocol, streamEndTimesUs: new Map() };
      this.stations.set(key, entry);
    }
    entry.server = this.server;
    entry.sequence = sequence;
    entry.protocol = protocol;
    if (stream !== undefined) entry.streamEndTimesUs.set(stream.key, stream.endTimeUs);
    this.dirty = true;
  }

  /** Writes within `delayMs` unless a write is already scheduled: one write per interval at most. */
  scheduleFlush(delayMs: number): void {
    if (this.path === undefined || this.timer !== undefined) return;
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
      stations[key] = {
        server: entry.server,
        sequence: entry.sequence.toString(),
        protocol: entry.protocol,
        streams: Object.fromEntries(entry.streamEndTimesUs),
      };
    }
    const file: z.infer<typeof fileSchema> = {
      version: 1,
      savedAt: new Date().toISOString(),
      stations,
    };
    try {
      await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }
}
