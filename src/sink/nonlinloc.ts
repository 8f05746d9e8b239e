import { isoFromEpochUs } from '../ingest/mseed/time.ts';
import type { Pick } from '../picker/pick.ts';

/**
 * Picks in NonLinLoc's phase format (NLLOC_OBS), one a line, which NonLinLoc and other locators
 * read: station, instrument, component, onset, phase, first motion, date, hour and minute, seconds,
 * error type and size, coda duration, amplitude, period, prior weight. A retracted (or revised) pick is left
 * out. The component is `?` (PhaseNet picks from all components at once).
 */

const FIRST_MOTION: Record<string, string> = { positive: 'U', negative: 'D', undecidable: '?' };

/** When a pick has no uncertainty of its own: the grid step of 100 Hz data would be too sure. */
const DEFAULT_ERROR_S = 0.05;

const exp = (x: number) => x.toExponential(2).replace(/e([+-])(\d)$/, 'e$10$2');

export function nonLinLocLine(pick: Pick): string {
  const iso = isoFromEpochUs(pick.timeUs);
  const date = iso.slice(0, 10).replaceAll('-', '');
  const hourMin = iso.slice(11, 13) + iso.slice(14, 16);
  const seconds = (pick.timeUs % 60_000_000) / 1e6;
  return [
    pick.station.padEnd(6),
    '?'.padEnd(4),
    '?'.padEnd(4),
    '?',
    pick.phase.padEnd(6),
    FIRST_MOTION[pick.polarity ?? 'undecidable'],
    date,
    hourMin,
    seconds.toFixed(4).padStart(7),
    'GAU',
    exp(pick.uncertaintyS ?? DEFAULT_ERROR_S),
    exp(-1),
    exp(-1),
    exp(-1),
    exp(1),
  ].join(' ');
}

export function nonLinLocDocument(picks: Pick[]): string {
  return picks
    .filter((p) => p.status !== 'retracted' && p.status !== 'revised')
    .map((p) => `${nonLinLocLine(p)}\n`)
    .join('');
}
