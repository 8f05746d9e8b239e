/**
 * The records of N bench stations, as the realtime feed (bench/realtime-feed.ts) serves them and
 * bench/stream-order.ts replays them: re-labelled copies of the dev station in 512-byte Steim2
 * miniSEED 2, each station's data starting at its own point within one stride (spreadFraction), in
 * the order of their end times.
 */

import { writeV2StartTime, writeV2Station } from '../src/ingest/mseed/encode.ts';
import { encodeMseed } from '../src/ingest/mseed/index.ts';
import { yearDayFromEpochUs } from '../src/ingest/mseed/time.ts';
import { readRecordSpan } from '../src/ingest/seedlink/record-header.ts';
import { benchStationCode, type DevRecord, spreadFraction, stationSeries } from './archive-builder.ts';

/**
 * Distinct data series encoded; station `index` sends series `index % POOL_SIZE`, its records
 * re-stamped with its own code and times. Encoding every station's records (Steim2) took longer than
 * the run itself at thousands of stations; a header patch is a copy of 512 bytes and a few fields.
 */
const POOL_SIZE = 64;
const RECORD_BYTES = 512;

/**
 * `source` (a record of this module's pool, as encodeMseed writes miniSEED 2: blockette 1000 at 48 with
 * the word order at 53, blockette 1001 at 56 with the microseconds at 61) copied into `target` with
 * station code `station` and start time `startUs`.
 */
function restamp(source: Uint8Array, target: Uint8Array, station: string, startUs: number): void {
  target.set(source);
  writeV2Station(target, station);
  const view = new DataView(target.buffer, target.byteOffset, RECORD_BYTES);
  writeV2StartTime(target, view, yearDayFromEpochUs(startUs), source[53] === 0);
}

export interface FeedRecord {
  bytes: Uint8Array;
  endUs: number;
  /** The station's index (its code is benchStationCode('R', index)). */
  station: number;
}

/** Every record of `stations` stations ending by `endUs`, sorted by end time. */
export function feedRecords(
  dev: DevRecord,
  stations: number,
  startUs: number,
  endUs: number,
  strideS: number,
): { stationStartsUs: number[]; records: FeedRecord[] } {
  const rate = dev.samplingRate;
  const count = Math.floor(((endUs - startUs) * rate) / 1e6);
  const pool: { bytes: Uint8Array; startUs: number; endUs: number }[][] = [];
  for (let index = 0; index < Math.min(POOL_SIZE, stations); index++) {
    const records: (typeof pool)[number] = [];
    for (const series of stationSeries(dev, benchStationCode('R', index), index, startUs, count)) {
      for (const bytes of encodeMseed(series, { recordLength: RECORD_BYTES, encoding: 'steim2' })) {
        const span = readRecordSpan(bytes);
        records.push({ bytes, startUs: span.startTimeUs, endUs: span.endTimeUs });
      }
    }
    pool.push(records);
  }
  const stationStartsUs: number[] = [];
  const shifts: number[] = [];
  let total = 0;
  for (let index = 0; index < stations; index++) {
    const staggerSamples = Math.round(spreadFraction(index) * strideS * rate);
    const shiftUs = Math.round((staggerSamples * 1e6) / rate);
    stationStartsUs.push(startUs + shiftUs);
    shifts.push(shiftUs);
    total += pool[index % pool.length].filter((r) => r.endUs + shiftUs <= endUs).length;
  }
  // One buffer for all records (views of it), not an ArrayBuffer each.
  const slab = new Uint8Array(total * RECORD_BYTES);
  const records: FeedRecord[] = [];
  for (let index = 0; index < stations; index++) {
    const code = benchStationCode('R', index);
    for (const source of pool[index % pool.length]) {
      const recordEndUs = source.endUs + shifts[index];
      if (recordEndUs > endUs) continue;
      const at = records.length * RECORD_BYTES;
      const bytes = slab.subarray(at, at + RECORD_BYTES);
      restamp(source.bytes, bytes, code, source.startUs + shifts[index]);
      records.push({ bytes, endUs: recordEndUs, station: index });
    }
  }
  records.sort((a, b) => a.endUs - b.endUs);
  return { stationStartsUs, records };
}
