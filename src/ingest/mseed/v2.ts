import type { StreamId } from '../stream-id.ts';
import { decodeRecordBody, newSamples, type SampleAllocator } from './payload.ts';
import type { HeaderProbe, MseedRecord, MseedRecordIdentity, MseedSourceContext } from './record.ts';
import { epochUsFromYearDay } from './time.ts';

/**
 * miniSEED 2 (SEED 2.4 data records): a 48-byte fixed header, a chain of blockettes, the payload.
 *
 * Fixed header: 0 sequence number (6 ASCII digits), 6 quality indicator (D R Q M), 7 reserved,
 * 8 station (5), 13 location (2), 15 channel (3), 18 network (2), 20 BTIME start (year u16, day u16,
 * hour, minute, second, unused, 0.0001 s u16), 30 sample count u16, 32 sample rate factor i16,
 * 34 multiplier i16, 36 activity flags (bit 1: time correction applied), 37 I/O and clock flags,
 * 38 data quality flags, 39 blockette count, 40 time correction i32 (0.0001 s), 44 data offset u16,
 * 46 first blockette offset u16. Blockettes start with type u16 and next-blockette offset u16.
 * B1000: 4 encoding, 5 word order (0 little, 1 big endian), 6 record length exponent.
 * B1001: 4 timing quality, 5 microsecond offset i8, 7 frame count. B100: 4 actual sample rate f32.
 *
 * The header's byte order is not flagged anywhere; like libmseed, take the one in which the year and
 * day are sane (1900-2100, 1-366). The payload's byte order is B1000's word order.
 */

export const V2_FIXED_HEADER_BYTES = 48;
export const V2_MIN_RECORD_EXPONENT = 7;
export const V2_MAX_RECORD_EXPONENT = 20;
const MAX_BLOCKETTES = 32;

export interface V2Header {
  recordLength: number;
  encoding: number;
  dataLittleEndian: boolean;
  sampleCount: number;
  samplingRate: number;
  dataOffset: number;
  identity: MseedRecordIdentity;
  timingQuality?: number;
}

function isSequenceChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x20 || c === 0;
}

function isQualityIndicator(c: number): boolean {
  return c === 0x44 || c === 0x52 || c === 0x51 || c === 0x4d; // D R Q M
}

export function isSaneYearDay(year: number, day: number): boolean {
  return year >= 1900 && year <= 2100 && day >= 1 && day <= 366;
}

/**
 * What is wrong with a start time that is not sane but still reads as a plausible header in big-endian
 * order (a year that fits in four digits, a day below 1000), e.g. a record dated 2150 or on day 400;
 * undefined where the bytes are more likely not a header at all (the other byte order, or garbage).
 * Such a record is a damaged or mis-written miniSEED record, not "bytes that are not miniSEED".
 */
export function outOfRangeDate(year: number, day: number): string | undefined {
  if (year < 1000 || year > 9999 || day > 999) return undefined;
  return `start time year ${year}, day of year ${day} is out of range (years 1900-2100, days 1-366)`;
}

/** The nominal sampling rate of the factor and multiplier (SEED manual, fixed header fields 10 and 11). */
export function samplingRateFromFactors(factor: number, multiplier: number): number {
  let rate = factor > 0 ? factor : factor < 0 ? -1 / factor : 0;
  if (multiplier > 0) rate *= multiplier;
  else if (multiplier < 0) rate /= -multiplier;
  return rate;
}

/** An ASCII header field without its padding (spaces, NULs). */
function asciiField(bytes: Uint8Array, start: number, length: number): string {
  let from = start;
  let to = start + length;
  while (to > from && (bytes[to - 1] === 0x20 || bytes[to - 1] === 0)) to--;
  while (from < to && bytes[from] === 0x20) from++;
  let text = '';
  for (let i = from; i < to; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

/**
 * The codes of the header at `bytes[pos]`, one StreamId object per channel: its 12 code bytes, read
 * as three 32-bit numbers, find the StreamId made the first time. Records of many channels come
 * interleaved (an archive's files merged by time, a SeedLink feed of many stations); a new StreamId
 * per record made four strings and an object, and the per-channel grouping downstream then built and
 * hashed its key string again per record, where it can now keep the key of the object.
 * At most {@link MAX_STREAM_IDS} are kept (a stream of garbage headers cannot grow it without bound).
 */
const streamIds = new Map<number, Map<number, Map<number, StreamId>>>();
let streamIdCount = 0;
const MAX_STREAM_IDS = 100_000;

function codeWord(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

function streamIdAt(bytes: Uint8Array, pos: number): StreamId {
  const a = codeWord(bytes, pos + 8);
  const b = codeWord(bytes, pos + 12);
  const c = codeWord(bytes, pos + 16);
  const known = streamIds.get(a)?.get(b)?.get(c);
  if (known !== undefined) return known;
  if (streamIdCount >= MAX_STREAM_IDS) {
    streamIds.clear();
    streamIdCount = 0;
  }
  const id: StreamId = {
    network: asciiField(bytes, pos + 18, 2),
    station: asciiField(bytes, pos + 8, 5),
    location: asciiField(bytes, pos + 13, 2),
    channel: asciiField(bytes, pos + 15, 3),
  };
  let byB = streamIds.get(a);
  if (byB === undefined) {
    byB = new Map();
    streamIds.set(a, byB);
  }
  let byC = byB.get(b);
  if (byC === undefined) {
    byC = new Map();
    byB.set(b, byC);
  }
  byC.set(c, id);
  streamIdCount++;
  return id;
}

/** The prefix check of libmseed's MS2_ISVALIDHEADER on the first `Math.min(8, available)` bytes. */
function plausiblePrefix(bytes: Uint8Array, pos: number, available: number): boolean {
  const n = Math.min(8, available);
  for (let i = 0; i < n; i++) {
    const c = bytes[pos + i];
    if (i < 6 ? !isSequenceChar(c) : i === 6 ? !isQualityIndicator(c) : c !== 0x20 && c !== 0) return false;
  }
  return true;
}

/** Reads the header of a miniSEED 2 record at `bytes[pos]`, of which `available` bytes are at hand. */
export function probeV2(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  available: number,
): HeaderProbe<2, V2Header> {
  if (!plausiblePrefix(bytes, pos, available)) return { kind: 'none' };
  if (available < V2_FIXED_HEADER_BYTES) return { kind: 'need' };
  if (bytes[pos + 24] > 23 || bytes[pos + 25] > 59 || bytes[pos + 26] > 60) return { kind: 'none' };
  let le = false;
  if (!isSaneYearDay(view.getUint16(pos + 20, false), view.getUint16(pos + 22, false))) {
    if (!isSaneYearDay(view.getUint16(pos + 20, true), view.getUint16(pos + 22, true))) {
      const bad = outOfRangeDate(view.getUint16(pos + 20, false), view.getUint16(pos + 22, false));
      return bad ? { kind: 'bad', detail: bad } : { kind: 'none' };
    }
    le = true;
  }

  let b1000At = -1;
  let b1001At = -1;
  let b100At = -1;
  let at = view.getUint16(pos + 46, le);
  for (let count = 0; at !== 0; count++) {
    if (at < V2_FIXED_HEADER_BYTES || count >= MAX_BLOCKETTES) return { kind: 'none' };
    if (at + 12 > available) return { kind: 'need' };
    const type = view.getUint16(pos + at, le);
    if (type === 1000) b1000At = at;
    else if (type === 1001) b1001At = at;
    else if (type === 100) b100At = at;
    const next = view.getUint16(pos + at + 2, le);
    if (next !== 0 && next <= at) return { kind: 'none' };
    at = next;
  }

  const microsecond = b1001At < 0 ? 0 : view.getInt8(pos + b1001At + 5);
  let startTimeUs = epochUsFromYearDay(
    view.getUint16(pos + 20, le),
    view.getUint16(pos + 22, le),
    bytes[pos + 24],
    bytes[pos + 25],
    bytes[pos + 26],
    view.getUint16(pos + 28, le) * 100 + microsecond,
  );
  const timeCorrection = view.getInt32(pos + 40, le);
  if (timeCorrection !== 0 && (bytes[pos + 36] & 0x02) === 0) startTimeUs += timeCorrection * 100;
  const identity = { streamId: streamIdAt(bytes, pos), startTimeUs };

  if (b1000At < 0) {
    return { kind: 'bad', detail: 'no blockette 1000 (record length and encoding unknown)', identity };
  }
  const exponent = bytes[pos + b1000At + 6];
  if (exponent < V2_MIN_RECORD_EXPONENT || exponent > V2_MAX_RECORD_EXPONENT) {
    return { kind: 'bad', detail: `record length 2^${exponent} in blockette 1000 is out of range`, identity };
  }
  const recordLength = 2 ** exponent;
  const sampleCount = view.getUint16(pos + 30, le);
  const dataOffset = view.getUint16(pos + 44, le);
  if (sampleCount > 0 && (dataOffset < V2_FIXED_HEADER_BYTES || dataOffset >= recordLength)) {
    return {
      kind: 'bad',
      detail: `data offset ${dataOffset} lies outside the record of ${recordLength} bytes`,
      identity,
    };
  }
  const b100Rate = b100At < 0 ? 0 : view.getFloat32(pos + b100At + 4, le);
  return {
    kind: 'header',
    formatVersion: 2,
    recordLength,
    header: {
      recordLength,
      encoding: bytes[pos + b1000At + 4],
      dataLittleEndian: bytes[pos + b1000At + 5] === 0,
      sampleCount,
      samplingRate:
        b100Rate > 0
          ? b100Rate
          : samplingRateFromFactors(view.getInt16(pos + 32, le), view.getInt16(pos + 34, le)),
      dataOffset,
      identity,
      timingQuality: b1001At < 0 ? undefined : bytes[pos + b1001At + 4],
    },
  };
}

/** Decodes the miniSEED 2 record at `bytes[pos]` whose header {@link probeV2} read; all its bytes are at hand. */
export function decodeV2(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  header: V2Header,
  context: MseedSourceContext,
  allocate: SampleAllocator = newSamples,
): MseedRecord {
  const { recordLength, dataOffset } = header;
  return decodeRecordBody(
    bytes,
    view,
    pos + dataOffset,
    recordLength - dataOffset,
    header.dataLittleEndian,
    {
      identity: header.identity,
      formatVersion: 2,
      recordLength,
      encoding: header.encoding,
      samplingRate: header.samplingRate,
      sampleCount: header.sampleCount,
      sequenceNumber: asciiField(bytes, pos, 6),
      dataQuality: String.fromCharCode(bytes[pos + 6]),
      timingQuality: header.timingQuality,
    },
    context,
    allocate,
  );
}
