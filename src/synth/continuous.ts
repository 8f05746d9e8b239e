import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMseed } from '../ingest/mseed/encode.ts';
import { normals, seededUniform } from '../util/random.ts';
import { scenarioLabels } from './dataset.ts';
import { gridFromModel, type LayeredModel, surfaceRow } from './medium.ts';
import { resampleTrace } from './records.ts';
import { mixSeed } from './scenario.ts';
import { simulate } from './simulate.ts';
import type { Wavelet } from './wavelet.ts';

/**
 * Continuous example data: a few earthquakes (double couples with Brune source spectra) in one
 * layered model with topography, recorded by surface stations for a few minutes in background
 * noise, written as 100 Hz Steim2 miniSEED per station and component with the true picks as a CSV
 * in the columns of the dev record's picks.csv (plus network and station).
 */

export interface ContinuousOptions {
  out: string;
  seed?: number;
  stations?: number;
  events?: number;
  durationS?: number;
  samplingRate?: number;
  /** Start of the record, ISO 8601. */
  startTime?: string;
  network?: string;
}

/** A crust with sediments over it, gentle hills, a slow water-saturated top layer (vp/vs 2). */
export const EXAMPLE_MODEL: LayeredModel = {
  layers: [
    { thicknessM: 400, vpMS: 3000, vsMS: 1500, densityKgM3: 2100 },
    { thicknessM: 1500, vpMS: 4200, vsMS: 2400, densityKgM3: 2400 },
    { thicknessM: 4000, vpMS: 5800, vsMS: 3350, densityKgM3: 2700 },
    { thicknessM: 0, vpMS: 6400, vsMS: 3700, densityKgM3: 2900 },
  ],
  topography: [
    { xM: 0, elevationM: 80 },
    { xM: 5000, elevationM: 250 },
    { xM: 10000, elevationM: 120 },
    { xM: 15000, elevationM: 300 },
    { xM: 20000, elevationM: 40 },
  ],
};

export interface ContinuousSummary {
  files: string[];
  picks: number;
  events: { id: string; originTime: string; xM: number; zM: number; scale: number }[];
}

export function writeContinuousExample(options: ContinuousOptions): ContinuousSummary {
  const seed = options.seed ?? 7;
  const stations = options.stations ?? 4;
  const eventCount = options.events ?? 6;
  const durationS = options.durationS ?? 240;
  const fs = options.samplingRate ?? 100;
  const network = options.network ?? 'SY';
  const startUs = Date.parse(options.startTime ?? '2024-01-01T00:00:00Z') * 1000;
  const uniform = seededUniform(mixSeed(seed));
  const widthM = 20000;
  const spacingM = 30;
  const medium = gridFromModel(EXAMPLE_MODEL, { widthM, depthM: 12000, spacingM });
  const receivers = Array.from({ length: stations }, (_, s) => {
    const xM = 3000 + ((widthM - 6000) * s) / Math.max(1, stations - 1);
    const row = surfaceRow(medium, Math.round(xM / spacingM));
    return { xM, zM: medium.zOriginM + row * spacingM };
  });
  const count = Math.round(durationS * fs);
  const samples = Array.from({ length: stations }, () => [0, 1, 2].map(() => new Float64Array(count)));
  const picks: string[] = [];
  const events: ContinuousSummary['events'] = [];
  // Origin times spread over the record, at least 25 s apart, none in its last 25 s.
  const slots = Math.max(1, Math.floor((durationS - 30) / eventCount));
  for (let e = 0; e < eventCount; e++) {
    const originS = 5 + e * slots + uniform() * Math.max(0, slots - 25);
    const source = {
      xM: 3000 + uniform() * (widthM - 6000),
      zM: 5000 + uniform() * 6000,
      mechanism: 'double-couple' as const,
      angleDeg: 180 * uniform(),
      wavelet: { kind: 'brune', cornerHz: 1.8 } as Wavelet,
    };
    const { pS, sS } = scenarioLabels({ medium, source, receivers, model: EXAMPLE_MODEL });
    const sim = simulate({ medium, source, receivers, durationS: Math.max(...sS) + 8 });
    // Magnitudes spread over a decade and a half: peak counts from ~20x to ~600x the noise.
    const scale = 10 ** (1.3 + 1.5 * uniform());
    let peak = 0;
    for (const trace of [...sim.vx, ...sim.vz]) for (const v of trace) peak = Math.max(peak, Math.abs(v));
    const gain = (scale * 40) / peak;
    const first = Math.round(originS * fs);
    const length = Math.min(count - first, Math.floor((sim.steps * sim.dtS) / (1 / fs)));
    const id = `ev${String(e + 1).padStart(2, '0')}`;
    receivers.forEach((_, r) => {
      const east = resampleTrace(sim.vx[r], sim.firstSampleS, sim.dtS, fs, length);
      const up = resampleTrace(sim.vz[r], sim.firstSampleS, sim.dtS, fs, length);
      for (let k = 0; k < length; k++) {
        samples[r][0][first + k] += gain * PROFILE_SIN * east[k];
        samples[r][1][first + k] += gain * PROFILE_COS * east[k];
        samples[r][2][first + k] -= gain * up[k];
      }
      for (const [phase, timeS] of [
        ['P', pS[r]],
        ['S', sS[r]],
      ] as const) {
        const sample = first + Math.round(timeS * fs);
        if (sample >= count) continue;
        const time = new Date((startUs + Math.round((sample / fs) * 1e6)) / 1000).toISOString();
        picks.push(
          [phase, sample, time, id, 'phasestream-synth', scale.toFixed(3), network, stationCode(r)].join(','),
        );
      }
    });
    events.push({
      id,
      originTime: new Date(startUs / 1000 + originS * 1000).toISOString(),
      xM: Math.round(source.xM),
      zM: Math.round(source.zM),
      scale,
    });
  }
  mkdirSync(options.out, { recursive: true });
  const files: string[] = [];
  samples.forEach((components, r) => {
    components.forEach((trace, c) => {
      addBackgroundNoise(trace, fs, seededUniform(mixSeed(seed, r, c)));
      const channel = `HH${'ENZ'[c]}`;
      const streamId = { network, station: stationCode(r), location: '00', channel };
      const records = encodeMseed(
        { streamId, startTimeUs: startUs, samplingRate: fs, samples: Int32Array.from(trace, Math.round) },
        { recordLength: 512 },
      );
      const name = `${network}.${stationCode(r)}.00.${channel}.mseed`;
      writeFileSync(join(options.out, name), Buffer.concat(records));
      files.push(name);
    });
  });
  picks.sort((a, b) => a.split(',')[2].localeCompare(b.split(',')[2]));
  writeFileSync(
    join(options.out, 'picks.csv'),
    `phase,sample,time,source_fname,source,scale,network,station\n${picks.map((p) => `${p}\n`).join('')}`,
  );
  return { files, picks: picks.length, events };
}

/**
 * The profile runs 60 degrees east of north: the in-plane horizontal motion X projects onto E and N
 * (a 2-D P-SV simulation has no motion across the profile).
 */
const PROFILE_AZIMUTH = (60 * Math.PI) / 180;
const PROFILE_SIN = Math.sin(PROFILE_AZIMUTH);
const PROFILE_COS = Math.cos(PROFILE_AZIMUTH);

function stationCode(r: number): string {
  return `SYN${String(r + 1).padStart(2, '0')}`;
}

/**
 * Background noise of about 20 counts: white noise plus a microseism-like swell (white noise
 * through two one-pole low-passes at ~0.3 Hz), as a quiet station's broadband record looks.
 */
function addBackgroundNoise(trace: Float64Array, fs: number, uniform: () => number): void {
  const white = normals(trace.length, uniform);
  const swell = normals(trace.length, uniform);
  const a = Math.exp((-2 * Math.PI * 0.3) / fs);
  let [l1, l2] = [0, 0];
  for (let k = 0; k < trace.length; k++) {
    l1 = a * l1 + (1 - a) * swell[k];
    l2 = a * l2 + (1 - a) * l1;
    trace[k] += 15 * white[k] + 600 * l2;
  }
}
