import { Buffer } from 'node:buffer';
import { WaveformFormatError } from '../../errors.ts';
import type { MseedRecord, MseedRecordIdentity, MseedSamples, MseedSourceContext } from './record.ts';
import { MseedEncoding, MseedRecordError, PayloadProblem } from './record.ts';
import type { SteimVersion } from './steim.ts';
import { decodeSteim, encodeSteim } from './steim.ts';

/** Bytes per sample of the fixed-size encodings; Steim and text are not in it. */
const SAMPLE_BYTES: Partial<Record<number, number>> = {
  [MseedEncoding.int16]: 2,
  [MseedEncoding.int32]: 4,
  [MseedEncoding.float32]: 4,
  [MseedEncoding.float64]: 8,
};

/** 1 or 2 for the Steim encodings, undefined for the others. */
export function steimVersion(encoding: number): SteimVersion | undefined {
  return encoding === MseedEncoding.steim1 ? 1 : encoding === MseedEncoding.steim2 ? 2 : undefined;
}

/** True for the encodings whose samples are integers. */
export function isIntegerEncoding(encoding: number): boolean {
  return (
    encoding === MseedEncoding.int16 ||
    encoding === MseedEncoding.int32 ||
    steimVersion(encoding) !== undefined
  );
}

/** True for the encodings this module decodes and encodes (text aside). */
export function isSampleEncoding(encoding: number): boolean {
  return (
    isIntegerEncoding(encoding) || encoding === MseedEncoding.float32 || encoding === MseedEncoding.float64
  );
}

/** Gives the array a record's `count` samples are decoded into: one that nothing else uses. */
export type SampleAllocator = (count: number) => Float64Array;

/** A new array per record. */
export const newSamples: SampleAllocator = (count) => new Float64Array(count);

/**
 * Consecutive stretches of one larger array (`slabSamples` long; a new one when it is full), for a
 * reader of many records: a new Float64Array per record is a malloc, a zero fill and the garbage
 * collector's tracking of one more backing store; decoding a station-day's 74,600 records from
 * memory took ~1.5x as long with an array per record (same process, alternating). A slab lives as
 * long as any of its records, so it suits one reader of one file or stream, whose records are
 * consumed in order, not records of many stations held for different times.
 */
export function sampleSlab(slabSamples: number): SampleAllocator {
  let slab = new ArrayBuffer(0);
  let used = slabSamples; // full: the first record takes a new slab
  return (count) => {
    if (count > slabSamples) return new Float64Array(count);
    if (used + count > slabSamples) {
      // Not zero-filled (zeroing the slabs of a station-day's 26M samples is ~200 MB of writes): every
      // stretch handed out is written whole by its decoder before anything reads it.
      slab = Buffer.allocUnsafeSlow(slabSamples * Float64Array.BYTES_PER_ELEMENT).buffer;
      used = 0;
    }
    const samples = new Float64Array(slab, used * Float64Array.BYTES_PER_ELEMENT, count);
    used += count;
    return samples;
  };
}

/**
 * Decodes `sampleCount` samples of `encoding` from `bytes[start, start + byteLength)` (`view` is a
 * DataView of the same bytes) into an array of `allocate` (see {@link MseedSamples}). `littleEndian`
 * is the word order of the payload. Throws {@link PayloadProblem}.
 */
export function decodePayload(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  byteLength: number,
  encoding: number,
  sampleCount: number,
  littleEndian: boolean,
  allocate: SampleAllocator = newSamples,
): MseedSamples {
  if (sampleCount === 0) return new Float64Array(0);
  const steim = steimVersion(encoding);
  if (steim !== undefined) {
    const out = allocate(sampleCount);
    decodeSteim(out, bytes, view, start, byteLength, littleEndian, steim);
    return out;
  }
  const size = SAMPLE_BYTES[encoding];
  if (size === undefined) throw new PayloadProblem('unknown-encoding', `unknown encoding ${encoding}`);
  if (sampleCount * size > byteLength) {
    throw new PayloadProblem(
      'sample-count',
      `payload of ${byteLength} bytes holds ${Math.floor(byteLength / size)} samples but the header says ${sampleCount}`,
    );
  }
  const out = allocate(sampleCount);
  switch (encoding) {
    case MseedEncoding.int16:
      for (let i = 0; i < sampleCount; i++) out[i] = view.getInt16(start + 2 * i, littleEndian);
      break;
    case MseedEncoding.int32:
      for (let i = 0; i < sampleCount; i++) out[i] = view.getInt32(start + 4 * i, littleEndian);
      break;
    case MseedEncoding.float32:
      for (let i = 0; i < sampleCount; i++) out[i] = view.getFloat32(start + 4 * i, littleEndian);
      break;
    default:
      for (let i = 0; i < sampleCount; i++) out[i] = view.getFloat64(start + 8 * i, littleEndian);
  }
  return out;
}

/** What a record header says, in the terms of {@link MseedRecord}. */
export interface RecordFields {
  identity: MseedRecordIdentity;
  formatVersion: 2 | 3;
  recordLength: number;
  encoding: number;
  samplingRate: number;
  /** The header's count (characters for text). */
  sampleCount: number;
  sequenceNumber?: string;
  dataQuality?: string;
  publicationVersion?: number;
  timingQuality?: number;
  extraHeaders?: string;
}

const utf8 = new TextDecoder();

/**
 * The record of `fields` with its payload at `bytes[start, start + byteLength)` decoded: samples, or
 * text for encoding 0. Problems are raised as {@link MseedRecordError} naming the record. Every record
 * gets the same set of properties, so that code reading records sees one object shape.
 */
export function decodeRecordBody(
  bytes: Uint8Array,
  view: DataView,
  start: number,
  byteLength: number,
  littleEndian: boolean,
  fields: RecordFields,
  context: MseedSourceContext,
  allocate: SampleAllocator,
): MseedRecord {
  const { identity, encoding, samplingRate, sampleCount } = fields;
  let samples: MseedSamples = new Float64Array(0);
  let text: string | undefined;
  if (encoding === MseedEncoding.text) {
    const length = sampleCount > 0 ? Math.min(sampleCount, byteLength) : byteLength;
    text = utf8.decode(bytes.subarray(start, start + length)).replace(/[\0 ]+$/, '');
  } else {
    if (sampleCount > 0 && !(samplingRate > 0)) {
      throw new MseedRecordError('header', `sampling rate ${samplingRate} with ${sampleCount} samples`, {
        ...context,
        identity,
      });
    }
    try {
      samples = decodePayload(bytes, view, start, byteLength, encoding, sampleCount, littleEndian, allocate);
    } catch (error) {
      if (!(error instanceof PayloadProblem)) throw error;
      throw new MseedRecordError(error.problem, error.message, { ...context, identity });
    }
  }
  return {
    streamId: identity.streamId,
    startTimeUs: identity.startTimeUs,
    samplingRate,
    sampleCount: samples.length,
    samples,
    encoding,
    formatVersion: fields.formatVersion,
    recordLength: fields.recordLength,
    sequenceNumber: fields.sequenceNumber,
    dataQuality: fields.dataQuality,
    publicationVersion: fields.publicationVersion,
    timingQuality: fields.timingQuality,
    extraHeaders: fields.extraHeaders,
    text,
  };
}

export interface PayloadPackResult {
  sampleCount: number;
  /** Bytes of payload written (whole frames for Steim). */
  byteLength: number;
}

/**
 * Encodes as many of `samples[from, from + maxSamples)` as fit in `capacity` bytes at `view[start]`.
 * Steim's first difference is to the sample before `from`.
 */
export function encodePayload(
  view: DataView,
  start: number,
  capacity: number,
  encoding: number,
  samples: ArrayLike<number>,
  from: number,
  maxSamples: number,
  littleEndian: boolean,
): PayloadPackResult {
  const steim = steimVersion(encoding);
  if (steim !== undefined) {
    const previous = from > 0 ? samples[from - 1] : undefined;
    const frames = Math.floor(capacity / 64);
    const packed = encodeSteim(view, start, frames, samples, from, maxSamples, previous, littleEndian, steim);
    return { sampleCount: packed.sampleCount, byteLength: packed.frameCount * 64 };
  }
  const size = SAMPLE_BYTES[encoding];
  if (size === undefined) {
    throw new WaveformFormatError(`cannot encode miniSEED samples as encoding ${encoding}`, {
      hint: 'encode as steim1, steim2, int16, int32, float32 or float64',
    });
  }
  const count = Math.min(samples.length - from, maxSamples, Math.floor(capacity / size));
  for (let i = 0; i < count; i++) {
    const at = start + i * size;
    const value = samples[from + i];
    if (encoding === MseedEncoding.int16) view.setInt16(at, value, littleEndian);
    else if (encoding === MseedEncoding.int32) view.setInt32(at, value, littleEndian);
    else if (encoding === MseedEncoding.float32) view.setFloat32(at, value, littleEndian);
    else view.setFloat64(at, value, littleEndian);
  }
  return { sampleCount: count, byteLength: count * size };
}
