import type { PickMessage } from '../sink/broadcast/protocol.ts';
import type { StationStatus } from './station-status.ts';

/**
 * The live page's streams on the WebSocket rebroadcast (docs/page.md), besides `picks`: JSON
 * messages of protocol version 1 with the stream's name and sequence number. The page
 * (src/web/page/app.ts) imports these types only.
 */

/** Samples of one station from `startUs`, one array per component (or phase), all of one length. */
export interface TraceChunk {
  /** `NET.STA.LOC.BAND` (the station key of src/stream/types.ts). */
  station: string;
  startUs: number;
  samplingRate: number;
  /** Component codes (`E`, `N`, `Z`) for waveforms, phase names for probabilities. */
  names: string[];
  data: number[][];
}

export interface StationsSnapshot {
  /** The clock the states are judged by: the wall clock live, the newest data time in a replay. */
  clockUs: number;
  stations: StationStatus[];
}

export interface ReplayProgress {
  fraction: number;
  picks: number;
  done: boolean;
}

interface Sequenced {
  v: 1;
  seq: number;
}

export type PageStreamMessage =
  | (Sequenced & { type: 'stations'; stream: 'stations' } & StationsSnapshot)
  | (Sequenced & { type: 'waveform'; stream: 'waveforms' } & TraceChunk)
  | (Sequenced & { type: 'probability'; stream: 'probabilities' } & TraceChunk)
  | (Sequenced & { type: 'progress'; stream: 'progress' } & ReplayProgress);

/** What the page reads: its own streams and the subscribers' picks. */
export type PageMessage =
  | PageStreamMessage
  | (Sequenced & { type: 'pick'; stream: 'picks'; pick: PickMessage })
  | { v: 1; type: 'gap'; stream: string; missed: number }
  | { v: 1; type: 'hello' | 'subscribed' | 'unsubscribed' | 'heartbeat' | 'error'; message?: string };
