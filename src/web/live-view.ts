import type { StationCoordinates } from '../ingest/stationxml.ts';
import type { Pick } from '../picker/pick.ts';
import type { StitchedSegment } from '../picker/stitch.ts';
import { timeUsFromIndex } from '../stream/grid.ts';
import type { ChannelEvent, StationBlock, StationId } from '../stream/types.ts';
import { stationKey } from '../stream/types.ts';
import type { ReplayProgress, StationsSnapshot, TraceChunk } from './messages.ts';
import {
  defaultStatusThresholds,
  observeBlock,
  observeChannelEvent,
  observePick,
  type StationRecords,
  type StatusThresholds,
  stationStatus,
} from './station-status.ts';

export type TraceKind = 'waveform' | 'probability';

/** A waveform or probability chunk as kept: typed arrays, turned into JSON only for a page that watches it. */
export interface StoredChunk extends Omit<TraceChunk, 'data'> {
  kind: TraceKind;
  data: Float32Array[];
}

export interface LiveViewOptions {
  /** `wall`: live picking; `data`: a replay, whose clock is the newest data time seen. */
  clock: 'wall' | 'data';
  /** Seconds of waveforms and probabilities kept per station, for a page that starts watching it. */
  historyS: number;
  thresholds?: StatusThresholds;
  /** Station coordinates by `NET.STA` (the station metadata's), shown beside the stations they know. */
  coordinates?: ReadonlyMap<string, StationCoordinates>;
  /** The model's classes; the page gets every one but noise. */
  classes: string[];
  /** Each new chunk, and replay progress, as it comes (the rebroadcast's `publish`). */
  publish: (stream: 'waveforms' | 'probabilities' | 'progress', item: StoredChunk | ReplayProgress) => void;
}

/**
 * What the live page shows, gathered from the pipeline's hooks: the stations' states, the recent
 * waveforms and probabilities of every station (bounded by `historyS`) and replay progress.
 */
export class LiveView {
  private records: StationRecords = {};
  private readonly chunks: Record<TraceKind, Map<string, StoredChunk[]>> = {
    waveform: new Map(),
    probability: new Map(),
  };
  private readonly phases: { name: string; column: number }[];
  private lastProgress: ReplayProgress | undefined;

  constructor(private readonly options: LiveViewOptions) {
    this.phases = options.classes
      .map((name, column) => ({ name, column }))
      .filter((c) => c.name.toLowerCase() !== 'noise');
  }

  block(block: StationBlock): void {
    this.records = observeBlock(this.records, block);
    const names = block.components;
    const data = names.map((_, c) => {
      const column = new Float32Array(block.length);
      for (let i = 0; i < block.length; i++) column[i] = block.data[i * names.length + c];
      return column;
    });
    this.add('waveform', block.station, block.samplingRate, block.startIndex, names, data);
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
    this.add('probability', station, samplingRate, segment.start, names, data);
  }

  pick(pick: Pick): void {
    this.records = observePick(this.records, pick);
  }

  progress(progress: ReplayProgress): void {
    this.lastProgress = progress;
    this.options.publish('progress', progress);
  }

  /** The newest progress, for a page that opens during (or after) a replay. */
  latestProgress(): ReplayProgress[] {
    return this.lastProgress ? [this.lastProgress] : [];
  }

  stations(): StationsSnapshot {
    const records = Object.values(this.records);
    const clockUs =
      this.options.clock === 'wall'
        ? Date.now() * 1000
        : records.reduce((newest, r) => Math.max(newest, r.lastDataUs), 0);
    const thresholds = this.options.thresholds ?? defaultStatusThresholds;
    const stations = records
      .map((r) => {
        const status = stationStatus(r, clockUs, thresholds);
        const coordinates = this.options.coordinates?.get(`${r.network}.${r.station}`);
        return coordinates ? { ...status, coordinates } : status;
      })
      .sort((a, b) => a.key.localeCompare(b.key));
    return { clockUs, stations };
  }

  /** The kept chunks of a station, oldest first. */
  history(kind: TraceKind, key: string): StoredChunk[] {
    return this.chunks[kind].get(key) ?? [];
  }

  private add(
    kind: TraceKind,
    station: StationId,
    samplingRate: number,
    startIndex: number,
    names: string[],
    data: Float32Array[],
  ): void {
    if ((data[0]?.length ?? 0) === 0) return;
    const key = stationKey(station);
    const chunk: StoredChunk = {
      kind,
      station: key,
      startUs: timeUsFromIndex(startIndex, samplingRate),
      samplingRate,
      names,
      data,
    };
    const store = this.chunks[kind];
    const chunks = store.get(key) ?? [];
    chunks.push(chunk);
    const keepFromUs = chunkEndUs(chunk) - this.options.historyS * 1e6;
    while (chunks.length > 1 && chunkEndUs(chunks[0]) < keepFromUs) chunks.shift();
    store.set(key, chunks);
    this.options.publish(kind === 'waveform' ? 'waveforms' : 'probabilities', chunk);
  }
}

export function chunkData(chunk: StoredChunk): TraceChunk {
  const { kind: _, data, ...rest } = chunk;
  return { ...rest, data: data.map((column) => Array.from(column, shorten)) };
}

function chunkEndUs(chunk: StoredChunk): number {
  return chunk.startUs + (chunk.data[0]?.length ?? 0) * (1e6 / chunk.samplingRate);
}

/** Six significant digits are more than a screen shows, and keep the JSON a third of the size. */
function shorten(value: number): number {
  return Number.isInteger(value) ? value : Number(value.toPrecision(6));
}
