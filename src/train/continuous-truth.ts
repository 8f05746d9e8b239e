import { readFileSync } from 'node:fs';
import { WaveformFormatError } from '../errors.ts';
import type { TimedPhase } from './metrics.ts';

/**
 * The known arrivals of a continuous record for evaluation: a picks CSV with at least the columns
 * `phase` and `time` (ISO 8601), as ../shared/data/continuous-dev/picks.csv, with `network` and
 * `station` where several stations share the file (examples/synthetic/picks.csv), and optionally a
 * manifest of real but unlabelled transients whose unmatched picks are not counted as false.
 */
export function readArrivalsCsv(path: string): TimedPhase[] {
  const [header, ...rows] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const columns = header.split(',');
  const phaseAt = columns.indexOf('phase');
  const timeAt = columns.indexOf('time');
  const networkAt = columns.indexOf('network');
  const stationAt = columns.indexOf('station');
  if (phaseAt < 0 || timeAt < 0) {
    throw new WaveformFormatError(`${path} has no 'phase' and 'time' columns (header: ${header})`, {
      hint: 'a picks CSV needs a header with phase,time (time as ISO 8601)',
    });
  }
  const statusAt = columns.indexOf('status');
  // A live run's pick file holds each pick's whole life: only final picks count.
  const kept = rows.filter((row) => statusAt < 0 || row.split(',')[statusAt] === 'final');
  return kept.map((row, i) => {
    const cells = row.split(',');
    const timeUs = isoToEpochUs(cells[timeAt]);
    if (!Number.isFinite(timeUs))
      throw new WaveformFormatError(`${path} line ${i + 2}: bad time '${cells[timeAt]}'`);
    const station = networkAt >= 0 && stationAt >= 0 ? `${cells[networkAt]}.${cells[stationAt]}` : undefined;
    return { phase: cells[phaseAt], timeUs, ...(station && { station }) };
  });
}

/** ISO 8601 to epoch microseconds, keeping fractional seconds to the microsecond. */
export function isoToEpochUs(iso: string): number {
  const match = iso.match(/^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/);
  if (!match) return Number.NaN;
  const seconds = Date.parse(`${match[1]}${match[3] ?? 'Z'}`);
  const fraction = Number(`0.${match[2] ?? '0'}`);
  return seconds * 1000 + Math.round(fraction * 1e6);
}

/**
 * How the manifest's transients exclude picks. `strict` (the default): only where the real background is
 * still there, i.e. not inside an embedded event window, where the background was replaced by the
 * event record (a pick there is the picker's own doing, and counts). `lenient`: the intervals as listed.
 */
export type ExclusionMode = 'strict' | 'lenient';

/**
 * The transients of a continuous-dev style manifest (`background_unlabelled_transients_s`: per
 * component, [start, end] seconds after `start`) as exclusion intervals in epoch microseconds; in
 * `strict` mode minus the `embeds` windows (`start_sample`, `end_sample` at `sampling_rate`).
 */
export function readTransientExclusions(path: string, mode: ExclusionMode = 'strict'): [number, number][] {
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  const startUs = isoToEpochUs(manifest.start);
  const byComponent: Record<string, [number, number][]> = manifest.background_unlabelled_transients_s ?? {};
  const listed = Object.values(byComponent)
    .flat()
    .map(([a, b]) => [startUs + Math.round(a * 1e6), startUs + Math.round(b * 1e6)] as [number, number]);
  const rate: number = manifest.sampling_rate ?? 100;
  const embeds: { start_sample: number; end_sample: number }[] = manifest.embeds ?? [];
  const replaced = embeds.map(
    (e) =>
      [
        startUs + Math.round((e.start_sample * 1e6) / rate),
        startUs + Math.round((e.end_sample * 1e6) / rate),
      ] as [number, number],
  );
  return (
    mode === 'strict' ? listed.flatMap((interval) => subtractIntervals(interval, replaced)) : listed
  ).sort((x, y) => x[0] - y[0]);
}

/** The parts of `[start, end]` outside every interval of `holes` (each `[from, to)`). */
export function subtractIntervals(
  [start, end]: [number, number],
  holes: readonly (readonly [number, number])[],
): [number, number][] {
  let parts: [number, number][] = [[start, end]];
  for (const [from, to] of holes) {
    parts = parts.flatMap(([a, b]): [number, number][] => {
      if (to <= a || from > b) return [[a, b]];
      return [
        ...(from > a ? [[a, from - 1] as [number, number]] : []),
        ...(to <= b ? [[to, b] as [number, number]] : []),
      ];
    });
  }
  return parts;
}
