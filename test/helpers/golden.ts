import { readFileSync } from 'node:fs';
import { sharedPath } from './shared.ts';

/** The golden outputs of the original PhaseNet (see ../shared/golden/phasenet-original/index.json). */
export const goldenDir = sharedPath('golden', 'phasenet-original');

export interface GoldenSample {
  id: string;
  length: number;
  input: Float32Array;
  probs: Float32Array;
  logits?: Float32Array;
  pPicks?: number[];
  sPicks?: number[];
}

export interface GoldenLayer {
  name: string;
  shape: number[];
  values: Float32Array;
}

export function readF32(file: string): Float32Array {
  const bytes = readFileSync(`${goldenDir}/${file}`);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4).slice();
}

interface GoldenIndex {
  samples: {
    id: string;
    shape: number[];
    input: string;
    probs: string;
    logits: string;
    'p_picks_mph0.5_mpd50': number[];
    's_picks_mph0.5_mpd50': number[];
  }[];
  layers_g0: { file: string; name: string; shape: number[] }[];
  extra: { id: string; input: string; probs: string; shape: number[] }[];
}

export function goldenIndex(): GoldenIndex {
  return JSON.parse(readFileSync(`${goldenDir}/index.json`, 'utf8'));
}

/** The seven windows of 3000 samples, and the extra of 3001 samples (probabilities only). */
export function goldenSamples(): GoldenSample[] {
  const index = goldenIndex();
  const samples: GoldenSample[] = index.samples.map((s) => ({
    id: s.id,
    length: s.shape[0],
    input: readF32(s.input),
    probs: readF32(s.probs),
    logits: readF32(s.logits),
    pPicks: s['p_picks_mph0.5_mpd50'],
    sPicks: s['s_picks_mph0.5_mpd50'],
  }));
  for (const e of index.extra) {
    samples.push({ id: e.id, length: e.shape[0], input: readF32(e.input), probs: readF32(e.probs) });
  }
  return samples;
}

/** Every intermediate activation of sample g0, in the order the network computes them. */
export function goldenLayersG0(): GoldenLayer[] {
  return goldenIndex().layers_g0.map((l) => ({ name: l.name, shape: l.shape, values: readF32(l.file) }));
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} differs from ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
