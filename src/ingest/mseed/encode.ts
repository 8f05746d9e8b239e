import { WaveformFormatError } from '../../errors.ts';
import type { StreamId } from '../stream-id.ts';
import { toFdsnSourceId } from '../stream-id.ts';
import { encodePayload, isIntegerEncoding, isSampleEncoding, steimVersion } from './payload.ts';
import type { MseedEncodingName } from './record.ts';
import { MseedEncoding, sampleTimeUs } from './record.ts';
import { type YearDayTime, yearDayFromEpochUs } from './time.ts';
import { V2_FIXED_HEADER_BYTES, V2_MIN_RECORD_EXPONENT } from './v2.ts';
import { recordCrc, V3_CRC_OFFSET, V3_FIXED_HEADER_BYTES } from './v3.ts';

/**
 * miniSEED encoding, for SeedLink test servers, SDS test archives and corrupt-record tests. Layouts
 * are described in v2.ts and v3.ts. miniSEED 2 records carry blockettes 1000 and 1001 and start their
 * payload at byte 64; miniSEED 3 records are as long as their payload needs, up to `recordLength`.
 */

/** A continuous run of samples of one stream. */
export interface MseedSeries {
  streamId: StreamId;
  /** Time of the first sample, epoch microseconds. */
  startTimeUs: number;
  samplingRate: number;
  /** Integers for the integer encodings (steim1, steim2, int16, int32). */
  samples: ArrayLike<number>;
}

export interface MseedEncodeOptions {
  /** Default 2. */
  formatVersion?: 2 | 3;
  /** Default steim2. */
  encoding?: Exclude<MseedEncodingName, 'text'>;
  /** miniSEED 2: the record length, a power of two from 128 (default 512). miniSEED 3: the longest record (default 4096). */
  recordLength?: number;
  /** miniSEED 2: write header and payload little-endian (default big-endian, as SEED recommends). */
  littleEndian?: boolean;
  /** miniSEED 2: the sequence number of the first record (default 1); it counts up, 999999 wraps to 1. */
  sequenceNumber?: number;
  /** miniSEED 2 quality indicator (default D). */
  dataQuality?: 'D' | 'R' | 'Q' | 'M';
  /** Timing quality 0-100: blockette 1001 (written as 0 when not given), or miniSEED 3 FDSN.Time.Quality. */
  timingQuality?: number;
  /** miniSEED 3 publication version (default 1). */
  publicationVersion?: number;
  /** miniSEED 3 extra headers, JSON text; replaces the one built from `timingQuality`. */
  extraHeaders?: string;
}

const V2_DATA_OFFSET = 64;
const MAX_FACTOR = 32767;
const utf8 = new TextEncoder();

/**
 * The factor and multiplier of miniSEED 2 for `samplingRate`: an integer rate as (rate, 1), an integer
 * period as (-period, 1), other rates as the closest fraction p/q (p, q <= 32767) as (p, -q).
 * Throws WaveformFormatError when no such fraction is within 1e-9 of the rate.
 */
export function factorsFromSamplingRate(samplingRate: number): [factor: number, multiplier: number] {
  if (Number.isInteger(samplingRate) && samplingRate <= MAX_FACTOR) return [samplingRate, 1];
  const period = 1 / samplingRate;
  if (Number.isInteger(period) && period <= MAX_FACTOR) return [-period, 1];
  // Convergents of the continued fraction of the rate: the best rational approximations.
  let [p0, p1, q0, q1] = [0, 1, 1, 0];
  let x = samplingRate;
  for (let step = 0; step < 32; step++) {
    const a = Math.floor(x);
    const [p2, q2] = [a * p1 + p0, a * q1 + q0];
    if (p2 > MAX_FACTOR || q2 > MAX_FACTOR) break;
    [p0, p1, q0, q1] = [p1, p2, q1, q2];
    if (Math.abs(p1 / q1 - samplingRate) <= 1e-9 * samplingRate) return [p1, -q1];
    if (x === a) break;
    x = 1 / (x - a);
  }
  throw new WaveformFormatError(`sampling rate ${samplingRate} Hz has no miniSEED 2 factor and multiplier`, {
    hint: 'write miniSEED 3 (formatVersion 3), which stores the rate as a float64',
  });
}

function checkSeries(series: MseedSeries, encoding: number): void {
  const { samplingRate, startTimeUs, samples } = series;
  if (!(samplingRate > 0) || !Number.isFinite(samplingRate)) {
    throw new WaveformFormatError(`cannot encode a sampling rate of ${samplingRate} Hz`, {
      hint: 'the sampling rate must be a positive number of Hz',
    });
  }
  if (!Number.isSafeInteger(startTimeUs)) {
    throw new WaveformFormatError(`start time ${startTimeUs} is not an integer number of microseconds`);
  }
  if (!isIntegerEncoding(encoding)) return;
  const limit = encoding === MseedEncoding.int16 ? 2 ** 15 : 2 ** 31;
  for (let i = 0; i < samples.length; i++) {
    const value = samples[i];
    if (!Number.isInteger(value) || value < -limit || value >= limit) {
      throw new WaveformFormatError(`sample ${i} (${value}) does not fit the integer encoding`, {
        hint: 'use float32 or float64 for non-integer samples',
      });
    }
  }
}

function writeAscii(bytes: Uint8Array, at: number, text: string, width: number): void {
  for (let i = 0; i < width; i++) bytes[at + i] = i < text.length ? text.charCodeAt(i) : 0x20;
}

function checkCodes(id: StreamId): void {
  const fits =
    id.network.length <= 2 &&
    id.station.length <= 5 &&
    id.location.length <= 2 &&
    id.channel.length === 3 &&
    /^[\x20-\x7e]*$/.test(id.network + id.station + id.location + id.channel);
  if (!fits) {
    throw new WaveformFormatError(
      `stream ${id.network}.${id.station}.${id.location}.${id.channel} does not fit miniSEED 2 codes`,
      {
        hint: 'miniSEED 2 allows network 2, station 5, location 2 and channel 3 ASCII characters; use miniSEED 3',
      },
    );
  }
}

/** The station code of a miniSEED 2 record written by this module (5 characters, space-padded). */
export function writeV2Station(bytes: Uint8Array, station: string): void {
  writeAscii(bytes, 8, station, 5);
}

/**
 * The start time of a miniSEED 2 record written by this module: the header's BTIME (to 0.1 ms) and the
 * remaining microseconds in blockette 1001 (at 56, as this module places it).
 */
export function writeV2StartTime(
  bytes: Uint8Array,
  view: DataView,
  time: YearDayTime,
  littleEndian: boolean,
): void {
  view.setUint16(20, time.year, littleEndian);
  view.setUint16(22, time.dayOfYear, littleEndian);
  bytes[24] = time.hour;
  bytes[25] = time.minute;
  bytes[26] = time.second;
  view.setUint16(28, Math.floor(time.microsecond / 100), littleEndian);
  view.setInt8(61, time.microsecond % 100);
}

interface EncodedRecord {
  bytes: Uint8Array;
  sampleCount: number;
}

function encodeV2Record(
  series: MseedSeries,
  from: number,
  encoding: number,
  sequenceNumber: number,
  options: MseedEncodeOptions,
): EncodedRecord {
  const recordLength = options.recordLength ?? 512;
  const le = options.littleEndian ?? false;
  const bytes = new Uint8Array(recordLength);
  const view = new DataView(bytes.buffer);
  const { streamId } = series;
  const time = yearDayFromEpochUs(sampleTimeUs(series.startTimeUs, series.samplingRate, from));
  const [factor, multiplier] = factorsFromSamplingRate(series.samplingRate);

  writeAscii(bytes, 0, String(sequenceNumber).padStart(6, '0'), 6);
  bytes[6] = (options.dataQuality ?? 'D').charCodeAt(0);
  bytes[7] = 0x20;
  writeV2Station(bytes, streamId.station);
  writeAscii(bytes, 13, streamId.location, 2);
  writeAscii(bytes, 15, streamId.channel, 3);
  writeAscii(bytes, 18, streamId.network, 2);
  writeV2StartTime(bytes, view, time, le);
  view.setInt16(32, factor, le);
  view.setInt16(34, multiplier, le);
  bytes[39] = 2; // blockettes 1000 and 1001
  view.setUint16(44, V2_DATA_OFFSET, le);
  view.setUint16(46, V2_FIXED_HEADER_BYTES, le);
  // Blockette 1000 at 48, then 1001 at 56.
  view.setUint16(48, 1000, le);
  view.setUint16(50, 56, le);
  bytes[52] = encoding;
  bytes[53] = le ? 0 : 1;
  bytes[54] = Math.log2(recordLength);
  view.setUint16(56, 1001, le);
  bytes[60] = options.timingQuality ?? 0;

  const packed = encodePayload(
    view,
    V2_DATA_OFFSET,
    recordLength - V2_DATA_OFFSET,
    encoding,
    series.samples,
    from,
    0xffff,
    le,
  );
  view.setUint16(30, packed.sampleCount, le);
  bytes[63] = steimVersion(encoding) === undefined ? 0 : packed.byteLength / 64;
  return { bytes, sampleCount: packed.sampleCount };
}

function encodeV3Record(
  series: MseedSeries,
  from: number,
  encoding: number,
  options: MseedEncodeOptions,
): EncodedRecord {
  const maxLength = options.recordLength ?? 4096;
  const sid = utf8.encode(toFdsnSourceId(series.streamId));
  const extraText =
    options.extraHeaders ??
    (options.timingQuality === undefined
      ? ''
      : JSON.stringify({ FDSN: { Time: { Quality: options.timingQuality } } }));
  const extra = utf8.encode(extraText);
  const payloadStart = V3_FIXED_HEADER_BYTES + sid.length + extra.length;
  if (sid.length > 255 || extra.length > 0xffff || payloadStart + 64 > maxLength) {
    throw new WaveformFormatError(
      `a miniSEED 3 record of at most ${maxLength} bytes cannot hold the headers`,
      {
        hint: 'raise recordLength or shorten the extra headers',
      },
    );
  }
  const scratch = new Uint8Array(maxLength);
  const view = new DataView(scratch.buffer);
  const littleEndian = steimVersion(encoding) === undefined;
  const capacity = maxLength - payloadStart;
  const packed = encodePayload(
    view,
    payloadStart,
    capacity,
    encoding,
    series.samples,
    from,
    0xffffffff,
    littleEndian,
  );
  const recordLength = payloadStart + packed.byteLength;
  const bytes = scratch.subarray(0, recordLength);
  const time = yearDayFromEpochUs(sampleTimeUs(series.startTimeUs, series.samplingRate, from));
  bytes.set([0x4d, 0x53, 3], 0);
  view.setUint32(4, time.microsecond * 1000, true);
  view.setUint16(8, time.year, true);
  view.setUint16(10, time.dayOfYear, true);
  bytes[12] = time.hour;
  bytes[13] = time.minute;
  bytes[14] = time.second;
  bytes[15] = encoding;
  view.setFloat64(16, series.samplingRate, true);
  view.setUint32(24, packed.sampleCount, true);
  bytes[32] = options.publicationVersion ?? 1;
  bytes[33] = sid.length;
  view.setUint16(34, extra.length, true);
  view.setUint32(36, packed.byteLength, true);
  bytes.set(sid, V3_FIXED_HEADER_BYTES);
  bytes.set(extra, V3_FIXED_HEADER_BYTES + sid.length);
  view.setUint32(V3_CRC_OFFSET, recordCrc(bytes, 0, recordLength), true);
  return { bytes: bytes.slice(), sampleCount: packed.sampleCount };
}

/**
 * Encodes `series` into as many records as its samples need, in time order; each record starts at
 * the time of its first sample. Throws WaveformFormatError for input the format cannot hold.
 */
export function encodeMseed(series: MseedSeries, options: MseedEncodeOptions = {}): Uint8Array[] {
  const formatVersion = options.formatVersion ?? 2;
  const encoding = MseedEncoding[options.encoding ?? 'steim2'];
  if (!isSampleEncoding(encoding)) {
    throw new WaveformFormatError(`cannot encode samples as ${options.encoding}`);
  }
  checkSeries(series, encoding);
  const { timingQuality } = options;
  if (
    timingQuality !== undefined &&
    !(Number.isInteger(timingQuality) && timingQuality >= 0 && timingQuality <= 100)
  ) {
    throw new WaveformFormatError(`timing quality ${timingQuality} is not an integer from 0 to 100`);
  }
  if (formatVersion === 2) {
    checkCodes(series.streamId);
    const length = options.recordLength ?? 512;
    if (!Number.isInteger(Math.log2(length)) || length < 2 ** V2_MIN_RECORD_EXPONENT || length > 65536) {
      throw new WaveformFormatError(
        `miniSEED 2 record length ${length} is not a power of two from 128 to 65536`,
      );
    }
  }
  const records: Uint8Array[] = [];
  let sequenceNumber = options.sequenceNumber ?? 1;
  for (let from = 0; from < series.samples.length; ) {
    const record =
      formatVersion === 2
        ? encodeV2Record(series, from, encoding, sequenceNumber, options)
        : encodeV3Record(series, from, encoding, options);
    if (record.sampleCount === 0) {
      throw new WaveformFormatError(
        `a record of ${options.recordLength} bytes holds no ${options.encoding} sample`,
      );
    }
    records.push(record.bytes);
    from += record.sampleCount;
    sequenceNumber = sequenceNumber >= 999_999 ? 1 : sequenceNumber + 1;
  }
  return records;
}
