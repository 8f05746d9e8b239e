import { once } from 'node:events';
import {
  closeSync,
  createWriteStream,
  existsSync,
  openSync,
  readFileSync,
  truncateSync,
  type WriteStream,
  writeSync,
} from 'node:fs';
import type { Pick } from '../picker/pick.ts';

/** The columns of a pick line, in order (CSV header; JSON lines carry the same keys). */
export const PICK_COLUMNS = [
  'network',
  'station',
  'location',
  'channel',
  'phase',
  'time',
  'probability',
  'model',
  'uncertaintyS',
  'polarity',
  'status',
  'id',
  // Only on a `revised` pick: the final pick that replaced it (src/picker/lifecycle.ts).
  'finalId',
] as const;

export type PickFormat = 'jsonl' | 'csv';

export function formatPick(pick: Omit<Pick, 'timeUs'>, format: PickFormat): string {
  if (format === 'jsonl') {
    return `${JSON.stringify(Object.fromEntries(PICK_COLUMNS.map((c) => [c, pick[c]])))}\n`;
  }
  return `${PICK_COLUMNS.map((c) => csvCell(String(pick[c] ?? ''))).join(',')}\n`;
}

function csvCell(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Picks to a file (or standard output with `-`), one a line, in arrival order.
 *
 * With `append` (live picking) the file is continued, not emptied: the (id, status) pairs it already holds
 * are read first and a pick with one of them is not written again, so a run restarted after a crash, which
 * derives again the picks of the data it had not finished, writes each pick once. A line cut short by
 * the crash is dropped. Each pick is written with one synchronous write, so a pick that `write`
 * accepted survives the process being killed the next moment (the resume point depends on it).
 * Without `append` (replay) the file starts empty and writes go through a buffered stream, whose
 * buffer, when full, slows the writer and loses nothing.
 */
export class PickFile {
  private readonly out: WriteStream | NodeJS.WriteStream | undefined;
  private readonly fd: number | undefined;
  private readonly ids = new Set<string>();
  private count = 0;
  private skippedCount = 0;

  constructor(
    private readonly path: string,
    private readonly format: PickFormat,
    options: { append?: boolean } = {},
  ) {
    if (options.append && path !== '-') {
      const kept = this.readExisting();
      this.fd = openSync(path, 'a');
      if (format === 'csv' && kept === 0) writeSync(this.fd, `${PICK_COLUMNS.join(',')}\n`);
      return;
    }
    this.out = path === '-' ? process.stdout : createWriteStream(path);
    if (format === 'csv') this.out.write(`${PICK_COLUMNS.join(',')}\n`);
  }

  /** Picks written by this process. */
  get written(): number {
    return this.count;
  }

  /** Picks not written because the file already held their id. */
  get skipped(): number {
    return this.skippedCount;
  }

  async write(pick: Pick): Promise<void> {
    if (this.fd !== undefined) {
      const key = lineKey(pick.id, pick.status);
      if (this.ids.has(key)) {
        this.skippedCount++;
        return;
      }
      this.ids.add(key);
      this.count++;
      writeSync(this.fd, formatPick(pick, this.format));
      return;
    }
    this.count++;
    if (!this.out!.write(formatPick(pick, this.format))) await once(this.out!, 'drain');
  }

  async close(): Promise<void> {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      return;
    }
    if (this.path === '-') return;
    const out = this.out as WriteStream;
    out.end();
    await once(out, 'finish');
  }

  /** Reads the ids of an existing file, cutting a last line that a crash left unfinished; returns its lines. */
  private readExisting(): number {
    if (!existsSync(this.path)) return 0;
    const text = readFileSync(this.path, 'utf8');
    const complete = text.lastIndexOf('\n') + 1;
    if (complete < text.length) truncateSync(this.path, Buffer.byteLength(text.slice(0, complete)));
    const lines = text.slice(0, complete).split('\n').filter(Boolean);
    for (const line of lines) {
      const { id, status } =
        this.format === 'jsonl'
          ? (JSON.parse(line) as { id?: string; status?: string })
          : csvIdAndStatus(line);
      if (id !== undefined && id !== 'id') this.ids.add(lineKey(id, status));
    }
    return lines.length;
  }
}

/**
 * A line is one step of a pick's life: a provisional pick and the final pick that confirms it share
 * an id, so what the file already holds is keyed by id and status.
 */
const lineKey = (id: string, status: string | undefined) => `${status ?? 'final'} ${id}`;

/** The id and status of a CSV line of PICK_COLUMNS, counted from the end: only earlier cells can be quoted. */
function csvIdAndStatus(line: string): { id?: string; status?: string } {
  const cells = line.split(',');
  const fromEnd = (column: (typeof PICK_COLUMNS)[number]) =>
    cells[cells.length - (PICK_COLUMNS.length - PICK_COLUMNS.indexOf(column))];
  return { id: fromEnd('id'), status: fromEnd('status') };
}
