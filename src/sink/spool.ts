import {
  closeSync,
  existsSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { PhaseStreamError } from '../errors.ts';

/** Where delivery stands: the next unread byte of a segment. */
export interface SpoolCursor {
  segment: number;
  offset: number;
}

export interface SpoolOptions {
  dir: string;
  /** The spool's bound: lines that would take it past this many undelivered bytes are refused. */
  maxBytes: number;
  /** A segment is closed and a new one begun past this size; delivered segments are deleted. */
  segmentBytes?: number;
}

/** A spool directory that cannot be used (not writable, or its cursor is damaged). */
export class SpoolError extends PhaseStreamError {}

const SEGMENT = /^(\d{16})\.log$/;
const CURSOR = 'cursor.json';
const segmentName = (n: number) => `${String(n).padStart(16, '0')}.log`;

/**
 * A durable, bounded FIFO of text lines on disk: append-only segment files and a cursor saved
 * atomically (write, then rename) after each delivery. An appended line is in the kernel before
 * `append` returns, so a crash of the process loses nothing; `sync` makes it survive power loss.
 * A line cut short by a crash (no newline) is dropped when the spool reopens. Delivery is
 * at-least-once: lines read but not yet committed when the process dies are read again.
 *
 * Hand-written because no npm package offers a crash-safe file queue with a byte bound that is
 * kept up (the few that exist are unmaintained or keep everything in memory).
 */
export class DurableSpool {
  private readonly segmentBytes: number;
  private cursor: SpoolCursor;
  /** Segments on disk, oldest first, with their sizes. */
  private readonly segments: { n: number; size: number }[];
  private fd: number;
  private lines: number;

  private constructor(
    private readonly options: SpoolOptions,
    segments: { n: number; size: number }[],
    cursor: SpoolCursor,
  ) {
    this.segmentBytes = options.segmentBytes ?? Math.min(4 << 20, Math.max(4096, options.maxBytes / 4));
    this.segments = segments;
    this.cursor = cursor;
    const last = segments[segments.length - 1];
    this.fd = openSync(join(options.dir, segmentName(last.n)), 'a');
    this.lines = this.countBacklogLines();
  }

  static open(options: SpoolOptions): DurableSpool {
    try {
      mkdirSync(options.dir, { recursive: true });
    } catch (error) {
      throw new SpoolError(`cannot create the spool directory ${options.dir}`, {
        hint: 'give a writable directory (key sinks.influx.spool.dir)',
        cause: error,
      });
    }
    const segments = readdirSync(options.dir)
      .map((name) => SEGMENT.exec(name))
      .filter((m) => m !== null)
      .map((m) => ({ n: Number(m[1]), size: statSync(join(options.dir, m[0])).size }))
      .sort((a, b) => a.n - b.n);
    const cursorPath = join(options.dir, CURSOR);
    let cursor: SpoolCursor = { segment: segments[0]?.n ?? 0, offset: 0 };
    if (existsSync(cursorPath)) {
      try {
        cursor = JSON.parse(readFileSync(cursorPath, 'utf8'));
      } catch (error) {
        throw new SpoolError(`the spool cursor ${cursorPath} is damaged`, {
          hint: 'the cursor is written atomically, so something else changed it; remove it to deliver the whole spool again (points are idempotent)',
          cause: error,
        });
      }
    }
    // Segments before the cursor were delivered (the process died before deleting them).
    for (const s of segments.filter((s) => s.n < cursor.segment)) {
      rmSync(join(options.dir, segmentName(s.n)));
    }
    const kept = segments.filter((s) => s.n >= cursor.segment);
    if (kept.length === 0) {
      writeFileSync(join(options.dir, segmentName(cursor.segment)), '');
      kept.push({ n: cursor.segment, size: 0 });
    }
    if (kept[0].n > cursor.segment) cursor = { segment: kept[0].n, offset: 0 };
    // A crash during a write can leave a line without its newline at the end of the last segment.
    const last = kept[kept.length - 1];
    const path = join(options.dir, segmentName(last.n));
    const complete = lastNewline(path, last.size);
    if (complete < last.size) {
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, complete);
      closeSync(fd);
      last.size = complete;
    }
    return new DurableSpool(options, kept, cursor);
  }

  /** Undelivered bytes. */
  get backlogBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0) - this.cursor.offset;
  }

  /** Undelivered lines. */
  get backlogLines(): number {
    return this.lines;
  }

  /** Appends whole lines (without newlines); false, and nothing written, when they do not fit the bound. */
  append(lines: string[]): boolean {
    const data = Buffer.from(lines.map((l) => `${l}\n`).join(''));
    if (this.backlogBytes + data.length > this.options.maxBytes) return false;
    let last = this.segments[this.segments.length - 1];
    if (last.size > 0 && last.size + data.length > this.segmentBytes) {
      closeSync(this.fd);
      last = { n: last.n + 1, size: 0 };
      this.segments.push(last);
      this.fd = openSync(join(this.options.dir, segmentName(last.n)), 'a');
    }
    let written = 0;
    while (written < data.length) written += writeSync(this.fd, data, written);
    last.size += data.length;
    this.lines += lines.length;
    return true;
  }

  /** Flushes appended lines to the disk itself. */
  sync(): void {
    fdatasyncSync(this.fd);
  }

  /** Up to `maxLines` undelivered lines, oldest first, and the cursor that commits them. */
  read(maxLines: number, maxBytes = 4 << 20): { lines: string[]; next: SpoolCursor } {
    let { segment, offset } = this.cursor;
    let index = this.segments.findIndex((s) => s.n === segment);
    // A segment read to its end gives way to the next one.
    while (index < this.segments.length - 1 && offset >= this.segments[index].size) {
      index++;
      segment = this.segments[index].n;
      offset = 0;
    }
    const size = this.segments[index].size;
    const length = Math.min(size - offset, maxBytes);
    if (length <= 0) return { lines: [], next: { segment, offset } };
    const buffer = Buffer.alloc(length);
    const fd = openSync(join(this.options.dir, segmentName(segment)), 'r');
    try {
      readSync(fd, buffer, 0, length, offset);
    } finally {
      closeSync(fd);
    }
    const lines: string[] = [];
    let start = 0;
    while (lines.length < maxLines) {
      const end = buffer.indexOf(10, start);
      if (end < 0) break;
      lines.push(buffer.toString('utf8', start, end));
      start = end + 1;
    }
    return { lines, next: { segment, offset: offset + start } };
  }

  /** Marks everything before `next` as delivered: saves the cursor and deletes spent segments. */
  commit(next: SpoolCursor, lines: number): void {
    const path = join(this.options.dir, CURSOR);
    writeFileSync(`${path}.tmp`, JSON.stringify(next));
    renameSync(`${path}.tmp`, path);
    this.cursor = next;
    this.lines -= lines;
    while (this.segments.length > 1 && this.segments[0].n < next.segment) {
      rmSync(join(this.options.dir, segmentName(this.segments[0].n)));
      this.segments.shift();
    }
  }

  close(): void {
    fdatasyncSync(this.fd);
    closeSync(this.fd);
  }

  private countBacklogLines(): number {
    let count = 0;
    for (const s of this.segments) {
      const data = readFileSync(join(this.options.dir, segmentName(s.n)));
      const from = s.n === this.cursor.segment ? this.cursor.offset : 0;
      for (let i = data.indexOf(10, from); i >= 0; i = data.indexOf(10, i + 1)) count++;
    }
    return count;
  }
}

/** The size of the file up to and including its last newline. */
function lastNewline(path: string, size: number): number {
  if (size === 0) return 0;
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(Math.min(size, 64 << 10));
    for (let end = size; end > 0; end -= chunk.length) {
      const start = Math.max(0, end - chunk.length);
      readSync(fd, chunk, 0, end - start, start);
      const i = chunk.subarray(0, end - start).lastIndexOf(10);
      if (i >= 0) return start + i + 1;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}
