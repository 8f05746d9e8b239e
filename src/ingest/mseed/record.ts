import { WaveformFormatError } from '../../errors.ts';
import type { StreamId } from '../stream-id.ts';
import { streamKey } from '../stream-id.ts';
import { isoFromEpochUs } from './time.ts';

/** SEED data encodings (blockette 1000 of miniSEED 2, field 8 of miniSEED 3) that PhaseStream handles. */
export const MseedEncoding = {
  text: 0,
  int16: 1,
  int32: 3,
  float32: 4,
  float64: 5,
  steim1: 10,
  steim2: 11,
} as const;

export type MseedEncodingName = keyof typeof MseedEncoding;
export type MseedEncodingCode = (typeof MseedEncoding)[MseedEncodingName];

/**
 * Samples of every encoding decode to a Float64Array (exact for int16, int32, Steim and float32):
 * float64 is what the stream operators work in, so a record's array goes on as the sequencer's chunk
 * without a copy. {@link MseedRecord.encoding} tells integer counts from floats.
 */
export type MseedSamples = Float64Array;

/**
 * One decoded miniSEED record (format 2 or 3). Times are integer microseconds since the epoch;
 * miniSEED 3 nanoseconds are rounded to the nearest microsecond.
 *
 * A waveform record has `samplingRate > 0` and `sampleCount > 0` (see {@link isWaveformRecord}). A text
 * record (encoding 0, e.g. a LOG channel) has `text`, no samples and `sampleCount` 0; the file reader
 * skips those and records without samples.
 */
export interface MseedRecord {
  readonly streamId: StreamId;
  /** Time of the first sample, epoch microseconds, with any unapplied miniSEED 2 time correction applied. */
  readonly startTimeUs: number;
  /** Samples per second (Hz). */
  readonly samplingRate: number;
  /** Number of samples, equal to the header's count (the decoder checks it). */
  readonly sampleCount: number;
  readonly samples: MseedSamples;
  /** The encoding code of the payload ({@link MseedEncoding}). */
  readonly encoding: number;
  readonly formatVersion: 2 | 3;
  /** Bytes the record takes in its file or stream. */
  readonly recordLength: number;
  /** miniSEED 2: the six-character sequence number of the fixed header. */
  readonly sequenceNumber?: string;
  /** miniSEED 2: the quality indicator `D`, `R`, `Q` or `M`. */
  readonly dataQuality?: string;
  /** miniSEED 3: the data publication version. */
  readonly publicationVersion?: number;
  /** Timing quality 0 to 100 (miniSEED 2 blockette 1001, miniSEED 3 extra header FDSN.Time.Quality). */
  readonly timingQuality?: number;
  /** miniSEED 3: the extra headers, JSON text as stored. */
  readonly extraHeaders?: string;
  /** Text records (encoding 0): the payload as text. */
  readonly text?: string;
}

/** Epoch microseconds of sample `index` of a series starting at `startTimeUs`. */
export function sampleTimeUs(startTimeUs: number, samplingRate: number, index: number): number {
  return startTimeUs + Math.round((index * 1_000_000) / samplingRate);
}

/** Epoch microseconds of the last sample of `record` (its start when it has no samples). */
export function endTimeUs(record: MseedRecord): number {
  if (record.sampleCount === 0) return record.startTimeUs;
  return sampleTimeUs(record.startTimeUs, record.samplingRate, record.sampleCount - 1);
}

/** True for records that carry waveform samples (not text, not empty). */
export function isWaveformRecord(record: MseedRecord): boolean {
  return record.sampleCount > 0 && record.samplingRate > 0;
}

/**
 * What was wrong with a record or a stretch of bytes:
 * - `garbage`: bytes that do not start a record (skipped up to the next plausible header);
 * - `truncated`: a record shorter than its header says (cut file, or the next record starts inside it);
 * - `header`: a header that cannot be used (no blockette 1000, zero sampling rate, bad identifier);
 * - `unknown-encoding`: an encoding PhaseStream does not decode;
 * - `steim-frame`: Steim frames that fail their integrity checks (invalid nibble code, last sample
 *   not equal to the reverse integration constant Xn);
 * - `sample-count`: the payload decodes to a number of samples other than the header's count;
 * - `crc`: a miniSEED 3 record whose CRC-32C does not match.
 */
export type MseedProblem =
  | 'garbage'
  | 'truncated'
  | 'header'
  | 'unknown-encoding'
  | 'steim-frame'
  | 'sample-count'
  | 'crc';

/**
 * A payload that does not decode, raised by the sample decoders (which know nothing of the record) and
 * turned into a {@link MseedRecordError} with the record's identity by the record decoders.
 */
export class PayloadProblem extends Error {
  readonly problem: 'unknown-encoding' | 'steim-frame' | 'sample-count';

  constructor(problem: PayloadProblem['problem'], detail: string) {
    super(detail);
    this.problem = problem;
  }
}

/** Where a record came from, for messages: the byte offset of its first byte and the file or stream name. */
export interface MseedSourceContext {
  offset?: number;
  source?: string;
}

/** The identity of the record an error is about, when its header could be read. */
export interface MseedRecordIdentity {
  streamId: StreamId;
  startTimeUs: number;
}

const HINTS: Record<MseedProblem, string> = {
  garbage: 'the bytes are not miniSEED; the reader skipped them and went on with the next record',
  truncated: 'the file was cut or a record was partly overwritten; the reader skipped it',
  header: 'the record header is damaged or incomplete; the reader skipped the record',
  'unknown-encoding':
    'PhaseStream decodes Steim1, Steim2, int16, int32, float32 and float64; convert the data (e.g. with ' +
    'libmseed msrepack or ObsPy) to one of these',
  'steim-frame': 'the compressed samples are corrupt; the reader skipped the record',
  'sample-count': 'the payload does not hold the number of samples its header gives; the reader skipped it',
  crc: 'the record changed after it was written (corrupt transfer or storage); the reader skipped it',
};

/**
 * One bad record (or stretch of bytes) in a miniSEED file or stream. The message names the problem,
 * the stream and start time when the header could be read, and the byte offset. Readers report it and
 * go on with the next record.
 */
export class MseedRecordError extends WaveformFormatError {
  readonly problem: MseedProblem;
  /** Byte offset of the record (or garbage) in its file or stream; -1 when unknown. */
  readonly offset: number;
  readonly source?: string;
  readonly streamKey?: string;
  readonly startTimeUs?: number;

  constructor(
    problem: MseedProblem,
    detail: string,
    context: MseedSourceContext & { identity?: MseedRecordIdentity; cause?: unknown },
  ) {
    const offset = context.offset ?? -1;
    const key = context.identity === undefined ? undefined : streamKey(context.identity.streamId);
    const about =
      context.identity === undefined
        ? ''
        : ` in record of ${key} at ${isoFromEpochUs(context.identity.startTimeUs)}`;
    const where = [
      offset >= 0 ? `byte offset ${offset}` : undefined,
      context.source === undefined ? undefined : `of ${context.source}`,
    ]
      .filter((part) => part !== undefined)
      .join(' ');
    super(`${detail}${about}${where === '' ? '' : ` (${where})`}`, {
      hint: HINTS[problem],
      cause: context.cause,
    });
    this.problem = problem;
    this.offset = offset;
    this.source = context.source;
    this.streamKey = key;
    this.startTimeUs = context.identity?.startTimeUs;
  }
}

/**
 * What the bytes at a position look like: a complete header of known record length, the start of a
 * header that needs more bytes to judge (`need`), not a header (`none`), or a header that is plausible
 * but unusable (`bad`, e.g. no blockette 1000), with the record's identity when it could be read.
 */
export type HeaderProbe<Version extends 2 | 3, Header> =
  | { kind: 'header'; formatVersion: Version; header: Header; recordLength: number }
  | { kind: 'need' }
  | { kind: 'none' }
  | { kind: 'bad'; detail: string; identity?: MseedRecordIdentity };
