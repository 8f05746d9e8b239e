import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulationDatasetConfig } from '../config/schema.ts';
import { UsageError } from '../errors.ts';
import { encodePhaseNetNpz } from '../ingest/npz.ts';
import { simulateScenario } from '../synth/dataset.ts';
import { resampleTrace, rms } from '../synth/records.ts';
import { mixSeed, scenario } from '../synth/scenario.ts';
import { normals, seededUniform } from '../util/random.ts';

/**
 * Array gathers: one source recorded by every receiver of a surface array, the unlabelled
 * "recordings of a site" of the pseudo-labelling experiment. Each simulation of a dataset config
 * (its models, sources and receivers) is one gather; every receiver's trace becomes one PhaseNet
 * npz window on the gather's common time axis (one start time for all receivers, as a recorder
 * triggered by the shot or event would cut them). The true arrivals go to `truth.csv`, apart from
 * the records, for scoring only; `gathers.csv` holds what a real array would know: receiver and
 * source positions.
 */

export const GATHER_COLUMNS = ['fname', 'gather', 'receiver', 'receiver_x_m', 'receiver_z_m', 'source_x_m'];
export const TRUTH_COLUMNS = ['fname', 'itp', 'its'];

export interface GatherRecord {
  fname: string;
  gather: number;
  receiver: number;
  receiverXM: number;
  receiverZM: number;
  sourceXM: number;
}

export interface GatherOptions {
  /** Also write the true itp/its into each npz (a held-out set scored by `phasestream evaluate`). */
  labelsInRecords?: boolean;
  /** Called after each gather. */
  onGather?: (done: number, total: number) => void;
}

/**
 * Site noise, unlike the white noise of the training data: a microseism-like swell (white noise
 * through two one-pole low-passes at 0.3 Hz), a machinery hum (a 6 to 12 Hz tone whose amplitude
 * wanders) and white noise, mixed in drawn shares and scaled to `std`.
 */
export function siteNoise(length: number, fs: number, std: number, uniform: () => number): Float32Array {
  const white = normals(length, uniform);
  const swellIn = normals(length, uniform);
  const swell = new Float32Array(length);
  const a = Math.exp((-2 * Math.PI * 0.3) / fs);
  let [l1, l2] = [0, 0];
  for (let k = 0; k < length; k++) {
    l1 = a * l1 + (1 - a) * swellIn[k];
    l2 = a * l2 + (1 - a) * l1;
    swell[k] = l2;
  }
  const humHz = 6 + 6 * uniform();
  const phase = 2 * Math.PI * uniform();
  const hum = new Float32Array(length);
  for (let k = 0; k < length; k++) {
    hum[k] =
      Math.sin((2 * Math.PI * humHz * k) / fs + phase) * (1 + 0.5 * Math.sin((2 * Math.PI * 0.2 * k) / fs));
  }
  const shares = [0.2 + uniform(), uniform(), uniform()];
  const parts = [white, swell, hum].map((p, n) => ({ p, w: shares[n] / (rms(p) || 1) }));
  const out = new Float32Array(length);
  for (const { p, w } of parts) for (let k = 0; k < length; k++) out[k] += w * p[k];
  const scale = std / (rms(out) || 1);
  for (let k = 0; k < length; k++) out[k] *= scale;
  return out;
}

/**
 * Simulates gather `gather` (model `m`, source `s` of `config`) and writes its records into
 * `out/waveforms`. The window is `extraction.windowSamples` long; the source starts at a random
 * time in its first third; noise at an SNR drawn from `noise.snrDb` (default 5 to 20 dB) against
 * the signal after P. Returns its records and their truth.csv lines.
 */
export function writeGather(
  config: SimulationDatasetConfig,
  out: string,
  m: number,
  s: number,
  gather: number,
  labelsInRecords = false,
): { records: GatherRecord[]; truth: string[] } {
  const fs = config.record.samplingRate;
  const length = config.extraction.windowSamples;
  const [snrLo, snrHi] = config.noise.snrDb ?? [5, 20];
  mkdirSync(join(out, 'waveforms'), { recursive: true });
  const sc = scenario(config, m, s);
  const { labels, sim, durationS } = simulateScenario(config, sc);
  const uniform = seededUniform(mixSeed(config.seed, m, s + 1, 0x6a7e));
  const simulated = Math.min(Math.floor(durationS * fs), length);
  const offset = Math.floor((uniform() * length) / 3);
  if (offset + Math.round(Math.max(...labels.sS) * fs) >= length) {
    throw new UsageError(`gather ${gather}: its S arrivals end after the ${length}-sample window`, {
      hint: 'lengthen extraction.windowSamples or narrow the grid',
    });
  }
  const records: GatherRecord[] = [];
  const truth: string[] = [];
  sc.receivers.forEach((receiver, r) => {
    const east = new Float32Array(length);
    const up = new Float32Array(length);
    const cut = Math.min(simulated, length - offset);
    east.set(resampleTrace(sim.vx[r], sim.firstSampleS, sim.dtS, fs, cut), offset);
    up.set(
      resampleTrace(sim.vz[r], sim.firstSampleS, sim.dtS, fs, cut).map((v) => -v),
      offset,
    );
    const itp = offset + Math.round(labels.pS[r] * fs);
    const its = offset + Math.round(labels.sS[r] * fs);
    const signalRms = Math.hypot(rms(east, itp), rms(up, itp)) / Math.SQRT2 || 1;
    const std = signalRms * 10 ** (-(snrLo + (snrHi - snrLo) * uniform()) / 20);
    const components = [east, new Float32Array(length), up].map((c) => {
      const noise = siteNoise(length, fs, std, uniform);
      return c.map((v, k) => (v + noise[k]) / signalRms);
    });
    const data = new Float32Array(3 * length);
    for (let k = 0; k < length; k++) for (let c = 0; c < 3; c++) data[3 * k + c] = components[c][k];
    const fname = `g${String(gather).padStart(4, '0')}_r${String(r).padStart(2, '0')}.npz`;
    writeFileSync(
      join(out, 'waveforms', fname),
      encodePhaseNetNpz({
        data,
        length,
        itp: labelsInRecords ? itp : null,
        its: labelsInRecords ? its : null,
        channels: config.channels,
      }),
    );
    records.push({
      fname,
      gather,
      receiver: r,
      receiverXM: receiver.xM,
      receiverZM: receiver.zM,
      sourceXM: sc.source.xM,
    });
    truth.push(`${fname},${itp},${its}`);
  });
  return { records, truth };
}

/** gathers.csv and truth.csv of the records of every gather. */
export function writeGatherIndex(
  out: string,
  records: readonly GatherRecord[],
  truth: readonly string[],
): void {
  writeFileSync(
    join(out, 'gathers.csv'),
    `${GATHER_COLUMNS.join(',')}\n${records
      .map((g) =>
        [
          g.fname,
          g.gather,
          g.receiver,
          g.receiverXM.toFixed(1),
          g.receiverZM.toFixed(1),
          g.sourceXM.toFixed(1),
        ].join(','),
      )
      .join('\n')}\n`,
  );
  writeFileSync(join(out, 'truth.csv'), `${TRUTH_COLUMNS.join(',')}\n${truth.join('\n')}\n`);
}

/**
 * Simulates every (model, source) of `config` as a gather (writeGather) and writes
 * `waveforms/*.npz`, `gathers.csv` and `truth.csv` into `out`.
 */
export function writeGathers(
  config: SimulationDatasetConfig,
  out: string,
  options: GatherOptions = {},
): GatherRecord[] {
  const records: GatherRecord[] = [];
  const truth: string[] = [];
  const total = config.models * config.sourcesPerModel;
  let gather = 0;
  for (let m = 0; m < config.models; m++) {
    for (let s = 0; s < config.sourcesPerModel; s++, gather++) {
      const written = writeGather(config, out, m, s, gather, options.labelsInRecords);
      records.push(...written.records);
      truth.push(...written.truth);
      options.onGather?.(gather + 1, total);
    }
  }
  writeGatherIndex(out, records, truth);
  return records;
}

/** Rows of a CSV with a header, as objects keyed by column; `required` columns must be there. */
function readCsv(path: string, required: readonly string[]): Record<string, string>[] {
  const [header, ...rows] = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const columns = header.split(',');
  const missing = required.filter((c) => !columns.includes(c));
  if (missing.length > 0) {
    throw new UsageError(`${path} lacks the column(s) ${missing.join(', ')}`, {
      hint: `its header must hold ${required.join(',')}`,
    });
  }
  return rows.map((row) => {
    const values = row.split(',');
    return Object.fromEntries(columns.map((c, n) => [c, values[n] ?? '']));
  });
}

/** The gathers of a directory written by `writeGathers` (or a receivers CSV in its columns). */
export function readGathers(dir: string): GatherRecord[] {
  return readCsv(join(dir, 'gathers.csv'), GATHER_COLUMNS).map((row) => ({
    fname: row.fname,
    gather: Number(row.gather),
    receiver: Number(row.receiver),
    receiverXM: Number(row.receiver_x_m),
    receiverZM: Number(row.receiver_z_m),
    sourceXM: Number(row.source_x_m),
  }));
}

/** True arrivals (samples) per record, from `truth.csv`; absent file: an empty map. */
export function readTruth(path: string): Map<string, { itp: number; its: number }> {
  return new Map(
    readCsv(path, TRUTH_COLUMNS).map((row) => [row.fname, { itp: Number(row.itp), its: Number(row.its) }]),
  );
}
