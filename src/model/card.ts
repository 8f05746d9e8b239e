import { z } from 'zod';

/**
 * The model card: everything an engine, the picker and a reader need to know about a model,
 * stored with its weights as `card.json` (as SeisBench's WaveformModel keeps sampling rate,
 * component order and labels with the weights). Live picking, replay, prediction and
 * evaluation all read the window length, rates and thresholds from here.
 */
export const architectureSchema = z.object({
  type: z.literal('phasenet'),
  inChannels: z.number().int().min(1).max(3),
  depth: z.number().int().min(2).max(8),
  rootFilters: z.number().int().min(1),
  kernelSize: z.number().int().min(1),
  stride: z.number().int().min(2),
  classes: z.number().int().min(2),
});

export const modelCardSchema = z.object({
  format: z.literal('phasestream-model/1'),
  name: z.string().min(1),
  version: z.string().min(1),
  description: z.string(),
  architecture: architectureSchema,
  /** Hz. Input must be resampled to this rate. */
  samplingRate: z.number().positive(),
  /** Samples per window. */
  windowLength: z.number().int().positive(),
  /** Input channel order by component code, e.g. ["E", "N", "Z"]; Z-only models use ["Z"]. */
  componentOrder: z.array(z.string().length(1)).min(1),
  /** Output class order, e.g. ["noise", "P", "S"]. */
  classes: z.array(z.string().min(1)).min(2),
  normalization: z.object({
    /** Per channel: subtract the mean, divide by the standard deviation (ddof 0; zero counts as 1). */
    method: z.literal('demean-std'),
    /** Multiply by (number of channels) / (number of non-zero channels), as the original does. */
    scaleByNonZeroChannels: z.boolean(),
  }),
  /** Default picking parameters (detect_peaks), per phase. */
  picking: z.object({
    minPeakHeight: z.record(z.string(), z.number().min(0).max(1)),
    minPeakDistanceSamples: z.number().int().min(1),
  }),
  source: z.object({
    origin: z.string(),
    url: z.string().optional(),
    commit: z.string().optional(),
    files: z.record(z.string(), z.object({ sha256: z.string() })).optional(),
  }),
  licence: z.object({ name: z.string(), holder: z.string().optional(), text: z.string().optional() }),
  trainingData: z.string(),
  /** Free-form measured metrics, e.g. { "P_F1": 0.86 } with where they were measured. */
  metrics: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});

export type ModelCard = z.infer<typeof modelCardSchema>;
export type Architecture = z.infer<typeof architectureSchema>;

/** A model in memory: its card and its weights by canonical name (src/model/phasenet/architecture.ts). */
export interface LoadedModel {
  card: ModelCard;
  weights: import('./phasenet/architecture.ts').PhaseNetWeights;
}
