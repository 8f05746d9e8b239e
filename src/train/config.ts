import { z } from 'zod';

/**
 * The training configuration (`phasestream train` and `finetune --config`): a YAML or JSON file
 * checked against this schema; command-line options override its keys. Defaults follow the report.
 */
const pair = z.tuple([z.number(), z.number()]);

export const trainConfigSchema = z
  .object({
    data: z
      .object({
        /** PhaseNet npz files or directories of them. */
        npz: z.array(z.string()).default([]),
        /** miniSEED files with `picks` (a CSV event,station,phase,time). */
        mseed: z.array(z.string()).default([]),
        picks: z.string().optional(),
        split: z
          .object({
            by: z.enum(['record', 'station']).default('station'),
            fractions: z
              .tuple([z.number().min(0), z.number().min(0), z.number().min(0)])
              .default([0.8, 0.1, 0.1]),
            seed: z.number().int().default(1),
          })
          .strict()
          .prefault({}),
        /** Leave out the records (and with `stations`, their stations) a continuous-dev manifest used. */
        exclude: z
          .object({ manifest: z.string().optional(), stations: z.boolean().default(false) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    model: z
      .object({
        /** A model directory to start from (finetune); absent: train from scratch. */
        from: z.string().optional(),
        components: z.array(z.string().length(1)).min(1).max(3).default(['E', 'N', 'Z']),
        /** Layers, groups or aliases to load from `from` (the rest start fresh). */
        load: z.array(z.string()).default(['all']),
        freeze: z.array(z.string()).default([]),
        /** Architecture when training from scratch (the original's by default). */
        depth: z.number().int().min(2).max(8).default(5),
        rootFilters: z.number().int().min(1).default(8),
        name: z.string().default('phasestream-trained'),
      })
      .strict()
      .prefault({}),
    labels: z
      .object({
        shape: z.enum(['gaussian', 'triangle']).default('gaussian'),
        widthSamples: z.number().positive().default(50),
      })
      .strict()
      .prefault({}),
    augment: z
      .object({
        alpha: z.number().min(0).max(1).default(0.95),
        polarityReversal: z.number().min(0).max(1).default(0.5),
        noise: z
          .object({ probability: z.number().min(0).max(1).default(0), snrDb: pair.default([0, 20]) })
          .strict()
          .prefault({}),
        amplitudeScale: z
          .object({ probability: z.number().min(0).max(1).default(0), range: pair.default([0.5, 2]) })
          .strict()
          .prefault({}),
        dropComponent: z
          .object({ probability: z.number().min(0).max(1).default(0) })
          .strict()
          .prefault({}),
        gap: z
          .object({
            probability: z.number().min(0).max(1).default(0),
            maxSamples: z.number().int().min(0).default(500),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    training: z
      .object({
        epochs: z.number().int().min(1).default(10),
        batchSize: z.number().int().min(1).default(16),
        stepsPerEpoch: z.number().int().min(1).optional(),
        learningRate: z.number().positive().default(1e-3),
        learningRateDecay: z.number().positive().max(1).default(0.95),
        classWeights: z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]).optional(),
        patience: z.number().int().min(0).default(3),
        seed: z.number().int().default(1),
        backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
        /** Worker threads for data-parallel training on wasm or cpu (1: in the main thread). */
        workers: z.number().int().min(1).max(64).default(1),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type TrainConfigInput = z.input<typeof trainConfigSchema>;

/** `phasestream evaluate --config`: the command's options as a file; options given override it. */
export const evaluateConfigSchema = z
  .object({
    picks: z.string().optional(),
    truth: z.string().optional(),
    data: z.array(z.string()).optional(),
    model: z.string().optional(),
    exclusions: z.string().optional(),
    exclusionMode: z.enum(['strict', 'lenient']).default('strict'),
    tolerance: z.number().positive().default(0.1),
    format: z.enum(['table', 'json']).default('table'),
    engine: z.enum(['auto', 'onnxruntime', 'tfjs']).optional(),
    backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).optional(),
  })
  .strict();
