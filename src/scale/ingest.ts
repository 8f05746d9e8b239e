import { type FileHandle, open } from 'node:fs/promises';
import { type ArchiveOptions, mergedRecordEntries } from '../ingest/archive.ts';
import { endTimeUs } from '../ingest/mseed/index.ts';
import type { SeedLinkPacket } from '../ingest/seedlink/client.ts';
import { readRecordSpan } from '../ingest/seedlink/record-header.ts';
import type { SeedLinkResumeState } from '../ingest/seedlink/state.ts';
import type { StreamId } from '../ingest/stream-id.ts';
import { log } from '../log.ts';
import { type ScaleLog, untilDone } from './jetstream.ts';
import { endSubject, partitionOf, recordMessageId, recordSubject } from './subjects.ts';

const ingestLog = log.child({ module: 'ingest' });

/**
 * Publishes records to the records stream in the order they come, many at once but one at a time per
 * subject, so that each channel's records are stored in order even through a server restart (a failed
 * publish is retried before the channel's next one goes out). A channel may run at most
 * `maxQueuedPerChannel` records ahead of what JetStream has stored: when one publish hangs (its
 * request lost with a dying server, until the client's timeout), the reader waits instead of letting
 * the station's other components run on, which the pipeline would have to pass over.
 */
export class RecordPublisher {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, number>();
  private readonly waiting: (() => void)[] = [];
  /** Per subject, the start time of the newest record the stream held when this process began. */
  private readonly stored = new Map<string, number | undefined>();
  published = 0;
  skipped = 0;

  constructor(
    private readonly scale: ScaleLog,
    private readonly maxQueuedPerChannel = 2,
  ) {}

  /** The record's subject, after which its partition's end mark goes. */
  subjectOf(id: StreamId): string {
    return recordSubject(id, partitionOf(id.network, id.station, this.scale.config.partitions));
  }

  /**
   * Queues a record; resolves when there is room for the next; `onStored` once JetStream holds it. A record at or before the newest the
   * stream already holds for its channel is skipped: a restarted ingest (even after the duplicate
   * window) does not store a channel's records twice.
   */
  async publish(
    id: StreamId,
    startTimeUs: number,
    bytes: Uint8Array,
    sequence?: string,
    onStored?: () => void,
  ): Promise<void> {
    const subject = this.subjectOf(id);
    if (!this.stored.has(subject)) this.stored.set(subject, await this.newestStored(subject));
    const newest = this.stored.get(subject);
    if (newest !== undefined && startTimeUs <= newest) {
      this.skipped++;
      onStored?.();
      return;
    }
    while ((this.queued.get(subject) ?? 0) >= this.maxQueuedPerChannel)
      await new Promise<void>((r) => this.waiting.push(r));
    this.queued.set(subject, (this.queued.get(subject) ?? 0) + 1);
    const msgID = recordMessageId(id, startTimeUs, sequence);
    const previous = this.tails.get(subject) ?? Promise.resolve();
    const mine: Promise<void> = previous.then(async () => {
      await untilDone('publishing a record', () => this.scale.js.publish(subject, bytes, { msgID }));
      this.published++;
      onStored?.();
      this.queued.set(subject, this.queued.get(subject)! - 1);
      if (this.tails.get(subject) === mine) this.tails.delete(subject);
      for (const wake of this.waiting.splice(0)) wake();
    });
    this.tails.set(subject, mine);
  }

  /** Resolves when every queued record is stored. */
  async flush(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }

  /** Marks the end of the data on `partitions` (after flush): their workers flush their stations. */
  async end(partitions: Iterable<number>, mark: string): Promise<void> {
    for (const partition of partitions) {
      await untilDone('publishing an end mark', () =>
        this.scale.js.publish(endSubject(partition), new Uint8Array(0), {
          msgID: `end/${partition}/${mark}`,
        }),
      );
    }
  }

  private async newestStored(subject: string): Promise<number | undefined> {
    const message = await untilDone('reading the stream', () =>
      this.scale.jsm.streams
        .getMessage(this.scale.config.records.stream, { last_by_subj: subject })
        .catch((error) => {
          if (/no message found/i.test(String(error?.message))) return null;
          throw error;
        }),
    );
    return message ? readRecordSpan(message.data).startTimeUs : undefined;
  }
}

/**
 * An archive replay into the log: the records of `files` in time order across files (as `replay`
 * reads them), raw bytes as stored, paced at real time x `speed` when given; then an end mark on each
 * partition it published to.
 */
export async function ingestArchive(
  scale: ScaleLog,
  files: string[],
  options: ArchiveOptions & { speed?: number; stopped?: () => boolean },
): Promise<{ published: number; skipped: number }> {
  const publisher = new RecordPublisher(scale);
  const handles = new Map<string, FileHandle>();
  const partitions = new Set<number>();
  let lastId = '';
  let firstDataUs: number | undefined;
  const startedMs = performance.now();
  try {
    for await (const { file, offset, record } of mergedRecordEntries(files, options)) {
      if (options.stopped?.()) break;
      if (options.speed) {
        firstDataUs ??= record.startTimeUs;
        const dueMs = startedMs + (endTimeUs(record) - firstDataUs) / 1000 / options.speed;
        const waitMs = dueMs - performance.now();
        if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
      }
      let handle = handles.get(file);
      if (handle === undefined) {
        handle = await open(file, 'r');
        handles.set(file, handle);
      }
      const bytes = new Uint8Array(record.recordLength);
      await handle.read(bytes, 0, bytes.length, offset);
      partitions.add(partitionOf(record.streamId.network, record.streamId.station, scale.config.partitions));
      lastId = recordMessageId(record.streamId, record.startTimeUs, record.sequenceNumber);
      await publisher.publish(record.streamId, record.startTimeUs, bytes, record.sequenceNumber);
    }
    await publisher.flush();
    if (!options.stopped?.()) await publisher.end(partitions, lastId);
  } finally {
    await Promise.all([...handles.values()].map((handle) => handle.close()));
  }
  ingestLog.info(
    { published: publisher.published, skipped: publisher.skipped, partitions: partitions.size },
    'archive published',
  );
  return { published: publisher.published, skipped: publisher.skipped };
}

/**
 * Live records into the log: each SeedLink packet published as it comes. The station's resume time in
 * `state` (the SeedLink state file, as `run` keeps it) moves past a record only once JetStream stored
 * it and every earlier record of each of the station's channels, so a restarted ingest asks the server
 * again for what it had received but not stored, and skips what the stream holds.
 */
export class SeedLinkIngest {
  private readonly channels = new Map<
    string,
    Map<string, { lastEndUs?: number; open: Map<number, number> }>
  >();
  private ticket = 0;

  constructor(
    private readonly publisher: RecordPublisher,
    private readonly state: SeedLinkResumeState,
  ) {}

  async packet(packet: SeedLinkPacket): Promise<void> {
    let span: ReturnType<typeof readRecordSpan>;
    try {
      span = readRecordSpan(packet.recordBytes);
    } catch (error) {
      ingestLog.warn({ station: packet.stationKey, err: (error as Error).message }, 'packet skipped');
      return;
    }
    const id = {
      network: span.network,
      station: span.station,
      location: span.location,
      channel: span.channel,
    };
    const channels = this.channels.get(packet.stationKey) ?? new Map();
    this.channels.set(packet.stationKey, channels);
    const channelKey = `${id.location}.${id.channel}`;
    const channel = channels.get(channelKey) ?? { open: new Map<number, number>() };
    channels.set(channelKey, channel);
    const ticket = this.ticket++;
    channel.open.set(ticket, span.startTimeUs);
    await this.publisher.publish(id, span.startTimeUs, packet.recordBytes, String(packet.sequence), () => {
      channel.open.delete(ticket);
      channel.lastEndUs = Math.max(channel.lastEndUs ?? span.endTimeUs, span.endTimeUs);
      let resumeUs = Number.POSITIVE_INFINITY;
      for (const c of channels.values())
        resumeUs = Math.min(
          resumeUs,
          c.open.size > 0 ? Math.min(...c.open.values()) : (c.lastEndUs ?? resumeUs),
        );
      if (!Number.isFinite(resumeUs)) return;
      this.state.markProcessed(packet.stationKey, { resumeTimeUs: resumeUs, doneUntilUs: resumeUs });
      this.state.scheduleFlush(1000);
    });
  }
}
