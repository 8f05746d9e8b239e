import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UsageError, WaveformFormatError } from '../errors.ts';
import { type EventRecord, readEventRecords } from '../ingest/event-record.ts';
import { log } from '../log.ts';
import { normalizeWindow } from '../picker/normalize.ts';
import { seededUniform } from '../util/random.ts';
import { type AugmentOptions, augmentedWindow, cutWindow, type Uniform, windowStart } from './augment.ts';
import { isoToEpochUs } from './continuous-truth.ts';
import { type Arrivals, type LabelOptions, phaseLabels } from './labels.ts';

/**
 * Training data: records (event windows, longer than the model's window) with their arrivals, listed
 * as entries that load on demand, so that a dataset larger than memory streams from disk one batch
 * at a time. Two sources: PhaseNet's npz files (`data` [T, 3] E, N, Z at 100 Hz, `itp`, `its`) and
 * miniSEED with a CSV of picks.
 */

export interface TrainingRecord {
  id: string;
  /** NET.STA: splits by station group on it. */
  station: string;
  samplingRate: number;
  /** Row-major [length, channels], channels in the model's component order. */
  data: Float64Array | Float32Array;
  channels: number;
  arrivals: Arrivals;
}

export interface DatasetEntry {
  id: string;
  station: string;
  load(): Promise<TrainingRecord>;
}

/** The .npz files of the given files and directories (a directory's files sorted by name). */
export function listNpzFiles(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    if (!statSync(path, { throwIfNoEntry: false })) throw new UsageError(`${path} does not exist`);
    if (!statSync(path).isDirectory()) return [path];
    return readdirSync(path)
      .filter((name) => name.endsWith('.npz'))
      .sort()
      .map((name) => join(path, name));
  });
}

/** NET.STA from a PhaseNet file name, `NET_STA_yyyymmddhhmmss….npz`. */
export function stationOfNpz(path: string): string {
  const [network, station] = basename(path, '.npz').split('_');
  return station ? `${network}.${station}` : network;
}

function fromEventRecord(id: string, station: string, record: EventRecord): TrainingRecord {
  return {
    id,
    station,
    samplingRate: record.samplingRate,
    data: record.data,
    channels: record.components.length,
    arrivals: record.arrivals ?? { P: [], S: [] },
  };
}

/** Entries of PhaseNet npz files, read from disk each time they load. */
export function npzDataset(paths: readonly string[], components: readonly string[]): DatasetEntry[] {
  return listNpzFiles(paths).map((path) => {
    const station = stationOfNpz(path);
    return {
      id: basename(path),
      station,
      async load() {
        const [record] = await readEventRecords([path], [...components]);
        return fromEventRecord(basename(path), station, record);
      },
    };
  });
}

export interface PickRow {
  event: string;
  /** NET.STA */
  station: string;
  phase: string;
  timeUs: number;
}

/** A picks CSV with columns `event`, `station` (NET.STA), `phase` (P or S), `time` (ISO 8601). */
export function readPicksCsv(path: string): PickRow[] {
  const [header, ...rows] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const columns = header.split(',').map((c) => c.trim());
  const at = (name: string) => {
    const index = columns.indexOf(name);
    if (index < 0) {
      throw new WaveformFormatError(`${path} has no '${name}' column (header: ${header})`, {
        hint: 'a picks CSV for training needs the columns event,station,phase,time (station as NET.STA)',
      });
    }
    return index;
  };
  const [e, s, p, t] = [at('event'), at('station'), at('phase'), at('time')];
  return rows.map((row, i) => {
    const cells = row.split(',').map((c) => c.trim());
    const timeUs = isoToEpochUs(cells[t]);
    if (!Number.isFinite(timeUs))
      throw new WaveformFormatError(`${path} line ${i + 2}: bad time '${cells[t]}'`);
    return { event: cells[e], station: cells[s], phase: cells[p], timeUs };
  });
}

/**
 * Event windows cut from miniSEED around a CSV's picks: one record per event and station, from
 * `beforeS` seconds before its first pick, `lengthS` long (PhaseNet's records: 30 s and 90 s). A
 * record's arrivals are every pick of its station inside it, of any event: in a continuous record
 * (events tens of seconds apart) a neighbouring event's arrivals would otherwise be trained as noise.
 * The miniSEED is decoded once, up front, and held in memory (npz datasets stream instead).
 */
export async function mseedEventDataset(
  mseedPaths: readonly string[],
  picksCsv: string,
  components: readonly string[],
  window: { beforeS: number; lengthS: number } = { beforeS: 30, lengthS: 90 },
): Promise<DatasetEntry[]> {
  const stations = new Map<string, EventRecord>();
  for (const record of await readEventRecords([...mseedPaths], [...components])) {
    stations.set(`${record.network}.${record.station}`, record);
  }
  const groups = new Map<string, PickRow[]>();
  const byStation = new Map<string, PickRow[]>();
  for (const pick of readPicksCsv(picksCsv)) {
    for (const [map, key] of [
      [groups, `${pick.event}|${pick.station}`],
      [byStation, pick.station],
    ] as const) {
      if (!map.has(key)) map.set(key, []);
      map.get(key)!.push(pick);
    }
  }
  const entries: DatasetEntry[] = [];
  for (const [key, picks] of groups) {
    const record = stations.get(picks[0].station);
    if (!record || record.startTimeUs === undefined) {
      throw new UsageError(`no miniSEED for station ${picks[0].station} (picks of event ${picks[0].event})`);
    }
    const rate = record.samplingRate;
    const toSample = (us: number) => ((us - record.startTimeUs!) * rate) / 1e6;
    const start = Math.max(
      0,
      Math.round(Math.min(...picks.map((p) => toSample(p.timeUs))) - window.beforeS * rate),
    );
    const length = Math.round(window.lengthS * rate);
    const inside = byStation.get(picks[0].station)!.filter((p) => {
      const sample = toSample(p.timeUs);
      return sample >= start && sample < start + length;
    });
    const arrivals: Arrivals = {
      P: inside.filter((p) => p.phase === 'P').map((p) => toSample(p.timeUs)),
      S: inside.filter((p) => p.phase === 'S').map((p) => toSample(p.timeUs)),
    };
    const channels = components.length;
    entries.push({
      id: key,
      station: picks[0].station,
      async load() {
        const cut = cutWindow(
          record.data,
          channels,
          arrivals,
          start,
          Math.min(length, record.length - start),
        );
        return {
          id: key,
          station: picks[0].station,
          samplingRate: rate,
          data: cut.data,
          channels,
          arrivals: cut.arrivals,
        };
      },
    });
  }
  return entries;
}

/** Fisher-Yates shuffle of a copy, seeded. */
export function shuffled<T>(items: readonly T[], uniform: Uniform): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface SplitOptions {
  /** `station`: every record of a station lands in the same part (held-out stations). */
  by: 'record' | 'station';
  /** Fractions of the records for training, validation and test (normalized to their sum). */
  fractions: [number, number, number];
  seed: number;
}

export interface Split<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/**
 * A deterministic split: groups (records or stations) sorted by name, shuffled with the seed, and
 * filled into train, validation and test in turn until each holds its fraction of the records.
 */
export function splitDataset<T extends { id: string; station: string }>(
  entries: readonly T[],
  options: SplitOptions,
): Split<T> {
  const key = (e: T) => (options.by === 'station' ? e.station : e.id);
  const groups = new Map<string, T[]>();
  for (const entry of entries) {
    if (!groups.has(key(entry))) groups.set(key(entry), []);
    groups.get(key(entry))!.push(entry);
  }
  const order = shuffled([...groups.keys()].sort(), seededUniform(options.seed));
  const total = options.fractions.reduce((a, b) => a + b, 0);
  if (!(total > 0) || options.fractions.some((f) => f < 0)) {
    throw new UsageError(`split fractions must be >= 0 with a positive sum, got ${options.fractions}`);
  }
  const targets = [options.fractions[0] / total, (options.fractions[0] + options.fractions[1]) / total].map(
    (f) => f * entries.length,
  );
  const split: Split<T> = { train: [], validation: [], test: [] };
  let placed = 0;
  for (const group of order) {
    const members = groups.get(group)!;
    const part = placed < targets[0] ? split.train : placed < targets[1] ? split.validation : split.test;
    part.push(...members);
    placed += members.length;
  }
  return split;
}

/**
 * Leaves out the records a continuous-dev style manifest (`embeds[].fname`) placed into its record,
 * and with `stations` every record of their stations, so that evaluation on that record is on data
 * the model did not train on. Returns what is kept and the ids left out.
 */
export function excludeManifestRecords<T extends { id: string; station: string }>(
  entries: readonly T[],
  manifestPath: string,
  options: { stations: boolean },
): { kept: T[]; excluded: string[] } {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { embeds?: { fname: string }[] };
  const files = new Set((manifest.embeds ?? []).map((e) => e.fname));
  const stations = new Set([...files].map(stationOfNpz));
  const out = (e: T) => files.has(e.id) || (options.stations && stations.has(e.station));
  return { kept: entries.filter((e) => !out(e)), excluded: entries.filter(out).map((e) => e.id) };
}

export interface WindowOptions {
  windowLength: number;
  label: LabelOptions;
}

/** Network input and targets of one window: normalized as for inference, labelled. */
export function trainingExample(
  window: { data: Float32Array; arrivals: Arrivals },
  channels: number,
  options: WindowOptions,
): { x: Float32Array; y: Float32Array } {
  return {
    x: normalizeWindow(window.data, channels),
    y: phaseLabels(options.windowLength, window.arrivals, options.label),
  };
}

/**
 * Loads a record; one that cannot be read (a corrupt or truncated file) is skipped with a warning,
 * so that one bad file does not stop a long run: undefined.
 */
export async function loadOrSkip(entry: DatasetEntry): Promise<TrainingRecord | undefined> {
  try {
    return await entry.load();
  } catch (error) {
    log.warn({ record: entry.id, err: (error as Error).message }, 'skipping a record that cannot be read');
    return undefined;
  }
}

export interface Batch {
  /** [count, windowLength, channels] */
  x: Float32Array;
  /** [count, windowLength, 3] */
  y: Float32Array;
  count: number;
}

function packBatch(examples: { x: Float32Array; y: Float32Array }[]): Batch {
  const x = new Float32Array(examples.reduce((n, e) => n + e.x.length, 0));
  const y = new Float32Array(examples.reduce((n, e) => n + e.y.length, 0));
  let xo = 0;
  let yo = 0;
  for (const e of examples) {
    x.set(e.x, xo);
    y.set(e.y, yo);
    xo += e.x.length;
    yo += e.y.length;
  }
  return { x, y, count: examples.length };
}

export interface EpochOptions extends WindowOptions {
  batchSize: number;
  augment: AugmentOptions;
  seed: number;
  epoch: number;
}

/**
 * The training batches of one epoch: the entries in a seeded order (seed and epoch), each record
 * loaded from disk when its batch is made, cut and augmented with a generator seeded the same way.
 */
export async function* trainingBatches(
  entries: readonly DatasetEntry[],
  options: EpochOptions,
): AsyncGenerator<Batch> {
  const uniform = seededUniform((options.seed * 1_000_003 + options.epoch) >>> 0);
  const order = shuffled(entries, uniform);
  for (let b = 0; b < order.length; b += options.batchSize) {
    const examples = [];
    for (const entry of order.slice(b, b + options.batchSize)) {
      const record = await loadOrSkip(entry);
      if (!record) continue;
      const window = augmentedWindow(record, options.windowLength, options.augment, uniform);
      examples.push(trainingExample(window, record.channels, options));
    }
    if (examples.length > 0) yield packBatch(examples);
  }
}

/**
 * Fixed windows for validation and test: each record's window holding its arrivals, placed by a
 * generator seeded per record (the same every epoch and run), with no other augmentation.
 */
export async function fixedBatches(
  entries: readonly DatasetEntry[],
  options: WindowOptions & { batchSize: number; seed: number },
): Promise<Batch[]> {
  const batches: Batch[] = [];
  for (let b = 0; b < entries.length; b += options.batchSize) {
    const examples = [];
    for (const [i, entry] of entries.slice(b, b + options.batchSize).entries()) {
      const record = await loadOrSkip(entry);
      if (!record) continue;
      const uniform = seededUniform((options.seed + 7919 * (b + i + 1)) >>> 0);
      const length = record.data.length / record.channels;
      const start = windowStart(length, options.windowLength, record.arrivals, true, uniform);
      const window = cutWindow(record.data, record.channels, record.arrivals, start, options.windowLength);
      examples.push(trainingExample(window, record.channels, options));
    }
    if (examples.length > 0) batches.push(packBatch(examples));
  }
  return batches;
}
