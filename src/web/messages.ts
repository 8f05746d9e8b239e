import type { StationStatus } from './station-status.ts';

/**
 * What the live page and its server say to each other over the WebSocket, as JSON, version 1.
 * docs/page.md describes it; the page (src/web/page/app.ts) imports these types only.
 */

/** The pick fields the page shows (those of a pick line, src/sink/pick-file.ts). */
export interface PagePick {
  network: string;
  station: string;
  location: string;
  channel: string;
  phase: string;
  time: string;
  probability: number;
}

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

export type ServerMessage =
  | { v: 1; type: 'stations'; clockUs: number; stations: StationStatus[] }
  | ({ v: 1; type: 'waveform' } & TraceChunk)
  | ({ v: 1; type: 'probability' } & TraceChunk)
  | { v: 1; type: 'pick'; pick: PagePick }
  | { v: 1; type: 'progress'; fraction: number; picks: number; done: boolean };

/** The page chooses the one station whose traces it wants (null: none). */
export type PageMessage = { v: 1; type: 'watch'; station: string | null };
