import { UsageError } from '../errors.ts';
import type { LoadedModel } from '../model/card.ts';
import {
  type PhaseNetArchitecture,
  type PhaseNetWeights,
  phasenetLayers,
  phasenetWeightSpec,
} from '../model/phasenet/architecture.ts';
import { seededUniform } from '../util/random.ts';

/**
 * Transfer learning as in the report (section 10): start from a pretrained model, load all of its
 * weights or only some groups (the rest initialized afresh), change the number of input channels by
 * keeping the first layer's filter slices of the components kept, and freeze named groups or layers.
 */

/**
 * Weights to train from scratch, as TensorFlow initializes them: kernels Glorot-uniform, biases and
 * batch-norm offsets and means 0, batch-norm scales and variances 1. Seeded.
 */
export function initialPhaseNetWeights(arch: PhaseNetArchitecture, seed: number): PhaseNetWeights {
  const uniform = seededUniform(seed);
  const weights: PhaseNetWeights = new Map();
  for (const { name, shape } of phasenetWeightSpec(arch)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const param = name.slice(name.lastIndexOf('/') + 1);
    let draw: () => number = () => 0;
    if (param === 'gamma' || param === 'moving_variance') draw = () => 1;
    if (param === 'kernel') {
      // [k, in, out] (a deconv's [k, out, in] has the same fans): fan_in = k*in, fan_out = k*out.
      const limit = Math.sqrt(6 / (shape[0] * shape[1] + shape[0] * shape[2]));
      draw = () => (uniform() * 2 - 1) * limit;
    }
    weights.set(name, { shape: [...shape], values: Float32Array.from({ length: size }, draw) });
  }
  return weights;
}

/** Every group of the architecture: input, down0.., up.., output. */
export function groupsOf(arch: PhaseNetArchitecture): string[] {
  return [...new Set(phasenetLayers(arch).map((layer) => layer.group))];
}

/**
 * Named sets of groups, for the report's cases: `all`, `encoder` (input and the down levels),
 * `decoder` (the up levels), `deepest2` (the two deepest levels: down{depth-2}, down{depth-1} and the
 * first up level, up{depth-2}, which works at the second deepest), `io` (input and output), `downup`
 * (the down and up levels: everything but input and output).
 */
export function groupAliases(arch: PhaseNetArchitecture): Record<string, string[]> {
  const groups = groupsOf(arch);
  const { depth } = arch;
  return {
    all: groups,
    encoder: groups.filter((g) => g === 'input' || g.startsWith('down')),
    decoder: groups.filter((g) => g.startsWith('up')),
    deepest2: [`down${depth - 2}`, `down${depth - 1}`, `up${depth - 2}`],
    io: ['input', 'output'],
    downup: groups.filter((g) => g.startsWith('down') || g.startsWith('up')),
  };
}

/**
 * Layer names from a list of aliases, groups and layer names (e.g. `deepest2`, `down3`,
 * `up0_conv1`); an unknown name is a UsageError that lists what exists.
 */
export function resolveLayerNames(arch: PhaseNetArchitecture, names: readonly string[]): string[] {
  const layers = phasenetLayers(arch);
  const aliases = groupAliases(arch);
  const out = new Set<string>();
  for (const name of names) {
    const groups = aliases[name] ?? (layers.some((l) => l.group === name) ? [name] : undefined);
    if (groups) {
      for (const layer of layers) if (groups.includes(layer.group)) out.add(layer.name);
    } else if (layers.some((l) => l.name === name)) {
      out.add(name);
    } else {
      throw new UsageError(`unknown layer or group '${name}'`, {
        hint: `use ${Object.keys(aliases).join(', ')}, a group (${groupsOf(arch).join(', ')}) or a layer name (${layers
          .slice(0, 3)
          .map((l) => l.name)
          .join(', ')}, …)`,
      });
    }
  }
  return layers.map((l) => l.name).filter((n) => out.has(n));
}

export interface TransferOptions {
  /** The architecture to train (e.g. the base's with fewer input channels). */
  architecture: PhaseNetArchitecture;
  /** Its component order (e.g. ["Z"]). */
  componentOrder: string[];
  /** Layers, groups or aliases to take from the base; the rest start fresh. Default: all. */
  load?: readonly string[];
  seed: number;
}

/**
 * Initial weights for a transferred model: fresh weights (seeded) overwritten by the base's for the
 * layers to load. The input layer's kernel [k, in, out], when the component order differs, keeps the
 * base's slices of the components kept (the report's 3 -> 1 channel case); a component the base does
 * not have is a UsageError. Other shapes must match.
 */
export function transferWeights(base: LoadedModel, options: TransferOptions): PhaseNetWeights {
  const weights = initialPhaseNetWeights(options.architecture, options.seed);
  const load = new Set(resolveLayerNames(options.architecture, options.load ?? ['all']));
  const channelIndex = options.componentOrder.map((component) => {
    const i = base.card.componentOrder.indexOf(component);
    if (i < 0) {
      throw new UsageError(
        `the base model has no component ${component} (its order is ${base.card.componentOrder.join(', ')})`,
      );
    }
    return i;
  });
  for (const layer of phasenetLayers(options.architecture)) {
    if (!load.has(layer.name)) continue;
    for (const param of layer.params) {
      const name = `${layer.name}/${param.name}`;
      const from = base.weights.get(name);
      if (!from) throw new UsageError(`the base model lacks weight ${name}`);
      const target = weights.get(name)!;
      if (layer.name === 'input_conv' && param.name === 'kernel') {
        const [k, baseIn, out] = from.shape;
        const inChannels = param.shape[1];
        for (let t = 0; t < k; t++) {
          for (const [c, baseC] of channelIndex.entries()) {
            for (let o = 0; o < out; o++) {
              target.values[(t * inChannels + c) * out + o] = from.values[(t * baseIn + baseC) * out + o];
            }
          }
        }
        continue;
      }
      if (from.shape.join(',') !== param.shape.join(',')) {
        throw new UsageError(
          `weight ${name} of the base has shape [${from.shape}], the new model [${param.shape}]`,
          {
            hint: 'load only the groups whose shapes match (--load)',
          },
        );
      }
      target.values.set(from.values);
    }
  }
  return weights;
}
