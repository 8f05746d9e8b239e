import { UsageError } from '../errors.ts';

/**
 * The SEED name of one waveform channel. Codes are stored trimmed: an empty location is `''`
 * (miniSEED 2 writes it as two spaces). A miniSEED 3 channel whose band, source and subsource are
 * single characters is stored as the familiar three letters (`HHZ`); longer ones keep their
 * underscores (`H_H_ZZ`), so that the FDSN source identifier can be rebuilt exactly.
 */
export interface StreamId {
  readonly network: string;
  readonly station: string;
  readonly location: string;
  readonly channel: string;
}

const FDSN_PREFIX = 'FDSN:';

/** The canonical key `NET.STA.LOC.CHA` (`IU.COLA.00.LHZ`, `BW.KW1..EHZ`): map keys, logs, file names. */
export function streamKey(id: StreamId): string {
  return `${id.network}.${id.station}.${id.location}.${id.channel}`;
}

/** Parses `NET.STA.LOC.CHA` (location may be empty: `BW.KW1..EHZ`). */
export function parseStreamKey(key: string): StreamId {
  const parts = key.split('.');
  if (parts.length !== 4 || parts[0] === '' || parts[1] === '' || parts[3] === '') {
    throw new UsageError(`'${key}' is not a stream id`, {
      hint: 'write a stream as NET.STA.LOC.CHA, e.g. IU.COLA.00.LHZ or BW.KW1..EHZ (empty location)',
    });
  }
  const [network, station, location, channel] = parts;
  return { network, station, location, channel };
}

/** The FDSN source identifier of miniSEED 3: `FDSN:NET_STA_LOC_B_S_S`. */
export function toFdsnSourceId(id: StreamId): string {
  const channel =
    id.channel.length === 3 && !id.channel.includes('_') ? id.channel.split('').join('_') : id.channel;
  return `${FDSN_PREFIX}${id.network}_${id.station}_${id.location}_${channel}`;
}

/**
 * Parses an FDSN source identifier `FDSN:NET_STA_LOC_BAND_SOURCE_SUBSOURCE`. Network, station and
 * location hold no underscores (FDSN rule), so the first three fields are theirs and the rest is the
 * channel. Returns undefined when `sid` is not of that form.
 */
export function parseFdsnSourceId(sid: string): StreamId | undefined {
  if (!sid.startsWith(FDSN_PREFIX)) return undefined;
  const parts = sid.slice(FDSN_PREFIX.length).split('_');
  if (parts.length !== 6 || parts[0] === '' || parts[1] === '') return undefined;
  const [network, station, location, band, source, subsource] = parts;
  const channel =
    band.length === 1 && source.length === 1 && subsource.length === 1
      ? band + source + subsource
      : `${band}_${source}_${subsource}`;
  return { network, station, location, channel };
}
