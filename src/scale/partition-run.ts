import { type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream';
import { concatMap, filter, map, Observable, type Subscription, tap } from 'rxjs';
import { batchSizeFor, type PipelineHooks, RECORDS_POOLED } from '../app/pipeline.ts';
import { PickResume, picksAndOpenSamples, resumeLeadSamples } from '../app/resume.ts';
import { WindowGate } from '../app/window-gate.ts';
import type { Config } from '../config/schema.ts';
import type { InferenceEngine } from '../engine/engine.ts';
import { readRecordSpan } from '../ingest/seedlink/record-header.ts';
import { stationKey } from '../ingest/seedlink/wire.ts';
import { log } from '../log.ts';
import type { Pick } from '../picker/pick.ts';
import { decodeRecords, type RecordBytes, type SequenceRecord } from '../stream/index.ts';
import { float64Pool } from '../util/array-pool.ts';
import type { ConsumerLag } from './consumer-lag.ts';
import { type ScaleLog, untilDone } from './jetstream.ts';
import { PartitionPoints } from './partition-points.ts';
import { isEndSubject, partitionFilter } from './subjects.ts';

const partitionLog = log.child({ module: 'partition' });

/** What a worker gives each partition it owns. */
export interface PartitionContext {
  scale: ScaleLog;
  engine: InferenceEngine;
  config: Config;
  hooks: PipelineHooks;
  /** Counts a decoded record (metrics). */
  record: (record: SequenceRecord) => void;
  /** Publishes a pick; resolves once JetStream stored it. */
  write: (pick: Pick) => Promise<void>;
  lag: ConsumerLag;
}

/** The resume bucket's key of a partition. */
export const resumeKey = (partition: number) => `p.${partition}`;

/**
 * One owned partition: its records from the resume bucket's point on, through a pipeline of its own
 * (pickPipeline, the same as `run` and `replay`), picks published, resume points written after them.
 *
 * The consumer is ordered and ephemeral: the resume bucket, not a durable consumer's ack floor, says
 * where to start, since what is done is decided per station by data time (two windows and the peak
 * distance behind the picker's open sample) and not per message. A new owner builds its stations'
 * state again from there (the re-read is a minute of data per station: no snapshot of the pipeline's
 * state is kept, which would tie the log to the pipeline's internals).
 *
 * `stop` drops the pipeline without flushing it (a flush would emit picks at the cut that a
 * continuous run does not make) and writes the last resume points, which never run ahead of the picks.
 */
export class PartitionRun {
  readonly done: Promise<void>;
  private stopped = false;
  private cancel: (() => void) | undefined;
  private points: PartitionPoints | undefined;
  private writing: Promise<unknown> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly partition: number,
    private readonly context: PartitionContext,
  ) {
    this.timer = setInterval(() => this.savePoints(), context.config.jetstream.resumeFlushMs);
    this.done = this.loop().finally(() => clearInterval(this.timer));
  }

  private get lagKey(): string {
    return `partition-${this.partition}`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    await this.done;
    this.savePoints();
    await this.writing;
    this.context.lag.delete(this.lagKey);
  }

  private async loop(): Promise<void> {
    const { resume } = this.context.scale;
    const key = resumeKey(this.partition);
    while (!this.stopped) {
      const entry = await untilDone(
        'reading the resume points',
        () => resume.get(key),
        () => this.stopped,
      ).catch(() => null);
      if (this.stopped) return;
      const points = new PartitionPoints(
        PartitionPoints.parse(entry?.operation === 'PUT' ? entry.string() : undefined),
      );
      this.points = points;
      partitionLog.info(
        { partition: this.partition, startSeq: points.startSeq, stations: points.stationKeys().length },
        'partition taken: reading from the resume point',
      );
      let endSeq: number | undefined;
      try {
        endSeq = await this.pick(points);
      } catch (error) {
        partitionLog.error(
          { partition: this.partition, err: error },
          'the partition failed; it starts again from its resume point',
        );
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (endSeq === undefined) return;
      // Every pick of the replay is out: a later replay on this partition starts afresh after the mark.
      const after = JSON.stringify(PartitionPoints.afterEnd(endSeq));
      this.points = undefined;
      await this.queueWrite(() =>
        untilDone(
          'writing the resume points',
          () => resume.put(key, after),
          () => this.stopped,
        ),
      );
      partitionLog.info({ partition: this.partition, endSeq }, 'partition at the end of its data: flushed');
    }
  }

  /** Picks the partition until its end mark (resolves with its sequence) or until stopped (undefined). */
  private pick(points: PartitionPoints): Promise<number | undefined> {
    const { engine, config, hooks } = this.context;
    const resume = new PickResume([points], resumeLeadSamples(engine.card, config));
    const gate = new WindowGate(4 * batchSizeFor(engine, config));
    let endSeq: number | undefined;
    // The records' sample arrays go round between the decoder and station assembly.
    const recordData = float64Pool(RECORDS_POOLED);
    const records = this.records(points, gate, (seq) => {
      endSeq = seq;
    }).pipe(
      decodeRecords({ source: `partition ${this.partition}`, sampleData: recordData }),
      map(resume.trim),
      filter((record) => record !== undefined),
      tap(this.context.record),
    );
    return new Promise<number | undefined>((resolve, reject) => {
      let subscription: Subscription | undefined;
      this.cancel = () => {
        subscription?.unsubscribe();
        resolve(undefined);
      };
      subscription = picksAndOpenSamples(
        records,
        engine,
        config,
        { ...hooks, onPending: gate.setPending },
        { recordData },
      )
        .pipe(
          concatMap(async (item) => {
            if ('open' in item) resume.open(...item.open);
            else if (resume.keep(item.pick)) await this.context.write(item.pick);
          }),
        )
        .subscribe({ complete: () => resolve(endSeq), error: reject });
      if (this.stopped) this.cancel();
    });
  }

  /** The partition's raw records from `points.startSeq` on, until the end mark. */
  private records(points: PartitionPoints, gate: WindowGate, onEnd: (seq: number) => void) {
    const { scale, lag } = this.context;
    return new Observable<RecordBytes>((subscriber) => {
      let closed = false;
      let messages: ConsumerMessages | undefined;
      (async () => {
        const consumer = await untilDone(
          'creating the partition consumer',
          () =>
            scale.js.consumers.get(scale.config.records.stream, {
              filter_subjects: partitionFilter(this.partition),
              deliver_policy: DeliverPolicy.StartSequence,
              opt_start_seq: points.startSeq,
            }),
          () => closed,
        );
        if (closed) return;
        messages = await consumer.consume({ max_messages: 512 });
        for await (const message of messages) {
          lag.set(this.lagKey, message.info.pending);
          if (isEndSubject(message.subject)) {
            points.passed(message.seq);
            onEnd(message.seq);
            break;
          }
          let span: ReturnType<typeof readRecordSpan>;
          try {
            span = readRecordSpan(message.data);
          } catch (error) {
            partitionLog.warn({ subject: message.subject, err: error }, 'not a miniSEED record: skipped');
            points.passed(message.seq);
            continue;
          }
          points.received(stationKey(span.network, span.station), message.seq, span.endTimeUs);
          const wait = gate.ready();
          if (wait !== undefined) await wait;
          if (closed) return;
          subscriber.next({ recordBytes: message.data });
        }
        if (!closed) subscriber.complete();
      })().catch((error) => subscriber.error(error));
      return () => {
        closed = true;
        messages?.stop();
      };
    });
  }

  /** Writes the resume points when they moved; one write at a time, in order. */
  private savePoints(): void {
    const points = this.points;
    if (points === undefined || !points.takeChanged()) return;
    const text = JSON.stringify(points.entry());
    void this.queueWrite(() =>
      this.context.scale.resume.put(resumeKey(this.partition), text).catch((error) => {
        partitionLog.warn({ partition: this.partition, err: error.message }, 'resume points not saved yet');
        points.markUnsaved();
      }),
    );
  }

  private queueWrite(write: () => Promise<unknown>): Promise<unknown> {
    this.writing = this.writing.then(write, write);
    return this.writing;
  }
}
