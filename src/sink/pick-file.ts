import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
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
 * Picks to a file (or standard output with `-`), one a line, in arrival order. Writes are awaited
 * when the stream's buffer is full, so a slow disk slows the writer and loses nothing.
 */
export class PickFile {
  private readonly out: WriteStream | NodeJS.WriteStream;
  private count = 0;

  constructor(
    private readonly path: string,
    private readonly format: PickFormat,
  ) {
    this.out = path === '-' ? process.stdout : createWriteStream(path);
    if (format === 'csv') this.out.write(`${PICK_COLUMNS.join(',')}\n`);
  }

  get written(): number {
    return this.count;
  }

  async write(pick: Pick): Promise<void> {
    this.count++;
    if (!this.out.write(formatPick(pick, this.format))) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    if (this.path === '-') return;
    const out = this.out as WriteStream;
    out.end();
    await once(out, 'finish');
  }
}
