import { isoFromEpochUs } from '../ingest/mseed/time.ts';
import { timeUsFromIndex } from '../stream/grid.ts';
import type { StationId } from '../stream/types.ts';

/**
 * Where a pick is in its life. `final`: no later data can change it (the stitched path). The live
 * edge can emit a pick early as `provisional`; the stitched path later confirms it (a `final` pick at
 * the same time: the same id), moves it (the provisional pick again as `revised`, with `finalId`
 * naming the final pick that replaces it) or withdraws it (`retracted`). See src/picker/lifecycle.ts.
 */
export type PickStatus = 'provisional' | 'final' | 'revised' | 'retracted';

/**
 * A phase pick, as written to sinks and sent to subscribers. `channel` is the band and instrument
 * code of the component set the model saw (`HH`), as QuakeFlow's station ids do: PhaseNet picks
 * from all components at once.
 */
export interface Pick {
  network: string;
  station: string;
  location: string;
  channel: string;
  phase: string;
  /** ISO 8601 with microseconds, UTC. */
  time: string;
  /** The same instant as integer epoch microseconds. */
  timeUs: number;
  probability: number;
  model: string;
  status: PickStatus;
  /**
   * Stable identity (`pickId`): the same pick gets the same id in live picking, replay and a run
   * restarted after a crash, so outputs can skip what they already hold.
   */
  id: string;
  /** One standard deviation of the pick time (s), from the width of the probability peak. */
  uncertaintyS?: number;
  /** First-motion polarity (QuakeML's words), where a rule on the waveform decides it. */
  polarity?: 'positive' | 'negative' | 'undecidable';
  /** The station's coordinates (WGS84 degrees, metres), where station metadata gives them. */
  latitude?: number;
  longitude?: number;
  elevationM?: number;
  /** On a `revised` pick only: the id of the final pick that replaces it. */
  finalId?: string;
}

/**
 * A pick's id: station (with the band and instrument code), phase, its time on the sample grid and
 * the model, e.g. `XX.DEV1.00.HH.P.20110331T000130.040000Z.phasenet-original`. Readable, sortable
 * by station and time, and free of characters that need escaping in URLs, subjects or tags.
 */
export function pickId(
  station: { network: string; station: string; location: string; channel: string },
  phase: string,
  timeUs: number,
  model: string,
): string {
  const time = isoFromEpochUs(timeUs).replaceAll('-', '').replaceAll(':', '');
  return `${station.network}.${station.station}.${station.location}.${station.channel}.${phase}.${time}.${model}`;
}

export function makePick(
  station: StationId,
  phase: string,
  index: number,
  samplingRate: number,
  probability: number,
  model: string,
): Pick {
  const timeUs = timeUsFromIndex(index, samplingRate);
  const ids = {
    network: station.network,
    station: station.station,
    location: station.location,
    channel: station.channelPrefix,
  };
  return {
    ...ids,
    phase,
    time: isoFromEpochUs(timeUs),
    timeUs,
    probability: Math.round(probability * 1e4) / 1e4,
    model,
    status: 'final',
    id: pickId(ids, phase, timeUs, model),
  };
}
