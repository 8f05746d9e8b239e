import { WaveformFormatError } from '../../errors.ts';
import { probeRecord } from '../mseed/decode.ts';
import { sampleTimeUs } from '../mseed/record.ts';

/**
 * What the SeedLink protocol itself needs from a miniSEED record: whose it is (a v3 packet header
 * carries no station, so a v3 client keys its sequence numbers by the record's network and station) and
 * its time span (to resume by time, and for a server's time windows). The header is read by the miniSEED
 * decoder's probe, without decoding the samples: decoding is the pipeline's business.
 */
export interface RecordSpan {
  network: string;
  station: string;
  location: string;
  channel: string;
  /** Time of the first sample, epoch microseconds. */
  startTimeUs: number;
  /** Time of the sample after the last one (start + sampleCount / samplingRate), as SeedLink 4 defines a
   * packet's end; the start for records without samples (log records). */
  endTimeUs: number;
}

/** Reads the span of the miniSEED 2 or 3 record at the start of `record`; throws WaveformFormatError. */
export function readRecordSpan(record: Uint8Array): RecordSpan {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const probe = probeRecord(record, view, 0, record.length);
  if (probe.kind !== 'header') {
    const detail =
      probe.kind === 'bad' ? probe.detail : probe.kind === 'need' ? 'truncated header' : 'not miniSEED';
    throw new WaveformFormatError(`SeedLink payload is not a usable miniSEED record: ${detail}`, {
      hint: 'SeedLink payloads of format 2 and 3 are miniSEED 2.x and 3.x records',
    });
  }
  const { identity, sampleCount, samplingRate } = probe.header;
  const { startTimeUs, streamId } = identity;
  return {
    network: streamId.network,
    station: streamId.station,
    location: streamId.location,
    channel: streamId.channel,
    startTimeUs,
    endTimeUs: samplingRate > 0 ? sampleTimeUs(startTimeUs, samplingRate, sampleCount) : startTimeUs,
  };
}
