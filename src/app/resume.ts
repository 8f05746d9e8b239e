import { Observable } from 'rxjs';
import type { Config } from '../config/schema.ts';
import type { InferenceEngine } from '../engine/engine.ts';
import { stationKey as seedLinkStationKey } from '../ingest/seedlink/wire.ts';
import type { ModelCard } from '../model/card.ts';
import type { Pick } from '../picker/pick.ts';
import { indexAtOrAfterTimeUs, indexFromTimeUs, samplesToUs, timeUsFromIndex } from '../stream/grid.ts';
import type { SequenceRecord } from '../stream/index.ts';
import type { StationId } from '../stream/types.ts';
import { type PickPipelineOptions, type PipelineHooks, pickerOptionsFor, pickPipeline } from './pipeline.ts';

/**
 * Where resume points are kept, per station (NET_STA): a SeedLink state file for `phasestream run`,
 * a JetStream KV entry per partition for the scale-out workers (src/scale/partition-points.ts).
 */
export interface ResumePoints {
  stationKeys(): Iterable<string>;
  resumeTimeUs(key: string): number | undefined;
  doneUntilUs(key: string): number | undefined;
  /** Both points move forward only. */
  markProcessed(key: string, point: { resumeTimeUs: number; doneUntilUs: number }): void;
}

/**
 * Samples a restart re-reads before the open sample: a window, the peak distance and a window more
 * for what comes before windowing (resampling).
 */
export function resumeLeadSamples(card: ModelCard, config: Config) {
  return (station: StationId): number =>
    2 * card.windowLength +
    pickerOptionsFor(card, config, `${station.network}.${station.station}`).minPeakDistanceSamples;
}

/**
 * What lets a live run be killed at any moment and restarted without losing or repeating a pick: the
 * picker's open sample (the first whose picks may still come) becomes, per SeedLink station, the
 * resume point of its SeedLink state, once the picks before it are written.
 *
 * - `doneUntilUs` = the open sample's time: every pick before it is written.
 * - `resumeTimeUs` = `leadSamples` before it: a window and the peak distance (and a margin for what
 *   comes before windowing), so that the restarted run, whose windows lie on the same absolute grid,
 *   computes the samples from the open one on from the same windows (test/picker/open-sample.test.ts).
 *
 * After a restart the server is asked for the data from `resumeTimeUs` on; samples before it are cut
 * off here (the server positions by whole packets, and a 3.1 time by the second), so the run starts
 * exactly there; picks before the saved `doneUntilUs` were written by the run before and are dropped
 * (the pick file skips the ids it holds for the rest). Both points only move forward.
 */
export class PickResume {
  /** Per SeedLink station (NET_STA): picks before this were written by an earlier run. */
  private readonly doneAtStart = new Map<string, number>();
  /** Per picker station (NET.STA.LOC.CH) of each SeedLink station: its latest points. */
  private readonly points = new Map<string, Map<string, { resumeTimeUs: number; doneUntilUs: number }>>();

  constructor(
    private readonly states: readonly ResumePoints[],
    private readonly leadSamples: (station: StationId) => number,
  ) {
    for (const state of states) {
      for (const key of state.stationKeys()) {
        const done = state.doneUntilUs(key);
        if (done !== undefined) this.doneAtStart.set(key, Math.max(done, this.doneAtStart.get(key) ?? done));
      }
    }
  }

  /** False for a pick an earlier run wrote (before its station's saved `doneUntilUs`). */
  keep = (pick: Pick): boolean => {
    const done = this.doneAtStart.get(seedLinkStationKey(pick.network, pick.station));
    return done === undefined || pick.timeUs >= done;
  };

  /** The record without its samples before the station's resume time; undefined when none is left. */
  trim = <R extends SequenceRecord>(record: R): R | undefined => {
    const key = seedLinkStationKey(record.streamId.network, record.streamId.station);
    let resumeUs: number | undefined;
    for (const state of this.states) {
      const r = state.resumeTimeUs(key);
      if (r !== undefined) resumeUs = Math.min(resumeUs ?? r, r);
    }
    if (resumeUs === undefined || record.startTimeUs >= resumeUs) return record;
    const rate = record.samplingRate;
    const cut = indexAtOrAfterTimeUs(resumeUs, rate) - indexFromTimeUs(record.startTimeUs, rate);
    if (cut <= 0) return record;
    if (cut >= record.samples.length) return undefined;
    const samples = Array.prototype.slice.call(record.samples, cut) as number[];
    return {
      ...record,
      startTimeUs: record.startTimeUs + samplesToUs(cut, rate),
      samples,
      sampleCount: samples.length,
    } as R;
  };

  /**
   * The picker's open sample of `station` (called once the picks before it are written): moves the
   * resume point of its SeedLink station to the earliest over that station's streams.
   */
  open(station: StationId, samplingRate: number, sample: number): void {
    const key = seedLinkStationKey(station.network, station.station);
    const streams = this.points.get(key) ?? new Map();
    this.points.set(key, streams);
    streams.set(`${station.location}.${station.channelPrefix}`, {
      resumeTimeUs: timeUsFromIndex(sample - this.leadSamples(station), samplingRate),
      doneUntilUs: timeUsFromIndex(sample, samplingRate),
    });
    const all = [...streams.values()];
    const point = {
      resumeTimeUs: Math.min(...all.map((p) => p.resumeTimeUs)),
      doneUntilUs: Math.min(...all.map((p) => p.doneUntilUs)),
    };
    for (const state of this.states) state.markProcessed(key, point);
  }
}

/** A pick, or the picker's open sample of a station (PickResume.open's arguments). */
export type ResumeWork =
  | { pick: Pick }
  | { open: [station: StationId, samplingRate: number, sample: number] };

/**
 * The pipeline's picks and open samples in one ordered stream: whoever consumes it in order (writing
 * each pick before taking the next item) moves a resume point only after the picks before it are out.
 */
export function picksAndOpenSamples(
  records: Observable<SequenceRecord>,
  engine: InferenceEngine,
  config: Config,
  hooks: PipelineHooks,
  options: PickPipelineOptions = {},
): Observable<ResumeWork> {
  return new Observable<ResumeWork>((subscriber) =>
    pickPipeline(
      records,
      engine,
      config,
      {
        ...hooks,
        onOpenSample: (station, rate, sample) => subscriber.next({ open: [station, rate, sample] }),
      },
      options,
    ).subscribe({
      next: (pick) => subscriber.next({ pick }),
      error: (error) => subscriber.error(error),
      complete: () => subscriber.complete(),
    }),
  );
}
