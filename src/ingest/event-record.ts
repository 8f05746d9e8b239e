import { extname } from 'node:path';
import { WaveformFormatError } from '../errors.ts';
import { log } from '../log.ts';
import { interpolateNonFinite } from '../stream/sequence-channel.ts';
import { readMseedFile } from './mseed/index.ts';
import type { MseedRecord } from './mseed/record.ts';
import { readPhaseNetNpz } from './npz.ts';

/**
 * A short multi-component record (an event window) as one array, for prediction and evaluation:
 * row-major [length, components] in the requested component order, zero where a component is missing.
 */
export interface EventRecord {
  source: string;
  /** NET.STA.LOC and band+instrument code (e.g. `HH`), when the file says. */
  network?: string;
  station?: string;
  location?: string;
  channelPrefix?: string;
  /** Epoch microseconds of the first sample, when the file says. */
  startTimeUs?: number;
  samplingRate: number;
  components: string[];
  length: number;
  data: Float64Array;
  /** Analyst picks in the file (npz `itp`, `its`), sample indices. */
  arrivals?: { P: number[]; S: number[] };
}

/** Component code of a channel: the last letter, with 1 and 2 taken as N and E (their usual roles). */
export function componentOf(channel: string): string {
  const c = channel.slice(-1).toUpperCase();
  return c === '1' ? 'N' : c === '2' ? 'E' : c;
}

/**
 * Reads event records: each PhaseNet npz file (E, N, Z at 100 Hz) is one; the records of the miniSEED
 * files are pooled and make one per station (so HHE, HHN and HHZ may come in separate files).
 */
export async function readEventRecords(paths: string[], components: string[]): Promise<EventRecord[]> {
  const npz = paths.filter((p) => extname(p).toLowerCase() === '.npz');
  const mseed = paths.filter((p) => extname(p).toLowerCase() !== '.npz');
  const records = [
    ...npz.map((p) => fromNpz(p, components)),
    ...(mseed.length > 0 ? await fromMseed(mseed, components) : []),
  ];
  for (const record of records) interpolateRecord(record);
  return records;
}

/**
 * NaN and ±Infinity samples, by the streaming path's rule (sequenceChannel): linear interpolation
 * between the nearest finite samples of the component, with a warning; a component with no finite
 * sample is left as zeros, like a missing one.
 */
function interpolateRecord(record: EventRecord): void {
  const k = record.components.length;
  const channel = new Float64Array(record.length);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < record.length; i++) channel[i] = record.data[i * k + c];
    const replaced = interpolateNonFinite(channel);
    if (replaced === 0) continue;
    for (let i = 0; i < record.length; i++) record.data[i * k + c] = replaced === -1 ? 0 : channel[i];
    log.warn(
      {
        source: record.source,
        component: record.components[c],
        samples: replaced === -1 ? record.length : replaced,
      },
      replaced === -1
        ? `no finite sample in ${record.length}: the component is left as zeros`
        : `${replaced} of ${record.length} samples were NaN or infinite: linearly interpolated`,
    );
  }
}

function fromNpz(path: string, components: string[]): EventRecord {
  const record = readPhaseNetNpz(path);
  const order = ['E', 'N', 'Z'];
  const data = new Float64Array(record.length * components.length);
  components.forEach((component, c) => {
    const from = order.indexOf(component);
    if (from < 0) return;
    for (let i = 0; i < record.length; i++) data[i * components.length + c] = record.data[i * 3 + from];
  });
  return {
    source: path,
    samplingRate: 100,
    components,
    length: record.length,
    data,
    arrivals: { P: record.itp, S: record.its },
  };
}

async function fromMseed(paths: string[], components: string[]): Promise<EventRecord[]> {
  const byStation = new Map<string, MseedRecord[]>();
  for (const path of paths) {
    for await (const result of readMseedFile(path)) {
      if (result.error) {
        log.warn({ file: path, offset: result.offset, err: result.error.message }, 'skipping a bad record');
        continue;
      }
      const { network, station, location, channel } = result.record.streamId;
      const key = `${network}.${station}.${location}.${channel.slice(0, 2)}`;
      if (!byStation.has(key)) byStation.set(key, []);
      byStation.get(key)!.push(result.record);
    }
  }
  if (byStation.size === 0) throw new WaveformFormatError(`${paths.join(', ')}: no waveform records`);
  return [...byStation.entries()].map(([key, records]) => assemble(key, records, components));
}

function assemble(key: string, records: MseedRecord[], components: string[]): EventRecord {
  const rates = new Set(records.map((r) => r.samplingRate));
  if (rates.size > 1) {
    throw new WaveformFormatError(`${key} mixes sampling rates (${[...rates].join(', ')} Hz)`, {
      hint: 'use `phasestream replay`, which resamples each channel to the model rate',
    });
  }
  const samplingRate = records[0].samplingRate;
  const startTimeUs = Math.min(...records.map((r) => r.startTimeUs));
  const endUs = Math.max(...records.map((r) => r.startTimeUs + (r.sampleCount * 1e6) / samplingRate));
  const length = Math.round(((endUs - startTimeUs) * samplingRate) / 1e6);
  const data = new Float64Array(length * components.length);
  const present = new Set<string>();
  for (const record of records) {
    const c = components.indexOf(componentOf(record.streamId.channel));
    if (c < 0) continue;
    present.add(components[c]);
    const offset = Math.round(((record.startTimeUs - startTimeUs) * samplingRate) / 1e6);
    for (let i = 0; i < record.sampleCount && offset + i < length; i++) {
      data[(offset + i) * components.length + c] = record.samples[i];
    }
  }
  const missing = components.filter((c) => !present.has(c));
  if (missing.length > 0) log.info({ station: key, missing }, 'components missing: left as zeros');
  const [network, station, location, channelPrefix] = key.split('.');
  return {
    source: key,
    network,
    station,
    location,
    channelPrefix,
    startTimeUs,
    samplingRate,
    components,
    length,
    data,
  };
}
