import type { Pick } from '../picker/pick.ts';
import type { StitchedSegment } from '../picker/stitch.ts';
import { timeUsFromIndex } from '../stream/grid.ts';
import type { ChannelEvent, StationBlock, StationId } from '../stream/types.ts';
import { stationKey } from '../stream/types.ts';
import type { PagePick, ServerMessage, TraceChunk } from './messages.ts';
import {
  defaultStatusThresholds,
  observeBlock,
  observeChannelEvent,
  observePick,
  type StationRecords,
  type StatusThresholds,
  stationStatus,
} from './station-status.ts';

export interface LiveViewOptions {
  /** `wall`: live picking; `data`: a replay, whose clock is the newest data time seen. */
  clock: 'wall' | 'data';
  /** Seconds of waveforms and probabilities kept per station, for a page that starts watching it. */
  historyS: number;
  /** Picks kept for a page that opens later. */
  recentPicks: number;
  thresholds?: StatusThresholds;
  /** The model's classes; the page gets every one but noise. */
  classes: string[];
}

/**
 * What the live page shows, gathered from the pipeline's hooks: the stations' states, the recent
 * waveforms and probabilities of every station (bounded by `historyS`), picks and replay progress.
 * Listeners get each new piece as a message; a page that starts watching a station gets its history.
 */
export class LiveView {
  private records: StationRecords = {};
  private readonly waveforms = new Map<string, StoredChunk[]>();
  private readonly probabilities = new Map<string, StoredChunk[]>();
  private readonly listeners = new Set<(message: LiveMessage) => void>();
  private readonly phases: { name: string; column: number }[];
  private readonly picks: PagePick[] = [];

  constructor(private readonly options: LiveViewOptions) {
    this.phases = options.classes
      .map((name, column) => ({ name, column }))
      .filter((c) => c.name.toLowerCase() !== 'noise');
  }

  /** Picks and progress come as messages; traces as `LiveTrace`, made into messages only for a page watching them. */
  onMessage(listener: (message: LiveMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  block(block: StationBlock): void {
    this.records = observeBlock(this.records, block);
    const names = block.components;
    const data = names.map((_, c) => {
      const column = new Float32Array(block.length);
      for (let i = 0; i < block.length; i++) column[i] = block.data[i * names.length + c];
      return column;
    });
    this.add(this.waveforms, 'waveform', block.station, block.samplingRate, block.startIndex, names, data);
  }

  channelEvent(event: ChannelEvent): void {
    this.records = observeChannelEvent(this.records, event);
  }

  stitched(station: StationId, samplingRate: number, segment: StitchedSegment): void {
    const classes = this.options.classes.length;
    const length = segment.probs.length / classes;
    const data = this.phases.map(({ column }) => {
      const values = new Float32Array(length);
      for (let i = 0; i < length; i++) values[i] = segment.probs[i * classes + column];
      return values;
    });
    const names = this.phases.map((p) => p.name);
    this.add(this.probabilities, 'probability', station, samplingRate, segment.start, names, data);
  }

  pick(pick: Pick): void {
    this.records = observePick(this.records, pick);
    const { network, station, location, channel, phase, time, probability } = pick;
    const shown: PagePick = { network, station, location, channel, phase, time, probability };
    this.picks.push(shown);
    if (this.picks.length > this.options.recentPicks) this.picks.shift();
    this.emit({ v: 1, type: 'pick', pick: shown });
  }

  /** The newest picks (at most `recentPicks`), for a page that just opened. */
  recentPicks(): ServerMessage[] {
    return this.picks.map((pick) => ({ v: 1, type: 'pick', pick }));
  }

  progress(fraction: number, picks: number, done = false): void {
    this.emit({ v: 1, type: 'progress', fraction, picks, done });
  }

  clockUs(): number {
    if (this.options.clock === 'wall') return Date.now() * 1000;
    return Math.max(0, ...Object.values(this.records).map((r) => r.lastDataUs));
  }

  stations(): ServerMessage {
    const clockUs = this.clockUs();
    const thresholds = this.options.thresholds ?? defaultStatusThresholds;
    const stations = Object.values(this.records)
      .map((r) => stationStatus(r, clockUs, thresholds))
      .sort((a, b) => a.key.localeCompare(b.key));
    return { v: 1, type: 'stations', clockUs, stations };
  }

  /** The kept waveforms and probabilities of a station, oldest first. */
  history(key: string): ServerMessage[] {
    return [...(this.waveforms.get(key) ?? []), ...(this.probabilities.get(key) ?? [])].map(traceMessage);
  }

  private add(
    store: Map<string, StoredChunk[]>,
    type: 'waveform' | 'probability',
    station: StationId,
    samplingRate: number,
    startIndex: number,
    names: string[],
    data: Float32Array[],
  ): void {
    if ((data[0]?.length ?? 0) === 0) return;
    const key = stationKey(station);
    const chunk: StoredChunk = {
      type,
      station: key,
      startUs: timeUsFromIndex(startIndex, samplingRate),
      samplingRate,
      names,
      data,
    };
    const chunks = store.get(key) ?? [];
    chunks.push(chunk);
    const keepFromUs = chunkEndUs(chunk) - this.options.historyS * 1e6;
    while (chunks.length > 1 && chunkEndUs(chunks[0]) < keepFromUs) chunks.shift();
    store.set(key, chunks);
    this.emit({ type: 'trace', chunk });
  }

  private emit(message: LiveMessage): void {
    for (const listener of this.listeners) listener(message);
  }
}

/** A waveform or probability chunk as kept: typed arrays, turned into JSON only for a page that watches it. */
export interface StoredChunk extends Omit<TraceChunk, 'data'> {
  type: 'waveform' | 'probability';
  data: Float32Array[];
}

export type LiveMessage = ServerMessage | { type: 'trace'; chunk: StoredChunk };

export function traceMessage(chunk: StoredChunk): ServerMessage {
  const { type, data, ...rest } = chunk;
  return { v: 1, type, ...rest, data: data.map((column) => Array.from(column, shorten)) };
}

function chunkEndUs(chunk: StoredChunk): number {
  return chunk.startUs + (chunk.data[0]?.length ?? 0) * (1e6 / chunk.samplingRate);
}

/** Six significant digits are more than a screen shows, and keep the JSON a third of the size. */
function shorten(value: number): number {
  return Number.isInteger(value) ? value : Number(value.toPrecision(6));
}
