import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SimulationDatasetConfig } from '../config/schema.ts';
import { PhaseStreamError, UsageError } from '../errors.ts';
import { encodePhaseNetNpz } from '../ingest/npz.ts';
import { seededUniform } from '../util/random.ts';
import type { Layer } from './medium.ts';
import { waveformOnsetS } from './onset.ts';
import { addWhiteNoise, chooseExtract, resampleTrace, rms } from './records.ts';
import { mixSeed, type Scenario, scenario } from './scenario.ts';
import { type Simulation, simulate } from './simulate.ts';
import { arrivalTimes, layeredSegmentTime, sArrivalSpeed } from './traveltime.ts';
import { waveletOnsetS } from './wavelet.ts';

/**
 * The report's simulated database: random models and sources simulated, each surface receiver's
 * record cut into extracts (alpha, extracts per record), noise added, written as PhaseNet npz files
 * with a `dataset.csv` index. One task is one (model, source) simulation; tasks run on worker
 * threads, and a task whose part file exists is done, so that an interrupted build resumes.
 */

export const DATASET_COLUMNS = [
  'fname',
  'itp',
  'its',
  'channels',
  'snr_db',
  'model',
  'source',
  'receiver',
  'mechanism',
  'wavelet',
  'peak_hz',
];

export interface TaskResult {
  modelIndex: number;
  sourceIndex: number;
  windows: number;
  records: number;
  /** Records dropped because their waveform's P onset disagreed with the label. */
  dropped: number;
  gridPoints: number;
  steps: number;
}

/**
 * First-arrival times (label) at each receiver, wavelet onset included; through the layered model
 * itself where it is given (see arrivalTimes).
 */
export function scenarioLabels(
  s: Pick<Scenario, 'medium' | 'source' | 'receivers'> & Partial<Pick<Scenario, 'model'>>,
): {
  pS: number[];
  sS: number[];
} {
  const { medium, source, model } = s;
  const node = (xM: number, zM: number) => ({
    i: Math.round(xM / medium.spacingM),
    j: Math.round((zM - medium.zOriginM) / medium.spacingM),
  });
  const origin = node(source.xM, source.zM);
  const targets = s.receivers.map((r) => node(r.xM, r.zM));
  const exact = (speedOf: (layer: Layer) => number) =>
    model ? layeredSegmentTime(model, medium, speedOf) : undefined;
  const onset = waveletOnsetS(source.wavelet);
  const pS = arrivalTimes(
    medium,
    medium.vp,
    origin,
    targets,
    exact((l) => l.vpMS),
  );
  const sS = arrivalTimes(
    medium,
    sArrivalSpeed(medium),
    origin,
    targets,
    exact((l) => l.vsMS || l.vpMS),
  );
  return { pS: pS.map((t) => t + onset), sS: sS.map((t) => t + onset) };
}

/**
 * Simulates a scenario until its last S arrival and the config's coda have passed (within the
 * record's length), with its labels; `snapshots` wavefield snapshots spread over that time.
 */
export function simulateScenario(
  config: SimulationDatasetConfig,
  s: Scenario,
  snapshots = 0,
): { labels: { pS: number[]; sS: number[] }; sim: Simulation; durationS: number } {
  const labels = scenarioLabels(s);
  const durationS = Math.min(config.record.durationS, Math.max(...labels.sS) + config.record.codaS);
  const sim = simulate({
    medium: s.medium,
    source: s.source,
    receivers: s.receivers,
    durationS,
    spongeCells: config.grid.spongeCells,
    minPointsPerWavelength: config.grid.minPointsPerWavelength,
    snapshotEveryS: snapshots > 0 ? durationS / snapshots : undefined,
  });
  return { labels, sim, durationS };
}

function partPath(out: string, modelIndex: number, sourceIndex: number): string {
  return join(
    out,
    'parts',
    `m${String(modelIndex).padStart(4, '0')}_s${String(sourceIndex).padStart(2, '0')}.csv`,
  );
}

/** Simulates one (model, source) and writes its extracts and part file. */
export function runTask(
  config: SimulationDatasetConfig,
  out: string,
  modelIndex: number,
  sourceIndex: number,
): TaskResult {
  const s = scenario(config, modelIndex, sourceIndex);
  const { labels, sim, durationS } = simulateScenario(config, s);
  const { record, extraction, noise } = config;
  const uniform = seededUniform(mixSeed(config.seed, modelIndex, sourceIndex + 1, 0x5eed));
  const fs = record.samplingRate;
  const recordLength = Math.round(record.durationS * fs);
  const simulatedLength = Math.min(recordLength, Math.floor(durationS * fs));
  const { windowSamples } = extraction;
  if (windowSamples > recordLength) {
    throw new UsageError(
      `extraction.windowSamples ${windowSamples} is longer than a record (${recordLength} samples)`,
      { hint: 'raise record.durationS or lower extraction.windowSamples' },
    );
  }
  const wavelet = s.source.wavelet;
  const peakHz = wavelet.kind === 'ricker' ? wavelet.peakHz : wavelet.cornerHz;
  const rows: string[] = [];
  let dropped = 0;
  s.receivers.forEach((_, r) => {
    const onset = waveformOnsetS(sim.vx[r], sim.vz[r], sim.firstSampleS, sim.dtS);
    if (onset === null || Math.abs(onset - labels.pS[r]) > record.labelToleranceS) {
      dropped++;
      return;
    }
    // The event at a random time in the record. The simulation's plane is a vertical section through
    // source and receiver: its horizontal motion X lies along the profile, which gets a random
    // azimuth, so X splits into E and N (X sin az, X cos az). Motion across the profile (SH) is not in
    // a 2-D P-SV simulation: it is zero here, as it is for an explosion in layered ground, and smaller
    // than the real one for other sources. Up (-z) -> Z.
    const offset = Math.floor(uniform() * (recordLength - simulatedLength + 1));
    const azimuth = 2 * Math.PI * uniform();
    const horizontal = resampleTrace(sim.vx[r], sim.firstSampleS, sim.dtS, fs, simulatedLength);
    const east = new Float32Array(recordLength);
    const north = new Float32Array(recordLength);
    const up = new Float32Array(recordLength);
    east.set(
      horizontal.map((v) => v * Math.sin(azimuth)),
      offset,
    );
    north.set(
      horizontal.map((v) => v * Math.cos(azimuth)),
      offset,
    );
    up.set(
      resampleTrace(sim.vz[r], sim.firstSampleS, sim.dtS, fs, simulatedLength).map((v) => -v),
      offset,
    );
    const scale = Math.max(...east.map(Math.abs), ...north.map(Math.abs), ...up.map(Math.abs)) || 1;
    for (let k = 0; k < recordLength; k++) {
      east[k] /= scale;
      north[k] /= scale;
      up[k] /= scale;
    }
    const itp = offset + Math.round(labels.pS[r] * fs);
    const its = offset + Math.round(labels.sS[r] * fs);
    // The horizontal's RMS is that of X whatever the azimuth (E and N share it).
    const signalRms =
      Math.hypot(
        rms(east, itp, offset + simulatedLength),
        rms(north, itp, offset + simulatedLength),
        rms(up, itp, offset + simulatedLength),
      ) / Math.SQRT2;
    for (let e = 0; e < extraction.extractsPerRecord; e++) {
      const cut = chooseExtract(recordLength, windowSamples, itp, its, extraction.alpha, uniform);
      const sign = uniform() < extraction.reversePolarity ? -1 : 1;
      const components = [east, north, up].map((c) =>
        c.slice(cut.start, cut.start + windowSamples).map((v) => sign * v),
      );
      const snrDb = noise.snrDb ? noise.snrDb[0] + (noise.snrDb[1] - noise.snrDb[0]) * uniform() : null;
      if (snrDb !== null) for (const c of components) addWhiteNoise(c, signalRms, snrDb, uniform);
      const data = new Float32Array(3 * windowSamples);
      for (let k = 0; k < windowSamples; k++) {
        for (let c = 0; c < 3; c++) data[3 * k + c] = components[c][k];
      }
      const fname = `m${String(modelIndex).padStart(4, '0')}_s${String(sourceIndex).padStart(2, '0')}_r${String(r).padStart(2, '0')}_e${String(e).padStart(2, '0')}.npz`;
      writeFileSync(
        join(out, 'waveforms', fname),
        encodePhaseNetNpz({
          data,
          length: windowSamples,
          itp: cut.itp,
          its: cut.its,
          channels: config.channels,
        }),
      );
      rows.push(
        [
          fname,
          cut.itp ?? '',
          cut.its ?? '',
          config.channels.join('_'),
          snrDb === null ? '' : snrDb.toFixed(2),
          modelIndex,
          sourceIndex,
          r,
          s.source.mechanism,
          wavelet.kind,
          peakHz.toFixed(3),
        ].join(','),
      );
    }
  });
  // The part file last, written whole: its presence marks the task done.
  const part = partPath(out, modelIndex, sourceIndex);
  writeFileSync(`${part}.tmp`, rows.map((row) => `${row}\n`).join(''));
  renameSync(`${part}.tmp`, part);
  return {
    modelIndex,
    sourceIndex,
    windows: rows.length,
    records: s.receivers.length - dropped,
    dropped,
    gridPoints: s.medium.nx * s.medium.nz,
    steps: sim.steps,
  };
}

export interface BuildOptions {
  /** Worker threads (default: the machine's cores). */
  workers?: number;
  /** Called when a task is done (also for tasks found done on resume, with `resumed`). */
  onTask?: (result: TaskResult | null, done: number, total: number) => void;
}

export interface BuildSummary {
  tasks: number;
  resumedTasks: number;
  windows: number;
  dropped: number;
  seconds: number;
}

function checkSameConfig(out: string, config: SimulationDatasetConfig): void {
  const path = join(out, 'config.json');
  const text = `${JSON.stringify(config, null, 2)}\n`;
  if (existsSync(path)) {
    if (readFileSync(path, 'utf8') !== text) {
      throw new UsageError(`${out} holds a dataset built with another config`, {
        hint: 'resume with the same config, or build into an empty directory',
      });
    }
    return;
  }
  writeFileSync(path, text);
}

/**
 * Builds (or resumes) a dataset in `out`: waveforms/*.npz, dataset.csv (PhaseNet's columns fname,
 * itp, its, channels, then what the simulation was), config.json, parts/ (one file per done task).
 */
export async function buildDataset(
  config: SimulationDatasetConfig,
  out: string,
  options: BuildOptions = {},
): Promise<BuildSummary> {
  const started = performance.now();
  mkdirSync(join(out, 'waveforms'), { recursive: true });
  mkdirSync(join(out, 'parts'), { recursive: true });
  checkSameConfig(out, config);
  const all: [number, number][] = [];
  for (let m = 0; m < config.models; m++) for (let s = 0; s < config.sourcesPerModel; s++) all.push([m, s]);
  const pending = all.filter(([m, s]) => !existsSync(partPath(out, m, s)));
  const total = all.length;
  let done = total - pending.length;
  if (done > 0) options.onTask?.(null, done, total);
  let dropped = 0;
  const workers = Math.max(1, Math.min(options.workers ?? availableParallelism(), pending.length));
  await new Promise<void>((resolve, reject) => {
    let next = 0;
    let running = 0;
    let failed = false;
    if (pending.length === 0) resolve();
    for (let w = 0; w < workers; w++) {
      const worker = startWorker(config, out);
      const feed = () => {
        if (failed || next >= pending.length) {
          void worker.terminate();
          if (running === 0 && !failed) resolve();
          return;
        }
        const [m, s] = pending[next++];
        running++;
        worker.postMessage({ modelIndex: m, sourceIndex: s });
      };
      worker.on('message', (message: { result?: TaskResult; error?: { message: string } }) => {
        running--;
        if (message.error) {
          failed = true;
          void worker.terminate();
          reject(
            new PhaseStreamError(message.error.message, {
              hint: 'tasks done so far are kept: fix the config and run the same command to resume',
            }),
          );
          return;
        }
        done++;
        dropped += message.result!.dropped;
        options.onTask?.(message.result!, done, total);
        feed();
      });
      worker.on('error', (error) => {
        failed = true;
        reject(error);
      });
      feed();
    }
  });
  const parts = readdirSync(join(out, 'parts'))
    .filter((f) => f.endsWith('.csv'))
    .sort();
  const rows = parts.map((f) => readFileSync(join(out, 'parts', f), 'utf8')).join('');
  writeFileSync(join(out, 'dataset.csv'), `${DATASET_COLUMNS.join(',')}\n${rows}`);
  return {
    tasks: total,
    resumedTasks: total - pending.length,
    windows: rows.split('\n').filter((row) => row.length > 0).length,
    dropped,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * A worker thread that runs tasks: the compiled worker in the package, or its TypeScript source through
 * tsx (tests, development), as the main thread runs.
 */
function startWorker(config: SimulationDatasetConfig, out: string): Worker {
  const ext = extname(fileURLToPath(import.meta.url));
  const entry = pathToFileURL(join(import.meta.dirname, `dataset-worker${ext}`)).href;
  const bootstrap =
    ext === '.ts'
      ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`
      : `import(${JSON.stringify(entry)});`;
  return new Worker(bootstrap, { eval: true, workerData: { config, out } });
}
