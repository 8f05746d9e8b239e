import type { LoadedModel } from '../../src/model/card.ts';
import { originalCard } from '../../src/model/original.ts';
import { ORIGINAL_ARCHITECTURE, type PhaseNetArchitecture } from '../../src/model/phasenet/architecture.ts';
import { DEFAULT_AUGMENT_OPTIONS } from '../../src/train/augment.ts';
import type { DatasetEntry } from '../../src/train/dataset.ts';
import { DEFAULT_LABEL_OPTIONS } from '../../src/train/labels.ts';
import type { TrainOptions } from '../../src/train/trainer.ts';
import { initialPhaseNetWeights } from '../../src/train/transfer.ts';
import { normals, seededUniform } from '../../src/util/random.ts';

/** A PhaseNet small enough to train in a test in a second. */
export const TINY_ARCHITECTURE: PhaseNetArchitecture = { ...ORIGINAL_ARCHITECTURE, depth: 2, rootFilters: 2 };

export function tinyModel(seed = 1, arch = TINY_ARCHITECTURE): LoadedModel {
  return {
    card: { ...originalCard(arch, 'test'), windowLength: 256 },
    weights: initialPhaseNetWeights(arch, seed),
  };
}

/**
 * Synthetic event records: noise, then a P burst (on Z) and an S burst (on E and N) of larger
 * amplitude, at seeded places, `length` samples long.
 */
export function syntheticEntries(count: number, length = 600, seed = 3, stations = 4): DatasetEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const uniform = seededUniform(seed * 1000 + i);
    const p = 150 + Math.floor(uniform() * 200);
    const s = p + 40 + Math.floor(uniform() * 60);
    const noise = normals(length * 3, uniform);
    const data = new Float32Array(length * 3);
    for (let t = 0; t < length; t++) {
      for (let c = 0; c < 3; c++) {
        let v = 0.1 * noise[t * 3 + c];
        if (t >= p && c === 2) v += Math.sin((t - p) * 0.9) * Math.exp(-(t - p) / 30);
        if (t >= s && c < 2) v += 2 * Math.sin((t - s) * 0.5) * Math.exp(-(t - s) / 40);
        data[t * 3 + c] = v;
      }
    }
    const station = `XX.S${i % stations}`;
    const id = `${station}.${i}`;
    return {
      id,
      station,
      async load() {
        return { id, station, samplingRate: 100, data, channels: 3, arrivals: { P: [p], S: [s] } };
      },
    };
  });
}

/** Training options for the tiny model on synthetic records: three quick epochs. */
export const TINY_TRAINING: TrainOptions = {
  windowLength: 256,
  label: { ...DEFAULT_LABEL_OPTIONS, widthSamples: 20 },
  augment: DEFAULT_AUGMENT_OPTIONS,
  batchSize: 4,
  epochs: 3,
  learningRate: 0.01,
  learningRateDecay: 0.9,
  patience: 0,
  freeze: [],
  seed: 5,
};
