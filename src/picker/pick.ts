import { isoFromEpochUs } from '../ingest/mseed/time.ts';
import { timeUsFromIndex } from '../stream/grid.ts';
import type { StationId } from '../stream/types.ts';

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
  return {
    network: station.network,
    station: station.station,
    location: station.location,
    channel: station.channelPrefix,
    phase,
    time: isoFromEpochUs(timeUs),
    timeUs,
    probability: Math.round(probability * 1e4) / 1e4,
    model,
  };
}
