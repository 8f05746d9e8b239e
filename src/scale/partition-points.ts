import { z } from 'zod';
import type { ResumePoints } from '../app/resume.ts';

interface Point {
  resumeTimeUs: number;
  doneUntilUs: number;
}

const entrySchema = z.object({
  /** The records stream's sequence a new owner starts the partition's consumer at. */
  startSeq: z.number().int().positive(),
  /** Per station (NET_STA): re-read from resumeTimeUs; picks before doneUntilUs are out already. */
  stations: z.record(z.string(), z.object({ resumeTimeUs: z.number().int(), doneUntilUs: z.number().int() })),
});

export type PartitionEntry = z.infer<typeof entrySchema>;

/**
 * A partition's resume points, kept in the resume bucket (one entry per partition): the resume rule
 * of `phasestream run` (src/app/resume.ts) per station, plus where in the records stream the partition
 * is re-read from. JetStream starts a consumer by stream sequence or by arrival time, not by data time,
 * so the entry keeps the earliest sequence any station still needs: every record since a station's
 * resume point is remembered (sequence and data end) until the point passes it.
 */
export class PartitionPoints implements ResumePoints {
  private readonly stations: Map<string, Point>;
  /** Per station, the records received that end at or after its resume point, oldest first. */
  private readonly needed = new Map<string, { seq: number; endUs: number }[]>();
  private lastSeq: number;
  private changed = false;

  constructor(entry: PartitionEntry | undefined) {
    this.stations = new Map(Object.entries(entry?.stations ?? {}));
    this.lastSeq = (entry?.startSeq ?? 1) - 1;
  }

  /** The stored entry (undefined: none yet, or not one of ours: the partition starts afresh). */
  static parse(text: string | undefined): PartitionEntry | undefined {
    if (text === undefined) return undefined;
    try {
      const parsed = entrySchema.safeParse(JSON.parse(text));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** The consumer's first sequence. */
  get startSeq(): number {
    return this.entry().startSeq;
  }

  /** A record of `key` came at stream sequence `seq`, its data ending at `endUs`. */
  received(key: string, seq: number, endUs: number): void {
    const list = this.needed.get(key) ?? [];
    this.needed.set(key, list);
    list.push({ seq, endUs });
    this.lastSeq = seq;
    this.prune(key);
  }

  /** A message that is not a station's record (the end mark) was read: nothing before it is needed. */
  passed(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  stationKeys(): string[] {
    return [...this.stations.keys()];
  }

  resumeTimeUs(key: string): number | undefined {
    return this.stations.get(key)?.resumeTimeUs;
  }

  doneUntilUs(key: string): number | undefined {
    return this.stations.get(key)?.doneUntilUs;
  }

  markProcessed(key: string, point: Point): void {
    const old = this.stations.get(key);
    const next = {
      resumeTimeUs: Math.max(old?.resumeTimeUs ?? point.resumeTimeUs, point.resumeTimeUs),
      doneUntilUs: Math.max(old?.doneUntilUs ?? point.doneUntilUs, point.doneUntilUs),
    };
    if (old?.resumeTimeUs === next.resumeTimeUs && old.doneUntilUs === next.doneUntilUs) return;
    this.stations.set(key, next);
    this.prune(key);
    this.changed = true;
  }

  /** True once since the last call when a point moved (the entry is worth writing). */
  takeChanged(): boolean {
    const changed = this.changed;
    this.changed = false;
    return changed;
  }

  /** A write of the entry failed: try again with the next. */
  markUnsaved(): void {
    this.changed = true;
  }

  /**
   * What a new owner needs: the earliest record any station still needs, else the one after the last
   * read (a station not seen yet has all its records after it).
   */
  entry(): PartitionEntry {
    let startSeq = this.lastSeq + 1;
    for (const list of this.needed.values()) if (list.length > 0) startSeq = Math.min(startSeq, list[0].seq);
    return { startSeq, stations: Object.fromEntries(this.stations) };
  }

  /** The entry after the partition's end mark at `seq`: a later replay starts afresh after it. */
  static afterEnd(seq: number): PartitionEntry {
    return { startSeq: seq + 1, stations: {} };
  }

  private prune(key: string): void {
    const resumeUs = this.stations.get(key)?.resumeTimeUs;
    const list = this.needed.get(key);
    if (resumeUs === undefined || list === undefined) return;
    let drop = 0;
    while (drop < list.length && list[drop].endUs < resumeUs) drop++;
    if (drop > 0) list.splice(0, drop);
  }
}
