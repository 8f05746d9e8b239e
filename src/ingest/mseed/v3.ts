import { crc32c } from '@node-rs/crc32';
import { parseFdsnSourceId } from '../stream-id.ts';
import { decodeRecordBody, newSamples, type SampleAllocator, steimVersion } from './payload.ts';
import type { HeaderProbe, MseedRecord, MseedRecordIdentity, MseedSourceContext } from './record.ts';
import { MseedRecordError } from './record.ts';
import { epochUsFromYearDay } from './time.ts';
import { isSaneYearDay, outOfRangeDate } from './v2.ts';

/**
 * miniSEED 3 (FDSN, 2023): a 40-byte little-endian fixed header, the source identifier, the extra
 * headers (JSON), the payload; the record length is the sum, so records need not be a power of two.
 *
 * Fixed header: 0 'MS', 2 format version (3), 3 flags, 4 nanosecond u32, 8 year u16, 10 day u16,
 * 12 hour, 13 minute, 14 second, 15 encoding, 16 sample rate f64 (Hz if > 0, period in seconds if < 0),
 * 24 sample count u32, 28 CRC-32C u32 (of the whole record with this field zero), 32 publication
 * version, 33 identifier length, 34 extra headers length u16, 36 payload length u32.
 * Steim payloads are big-endian, the other encodings little-endian.
 */

export const V3_FIXED_HEADER_BYTES = 40;
export const V3_CRC_OFFSET = 28;
/** libmseed's limit: a length field beyond it is corruption, not a record to wait for. */
const MAX_RECORD_BYTES = 10 * 1024 * 1024;
const ZERO_CRC_FIELD = new Uint8Array(4);
const utf8 = new TextDecoder();

export interface V3Header {
  recordLength: number;
  encoding: number;
  sampleCount: number;
  samplingRate: number;
  publicationVersion: number;
  sidLength: number;
  extraLength: number;
  payloadLength: number;
  identity: MseedRecordIdentity;
}

const MAGIC = [0x4d, 0x53, 3]; // 'M', 'S', version 3

/** The CRC-32C of the record at `bytes[pos, pos + length)` with its CRC field taken as zero. */
export function recordCrc(bytes: Uint8Array, pos: number, length: number): number {
  let crc = crc32c(bytes.subarray(pos, pos + V3_CRC_OFFSET));
  crc = crc32c(ZERO_CRC_FIELD, crc);
  return crc32c(bytes.subarray(pos + V3_CRC_OFFSET + 4, pos + length), crc) >>> 0;
}

/** The sampling rate in Hz of the header's rate-or-period field. */
export function samplingRateFromV3(value: number): number {
  return value < 0 ? -1 / value : value;
}

/** Reads the header of a miniSEED 3 record at `bytes[pos]`, of which `available` bytes are at hand. */
export function probeV3(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  available: number,
): HeaderProbe<3, V3Header> {
  for (let i = 0; i < Math.min(MAGIC.length, available); i++) {
    if (bytes[pos + i] !== MAGIC[i]) return { kind: 'none' };
  }
  if (available < V3_FIXED_HEADER_BYTES) return { kind: 'need' };
  const year = view.getUint16(pos + 8, true);
  const day = view.getUint16(pos + 10, true);
  const nanosecond = view.getUint32(pos + 4, true);
  if (!isSaneYearDay(year, day)) {
    const detail = outOfRangeDate(year, day);
    return detail ? { kind: 'bad', detail } : { kind: 'none' };
  }
  if (bytes[pos + 12] > 23 || bytes[pos + 13] > 59 || bytes[pos + 14] > 60 || nanosecond >= 1_000_000_000) {
    return { kind: 'none' };
  }
  const sidLength = bytes[pos + 33];
  const extraLength = view.getUint16(pos + 34, true);
  const payloadLength = view.getUint32(pos + 36, true);
  if (available < V3_FIXED_HEADER_BYTES + sidLength) return { kind: 'need' };
  const sid = utf8.decode(
    bytes.subarray(pos + V3_FIXED_HEADER_BYTES, pos + V3_FIXED_HEADER_BYTES + sidLength),
  );
  const streamId = parseFdsnSourceId(sid);
  if (streamId === undefined) {
    return { kind: 'bad', detail: `source identifier '${sid}' is not of the form FDSN:NET_STA_LOC_B_S_S` };
  }
  const startTimeUs = epochUsFromYearDay(
    year,
    day,
    bytes[pos + 12],
    bytes[pos + 13],
    bytes[pos + 14],
    Math.round(nanosecond / 1000),
  );
  const identity = { streamId, startTimeUs };
  const recordLength = V3_FIXED_HEADER_BYTES + sidLength + extraLength + payloadLength;
  if (recordLength > MAX_RECORD_BYTES) {
    return {
      kind: 'bad',
      detail: `record length ${recordLength} exceeds ${MAX_RECORD_BYTES} bytes`,
      identity,
    };
  }
  return {
    kind: 'header',
    formatVersion: 3,
    recordLength,
    header: {
      recordLength,
      encoding: bytes[pos + 15],
      sampleCount: view.getUint32(pos + 24, true),
      samplingRate: samplingRateFromV3(view.getFloat64(pos + 16, true)),
      publicationVersion: bytes[pos + 32],
      sidLength,
      extraLength,
      payloadLength,
      identity,
    },
  };
}

/** FDSN.Time.Quality of the extra headers, if they are JSON and have it. */
function timingQualityOf(extraHeaders: string): number | undefined {
  try {
    const quality = JSON.parse(extraHeaders)?.FDSN?.Time?.Quality;
    return typeof quality === 'number' ? quality : undefined;
  } catch {
    return undefined;
  }
}

/** Decodes the miniSEED 3 record at `bytes[pos]` whose header {@link probeV3} read; all its bytes are at hand. */
export function decodeV3(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  header: V3Header,
  context: MseedSourceContext,
  allocate: SampleAllocator = newSamples,
): MseedRecord {
  const { identity, recordLength, encoding } = header;
  const storedCrc = view.getUint32(pos + V3_CRC_OFFSET, true);
  const computedCrc = recordCrc(bytes, pos, recordLength);
  if (storedCrc !== computedCrc) {
    throw new MseedRecordError(
      'crc',
      `CRC-32C mismatch (header 0x${storedCrc.toString(16)}, computed 0x${computedCrc.toString(16)})`,
      { ...context, identity },
    );
  }
  const extraStart = pos + V3_FIXED_HEADER_BYTES + header.sidLength;
  const payloadStart = extraStart + header.extraLength;
  const extraHeaders =
    header.extraLength > 0 ? utf8.decode(bytes.subarray(extraStart, payloadStart)) : undefined;
  return decodeRecordBody(
    bytes,
    view,
    payloadStart,
    header.payloadLength,
    steimVersion(encoding) === undefined,
    {
      identity,
      formatVersion: 3,
      recordLength,
      encoding,
      samplingRate: header.samplingRate,
      sampleCount: header.sampleCount,
      publicationVersion: header.publicationVersion,
      timingQuality: extraHeaders === undefined ? undefined : timingQualityOf(extraHeaders),
      extraHeaders,
    },
    context,
    allocate,
  );
}
