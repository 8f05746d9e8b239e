/**
 * Imports a checkpoint of the original PhaseNet TensorFlow 1 code (Zhu & Beroza, 2019) into the
 * canonical weights of `architecture.ts`. The architecture is inferred from the tensors, then every
 * tensor the architecture needs must be there with its shape; anything else is refused with the full
 * list of differences, so that a checkpoint of another model never loads half-way.
 */
import { ModelFormatError } from '../../errors.ts';
import { log } from '../../log.ts';
import {
  ORIGINAL_ARCHITECTURE,
  type PhaseNetArchitecture,
  type PhaseNetWeights,
  phasenetWeightSpec,
} from '../phasenet/architecture.ts';
import { type BundleEntry, checkpointPrefix, listTensorBundle, readBundleEntries } from './tensor-bundle.ts';

/**
 * The original's variable scopes for a canonical layer name: `down2_conv3` is
 * `DownConv_2/down_conv3_3`, `up1_deconv` is `UpConv_1/up_conv0_2` (tf.layers names carry level + 1).
 */
function tfLayerName(layer: string): string {
  if (layer === 'input_conv' || layer === 'input_bn') return `Input/${layer}`;
  if (layer === 'output_conv') return `Output/${layer}`;
  const down = /^down(\d+)_(conv1|bn1|conv3|bn3)$/.exec(layer);
  if (down) return `DownConv_${down[1]}/down_${down[2]}_${Number(down[1]) + 1}`;
  const up = /^up(\d+)_(deconv|bn0|conv1|bn1)$/.exec(layer);
  if (up) return `UpConv_${up[1]}/up_${up[2] === 'deconv' ? 'conv0' : up[2]}_${Number(up[1]) + 1}`;
  throw new Error(`no TF1 name for layer ${layer}`);
}

/** The TF1 variable name of a canonical weight name, e.g. `down0_bn1/gamma` → `DownConv_0/down_bn1_1/gamma`. */
export function tfVariableName(canonicalName: string): string {
  const slash = canonicalName.lastIndexOf('/');
  return `${tfLayerName(canonicalName.slice(0, slash))}${canonicalName.slice(slash)}`;
}

/**
 * TF1 stores the 1-D convolutions as conv2d over [T, 1]: kernels [k, 1, in, out] (conv2d_transpose
 * [k, 1, out, in]). The canonical kernel drops that width-1 axis; the row-major bytes are the same.
 */
function tfShape(canonicalShape: number[]): number[] {
  return canonicalShape.length === 3 ? [canonicalShape[0], 1, ...canonicalShape.slice(1)] : canonicalShape;
}

/** Training state the original saves beside the model: Adam slots, its beta powers, the step. */
function isOptimizerState(name: string): boolean {
  return (
    /^(global_step|beta1_power|beta2_power)$/.test(name) ||
    /\/(Adam|Adam_\d+|Momentum|RMSProp|RMSProp_\d+|ExponentialMovingAverage)$/.test(name)
  );
}

const fmt = (shape: number[]) => `[${shape.join(', ')}]`;

/** inChannels, rootFilters and kernelSize from the input kernel, depth from the DownConv scopes. */
function inferArchitecture(
  entries: Map<string, BundleEntry>,
  stride: number,
  source: string,
): PhaseNetArchitecture {
  const inputKernel = entries.get('Input/input_conv/kernel');
  if (inputKernel?.shape.length !== 4 || inputKernel.shape[1] !== 1) {
    throw new ModelFormatError(
      `${source}: not a PhaseNet checkpoint: ` +
        (inputKernel
          ? `Input/input_conv/kernel has shape ${fmt(inputKernel.shape)}, expected [kernelSize, 1, inChannels, filters]`
          : 'it has no Input/input_conv/kernel'),
      { hint: 'Give the prefix of a checkpoint written by the original PhaseNet TensorFlow code.' },
    );
  }
  const [kernelSize, , inChannels, rootFilters] = inputKernel.shape;
  let depth = 0;
  for (const name of entries.keys()) {
    const level = /^DownConv_(\d+)\//.exec(name);
    if (level) depth = Math.max(depth, Number(level[1]) + 1);
  }
  const outputKernel = entries.get('Output/output_conv/kernel');
  const classes = outputKernel?.shape.length === 4 ? outputKernel.shape[3] : ORIGINAL_ARCHITECTURE.classes;
  return { type: 'phasenet', inChannels, depth, rootFilters, kernelSize, stride, classes };
}

export interface ImportPhaseNetOptions {
  /** Down-sampling factor between levels; a checkpoint does not record it (the original's is 4). */
  stride?: number;
}

/**
 * Reads `<prefix>.index` + `<prefix>.data-*` of an original PhaseNet checkpoint (e.g.
 * `model/190703-214543/model_95.ckpt`, or the path of either file) into canonical weights;
 * optimizer state is ignored.
 */
export async function importPhaseNetCheckpoint(
  prefix: string,
  options: ImportPhaseNetOptions = {},
): Promise<{ architecture: PhaseNetArchitecture; weights: PhaseNetWeights }> {
  prefix = checkpointPrefix(prefix);
  const source = `checkpoint ${prefix}`;
  const index = await listTensorBundle(prefix);
  const model = new Map(index.entries.filter((e) => !isOptimizerState(e.name)).map((e) => [e.name, e]));
  const architecture = inferArchitecture(model, options.stride ?? ORIGINAL_ARCHITECTURE.stride, source);

  const expected = phasenetWeightSpec(architecture).map((w) => ({
    ...w,
    tfName: tfVariableName(w.name),
    tfShape: tfShape(w.shape),
  }));
  const problems: string[] = [];
  for (const w of expected) {
    const entry = model.get(w.tfName);
    if (!entry) {
      problems.push(`missing: ${w.tfName} (${w.name}), expected shape ${fmt(w.tfShape)}`);
    } else if (entry.dtype !== 'float32' || fmt(entry.shape) !== fmt(w.tfShape) || entry.sliced) {
      const found = `${entry.dtype ?? `dtype ${entry.dtypeCode}`} ${fmt(entry.shape)}${entry.sliced ? ' partitioned' : ''}`;
      const kind = fmt(entry.shape) !== fmt(w.tfShape) ? 'wrong shape' : 'wrong type';
      problems.push(`${kind}: ${w.tfName} (${w.name}): expected float32 ${fmt(w.tfShape)}, found ${found}`);
    }
  }
  const expectedNames = new Set(expected.map((w) => w.tfName));
  for (const entry of model.values()) {
    if (!expectedNames.has(entry.name)) problems.push(`unexpected: ${entry.name} ${fmt(entry.shape)}`);
  }
  if (problems.length > 0) {
    const arch = `inChannels ${architecture.inChannels}, depth ${architecture.depth}, rootFilters ${architecture.rootFilters}, kernelSize ${architecture.kernelSize}`;
    throw new ModelFormatError(
      `${source} does not fit the PhaseNet architecture inferred from it (${arch}); ` +
        `${problems.length} tensor(s) do not fit:\n  ${problems.join('\n  ')}`,
      {
        hint: 'This importer reads checkpoints of the original PhaseNet TensorFlow code; a checkpoint of another model needs its own importer.',
      },
    );
  }

  const tensors = await readBundleEntries(
    prefix,
    index,
    expected.map((w) => model.get(w.tfName)!),
  );
  const weights: PhaseNetWeights = new Map();
  for (const w of expected) {
    weights.set(w.name, { shape: w.shape, values: tensors.get(w.tfName)!.values as Float32Array });
  }
  log.debug(
    { prefix, architecture, tensors: weights.size, ignored: index.entries.length - model.size },
    'imported PhaseNet checkpoint',
  );
  return { architecture, weights };
}
