/**
 * Test networks made from the one dev station (../shared/data/continuous-dev, XX.DEV1, 2.6 h of
 * 3-component 100 Hz Steim2): each bench station is the dev record re-labelled, read from its own
 * place in the record (so that stations do not pick the same instants) and tiled when a longer span
 * is asked for, then re-encoded as 512-byte Steim2 miniSEED 2 -- written as an SDS archive for the
 * replay bench, or kept as records for the realtime bench's SeedLink server.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../src/errors.ts';
import { encodeMseed, endTimeUs, type MseedSeries, readMseedFile } from '../src/ingest/mseed/index.ts';
import { isIntegerEncoding } from '../src/ingest/mseed/payload.ts';
import { yearDayFromEpochUs } from '../src/ingest/mseed/time.ts';
import type { StreamId } from '../src/ingest/stream-id.ts';
import { importPhaseNetCheckpoint } from '../src/model/checkpoint/import-phasenet.ts';
import { originalCard, readLicenceBeside } from '../src/model/original.ts';
import { randomOriginalModel } from '../src/model/phasenet/random-weights.ts';
import { saveModelDir } from '../src/model/store.ts';

/** The shared material beside the clone (read in place, never copied into the repository). */
export const sharedDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared');
export const devRecordDir = join(sharedDir, 'data/continuous-dev');
export const originalCheckpoint = join(sharedDir, 'models/phasenet-original/model_95.ckpt');

/** One station's three components as contiguous integer samples from one start time. */
export interface DevRecord {
  network: string;
  station: string;
  location: string;
  /** Channel codes in E, N, Z order (HHE, HHN, HHZ). */
  channels: string[];
  samplingRate: number;
  startTimeUs: number;
  /** Per channel, the same number of samples. */
  samples: Int32Array[];
}

const COMPONENT_ORDER = ['E', 'N', 'Z'];

/** Reads the dev station's three files; refuses gaps, which tiling would hide. */
export async function loadDevRecord(dir = devRecordDir): Promise<DevRecord> {
  const perChannel: { streamId: StreamId; startTimeUs: number; samplingRate: number; samples: Int32Array }[] =
    [];
  for (const component of COMPONENT_ORDER) {
    const path = join(dir, `XX.DEV1.00.HH${component}.mseed`);
    const parts: Float64Array[] = [];
    let streamId: StreamId | undefined;
    let startTimeUs = 0;
    let samplingRate = 0;
    let nextUs: number | undefined;
    for await (const result of readMseedFile(path)) {
      if (result.error) throw result.error;
      const record = result.record;
      if (!isIntegerEncoding(record.encoding)) {
        throw new UsageError(`${path}: expected integer (Steim) samples`);
      }
      if (streamId === undefined) {
        streamId = record.streamId;
        startTimeUs = record.startTimeUs;
        samplingRate = record.samplingRate;
      } else if (nextUs !== undefined && Math.abs(record.startTimeUs - nextUs) > 1e6 / samplingRate / 2) {
        throw new UsageError(
          `${path} has a gap or overlap at record ${parts.length}; the bench needs one run`,
        );
      }
      parts.push(record.samples);
      nextUs = endTimeUs(record) + 1e6 / samplingRate;
    }
    if (streamId === undefined) throw new UsageError(`${path} holds no records`);
    const samples = new Int32Array(parts.reduce((sum, p) => sum + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      samples.set(part, offset);
      offset += part.length;
    }
    perChannel.push({ streamId, startTimeUs, samplingRate, samples });
  }
  const [first] = perChannel;
  const length = Math.min(...perChannel.map((c) => c.samples.length));
  if (perChannel.some((c) => c.startTimeUs !== first.startTimeUs || c.samplingRate !== first.samplingRate)) {
    throw new UsageError(`the dev record's components in ${dir} do not share start time and rate`);
  }
  return {
    network: first.streamId.network,
    station: first.streamId.station,
    location: first.streamId.location,
    channels: perChannel.map((c) => c.streamId.channel),
    samplingRate: first.samplingRate,
    startTimeUs: first.startTimeUs,
    samples: perChannel.map((c) => c.samples.subarray(0, length)),
  };
}

/** The golden ratio's fractional part: multiples of it spread evenly over [0, 1) and never repeat. */
const GOLDEN_FRACTION = (Math.sqrt(5) - 1) / 2;

/** A number in [0, 1) for station `index`: well spread for any count of stations, distinct for each. */
export function spreadFraction(index: number): number {
  const x = index * GOLDEN_FRACTION;
  return x - Math.floor(x);
}

/** Where in the dev record station `index` starts reading: spread over the record. */
export function contentOffset(index: number, recordLength: number): number {
  return Math.floor(spreadFraction(index) * recordLength);
}

/**
 * `count` samples of `source` from `offset` on, starting over at its beginning when it ends (the
 * seam is a step between unrelated samples: a transient the picker may or may not flag).
 */
export function tiledSamples(source: Int32Array, offset: number, count: number): Int32Array {
  if (source.length === 0) throw new RangeError('cannot tile an empty record');
  const out = new Int32Array(count);
  let at = 0;
  let from = ((offset % source.length) + source.length) % source.length;
  while (at < count) {
    const take = Math.min(count - at, source.length - from);
    out.set(source.subarray(from, from + take), at);
    at += take;
    from = 0;
  }
  return out;
}

/** Station code of bench station `index` (0-based): `prefix` and the 1-based number, 5 characters. */
export function benchStationCode(prefix: string, index: number): string {
  const code = `${prefix}${String(index + 1).padStart(5 - prefix.length, '0')}`;
  if (code.length > 5) throw new UsageError(`station number ${index + 1} does not fit a 5-character code`);
  return code;
}

/** The SDS path of a stream's day file: `YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY`. */
export function sdsPath(root: string, id: StreamId, dayUs: number): string {
  const { year, dayOfYear } = yearDayFromEpochUs(dayUs);
  const doy = String(dayOfYear).padStart(3, '0');
  return join(
    root,
    String(year),
    id.network,
    id.station,
    `${id.channel}.D`,
    `${id.network}.${id.station}.${id.location}.${id.channel}.D.${year}.${doy}`,
  );
}

const DAY_US = 86_400_000_000;

/** [startUs, endUs) cut at UTC midnights. */
export function daySpans(startUs: number, endUs: number): { startUs: number; endUs: number }[] {
  const spans: { startUs: number; endUs: number }[] = [];
  for (let at = startUs; at < endUs; ) {
    const next = Math.min(endUs, (Math.floor(at / DAY_US) + 1) * DAY_US);
    spans.push({ startUs: at, endUs: next });
    at = next;
  }
  return spans;
}

/**
 * The series of bench station `index` (code `station`) over `count` samples from `startUs`: the dev
 * record from the station's own offset (plus `skip` samples), tiled, one series per component.
 */
export function stationSeries(
  dev: DevRecord,
  station: string,
  index: number,
  startUs: number,
  count: number,
  skip = 0,
): MseedSeries[] {
  const offset = contentOffset(index, dev.samples[0].length) + skip;
  return dev.channels.map((channel, c) => ({
    streamId: { network: dev.network, station, location: dev.location, channel },
    startTimeUs: startUs,
    samplingRate: dev.samplingRate,
    samples: tiledSamples(dev.samples[c], offset, count),
  }));
}

export interface SdsArchive {
  root: string;
  /** `NET.STA` of each station, in order. */
  stations: string[];
  startUs: number;
  endUs: number;
  files: number;
  bytes: number;
}

/**
 * Writes `stations` bench stations (codes B0001...) over [startUs, startUs + durationS) as an SDS
 * archive under `root`, one day file per channel and day.
 */
export async function buildSdsArchive(
  dev: DevRecord,
  root: string,
  stations: number,
  startUs: number,
  durationS: number,
): Promise<SdsArchive> {
  const endUs = startUs + Math.round(durationS * 1e6);
  const periodUs = 1e6 / dev.samplingRate;
  let files = 0;
  let bytes = 0;
  const codes: string[] = [];
  for (let index = 0; index < stations; index++) {
    const station = benchStationCode('B', index);
    codes.push(`${dev.network}.${station}`);
    for (const day of daySpans(startUs, endUs)) {
      const count = Math.round((day.endUs - day.startUs) / periodUs);
      const skip = Math.round((day.startUs - startUs) / periodUs);
      for (const series of stationSeries(dev, station, index, day.startUs, count, skip)) {
        const records = encodeMseed(series, { recordLength: 512, encoding: 'steim2' });
        const path = sdsPath(root, series.streamId, day.startUs);
        await mkdir(dirname(path), { recursive: true });
        const data = Buffer.concat(records);
        await writeFile(path, data);
        files++;
        bytes += data.length;
      }
    }
  }
  return { root, stations: codes, startUs, endUs, files, bytes };
}

/**
 * A model directory for the benches: the original PhaseNet weights when ../shared has the checkpoint
 * (realistic picks), else reproducible random weights (same speed, meaningless picks). Says which.
 */
export async function writeBenchModel(dir: string): Promise<{ dir: string; weights: 'original' | 'random' }> {
  if (!existsSync(`${originalCheckpoint}.index`)) {
    await saveModelDir(dir, randomOriginalModel());
    return { dir, weights: 'random' };
  }
  const { architecture, weights } = await importPhaseNetCheckpoint(originalCheckpoint);
  const card = originalCard(architecture, originalCheckpoint, await readLicenceBeside(originalCheckpoint));
  await saveModelDir(dir, { card, weights });
  return { dir, weights: 'original' };
}
