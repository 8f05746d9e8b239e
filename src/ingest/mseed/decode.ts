/**
 * miniSEED 2 and 3 record decoding.
 *
 * Why PhaseStream has its own decoder: seisplotjs (the maintained JavaScript miniSEED library) needs
 * a DOM shim before it can be imported in Node, and on the shared Steim2 archive
 * (../shared/data/continuous-dev, 512-byte records) its parseDataRecords + decompress measured about
 * 11x slower than this typed-array decoder: ~21,000 against ~230,000 records/s (7 against 80 million
 * samples/s; bench/mseed-decode.ts, both in the same run, 9.5x to 12x over five runs on a shared
 * 2-core machine). A picker replaying days of archive spends its ingest time here. On every shared
 * file the decoded samples, times and rates equal seisplotjs's (test/ingest/mseed-reference.test.ts).
 */

import type { SampleAllocator } from './payload.ts';
import type { HeaderProbe, MseedRecord, MseedSourceContext } from './record.ts';
import { MseedRecordError } from './record.ts';
import type { V2Header } from './v2.ts';
import { decodeV2, probeV2 } from './v2.ts';
import type { V3Header } from './v3.ts';
import { decodeV3, probeV3 } from './v3.ts';

export type RecordProbe = HeaderProbe<2, V2Header> | HeaderProbe<3, V3Header>;

/**
 * What the bytes at `bytes[pos]` are, `available` of them at hand: a miniSEED 3 header (starts with
 * `MS\x03`) or a miniSEED 2 header, `need` more bytes, `none`, or a `bad` (unusable) header.
 */
export function probeRecord(bytes: Uint8Array, view: DataView, pos: number, available: number): RecordProbe {
  return bytes[pos] === 0x4d ? probeV3(bytes, view, pos, available) : probeV2(bytes, view, pos, available);
}

/**
 * Decodes the record `probe` found at `bytes[pos]`; its `recordLength` bytes must be at hand. Its
 * samples go into an array of `allocate` (default: a new one).
 */
export function decodeProbedRecord(
  bytes: Uint8Array,
  view: DataView,
  pos: number,
  probe: Extract<RecordProbe, { kind: 'header' }>,
  context: MseedSourceContext,
  allocate?: SampleAllocator,
): MseedRecord {
  return probe.formatVersion === 2
    ? decodeV2(bytes, view, pos, probe.header, context, allocate)
    : decodeV3(bytes, view, pos, probe.header, context, allocate);
}

/**
 * Decodes the one record at the start of `bytes` (miniSEED 2 or 3; its length comes from the header).
 * Bytes after the record are ignored. `context` names the offset and source in error messages; the
 * samples go into an array of `allocate` (default: a new one). Throws {@link MseedRecordError} for a
 * record that cannot be decoded.
 */
export function decodeMseedRecord(
  bytes: Uint8Array,
  context: MseedSourceContext = {},
  allocate?: SampleAllocator,
): MseedRecord {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const probe = probeRecord(bytes, view, 0, bytes.length);
  switch (probe.kind) {
    case 'header':
      if (bytes.length < probe.recordLength) {
        throw new MseedRecordError(
          'truncated',
          `truncated record: the header says ${probe.recordLength} bytes, ${bytes.length} are at hand`,
          { ...context, identity: probe.header.identity },
        );
      }
      return decodeProbedRecord(bytes, view, 0, probe, context, allocate);
    case 'need':
      throw new MseedRecordError(
        'truncated',
        `${bytes.length} bytes are too few for a record header`,
        context,
      );
    case 'none':
      throw new MseedRecordError('garbage', 'bytes that do not start a miniSEED record', context);
    case 'bad':
      throw new MseedRecordError('header', probe.detail, { ...context, identity: probe.identity });
  }
}
