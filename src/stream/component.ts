import type { StreamId } from '../ingest/stream-id.ts';
import type { StationId } from './types.ts';

/**
 * Channel names to station and component.
 *
 * A channel is band + instrument + orientation (`HHZ`), or for miniSEED 3 long codes
 * `BAND_SOURCE_SUBSOURCE` (`H_H_Z`): the orientation is the last code, the rest is the station's
 * `channelPrefix`, so `HHZ`, `HHN`, `HHE` of one site are one station and `HNZ` (a strong-motion sensor
 * beside it) another.
 *
 * Orientation to the model's components (the Z12 convention of SEED): Z is vertical; N and 1 are the
 * first horizontal, feeding N; E and 2 the second, feeding E. Sensors not aligned to north (1 and 2
 * at some azimuth) are rotated to N and E after assembly when station metadata gives their azimuths
 * (rotate-to-zne.ts), else fed as they are. Any other orientation code (U, V, W, hydrophones,
 * pressure) has no component.
 */

const ORIENTATION_TO_COMPONENT: Record<string, string> = { Z: 'Z', N: 'N', '1': 'N', E: 'E', '2': 'E' };

export interface ChannelParts {
  /** Band and instrument (`HH`), or `H_H` for a long miniSEED 3 code. */
  channelPrefix: string;
  /** The orientation code as written (`Z`, `1`). */
  orientation: string;
  /** The model component it feeds (`Z`, `N`, `E`), or undefined when it feeds none. */
  component: string | undefined;
}

export function channelParts(channel: string): ChannelParts {
  const long = channel.includes('_');
  const cut = long ? channel.lastIndexOf('_') : channel.length - 1;
  const channelPrefix = channel.slice(0, cut);
  const orientation = channel.slice(long ? cut + 1 : cut);
  return { channelPrefix, orientation, component: ORIENTATION_TO_COMPONENT[orientation] };
}

/** The station (site and sensor) a channel belongs to. */
export function stationOfStream(id: StreamId): StationId {
  return {
    network: id.network,
    station: id.station,
    location: id.location,
    channelPrefix: channelParts(id.channel).channelPrefix,
  };
}
