import { createReadStream } from 'node:fs';
import { WaveformFormatError } from '../../errors.ts';
import { log } from '../../log.ts';
import { streamKey } from '../stream-id.ts';
import { decodeProbedRecord, probeRecord } from './decode.ts';
import { sampleSlab } from './payload.ts';
import type { MseedRecord, MseedSourceContext } from './record.ts';
import { isWaveformRecord, MseedRecordError } from './record.ts';

/**
 * Reading whole files and streams of miniSEED records.
 *
 * The readers yield one result per waveform record or per bad spot, in file order:
 * `{ record, offset }` for a decoded record, `{ error, offset }` for a record or stretch of bytes that
 * could not be decoded ({@link MseedRecordError}: `problem`, byte `offset`, stream and time when known).
 * They never stop on a bad record: the caller logs the error and goes on. Errors:
 * - bytes that start no record (`garbage`) are skipped up to the next plausible header and reported
 *   once per stretch;
 * - a record that fails to decode is reported once and skipped by its header's length; if another
 *   record starts inside it, it is reported as `truncated` and reading resumes at that record;
 * - a record cut by the end of input is reported as `truncated`.
 * Text records (LOG channels) and records without samples are skipped (debug log).
 * Only a file that cannot be read at all throws (WaveformFormatError).
 */
export type MseedReadResult =
  | { record: MseedRecord; offset: number; error?: undefined }
  | { error: MseedRecordError; offset: number; record?: undefined };

export interface MseedReadOptions {
  /** The file or stream name in error messages. */
  source?: string;
}

/** Chunk size of file reads: a few thousand records, little memory, few system calls. */
const FILE_CHUNK_BYTES = 1 << 20;

/** Samples of a reader's slab (64 KiB): ~20 records of 512-byte Steim2 at 100 Hz. */
const SLAB_SAMPLES = 8192;

/**
 * Splits a byte stream into records. Bytes come in with {@link push}; {@link drain} yields the results
 * of every record that is complete and keeps the rest for the next chunk (all of it when `final`).
 */
class MseedScanner {
  private bytes: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.bytes.buffer);
  private pos = 0;
  /** Stream offset of bytes[0]. */
  private base = 0;
  /** Stream offset where a run of garbage began, until the next header ends it. */
  private garbageFrom: number | undefined;
  /** After an unusable header, the bytes up to the next header belong to it: no garbage report. */
  private skippingBadRecord = false;
  private readonly allocate = sampleSlab(SLAB_SAMPLES);

  constructor(private readonly source: string | undefined) {}

  push(chunk: Uint8Array): void {
    const rest = this.bytes.length - this.pos;
    if (rest === 0) {
      this.bytes = chunk;
    } else {
      const merged = new Uint8Array(rest + chunk.length);
      merged.set(this.bytes.subarray(this.pos));
      merged.set(chunk, rest);
      this.bytes = merged;
    }
    this.base += this.pos;
    this.pos = 0;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  *drain(final: boolean): Generator<MseedReadResult> {
    const { bytes, view } = this;
    while (this.pos < bytes.length) {
      const pos = this.pos;
      const available = bytes.length - pos;
      const probe = probeRecord(bytes, view, pos, available);
      if (probe.kind === 'none') {
        if (!this.skippingBadRecord) this.garbageFrom ??= this.base + pos;
        this.pos++;
        continue;
      }
      if (probe.kind === 'need' && !final) return;
      yield* this.endGarbage(pos);
      this.skippingBadRecord = false;
      if (probe.kind === 'need') {
        const next = this.nextHeader(pos + 1, bytes.length, true);
        const to = next === 'wait' || next < 0 ? bytes.length : next;
        yield this.failure(
          new MseedRecordError(
            'truncated',
            `truncated record: ${to - pos} bytes are too few for its header`,
            this.context(pos),
          ),
        );
        this.pos = to;
        continue;
      }
      if (probe.kind === 'bad') {
        yield this.failure(
          new MseedRecordError('header', probe.detail, { ...this.context(pos), identity: probe.identity }),
        );
        this.skippingBadRecord = true;
        this.pos++;
        continue;
      }
      const { recordLength } = probe;
      if (available < recordLength) {
        if (!final) return;
        yield this.failure(
          new MseedRecordError(
            'truncated',
            `truncated record: the header says ${recordLength} bytes, the input ends after ${available}`,
            { ...this.context(pos), identity: probe.header.identity },
          ),
        );
        this.skippingBadRecord = true;
        this.pos++;
        continue;
      }
      let record: MseedRecord;
      try {
        record = decodeProbedRecord(bytes, view, pos, probe, this.context(pos), this.allocate);
      } catch (error) {
        if (!(error instanceof MseedRecordError)) throw error;
        // A record that fails may be one cut short, with the next record starting inside it.
        const next = this.nextHeader(pos + 1, pos + recordLength, final);
        if (next === 'wait') return;
        if (next < 0) {
          yield this.failure(error);
          this.pos = pos + recordLength;
        } else {
          yield this.failure(
            new MseedRecordError(
              'truncated',
              `truncated record: the header says ${recordLength} bytes, the next record starts after ${next - pos}`,
              { ...this.context(pos), identity: probe.header.identity, cause: error },
            ),
          );
          this.pos = next;
        }
        continue;
      }
      this.pos = pos + recordLength;
      if (isWaveformRecord(record)) {
        yield { record, offset: this.base + pos };
      } else {
        log.debug(
          {
            source: this.source,
            offset: this.base + pos,
            stream: streamKey(record.streamId),
            text: record.text,
          },
          'skipped a miniSEED record without samples',
        );
      }
    }
    if (final) yield* this.endGarbage(this.pos);
  }

  private *endGarbage(pos: number): Generator<MseedReadResult> {
    if (this.garbageFrom === undefined) return;
    const from = this.garbageFrom;
    this.garbageFrom = undefined;
    const length = this.base + pos - from;
    yield this.failure(
      new MseedRecordError('garbage', `${length} bytes that are not miniSEED skipped`, {
        offset: from,
        source: this.source,
      }),
    );
  }

  /**
   * Index of the first record header in `bytes[from, to)`; -1 if none; 'wait' when a candidate needs
   * bytes that have not come yet.
   */
  private nextHeader(from: number, to: number, final: boolean): number | 'wait' {
    for (let i = from; i < to; i++) {
      const probe = probeRecord(this.bytes, this.view, i, this.bytes.length - i);
      if (probe.kind === 'header') return i;
      if (probe.kind === 'need' && !final) return 'wait';
    }
    return -1;
  }

  private context(pos: number): MseedSourceContext {
    return { offset: this.base + pos, source: this.source };
  }

  private failure(error: MseedRecordError): MseedReadResult {
    return { error, offset: error.offset };
  }
}

/** Reads the records of miniSEED bytes held in memory (see {@link MseedReadResult}). */
export function* readMseedBuffer(
  bytes: Uint8Array,
  options: MseedReadOptions = {},
): Generator<MseedReadResult> {
  const scanner = new MseedScanner(options.source);
  scanner.push(bytes);
  yield* scanner.drain(true);
}

/**
 * The results of a stream of miniSEED bytes a chunk at a time: one iterable per chunk, which decodes
 * its records as it is iterated (no more memory than one record) and must be iterated to its end
 * before the next one is asked for (it reads the bytes the next chunk replaces). A consumer that
 * takes records one by one from several files (the archive's merge) then pays for an await per chunk
 * rather than per record: async generators yielding per record cost about 1 µs a record each.
 */
export async function* readMseedStreamChunks(
  chunks: AsyncIterable<Uint8Array>,
  options: MseedReadOptions = {},
): AsyncGenerator<Iterable<MseedReadResult>> {
  const scanner = new MseedScanner(options.source);
  for await (const chunk of chunks) {
    scanner.push(chunk);
    yield scanner.drain(false);
  }
  yield scanner.drain(true);
}

/** Reads the records of a stream of miniSEED bytes, chunk by chunk (see {@link MseedReadResult}). */
export async function* readMseedStream(
  chunks: AsyncIterable<Uint8Array>,
  options: MseedReadOptions = {},
): AsyncGenerator<MseedReadResult> {
  for await (const results of readMseedStreamChunks(chunks, options)) yield* results;
}

async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: FILE_CHUNK_BYTES })) yield chunk;
  } catch (error) {
    throw new WaveformFormatError(`cannot read miniSEED file ${path}: ${(error as Error).message}`, {
      hint: 'check the path and that the file is readable',
      cause: error,
    });
  }
}

/**
 * Reads the records of a miniSEED file (2 or 3, mixed record lengths and streams allowed), streaming:
 * memory stays at one chunk however large the file. See {@link MseedReadResult}.
 */
export function readMseedFile(path: string): AsyncGenerator<MseedReadResult> {
  return readMseedStream(fileChunks(path), { source: path });
}

/** {@link readMseedFile} a chunk at a time (see {@link readMseedStreamChunks}). */
export function readMseedFileChunks(path: string): AsyncGenerator<Iterable<MseedReadResult>> {
  return readMseedStreamChunks(fileChunks(path), { source: path });
}
