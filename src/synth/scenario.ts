import type { SimulationDatasetConfig } from '../config/schema.ts';
import { seededUniform } from '../util/random.ts';
import { gridFromModel, type Layer, type LayeredModel, type Medium, surfaceRow } from './medium.ts';
import type { PointSource, Receiver } from './simulate.ts';
import type { Wavelet } from './wavelet.ts';

/**
 * One simulation of a dataset drawn from its config: a random layered model (the same for every
 * source of a model), a source and receivers on the free surface. Every draw comes from the config's
 * seed, the model's and the source's index, so that any task can be rebuilt alone (resume, workers).
 */
export interface Scenario {
  modelIndex: number;
  sourceIndex: number;
  model: LayeredModel;
  medium: Medium;
  source: PointSource;
  receivers: Receiver[];
}

type Uniform = () => number;

/** A seed from several integers (each mixed in with a multiply-xorshift step). */
export function mixSeed(...values: number[]): number {
  let h = 0x811c9dc5;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
}

const between = (uniform: Uniform, [min, max]: readonly [number, number]) => min + (max - min) * uniform();
const pick = <T>(uniform: Uniform, options: readonly T[]): T =>
  options[Math.floor(uniform() * options.length)];

/** Gardner et al. (1974): density 310 vp^0.25 (kg/m^3, vp in m/s). */
export function gardnerDensity(vpMS: number): number {
  return 310 * vpMS ** 0.25;
}

export function randomModel(config: SimulationDatasetConfig, uniform: Uniform): LayeredModel {
  const { layers: ranges, waterSaturated, fluid, topography, grid } = config;
  const count = Math.round(between(uniform, ranges.count));
  const velocities = Array.from({ length: count }, () => between(uniform, ranges.vpMS)).sort((a, b) => a - b);
  const layers: Layer[] = velocities.map((vpMS) => ({
    thicknessM: between(uniform, ranges.thicknessM),
    vpMS,
    vsMS: vpMS / between(uniform, ranges.vpVsRatio),
    densityKgM3: gardnerDensity(vpMS) * between(uniform, ranges.densityFactor),
  }));
  if (uniform() < fluid.probability && layers.length > 1) {
    layers.splice(1, 0, {
      thicknessM: between(uniform, fluid.thicknessM),
      vpMS: between(uniform, fluid.vpMS),
      vsMS: 0,
      densityKgM3: between(uniform, fluid.densityKgM3),
    });
  }
  if (uniform() < waterSaturated.probability) {
    const vpMS = between(uniform, waterSaturated.vpMS);
    layers.unshift({
      thicknessM: between(uniform, waterSaturated.thicknessM),
      vpMS,
      vsMS: vpMS / between(uniform, waterSaturated.vpVsRatio),
      densityKgM3: between(uniform, waterSaturated.densityKgM3),
    });
  }
  const model: LayeredModel = { layers };
  if (uniform() < topography.probability && topography.maxElevationM > 0) {
    model.topography = Array.from({ length: topography.points }, (_, p) => ({
      xM: (p * grid.widthM) / (topography.points - 1),
      elevationM: topography.maxElevationM * uniform(),
    }));
  }
  return model;
}

/**
 * Spacing and wavelet frequency: the spacing that gives the config's points per wavelength at the
 * drawn frequency, no coarser than maxSpacingM; where that needs more than maxPoints, the spacing
 * that fits and a frequency lowered to match. The highest frequency also stays under 0.4 x the
 * sampling rate, so that the records need no anti-alias filter.
 */
export function gridSpacing(
  config: SimulationDatasetConfig,
  model: LayeredModel,
  peakHz: number,
): { spacingM: number; peakHz: number } {
  const { grid, record } = config;
  const slowest = Math.min(...model.layers.map((l) => (l.vsMS > 0 ? l.vsMS : l.vpMS)));
  const elevation = Math.max(0, ...(model.topography ?? []).map((p) => p.elevationM));
  let fMax = Math.min(2.5 * peakHz, 0.4 * record.samplingRate);
  // 0.999: the grid stores speeds as float32, whose rounding must not tip the check over.
  let spacingM = Math.min(grid.maxSpacingM, (0.999 * slowest) / fMax / grid.minPointsPerWavelength);
  const points = (h: number) => (grid.widthM / h + 1) * ((grid.depthM + elevation) / h + 5);
  if (points(spacingM) > grid.maxPoints) {
    let [lo, hi] = [spacingM, grid.widthM];
    for (let k = 0; k < 50; k++) {
      const mid = 0.5 * (lo + hi);
      if (points(mid) > grid.maxPoints) lo = mid;
      else hi = mid;
    }
    spacingM = hi;
    fMax = (0.999 * slowest) / spacingM / grid.minPointsPerWavelength;
  }
  return { spacingM, peakHz: fMax / 2.5 };
}

export function scenario(config: SimulationDatasetConfig, modelIndex: number, sourceIndex: number): Scenario {
  const model = randomModel(config, seededUniform(mixSeed(config.seed, modelIndex)));
  const uniform = seededUniform(mixSeed(config.seed, modelIndex, sourceIndex + 1));
  const { grid, source: ranges } = config;
  const drawnHz = between(uniform, ranges.peakHz);
  const { spacingM, peakHz } = gridSpacing(config, model, drawnHz);
  const kind = pick(uniform, ranges.wavelets);
  // Both wavelets get the same highest frequency (waveletMaxHz).
  const wavelet: Wavelet = kind === 'ricker' ? { kind, peakHz } : { kind, cornerHz: (peakHz * 2.5) / 4.5 };
  const medium = gridFromModel(model, { widthM: grid.widthM, depthM: grid.depthM, spacingM });
  const margin = (grid.spongeCells + 5) * spacingM;
  const deepest = grid.depthM - margin;
  const depth = Math.min(between(uniform, ranges.depthM), deepest);
  const receivers: Receiver[] = Array.from({ length: config.receivers }, (_, r) => {
    const xM = margin + ((grid.widthM - 2 * margin) * (r + 0.5)) / config.receivers;
    const row = surfaceRow(medium, Math.round(xM / spacingM));
    return { xM, zM: medium.zOriginM + row * spacingM };
  });
  const source: PointSource = {
    xM: between(uniform, [margin, grid.widthM - margin]),
    zM: depth,
    mechanism: pick(uniform, ranges.mechanisms),
    angleDeg: 360 * uniform(),
    wavelet,
  };
  return { modelIndex, sourceIndex, model, medium, source, receivers };
}
