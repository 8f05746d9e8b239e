/**
 * bench/stream-order.ts: what the order of records costs the stream layer. The same records of N
 * bench stations (bench/feed-records.ts, as the realtime feed serves them) go through decodeRecords
 * and stationWindows (the options of pickPipeline; no network, no sockets) twice in turns: in live
 * order (every station's records interleaved by end time, as SeedLink brings them) and station by
 * station (each station's records in a row, as a replay shard reads a station's files). CPU time per
 * record of each, and their ratio, in the same run. The windows made are counted and must agree.
 *
 *   node --import tsx bench/stream-order.ts [--stations 5000] [--seconds 40] [--repeats 3]
 */

import { parseArgs } from 'node:util';
import { from, lastValueFrom, tap } from 'rxjs';
import { RECORDS_POOLED, stationWindowsOptions, WINDOWS_POOLED } from '../src/app/pipeline.ts';
import { checkConfig } from '../src/config/load.ts';
import { UsageError } from '../src/errors.ts';
import { bundledModelDir } from '../src/model/resolve.ts';
import { loadModelDir } from '../src/model/store.ts';
import { decodeRecords } from '../src/stream/decode-records.ts';
import { stationWindows } from '../src/stream/pipeline.ts';
import { float32Pool, float64Pool } from '../src/util/array-pool.ts';
import { loadDevRecord } from './archive-builder.ts';
import { type FeedRecord, feedRecords } from './feed-records.ts';

const { values } = parseArgs({
  options: {
    stations: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '40' },
    repeats: { type: 'string', default: '3' },
    stride: { type: 'string', default: '10' },
  },
});
const positive = (option: string, text: string) => {
  const value = Number(text);
  if (!(value > 0)) throw new UsageError(`--${option} must be a positive number, got '${text}'`);
  return value;
};
const stations = Math.round(positive('stations', values.stations));
const seconds = positive('seconds', values.seconds);
const strideS = positive('stride', values.stride);
const repeats = Math.round(positive('repeats', values.repeats));

const dev = await loadDevRecord();
const startUs = 1_700_000_000_000_000;
const { records } = feedRecords(dev, stations, startUs, startUs + seconds * 1e6, strideS);
// Only the card matters here (rate, components, window length): the bundled model's.
const { card } = await loadModelDir(bundledModelDir);
const config = checkConfig({ picker: { strideS } });

/** CPU microseconds per record through decode and stationWindows, and the windows made. */
async function run(order: FeedRecord[]): Promise<{ usPerRecord: number; windows: number }> {
  const windowData = float32Pool(WINDOWS_POOLED);
  const recordData = float64Pool(RECORDS_POOLED);
  let windows = 0;
  const cpu = process.cpuUsage();
  await lastValueFrom(
    from(order.map((r) => ({ recordBytes: r.bytes }))).pipe(
      decodeRecords({ source: 'bench', sampleData: recordData }),
      stationWindows({ ...stationWindowsOptions(card, config), windowData, recordData }),
      tap((window) => {
        windows++;
        windowData.give(window.data);
      }),
    ),
    { defaultValue: undefined },
  );
  const used = process.cpuUsage(cpu);
  return { usPerRecord: (used.user + used.system) / order.length, windows };
}

const live = records;
const byStation = [...records].sort((a, b) => a.station - b.station || a.endUs - b.endUs);
console.log(`${stations} stations, ${seconds} s of data each, ${records.length} records`);
console.log('live us/record  by station us/record  live / by station  windows');
for (let i = 0; i < repeats; i++) {
  const a = await run(live);
  const b = await run(byStation);
  if (a.windows !== b.windows) throw new Error(`windows differ: ${a.windows} live, ${b.windows} by station`);
  console.log(
    `${a.usPerRecord.toFixed(1).padStart(15)}  ${b.usPerRecord.toFixed(1).padStart(19)}  ${(a.usPerRecord / b.usPerRecord).toFixed(2).padStart(17)}  ${a.windows}`,
  );
}
