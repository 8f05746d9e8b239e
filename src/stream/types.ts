import type { StreamId } from '../ingest/stream-id.ts';

/**
 * What flows between the stream operators. Times are integer epoch microseconds. Sample positions are
 * absolute indices on the epoch grid of the sampling rate: index = round(timeUs * samplingRate / 1e6),
 * so that every station, process and restart agrees on them without any shared origin (a start that
 * falls between grid points is snapped to the nearest one: at most half a sample).
 */

/** Station identity: NET.STA.LOC plus the band and instrument codes (`HH`), e.g. `XX.DEV1.00.HH`. */
export interface StationId {
  network: string;
  station: string;
  location: string;
  /** Band and instrument code shared by the components (`HH`, `EH`, `LH`). */
  channelPrefix: string;
}

export const stationKey = (s: StationId) => `${s.network}.${s.station}.${s.location}.${s.channelPrefix}`;

/** Contiguous samples of one channel (no gap inside), as numbers (counts or physical units). */
export interface ChannelChunk {
  streamId: StreamId;
  samplingRate: number;
  /** Absolute grid index of the first sample at `samplingRate`. */
  startIndex: number;
  samples: Float64Array;
}

/** A discontinuity or oddity in a channel, reported once (logged, counted by health). */
export interface ChannelEvent {
  kind: 'gap' | 'overlap' | 'duplicate' | 'out-of-order' | 'clock-jump' | 'rate-change' | 'non-finite';
  streamId: StreamId;
  /** Where it happened (epoch µs). */
  timeUs: number;
  /** Size of the gap or overlap in µs, when it has one. */
  durationUs?: number;
  detail?: string;
}

/**
 * Aligned samples of a station at the model's rate, [length, components] in the model's component
 * order, with the components that carry data in this block. A component with no data is zeros (the
 * model's normalization then scales by the number of non-zero components, as the original does).
 */
export interface StationBlock {
  station: StationId;
  samplingRate: number;
  startIndex: number;
  length: number;
  components: string[];
  /** Row-major [length, components]. */
  data: Float32Array;
  /** Per component: whether it had data in this block. */
  present: boolean[];
  /** This block ends the station's current segment (a long gap, or the end of the stream follows). */
  endOfSegment?: boolean;
}

/** One window for the network: normalized [windowLength, components]. */
export interface StationWindow {
  station: StationId;
  samplingRate: number;
  startIndex: number;
  length: number;
  components: string[];
  /** Normalized, row-major [length, components]. */
  data: Float32Array;
  /** The last window of a segment: the picker flushes the station after it. */
  endOfSegment: boolean;
  /** When the window's last sample arrived (ms since epoch, wall clock): latency is measured from it. */
  receivedAtMs: number;
}
