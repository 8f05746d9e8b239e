import type { StationCoordinates } from '../ingest/stationxml.ts';
import type { Pick } from '../picker/pick.ts';
import { stationOfStream } from '../stream/component.ts';
import { timeUsFromIndex } from '../stream/grid.ts';
import type { ChannelEvent, StationBlock } from '../stream/types.ts';
import { stationKey } from '../stream/types.ts';

/**
 * What the live page's station list shows, kept as plain data (JSON-safe), updated by steps from what
 * the pipeline sees: assembled blocks, channel events and picks. The clock is the caller's: the wall
 * clock live, the newest data time in a replay (so a replay at any speed shows the states that the
 * same data would have shown live).
 *
 * A step takes the records over, as the stitcher's does: it updates the one station's record in place
 * and returns the same object. A copy of the whole table per block (what these steps did) cost 9 ms
 * a block at 5,000 stations, ~3,700 blocks a second: the live page alone would have needed 30 cores.
 */

export type StationState = 'live' | 'late' | 'gap' | 'down';

export interface StatusThresholds {
  /** Data older than this (behind the clock) makes a station late. */
  lateAfterS: number;
  /** No data for this long makes it down. */
  downAfterS: number;
  /** A gap, or a component missing, shows for this long after it was seen. */
  gapHoldS: number;
}

export const defaultStatusThresholds: StatusThresholds = { lateAfterS: 30, downAfterS: 300, gapHoldS: 60 };

export interface StationRecord {
  key: string;
  network: string;
  station: string;
  location: string;
  channel: string;
  /** End of the newest sample seen (epoch µs). */
  lastDataUs: number;
  samples: number;
  gaps: number;
  /** When a gap or a missing component was last seen (data time, epoch µs); null if never. */
  lastGapUs: number | null;
  lastPick: { phase: string; time: string; probability: number } | null;
}

export interface StationStatus extends StationRecord {
  state: StationState;
  /** Clock minus the end of the newest sample. */
  latencyMs: number;
  /** From the station metadata (`stations.xml`); absent where it does not know the station. */
  coordinates?: StationCoordinates;
}

export type StationRecords = Record<string, StationRecord>;

export function observeBlock(records: StationRecords, block: StationBlock): StationRecords {
  const key = stationKey(block.station);
  const { network, station, location, channelPrefix: channel } = block.station;
  records[key] ??= {
    key,
    network,
    station,
    location,
    channel,
    lastDataUs: 0,
    samples: 0,
    gaps: 0,
    lastGapUs: null,
    lastPick: null,
  };
  const record = records[key];
  const endUs = timeUsFromIndex(block.startIndex + block.length, block.samplingRate);
  record.lastDataUs = Math.max(record.lastDataUs, endUs);
  record.samples += block.length;
  if (block.present.some((present) => !present)) record.lastGapUs = endUs;
  return records;
}

/** Gaps count against the station of the channel; other events change nothing shown. */
export function observeChannelEvent(records: StationRecords, event: ChannelEvent): StationRecords {
  const record = records[stationKey(stationOfStream(event.streamId))];
  if (event.kind === 'gap' && record !== undefined) {
    record.gaps++;
    record.lastGapUs = event.timeUs;
  }
  return records;
}

export function observePick(records: StationRecords, pick: Pick): StationRecords {
  const record = records[`${pick.network}.${pick.station}.${pick.location}.${pick.channel}`];
  // A revision or retraction takes back a provisional pick; the final pick that follows counts.
  if (record !== undefined && pick.status !== 'revised' && pick.status !== 'retracted') {
    record.lastPick = { phase: pick.phase, time: pick.time, probability: pick.probability };
  }
  return records;
}

export function stationStatus(
  record: StationRecord,
  clockUs: number,
  thresholds: StatusThresholds = defaultStatusThresholds,
): StationStatus {
  const latencyUs = Math.max(0, clockUs - record.lastDataUs);
  const state: StationState =
    latencyUs >= thresholds.downAfterS * 1e6
      ? 'down'
      : latencyUs >= thresholds.lateAfterS * 1e6
        ? 'late'
        : record.lastGapUs !== null && clockUs - record.lastGapUs < thresholds.gapHoldS * 1e6
          ? 'gap'
          : 'live';
  return { ...record, state, latencyMs: Math.round(latencyUs / 1000) };
}
