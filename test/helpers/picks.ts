import { isoFromEpochUs } from '../../src/ingest/mseed/time.ts';
import { type Pick, pickId } from '../../src/picker/pick.ts';

/**
 * `count` distinct picks spread over networks XX and YY, stations S00..S(stations-1), phases P and S,
 * probabilities 0.30..0.99, one every 0.37 s from 2024-01-01: varied enough for filters to differ.
 */
export function testPicks(count: number, stations = 10): Pick[] {
  const startUs = Date.UTC(2024, 0, 1) * 1000;
  return Array.from({ length: count }, (_, i) => {
    const timeUs = startUs + i * 370_000;
    const station = {
      network: i % 3 === 0 ? 'YY' : 'XX',
      station: `S${String(i % stations).padStart(2, '0')}`,
      location: '00',
      channel: 'HH',
    };
    const phase = i % 2 === 0 ? 'P' : 'S';
    return {
      ...station,
      phase,
      time: isoFromEpochUs(timeUs),
      timeUs,
      probability: Math.round((0.3 + ((i * 7919) % 70) / 100) * 1e4) / 1e4,
      model: 'test-model',
      status: 'final' as const,
      id: pickId(station, phase, timeUs, 'test-model'),
    };
  });
}

/** The identity of a pick as InfluxDB keys it: series and time. */
export const pickKey = (p: {
  network: string;
  station: string;
  location: string;
  phase: string;
  timeUs: number;
}) => `${p.network}.${p.station}.${p.location}.${p.phase}@${p.timeUs}`;
