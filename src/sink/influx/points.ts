import type { IPoint } from 'influx';
import type { Pick } from '../../picker/pick.ts';

/** The measurement picks are written to, and the station-health measurement. */
export const PICK_MEASUREMENT = 'picks';
export const HEALTH_MEASUREMENT = 'station_health';

/** Epoch microseconds as InfluxDB's nanosecond timestamp (a string: ns overflow a double's integers). */
export const nsFromUs = (us: number) => `${Math.round(us)}000`;

/**
 * A pick as an InfluxDB point. The series key (measurement, the tags network, station, location,
 * phase and model) and the timestamp (the pick time in ns) identify the pick, so writing it again
 * overwrites the same point: deliveries repeated after a crash or a retry never double a pick, and
 * two models' picks at the same time are two points.
 *
 * The pick's life (src/picker/lifecycle.ts) overwrites that point too: `status` is a field, so the
 * final pick that confirms a provisional one (same time, same id) replaces it, and a provisional pick
 * that was revised or retracted stays, marked so (`final_id` names the pick that replaced a revised
 * one). InfluxDB keeps the fields a later write of the point leaves out: `first_latency_ms`, written
 * with the provisional pick only, tells how soon a confirmed pick was first known.
 */
export function pickPoint(pick: Pick, latencyMs?: number): IPoint {
  const fields: Record<string, number | string> = {
    probability: pick.probability,
    channel: pick.channel,
    status: pick.status,
    id: pick.id,
  };
  if (pick.finalId !== undefined) fields.final_id = pick.finalId;
  const changesOnly = pick.status === 'revised' || pick.status === 'retracted';
  if (latencyMs !== undefined && !changesOnly) fields.latency_ms = latencyMs;
  if (latencyMs !== undefined && pick.status === 'provisional') fields.first_latency_ms = latencyMs;
  if (pick.uncertaintyS !== undefined) fields.uncertainty_s = pick.uncertaintyS;
  if (pick.polarity !== undefined) fields.polarity = pick.polarity;
  if (pick.latitude !== undefined && pick.longitude !== undefined) {
    fields.latitude = pick.latitude;
    fields.longitude = pick.longitude;
    fields.elevation_m = pick.elevationM ?? 0;
  }
  return {
    measurement: PICK_MEASUREMENT,
    tags: {
      network: pick.network,
      station: pick.station,
      location: pick.location,
      phase: pick.phase,
      model: pick.model,
    },
    fields,
    timestamp: nsFromUs(pick.timeUs),
  };
}

/** What a station received over one health interval. */
export interface StationHealthSample {
  network: string;
  station: string;
  location: string;
  /** The end of the interval (epoch µs, wall clock). */
  timeUs: number;
  records: number;
  samples: number;
  gaps: number;
  /** Wall clock minus the end time of the newest sample received, at the end of the interval. */
  latencyMs?: number;
}

export function healthPoint(sample: StationHealthSample): IPoint {
  const fields: Record<string, number> = {
    records: sample.records,
    samples: sample.samples,
    gaps: sample.gaps,
  };
  if (sample.latencyMs !== undefined) fields.latency_ms = sample.latencyMs;
  return {
    measurement: HEALTH_MEASUREMENT,
    tags: { network: sample.network, station: sample.station, location: sample.location },
    fields,
    timestamp: nsFromUs(sample.timeUs),
  };
}
