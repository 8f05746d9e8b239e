import { writeFile } from 'node:fs/promises';
import type { Pick } from '../picker/pick.ts';
import { nonLinLocDocument } from './nonlinloc.ts';
import { PickFile, type PickFormat } from './pick-file.ts';
import { quakeMlDocument } from './quakeml.ts';

/** Where a replay or a run writes its picks: a line-per-pick file or a whole document. */
export interface PickWriter {
  /** Picks handed to the writer so far. */
  readonly written: number;
  write(pick: Pick): Promise<void>;
  close(): Promise<void>;
}

/**
 * Picks written as one document when the writer closes (QuakeML, NonLinLoc): such a document is
 * valid only when whole, and a pick that comes again under the same id (provisional, then final or
 * retracted) must appear once, in its last state. Picks are small, so a replay's picks fit in memory.
 */
export class PickDocumentFile implements PickWriter {
  private readonly picks = new Map<string, Pick>();
  private count = 0;

  constructor(
    private readonly path: string,
    private readonly render: (picks: Pick[]) => string,
  ) {}

  get written(): number {
    return this.count;
  }

  async write(pick: Pick): Promise<void> {
    this.count++;
    this.picks.delete(pick.id);
    this.picks.set(pick.id, pick);
  }

  async close(): Promise<void> {
    const picks = [...this.picks.values()].sort((a, b) => a.timeUs - b.timeUs || a.id.localeCompare(b.id));
    const text = this.render(picks);
    if (this.path === '-') {
      if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
    } else {
      await writeFile(this.path, text);
    }
  }
}

export type PickOutputFormat = PickFormat | 'quakeml' | 'nonlinloc';

/** The writer of a format: line formats stream, document formats are written whole on close. */
export function openPickWriter(path: string, format: PickOutputFormat): PickWriter {
  if (format === 'quakeml') return new PickDocumentFile(path, quakeMlDocument);
  if (format === 'nonlinloc') return new PickDocumentFile(path, nonLinLocDocument);
  return new PickFile(path, format);
}
