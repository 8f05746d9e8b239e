import { ModelMismatchError } from '../errors.ts';
import type { LoadedModel, ModelCard } from './card.ts';
import type { PhaseNetWeights } from './phasenet/architecture.ts';

/**
 * Weight-space interpolation of two models of one architecture (WiSE-FT: Wortsman et al., 2022,
 * "Robust fine-tuning of zero-shot models"): every weight, batch-norm statistics included, is
 * (1 - alpha) * base + alpha * tuned. Between a model and a fine-tuned copy of it the loss is nearly
 * linear along that line, so the blend keeps much of what fine-tuning gained on the new data and much
 * of the base's behaviour on the data fine-tuning did not see.
 */

/** The parts of a card that fix what the weights mean: models differing in any of them cannot be mixed. */
const INTERFACE_KEYS = [
  'architecture',
  'samplingRate',
  'windowLength',
  'componentOrder',
  'classes',
  'normalization',
] as const satisfies readonly (keyof ModelCard)[];

/** Why two models cannot be blended, one line per difference; empty when they can. */
export function blendMismatches(base: LoadedModel, tuned: LoadedModel): string[] {
  const problems: string[] = [];
  for (const key of INTERFACE_KEYS) {
    const a = JSON.stringify(base.card[key]);
    const b = JSON.stringify(tuned.card[key]);
    if (a !== b) problems.push(`card ${key}: ${a} vs ${b}`);
  }
  for (const [name, w] of base.weights) {
    const other = tuned.weights.get(name);
    if (!other) problems.push(`weight ${name}: only in the base model`);
    else if (w.shape.join('x') !== other.shape.join('x'))
      problems.push(`weight ${name}: shape [${w.shape}] vs [${other.shape}]`);
  }
  for (const name of tuned.weights.keys())
    if (!base.weights.has(name)) problems.push(`weight ${name}: only in the tuned model`);
  return problems;
}

/** (1 - alpha) * base + alpha * tuned, weight by weight; the weight sets must match (blendMismatches). */
export function blendWeights(base: PhaseNetWeights, tuned: PhaseNetWeights, alpha: number): PhaseNetWeights {
  const out: PhaseNetWeights = new Map();
  for (const [name, w] of base) {
    const t = tuned.get(name)!.values;
    const values = new Float32Array(w.values.length);
    for (let i = 0; i < values.length; i++) values[i] = (1 - alpha) * w.values[i]! + alpha * t[i]!;
    out.set(name, { shape: [...w.shape], values });
  }
  return out;
}

export interface BlendSource {
  model: LoadedModel;
  /** Where it was read from, for the card. */
  dir: string;
}

const parentOf = ({ model: { card }, dir }: BlendSource) => ({
  dir,
  name: card.name,
  version: card.version,
  origin: card.source.origin,
  createdAt: card.createdAt,
});

/**
 * The blend of two models as a model: its card records both parents and alpha; the picking
 * thresholds are the base's (the model whose behaviour the blend keeps); the licence must agree.
 */
export function blendModels(
  base: BlendSource,
  tuned: BlendSource,
  options: { alpha: number; name?: string; commandLine: string },
): LoadedModel {
  const { alpha } = options;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`alpha must be within [0, 1], got ${alpha}`);
  const problems = blendMismatches(base.model, tuned.model);
  if (base.model.card.licence.name !== tuned.model.card.licence.name)
    problems.push(`licence: ${base.model.card.licence.name} vs ${tuned.model.card.licence.name}`);
  if (problems.length > 0) {
    const shown =
      problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new ModelMismatchError(`${base.dir} and ${tuned.dir} cannot be blended: ${shown}`, {
      hint: 'Blend a model with a fine-tuned copy of it (same architecture, components, classes and weights).',
    });
  }
  const b = base.model.card;
  const t = tuned.model.card;
  const card: ModelCard = {
    ...b,
    name: options.name ?? `${t.name}-blend`,
    version: new Date().toISOString().slice(0, 10),
    description: `Weight-space blend (WiSE-FT) of ${b.name} (${b.version}) and ${t.name} (${t.version}): (1 - ${alpha}) x the first + ${alpha} x the second.`,
    source: { origin: `phasestream: ${options.commandLine}` },
    trainingData: `Blend of two models. ${b.name}: ${b.trainingData} ${t.name}: ${t.trainingData}`,
    metrics: { blend: { alpha, base: parentOf(base), tuned: parentOf(tuned) } },
    createdAt: new Date().toISOString(),
  };
  return { card, weights: blendWeights(base.model.weights, tuned.model.weights, alpha) };
}
