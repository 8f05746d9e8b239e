import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { type Pick, type PickStatus, pickId } from '../picker/pick.ts';
import { isoToEpochUs } from '../train/continuous-truth.ts';

/**
 * A pick file written by PhaseStream (JSON lines or CSV with a header) back into picks, for export
 * to other formats. Files from before picks had an id or a status get them (`final`).
 */
export function readPicks(path: string): Pick[] {
  const text = readFileSync(path, 'utf8').trim();
  if (text === '') return [];
  const rows = text.startsWith('{') ? jsonRows(text, path) : csvRows(text, path);
  return rows.map((row, i) => pickFromRow(row, `${path}:${i + (text.startsWith('{') ? 1 : 2)}`));
}

function jsonRows(text: string, path: string): Record<string, unknown>[] {
  return text.split('\n').map((line, i) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new UsageError(`${path}:${i + 1} is not a JSON pick`, {
        hint: 'give a pick file of replay or run',
      });
    }
  });
}

/** CSV as pick files write it: quoted cells only where a value holds a comma, quote or newline. */
function csvRows(text: string, path: string): Record<string, string>[] {
  const lines = text.split('\n');
  const header = splitCsvLine(lines[0]);
  if (!header.includes('time') || !header.includes('phase')) {
    throw new UsageError(`${path} is neither JSON lines nor a CSV of picks (no time and phase columns)`);
  }
  return lines.slice(1).map((line) => {
    const cells = splitCsvLine(line);
    return Object.fromEntries(header.map((name, k) => [name, cells[k] ?? '']));
  });
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

const STATUSES: PickStatus[] = ['provisional', 'final', 'retracted'];
const POLARITIES = ['positive', 'negative', 'undecidable'] as const;

function pickFromRow(row: Record<string, unknown>, where: string): Pick {
  const text = (key: string) => (row[key] === undefined || row[key] === null ? '' : String(row[key]));
  const timeUs = isoToEpochUs(text('time'));
  if (!Number.isFinite(timeUs) || text('phase') === '' || text('station') === '') {
    throw new UsageError(`${where}: a pick needs station, phase and an ISO 8601 time`, {
      hint: 'give a pick file of replay or run (JSON lines or CSV)',
    });
  }
  const ids = {
    network: text('network'),
    station: text('station'),
    location: text('location'),
    channel: text('channel'),
  };
  const model = text('model');
  const status = text('status') as PickStatus;
  const polarity = text('polarity') as Pick['polarity'] & string;
  const uncertainty = Number(text('uncertaintyS') || Number.NaN);
  return {
    ...ids,
    phase: text('phase'),
    time: text('time'),
    timeUs,
    probability: Number(text('probability')),
    model,
    status: STATUSES.includes(status) ? status : 'final',
    id: text('id') || pickId(ids, text('phase'), timeUs, model),
    ...(Number.isFinite(uncertainty) && { uncertaintyS: uncertainty }),
    ...(POLARITIES.includes(polarity) && { polarity }),
  };
}
